import ArgumentParser
import Logging
import MaltenCluster
import MaltenCore
import MaltenHTTP
import MaltenJemalloc
import MaltenStdio
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `malten`: serves Malten's HTTP API (the default, `malten serve`) or speaks JSON Lines on
/// stdin/stdout (`malten stdio`), keeping everything in memory; `new`, `send`, `read` and `tail`
/// are its client.
@main
struct Malten: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "malten",
        abstract: "Ephemeral message streams, in memory only.",
        discussion: """
            Every option can also be set by the environment variable named beside it; the option wins.
            Nothing is ever written to disk: streams live in memory and vanish after their TTL.
            """,
        subcommands: [Serve.self, Stdio.self, New.self, Send.self, Read.self, Tail.self, Pipe.self],
        defaultSubcommand: Serve.self
    )
}

/// `malten serve`: the HTTP API on port 9090.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve Malten's HTTP API (the default).")

    @Option(help: "Address to listen on (MALTEN_HOST). Default 0.0.0.0.")
    var host: String?

    @Option(help: "Port to listen on; 0 picks a free one (MALTEN_PORT). Default 9090.")
    var port: Int?

    @Option(help: "Seconds between SSE heartbeat comments (MALTEN_HEARTBEAT). Default 15.")
    var heartbeat: Int?

    @Option(help: "Events a subscriber may fall behind before it is closed with lagged (MALTEN_SUBSCRIBER_QUEUE). Default 1024.")
    var subscriberQueue: Int?

    @Option(help: "PEM certificate chain: serve HTTPS and WSS on the port (MALTEN_TLS_CERT). Needs --tls-key.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert (MALTEN_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "Writes per second per client (posts, frames, creations, subscriptions; 0.1 is one every 10 s), a burst of 5 s; or off (MALTEN_RATE_LIMIT). Default 50.")
    var rateLimit: String?

    @Option(help: "Open connections per client address; or off (MALTEN_MAX_CONNECTIONS_PER_CLIENT). Default 256.")
    var maxConnectionsPerClient: String?

    @Option(help: "Proxies whose X-Forwarded-For names the client: CIDR[,CIDR…] (MALTEN_TRUSTED_PROXY). Default none.")
    var trustedProxy: String?

    @Option(help: "GET /metrics in Prometheus' text format: on or off (MALTEN_METRICS). Default on.")
    var metrics: String?

    @Option(help: "Join other Malten servers through NATS: URL[,URL…], nats:// or tls:// (MALTEN_NATS). Default: serve alone.")
    var nats: String?

    @Option(help: "PEM file of the CAs that sign the NATS servers' certificates, for tls:// (MALTEN_NATS_CA).")
    var natsCa: String?

    /// Moves this server's clock, for the cluster tests' clock-skew case.
    @Option(help: ArgumentHelp(visibility: .private))
    var clockOffset: Int64?

    @OptionGroup var store: StoreOptions

    @OptionGroup var memory: MemoryOptions

    func run() async throws {
        forbidCoreDumps()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .info
            return handler
        }
        let logger = Logger(label: "malten")
        let environment = Environment()
        let limits = try store.limits(environment)
        let host = host ?? environment["MALTEN_HOST"] ?? "0.0.0.0"
        let port = try port ?? environment.integer("MALTEN_PORT") ?? 9090
        guard (0...65535).contains(port) else { throw ValidationError("port must be 0...65535") }
        let heartbeat = try heartbeat ?? environment.integer("MALTEN_HEARTBEAT") ?? 15
        let subscriberQueue = try subscriberQueue ?? environment.integer("MALTEN_SUBSCRIBER_QUEUE") ?? 1024
        guard heartbeat >= 1 else { throw ValidationError("heartbeat must be at least 1 second") }
        guard subscriberQueue >= 1 else { throw ValidationError("subscriber queue must be at least 1") }
        let tls = try tlsContext(environment, logger: logger)
        raiseOpenFilesLimit(logger: logger)
        let protection = try memory.apply(environment)
        if let warning = protection.warning { logger.warning("\(warning)") }
        let natsURLs = (nats ?? environment["MALTEN_NATS"] ?? "").split(separator: ",").map(String.init)
        let budget = limits.memoryBudget.map { "memory budget \($0 >> 20) MiB" } ?? "no memory budget"
        let state = """
            \(budget); \(protection.state); \(natsURLs.isEmpty ? "alone" : "cluster through \(natsURLs.count) NATS server(s)"); \
            allocator jemalloc \(Jemalloc.version.prefix(while: { $0 != "-" }))
            """

        let clock = OffsetClock(offset: (clockOffset ?? 0) * 1_000_000_000)
        let local = Store(limits: limits, clock: clock, afterExpiry: Jemalloc.flushThreadCache)
        let cluster = try natsURLs.isEmpty ? nil : joinCluster(local, urls: natsURLs, environment: environment, clock: clock, logger: logger)
        defer { cluster?.leave() }
        let store: any StreamStore = cluster ?? local
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: usableCores())
        // Request bodies in flight are held to a twentieth of the budget (at least 1 MiB), so the
        // process stays within the budget plus its idle size plus 10% under any load.
        let bodies = max(1 << 20, (limits.memoryBudget ?? Int.max / 20) / 20)
        var configuration = HTTPServer.Configuration(
            host: host, port: port, maxBodyBytes: limits.maxRequestBytes, maxBodyBytesInFlight: bodies)
        configuration.events = EventSettings(heartbeat: .seconds(Int64(heartbeat)), subscriberQueue: subscriberQueue)
        configuration.tls = tls
        configuration.clientLimits = try clientLimits(environment)
        configuration.metrics = try choice(metrics ?? environment["MALTEN_METRICS"] ?? "on", of: ["on", "off"], "metrics") == "on"
        let server = HTTPServer(store: store, configuration: configuration, logger: logger, group: loops)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        Task {
            guard let address = try? await server.localAddress else { return }
            logger.info("the page: \(pageURL(host: host, port: address.port ?? port, tls: tls != nil)); \(state)")
            releaseStartupPages()
        }
        try await group.run()
    }

    /// Where a browser on this machine finds the page: localhost when every address is served.
    private func pageURL(host: String, port: Int, tls: Bool) -> String {
        let name = ["0.0.0.0", "::", "[::]"].contains(host) ? "localhost" : host.contains(":") ? "[\(host)]" : host
        return "\(tls ? "https" : "http")://\(name):\(port)/"
    }
}

extension Serve {
    /// Connects to NATS and waits (up to 15 s) until this member has caught up with the others;
    /// past that it serves anyway, refusing posts until it has.
    func joinCluster(_ store: Store, urls: [String], environment: Environment, clock: OffsetClock, logger: Logger) throws -> ClusterStore {
        for url in urls where !(url.hasPrefix("nats://") || url.hasPrefix("tls://")) {
            throw ValidationError("NATS URL '\(url)' must start with nats:// or tls://")
        }
        let cluster: ClusterStore
        do {
            cluster = try ClusterStore(
                store: store, urls: urls, caFile: natsCa ?? environment["MALTEN_NATS_CA"], clock: clock, logger: logger)
        } catch {
            logger.error("Cannot join the cluster: \(error)")
            throw ExitCode.failure
        }
        if !cluster.join(timeout: 15) { logger.warning("Not caught up with the cluster yet: posts are refused until it is") }
        return cluster
    }

    /// `--rate-limit`, `--max-connections-per-client` and `--trusted-proxy`.
    func clientLimits(_ environment: Environment) throws -> ClientLimitSettings {
        let rate = try numberOrOff(
            rateLimit ?? environment["MALTEN_RATE_LIMIT"] ?? "50", where: { (rate: Double) in rate > 0 && rate.isFinite },
            else: "rate limit must be a number of writes per second above 0 (0.1: one every 10 s), or off")
        let connections = try numberOrOff(
            maxConnectionsPerClient ?? environment["MALTEN_MAX_CONNECTIONS_PER_CLIENT"] ?? "256", where: { (count: Int) in count >= 1 },
            else: "max connections per client must be a whole number of at least 1, or off")
        let proxies = try (trustedProxy ?? environment["MALTEN_TRUSTED_PROXY"] ?? "").split(separator: ",").map { text in
            guard let range = AddressRange(String(text)) else { throw ValidationError("trusted proxy '\(text)' is not an address or CIDR range") }
            return range
        }
        return ClientLimitSettings(writesPerSecond: rate, maxConnectionsPerClient: connections, trustedProxies: proxies)
    }

    /// `text` as a number that is `valid`, or nil for `off`; anything else is refused with `message`.
    private func numberOrOff<Number: LosslessStringConvertible>(
        _ text: String, where valid: (Number) -> Bool, else message: String
    ) throws -> Number? {
        if text == "off" { return nil }
        guard let number = Number(text), valid(number) else { throw ValidationError(message) }
        return number
    }

    /// The TLS context of `--tls-cert` and `--tls-key`, or nil for plain HTTP; a file that cannot
    /// serve stops the start with a line naming it.
    func tlsContext(_ environment: Environment, logger: Logger) throws -> NIOSSLContext? {
        let certificate = tlsCert ?? environment["MALTEN_TLS_CERT"]
        let key = tlsKey ?? environment["MALTEN_TLS_KEY"]
        switch (certificate, key) {
        case (nil, nil): return nil
        case (let certificate?, let key?):
            do {
                let context = try TLSFiles.serverContext(certificate: certificate, key: key)
                logger.info("TLS on: HTTPS and WSS (TLS 1.2 and 1.3), HSTS")
                return context
            } catch {
                logger.error("\(error.description)")
                throw ExitCode.failure
            }
        default: throw ValidationError("--tls-cert and --tls-key go together")
        }
    }
}

/// The system clock, moved by a whole number of seconds (`--clock-offset`; 0 for the real one).
struct OffsetClock: WallClock {
    let offset: Int64
    private let system = SystemClock()

    func now() -> Int64 { system.now() &+ offset }
}

/// `malten stdio`: JSON Lines on stdin and stdout, for pipelines and scripts.
struct Stdio: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Speak JSON Lines: one request per line on stdin, answers and events on stdout.")

    @OptionGroup var store: StoreOptions

    @OptionGroup var memory: MemoryOptions

    func run() throws {
        forbidCoreDumps()
        let environment = Environment()
        let limits = try store.limits(environment)
        // Standard output is the protocol's: a warning goes to standard error, the state nowhere.
        if let warning = try memory.apply(environment).warning {
            let line = Array("malten: \(warning)\n".utf8)
            _ = write(2, line, line.count)
        }
        StdioFrontend(store: Store(limits: limits, afterExpiry: Jemalloc.flushThreadCache), maxLineBytes: limits.maxRequestBytes).run()
    }
}

/// The store's settings, shared by every frontend: each option, else its environment variable,
/// else the default.
struct StoreOptions: ParsableArguments {
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

    func limits(_ environment: Environment) throws -> Limits {
        let capacity = try streamCapacity ?? environment.integer("MALTEN_STREAM_CAPACITY") ?? 1024
        let maxChars = try maxChars ?? environment.integer("MALTEN_MAX_CHARS") ?? 1024
        let ttl = try ttl ?? environment.integer("MALTEN_TTL") ?? 1024
        guard capacity >= 1 else { throw ValidationError("stream capacity must be at least 1") }
        guard maxChars >= 1 else { throw ValidationError("max chars must be at least 1") }
        guard (1...86_400).contains(ttl) else { throw ValidationError("ttl must be 1...86400 seconds") }
        let budget: MemoryBudget
        do {
            budget = try (memoryBudget ?? environment["MALTEN_MEMORY_BUDGET"]).map(MemoryBudget.init) ?? .default
        } catch {
            throw ValidationError(error.description)
        }
        let oneStream = 256 + capacity * 32
        guard budget.bytes >= oneStream else {
            throw ValidationError("memory budget \(budget.bytes) bytes cannot hold one stream of \(capacity) messages (\(oneStream) bytes)")
        }
        return Limits(streamCapacity: capacity, maxCharacters: maxChars, defaultTTL: ttl, memoryBudget: budget.bytes)
    }
}

extension Limits {
    /// The largest request a frontend reads: a message of `maxCharacters` scalars takes up to 4
    /// UTF-8 bytes each, up to 3 characters each once escaped, plus the other parameters.
    var maxRequestBytes: Int { max(64 << 10, maxCharacters * 12 + 4096) }
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
    // `Cpus_allowed:\tff,ffffffff`: the affinity mask in hex.
    guard let mask = ProcessStatus.field("Cpus_allowed") else { return System.coreCount }
    let count = mask.reduce(0) { $0 + (Int(String($1), radix: 16)?.nonzeroBitCount ?? 0) }
    return count > 0 ? min(count, System.coreCount) : System.coreCount
}
