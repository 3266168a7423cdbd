import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A `malten` client command (`pipe`, `tail`) as its own process, its stdin open until
/// `finishInput`, its stderr in a file that the test reads as it grows.
public final class ClientProcess: @unchecked Sendable {
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors: URL
    private var pending = Data()

    public init(_ arguments: [String]) throws {
        errors = FileManager.default.temporaryDirectory.appendingPathComponent("malten-client-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        process.executableURL = ServedProcess.builtBinary
        process.arguments = arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
    }

    /// What it wrote to stderr so far.
    public var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    /// The first stderr line that starts with `prefix` (up to 30 s).
    public func line(startingWith prefix: String) throws -> String {
        for _ in 0..<300 {
            if let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            guard process.isRunning else { break }
            usleep(100_000)
        }
        throw Failure(description: "no line \(prefix) on stderr: \(stderr)")
    }

    /// Writes `lines` to its stdin, each ended by a newline.
    public func send(_ lines: [String]) throws {
        try input.fileHandleForWriting.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
    }

    public func finishInput() throws { try input.fileHandleForWriting.close() }

    /// The next line of its stdout (blocks until it comes); nil at the end.
    public func nextLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending = Data(pending[(newline + 1)...])
                return line
            }
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { return nil }
            pending.append(data)
        }
    }

    /// Waits for the exit: status, the rest of stdout, and stderr.
    public func exit() -> (status: Int32, out: String, err: String) {
        let out = pending + output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        defer { try? FileManager.default.removeItem(at: errors) }
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), stderr)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }
}
