import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

/// HTTPS and WSS on the server's own port: a certificate chain and its private key, PEM files read
/// once at start. TLS 1.2 and 1.3 only.
public enum TLSFiles {
    /// Why the files cannot serve; each names the file.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The server's TLS context from the PEM files at `certificate` and `key`.
    public static func serverContext(certificate: String, key: String) throws(Failure) -> NIOSSLContext {
        let certificateBytes = try read(certificate, "--tls-cert")
        let keyBytes = try read(key, "--tls-key")
        guard let chain = try? NIOSSLCertificate.fromPEMBytes(certificateBytes), !chain.isEmpty else {
            throw Failure(description: "--tls-cert \(certificate) holds no PEM certificate")
        }
        guard let privateKey = try? NIOSSLPrivateKey(bytes: keyBytes, format: .pem) else {
            throw Failure(description: "--tls-key \(key) holds no PEM private key")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw Failure(description: "--tls-key \(key) does not belong to the certificate of --tls-cert \(certificate)")
        }
    }

    /// The bytes of a small file; a missing or unreadable one is a failure naming it.
    private static func read(_ path: String, _ option: String) throws(Failure) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw Failure(description: "\(option) \(path) cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk.prefix(count)
            if count < chunk.count { break }
            guard bytes.count < 1 << 20 else { throw Failure(description: "\(option) \(path) is over 1 MiB: not a PEM file") }
        }
        guard ferror(file) == 0 else { throw Failure(description: "\(option) \(path) cannot be read") }
        return bytes
    }
}
