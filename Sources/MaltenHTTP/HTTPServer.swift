import Logging
import MaltenCore
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// How `GET /events` streams behave.
public struct EventSettings: Sendable {
    /// Between SSE heartbeat comments (`: hb`).
    public var heartbeat: TimeAmount
    /// Events a subscriber may fall behind its socket before it is closed with `lagged`.
    public var subscriberQueue: Int

    public init(heartbeat: TimeAmount = .seconds(15), subscriberQueue: Int = 1024) {
        self.heartbeat = heartbeat
        self.subscriberQueue = subscriberQueue
    }
}

/// Malten's HTTP frontend: a SwiftNIO server over a `StreamStore` (a `Store`, or a cluster member), run as a ServiceLifecycle service.
///
///     let server = HTTPServer(store: Store(), configuration: .init(port: 9090), logger: logger)
///     try await ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger).run()
public final class HTTPServer: Service {
    /// Where to listen and how to bound each connection.
    public struct Configuration: Sendable {
        public var host: String
        /// `0` picks a free port.
        public var port: Int
        /// Largest request body read; a larger one gets 413 without being read into memory.
        public var maxBodyBytes: Int
        /// Largest request head (request line and headers); past it, 431.
        public var maxHeadBytes: Int
        /// Request-body bytes all connections together may hold at once (split over the event
        /// loops); a body that would pass it gets 503. Counts against the memory the process keeps.
        public var maxBodyBytesInFlight: Int
        /// Heartbeats and the bound on how far an event subscriber may fall behind.
        public var events = EventSettings()
        /// HTTPS and WSS on the same port when set (`TLSFiles.serverContext`), with HSTS.
        public var tls: NIOSSLContext?
        /// Writes per second and connections per client (none by default).
        public var clientLimits = ClientLimitSettings()
        /// `GET /metrics`, Prometheus' text format; off: no such route.
        public var metrics = true
        var deadlines = ConnectionDeadline.Limits()

        public init(
            host: String = "0.0.0.0", port: Int = 9090, maxBodyBytes: Int = 64 * 1024, maxHeadBytes: Int = 16 * 1024,
            maxBodyBytesInFlight: Int = 16 << 20
        ) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.maxHeadBytes = maxHeadBytes
            self.maxBodyBytesInFlight = maxBodyBytesInFlight
        }
    }

    private let store: any StreamStore
    private let configuration: Configuration
    private let logger: Logger
    private let group: any EventLoopGroup
    private let bound: EventLoopPromise<SocketAddress>
    /// What each event loop keeps for all its connections, by the loop's identity.
    private let loops: [ObjectIdentifier: (allowance: BodyAllowance, courier: EventLoopCourier)]

    public init(
        store: any StreamStore, configuration: Configuration, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.store = store
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.bound = group.any().makePromise(of: SocketAddress.self)
        let loops = Array(group.makeIterator())
        let share = max(configuration.maxBodyBytes, configuration.maxBodyBytesInFlight / loops.count)
        self.loops = Dictionary(
            uniqueKeysWithValues: loops.map {
                (ObjectIdentifier($0), (BodyAllowance(eventLoop: $0, limit: share), EventLoopCourier(eventLoop: $0)))
            })
    }

    /// The address the server listens on, once it does.
    public var localAddress: SocketAddress {
        get async throws { try await bound.futureResult.get() }
    }

    /// Binds, serves until graceful shutdown (SIGINT/SIGTERM through the service group) or
    /// cancellation, then stops accepting, closes the listening socket and ends every event
    /// stream (SSE responses end, WebSockets close with 1001).
    public func run() async throws {
        let channel: any Channel
        do {
            channel = try await bootstrap().bind(host: configuration.host, port: configuration.port).get()
        } catch {
            bound.fail(error)
            throw error
        }
        let address = channel.localAddress!
        bound.succeed(address)
        logger.info("listening on \(configuration.host):\(address.port ?? configuration.port)")
        try? await gracefulShutdown()
        logger.info("shutting down")
        try await channel.close()
        for (_, courier) in loops.values {
            try? await courier.eventLoop.submit { courier.shutDown() }.get()
        }
    }

    private func bootstrap() -> ServerBootstrap {
        let router = Router(store: store)
        let configuration = configuration
        let loops = loops
        let limits = configuration.clientLimits.isOff ? nil : ClientLimits(configuration.clientLimits)
        let metrics = configuration.metrics
            ? ServerMetrics(store: store, loops: loops.values.map { ($0.courier.eventLoop, $0.courier.metrics) }) : nil
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let loop = loops[ObjectIdentifier(channel.eventLoop)]!
                    try Self.configure(
                        channel.pipeline.syncOperations, router: router, configuration: configuration,
                        allowance: loop.allowance, courier: loop.courier, limits: limits, metrics: metrics)
                }
            }
    }

    /// The per-connection pipeline: the connection count and limit, TLS when configured, back-pressure, NIO's HTTP/1.1 codec with
    /// pipelining and the WebSocket upgrade of `GET /events` (first request only; it leaves the
    /// pipeline after it), HSTS over TLS, then Malten's handler (which also answers protocol errors
    /// and keeps the connection's deadlines: every handler in the chain is a hop for every request
    /// part). Response headers are the server's own constants (no client input), so NIO's outbound
    /// header validation is left out of the write path.
    static func configure(
        _ pipeline: ChannelPipeline.SynchronousOperations, router: Router, configuration: Configuration,
        allowance: BodyAllowance, courier: EventLoopCourier, limits: ClientLimits? = nil, metrics: ServerMetrics? = nil
    ) throws {
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldSize = configuration.maxHeadBytes
        decoderLimits.maxHeaderListSize = configuration.maxHeadBytes
        let upgrader = WebSocketEventsHandler.upgrader(
            store: router.store, courier: courier, settings: configuration.events,
            maxFrameBytes: configuration.maxBodyBytes, limits: limits)
        try pipeline.addHandler(ConnectionGate(limits: limits, metrics: courier.metrics))
        if let tls = configuration.tls {
            try pipeline.addHandler(NIOSSLServerHandler(context: tls))
        }
        try pipeline.addHandler(BackPressureHandler())
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true,
            withServerUpgrade: (upgraders: [upgrader], completionHandler: { context in
                // The connection speaks WebSocket from here: Malten's HTTP handlers leave too.
                context.pipeline.removeHandler(name: HTTPHandler.name, promise: nil)
                if configuration.tls != nil {
                    context.pipeline.removeHandler(name: StrictTransportSecurity.name, promise: nil)
                }
            }),
            withErrorHandling: false, withOutboundHeaderValidation: false,
            withEncoderConfiguration: .init(), withDecoderLimitConfiguration: decoderLimits)
        if configuration.tls != nil {
            try pipeline.addHandler(StrictTransportSecurity(), name: StrictTransportSecurity.name)
        }
        try pipeline.addHandler(
            HTTPHandler(
                router: router, maxBodyBytes: configuration.maxBodyBytes, deadlines: configuration.deadlines,
                allowance: allowance, events: configuration.events, courier: courier, limits: limits,
                metrics: metrics),
            name: HTTPHandler.name)
    }
}
