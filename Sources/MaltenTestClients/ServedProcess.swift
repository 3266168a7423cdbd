import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `malten serve` as its users run it: the release executable that `make test` builds
/// (`MALTEN_BINARY`; else the debug one beside the tests), copied to a folder anyone may read and
/// started as an unprivileged user (`nobody`, through `setpriv`, when the tests run as root; as
/// the tests' own user otherwise), on a free loopback port.
public final class ServedProcess: @unchecked Sendable {
    public let process = Process()
    public private(set) var port = 0
    private let folder: URL
    private let log: URL

    /// Starts the server (through `wrapper`, a command that runs the rest, such as `prlimit`) and
    /// waits until it says where it listens. When the tests run as root, the unprivileged server
    /// keeps `capabilities` (such as `ipc_lock`) as ambient ones, as a systemd unit's
    /// `AmbientCapabilities=` would give them; otherwise it has what the tests' user has. The copy runs on a Dispatch thread and the wait
    /// suspends: the few threads that run the tests' tasks must stay free, or a test that has just
    /// connected waits past the server's 10 s for its request head while others start servers.
    ///
    /// The per-client limits are off unless `limited`: the suites post thousands in bursts from one
    /// address, as a script would; the limits' own tests keep them on.
    public init(
        arguments: [String] = [], wrapper: [String] = [], capabilities: [String] = [], limited: Bool = false, port requested: Int = 0
    ) async throws {
        let built = Self.builtBinary
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("malten-served-\(UUID().uuidString)")
        self.folder = folder
        let binary = folder.appendingPathComponent("malten")
        try await offThread {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
            try FileManager.default.copyItem(at: built, to: binary)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: binary.path)
        }
        log = folder.appendingPathComponent("stderr.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)

        let limits = limited ? [] : ["--rate-limit", "off", "--max-connections-per-client", "off"]
        let serve = [binary.path, "serve", "--host", "127.0.0.1", "--port", "\(requested)"] + limits + arguments
        let kept = capabilities.map { "+" + $0 }.joined(separator: ",")
        let ambient = kept.isEmpty ? [] : ["--inh-caps=\(kept)", "--ambient-caps=\(kept)"]
        let unprivileged = getuid() == 0 ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + ambient : []
        let command = wrapper + unprivileged + serve
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        port = try await waitForPort()
    }

    /// The executable under test: `MALTEN_BINARY`, else the debug build beside the tests.
    public static var builtBinary: URL {
        ProcessInfo.processInfo.environment["MALTEN_BINARY"].map(URL.init(fileURLWithPath:))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("malten")
    }

    /// Reads the port from the start-up line `listening on 127.0.0.1:PORT` (up to 30 s).
    private func waitForPort() async throws -> Int {
        for _ in 0..<300 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on 127.0.0.1:") }),
                let port = Int(line.split(separator: ":").last ?? "")
            {
                return port
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw StartFailed(log: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    public struct StartFailed: Error, CustomStringConvertible {
        let log: String
        public var description: String { "malten serve did not start:\n\(log)" }
    }

    /// The real, effective, saved and file-system user ids of the running server (`Uid:` of
    /// `/proc/PID/status`).
    public var userIDs: [Int] {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().compactMap { Int($0) }
    }

    /// What the server wrote to stderr so far.
    public var logText: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// SIGKILL: the server dies at once, saying nothing to anyone (a crash, a pulled plug).
    public func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM, as a service manager stops it; waits for the exit and removes the folder.
    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }
}

/// Runs a blocking call on a Dispatch thread, off the threads that run the tests' tasks.
func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
