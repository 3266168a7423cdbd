import Foundation

/// A `malten` client command (`pipe`, `tail`) as its own process, its stdin open until
/// `finishInput`, its stderr in a file that the test reads as it grows. Every wait suspends (or
/// blocks a Dispatch thread), never one of the few threads that run the tests' tasks: a test that
/// held one while its client ran would starve the others past the server's 10 s for a request head.
public final class ClientProcess: @unchecked Sendable {
    public let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors: URL
    private var pending = Data()

    /// Runs `malten` with `arguments`, through `wrapper` (a command that runs the rest, such as
    /// `strace`) when one is given.
    public init(_ arguments: [String], wrapper: [String] = []) throws {
        errors = FileManager.default.temporaryDirectory.appendingPathComponent("malten-client-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        let command = wrapper + [ServedProcess.builtBinary.path] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardInput = input
        process.standardOutput = output
        process.standardError = try FileHandle(forWritingTo: errors)
        try process.run()
    }

    /// What it wrote to stderr so far.
    public var stderr: String { (try? String(contentsOf: errors, encoding: .utf8)) ?? "" }

    /// The first stderr line that starts with `prefix` (up to 30 s).
    public func line(startingWith prefix: String) async throws -> String {
        for _ in 0..<300 {
            if let line = stderr.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure(description: "no line \(prefix) on stderr: \(stderr)")
    }

    /// Writes `lines` to its stdin, each ended by a newline.
    public func send(_ lines: [String]) throws {
        try input.fileHandleForWriting.write(contentsOf: Data(lines.map { $0 + "\n" }.joined().utf8))
    }

    public func finishInput() throws { try input.fileHandleForWriting.close() }

    /// The next line of its stdout (waits until it comes); nil at the end.
    public func nextLine() async -> String? {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending = Data(pending[(newline + 1)...])
                return line
            }
            let handle = output.fileHandleForReading
            let data = (try? await offThread { handle.availableData }) ?? Data()
            if data.isEmpty { return nil }
            pending.append(data)
        }
    }

    /// Waits for the exit: status, the rest of stdout, and stderr.
    public func exit() async -> (status: Int32, out: String, err: String) {
        let (handle, process) = (output.fileHandleForReading, process)
        let rest = (try? await offThread {
            let data = handle.readDataToEndOfFile()
            process.waitUntilExit()
            return data
        }) ?? Data()
        defer { try? FileManager.default.removeItem(at: errors) }
        return (process.terminationStatus, String(decoding: pending + rest, as: UTF8.self), stderr)
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }
}
