import Foundation

/// A self-signed certificate for 127.0.0.1 (and `localhost`) and its key, made by `openssl` for one
/// test, in a folder the served process's unprivileged user may read.
public struct TestCertificate: Sendable {
    public let folder: URL
    public var certificate: String { folder.appendingPathComponent("cert.pem").path }
    public var key: String { folder.appendingPathComponent("key.pem").path }

    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("malten-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        try Self.openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", folder.appendingPathComponent("key.pem").path, "-out", folder.appendingPathComponent("cert.pem").path,
            "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ])
        for file in ["key.pem", "cert.pem"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder.appendingPathComponent(file).path)
        }
    }

    /// base64 of the SHA-256 of the certificate's public key (its SPKI), the form Chromium's
    /// `--ignore-certificate-errors-spki-list` trusts.
    public func publicKeyHash() throws -> String {
        let der = folder.appendingPathComponent("spki.der").path
        try Self.openssl(["x509", "-in", certificate, "-noout", "-pubkey", "-out", folder.appendingPathComponent("pub.pem").path])
        try Self.openssl(["pkey", "-pubin", "-in", folder.appendingPathComponent("pub.pem").path, "-outform", "der", "-out", der])
        return try Self.openssl(["dgst", "-sha256", "-binary", der], output: true).base64EncodedString()
    }

    public func remove() { try? FileManager.default.removeItem(at: folder) }

    public struct Failed: Error, CustomStringConvertible {
        public let arguments: [String]
        public var description: String { "openssl \(arguments.joined(separator: " ")) failed" }
    }

    @discardableResult
    private static func openssl(_ arguments: [String], output: Bool = false) throws -> Data {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.standardError = FileHandle.nullDevice
        let out = Pipe()
        process.standardOutput = output ? out : FileHandle.nullDevice
        try process.run()
        let data = output ? out.fileHandleForReading.readDataToEndOfFile() : Data()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failed(arguments: arguments) }
        return data
    }
}
