import ArgumentParser
import Dispatch
import MaltenClient

#if canImport(Glibc)
import Glibc
#endif

/// `malten new`: makes a stream and prints its link.
struct New: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make a stream and print its link (encrypted: #k=SECRET).")

    enum Kind: String, EnumerableFlag {
        case `public`, `private`, encrypted
    }

    @Option(help: "The server (MALTEN_SERVER). Default http://127.0.0.1:9090.")
    var server: String?

    @Flag(help: "Listed, unlisted, or end-to-end encrypted (unlisted, sealed in this client). Default public.")
    var kind: Kind = .public

    @Option(help: "Seconds the stream lives without a new message, 1...86400.")
    var ttl: Int?

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        forbidCoreDumps()  // the client holds links' secrets, keys and plaintext
        let origin = try await client { try ServerOrigin(server ?? Environment()["MALTEN_SERVER"] ?? "http://127.0.0.1:9090") }
        let link = try await client {
            try await StreamClient(origin: origin, caFile: tls.caFile).create(StreamClient.Kind(rawValue: kind.rawValue)!, ttl: ttl)
        }
        Console.out(link.description)
    }
}

/// `malten send LINK [TEXT…]`: posts TEXT, or each line of stdin.
struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Post TEXT (the words joined by spaces) to a stream, or each line of stdin; sealed for a #k= link.")

    @Argument(help: "The stream's link: http://HOST:PORT/#k=SECRET or http://HOST:PORT/#NAME.")
    var link: String

    @Argument(help: "The message; without it, each line of stdin is one.")
    var text: [String] = []

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        forbidCoreDumps()  // the client holds links' secrets, keys and plaintext
        let link = try await client { try StreamLink(self.link) }
        let api = StreamClient(origin: link.origin, caFile: tls.caFile)
        if !text.isEmpty {
            try await client { try await api.send(text.joined(separator: " "), to: link) }
            return
        }
        while let line = readLine() {
            try await client { try await api.send(line, to: link) }
        }
    }
}

/// `malten read LINK`: prints the newest stored messages.
struct Read: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a stream's newest messages, oldest first, opened for a #k= link.")

    @Argument(help: "The stream's link.")
    var link: String

    @Option(help: "How many of the newest messages.")
    var limit = 25

    @Flag(help: "One message object a line, Text opened.")
    var json = false

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        forbidCoreDumps()  // the client holds links' secrets, keys and plaintext
        guard limit >= 1 else { throw ValidationError("limit must be at least 1") }
        let link = try await client { try StreamLink(self.link) }
        try await client { try await StreamClient(origin: link.origin, caFile: tls.caFile).read(link, limit: limit, output: .console, json: json) }
    }
}

/// `malten tail LINK`: history after `--since`, then live messages.
struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print messages after --since, then live ones until interrupted or the stream ends; resumes after a dropped connection.")

    @Argument(help: "The stream's link.")
    var link: String

    @Option(help: "Start after this Created (the decimal value of a message).")
    var since: String?

    @Flag(help: "One message object a line, Text opened.")
    var json = false

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        forbidCoreDumps()  // the client holds links' secrets, keys and plaintext
        if let since, UInt64(since) == nil { throw ValidationError("since must be a message's Created, a decimal number") }
        let link = try await client { try StreamLink(self.link) }
        try await client { try await StreamClient(origin: link.origin, caFile: tls.caFile).tail(link, since: since, output: .console, json: json) }
    }
}

/// `malten pipe [LINK]`: makes a pipe (its link on stderr) or joins one, then passes stdin's lines
/// to the other side and prints theirs, end-to-end encrypted, until one side leaves.
struct Pipe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a pipe (its link goes to stderr) or join one by LINK; once the other side is there, send stdin's lines and print theirs.",
        discussion: """
            Both sides print "safety code NNNN NNNN" on stderr: compare it by voice or another channel. \
            The end of stdin leaves the pipe, which ends it for both; when the other side leaves, this one exits 0.
            """)

    @Argument(help: "The pipe's link (http://HOST:PORT/#p=SECRET); without it, a new pipe is made.")
    var link: String?

    @Option(help: "The server of a new pipe (MALTEN_SERVER). Default http://127.0.0.1:9090.")
    var server: String?

    @Option(help: "Seconds to wait for the other side, at most.")
    var wait = 600

    @Option(help: "Seconds a new pipe lives without a message, 1...86400 (default 600).")
    var ttl: Int?

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        forbidCoreDumps()  // the client holds links' secrets, keys and plaintext
        guard wait >= 1 else { throw ValidationError("wait must be at least 1 second") }
        let pipeLink: PipeLink
        if let link {
            if server != nil { throw ValidationError("--server is for a new pipe; a link names its server") }
            pipeLink = try await client { try PipeLink(link) }
        } else {
            let origin = try await client { try ServerOrigin(server ?? Environment()["MALTEN_SERVER"] ?? "http://127.0.0.1:9090") }
            pipeLink = try await client { try await StreamClient(origin: origin, caFile: tls.caFile).createPipe(ttl: ttl) }
            Console.err(pipeLink.description)
        }
        let lines = AsyncStream<String> { continuation in
            DispatchQueue.global().async {  // a blocking read, off the tasks' threads
                while let line = readLine() { continuation.yield(line) }
                continuation.finish()
            }
        }
        try await client {
            try await StreamClient(origin: pipeLink.origin, caFile: tls.caFile)
                .join(pipeLink, lines: lines, wait: .seconds(wait), output: .console) { Console.err("safety code " + $0) }
        }
    }
}

/// Trusting a server's own certificate (a home network's CA) besides the system's roots.
struct ClientTLSOptions: ParsableArguments {
    @Option(name: .customLong("ca-file"), help: "A PEM CA certificate to trust for https:// (MALTEN_CA_FILE).")
    var caFileOption: String?

    var caFile: String? { caFileOption ?? Environment()["MALTEN_CA_FILE"] }
}

/// The client's lines: messages to stdout as they come (one write each, so a pipe sees them at
/// once), warnings and errors to stderr.
enum Console {
    static func out(_ line: String) { write(line + "\n", to: STDOUT_FILENO) }

    static func warn(_ line: String) { err("malten: " + line) }

    /// A line on stderr as it is (a pipe's link, its safety code).
    static func err(_ line: String) { write(line + "\n", to: STDERR_FILENO) }

    private static func write(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                guard written > 0 else { return }
                offset += written
            }
        }
    }
}

extension StreamClient.Output {
    static let console = StreamClient.Output(message: Console.out, warning: { Console.warn("warning: " + $0) })
}

/// Runs a client step; its failure is one line on stderr and exit status 1.
func client<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ClientError {
        Console.warn(error.description)
        throw ExitCode.failure
    }
}
