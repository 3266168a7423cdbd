import ArgumentParser
import Logging
import MaltenCore
import MaltenHTTP
import MaltenJemalloc
import NIOCore
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `malten`: serves Malten's HTTP API (the default), keeping everything in memory.
@main
struct Malten: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "malten",
        abstract: "Ephemeral message streams, in memory only.",
        discussion: """
            Every option can also be set by the environment variable named beside it; the option wins.
            Nothing is ever written to disk: streams live in memory and vanish after their TTL.
            """
    )

    @Option(help: "Address to listen on (MALTEN_HOST). Default 0.0.0.0.")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (MALTEN_PORT). Default 9090.")
    var port: Int?

    @Option(help: "Messages per stream, FIFO (MALTEN_STREAM_CAPACITY). Default 1024.")
    var streamCapacity: Int?

    @Option(help: "Unicode scalars per message; longer is rejected (MALTEN_MAX_CHARS). Default 1024.")
    var maxChars: Int?

    @Option(help: "Default stream idle TTL in seconds, 1...86400 (MALTEN_TTL). Default 1024.")
    var ttl: Int?

    @Option(help: """
        Bytes the streams may hold: 64MiB, 1GiB, 500000, or a share of physical memory or the cgroup \
        limit such as 25% (MALTEN_MEMORY_BUDGET). Default 25%.
        """)
    var memoryBudget: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "malten")
        let settings = try Settings(self)
        raiseOpenFilesLimit(logger: logger)
        logger.info("allocator jemalloc \(Jemalloc.version); memory budget \(settings.limits.memoryBudget ?? 0) bytes")

        let store = Store(limits: settings.limits)
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: usableCores())
        // Request bodies in flight are held to a twentieth of the budget (at least 1 MiB), so the
        // process stays within the budget plus its idle size plus 10% under any load.
        let bodies = max(1 << 20, (settings.limits.memoryBudget ?? Int.max / 20) / 20)
        // A form body carries a message of `maxCharacters` scalars: up to 4 UTF-8 bytes each, up to
        // 3 characters each once percent-encoded, plus the other parameters.
        let maxBody = max(64 << 10, settings.limits.maxCharacters * 12 + 4096)
        let server = HTTPServer(
            store: store,
            configuration: .init(
                host: settings.host, port: settings.port, maxBodyBytes: maxBody, maxBodyBytesInFlight: bodies),
            logger: logger, group: loops)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// The settings of one run: each option, else its environment variable, else the default.
struct Settings {
    var host: String
    var port: Int
    var limits: Limits

    init(_ options: Malten) throws {
        let environment = Environment()
        host = options.host ?? environment["MALTEN_HOST"] ?? "0.0.0.0"
        port = try options.port ?? environment.integer("MALTEN_PORT") ?? 9090
        let capacity = try options.streamCapacity ?? environment.integer("MALTEN_STREAM_CAPACITY") ?? 1024
        let maxChars = try options.maxChars ?? environment.integer("MALTEN_MAX_CHARS") ?? 1024
        let ttl = try options.ttl ?? environment.integer("MALTEN_TTL") ?? 1024
        guard (0...65535).contains(port) else { throw ValidationError("port must be 0...65535") }
        guard capacity >= 1 else { throw ValidationError("stream capacity must be at least 1") }
        guard maxChars >= 1 else { throw ValidationError("max chars must be at least 1") }
        guard (1...86_400).contains(ttl) else { throw ValidationError("ttl must be 1...86400 seconds") }
        let budgetText = options.memoryBudget ?? environment["MALTEN_MEMORY_BUDGET"]
        let budget: MemoryBudget
        do {
            budget = try budgetText.map(MemoryBudget.init) ?? .default
        } catch {
            throw ValidationError(error.description)
        }
        limits = Limits(streamCapacity: capacity, maxCharacters: maxChars, defaultTTL: ttl, memoryBudget: budget.bytes)
        let oneStream = 256 + capacity * 32
        guard budget.bytes >= oneStream else {
            throw ValidationError("memory budget \(budget.bytes) bytes cannot hold one stream of \(capacity) messages (\(oneStream) bytes)")
        }
    }
}

/// The process environment, read once.
struct Environment {
    private let values: [String: String]

    init() {
        var values: [String: String] = [:]
        var entry = environ
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let equals = pair.firstIndex(of: "=") {
                values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            entry += 1
        }
        self.values = values
    }

    subscript(name: String) -> String? {
        values[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    func integer(_ name: String) throws -> Int? {
        guard let text = self[name] else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(name) must be an integer") }
        return value
    }
}

/// The cores this process may run on (its affinity mask, as `taskset` sets it): one event loop each.
/// Two loops sharing one core would only take turns at it.
func usableCores() -> Int {
    // `Cpus_allowed:\tff,ffffffff` in /proc/self/status: the affinity mask in hex.
    guard let file = fopen("/proc/self/status", "r") else { return System.coreCount }
    defer { fclose(file) }
    var line = [CChar](repeating: 0, count: 4096)
    while fgets(&line, Int32(line.count), file) != nil {
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard text.hasPrefix("Cpus_allowed:") else { continue }
        let count = text.dropFirst("Cpus_allowed:".count).reduce(0) { $0 + (Int(String($1), radix: 16)?.nonzeroBitCount ?? 0) }
        return count > 0 ? min(count, System.coreCount) : System.coreCount
    }
    return System.coreCount
}

/// Lifts the soft open-files limit to the hard one: every connection and subscriber is a socket.
func raiseOpenFilesLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
    limit.rlim_cur = limit.rlim_max
    if setrlimit(RLIMIT_NOFILE_VALUE, &limit) != 0 {
        logger.warning("could not raise the open-files limit")
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
#endif
