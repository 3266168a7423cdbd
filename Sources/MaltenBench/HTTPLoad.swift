import Logging
import MaltenCore
import MaltenHTTP
import NIOCore
import NIOHTTP1
import NIOPosix

/// POSTs through the real HTTP frontend on a loopback port: the server on one event loop, a
/// keep-alive client of `connections` connections on another.
struct HTTPLoad {
    let connections: Int
    let requests: Int
    /// The server's per-client limits (off unless the run asks; the load is one client).
    var clientLimits = ClientLimitSettings()

    /// Requests per second, after checking that every request got a 200.
    func postsPerSecond(store: Store) async throws -> Double {
        let clientLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let perConnection = requests / connections
        let measured = await outcome { try await withLoopbackServer(store: store, clientLimits: clientLimits) { port in
            let start = Stopwatch.now()
            var futures: [EventLoopFuture<Int>] = []
            for index in 0..<connections {
                let promise = clientLoop.next().makePromise(of: Int.self)
                futures.append(promise.futureResult)
                _ = try await ClientBootstrap(group: clientLoop)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHTTPClientHandlers()
                            try channel.pipeline.syncOperations.addHandler(
                                PostingHandler(stream: "bench\(index % 64)", requests: perConnection, done: promise))
                        }
                    }
                    .connect(host: "127.0.0.1", port: port).get()
            }
            var succeeded = 0
            for future in futures { succeeded += try await future.get() }
            return (succeeded, Double(Stopwatch.now() - start) / 1e9)
        } }
        try await clientLoop.shutdownGracefully()
        let (succeeded, seconds) = try measured.get()
        guard succeeded == perConnection * connections else {
            throw BenchError("HTTP load: \(perConnection * connections - succeeded) requests failed")
        }
        return Double(succeeded) / seconds
    }
}

/// What `body` returned or threw, so that cleanup can run before the error is rethrown.
private func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
    do { return .success(try await body()) } catch { return .failure(error) }
}

/// Runs `body` with the real HTTP frontend serving `store` on a loopback port, on an event loop of
/// its own; the server stops before its loop does.
func withLoopbackServer<T>(
    store: Store, clientLimits: ClientLimitSettings = ClientLimitSettings(), _ body: (Int) async throws -> T
) async throws -> T {
    let serverLoop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    var logger = Logger(label: "malten-bench")
    logger.logLevel = .error
    var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
    configuration.clientLimits = clientLimits
    let server = HTTPServer(store: store, configuration: configuration, logger: logger, group: serverLoop)
    let serving = Task { try await server.run() }
    let result = await outcome { try await body(try await server.localAddress.port!) }
    serving.cancel()
    _ = await serving.result
    try await serverLoop.shutdownGracefully()
    return try result.get()
}

/// Sends `requests` POSTs one after another on its connection, counting 200s.
private final class PostingHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let body: ByteBuffer
    private let head: HTTPRequestHead
    private var remaining: Int
    private var succeeded = 0
    private var status = HTTPResponseStatus.ok
    private let done: EventLoopPromise<Int>

    init(stream: String, requests: Int, done: EventLoopPromise<Int>) {
        let text = String(repeating: "x", count: 100)
        body = ByteBuffer(string: "stream=\(stream)&text=\(text)")
        head = HTTPRequestHead(
            version: .http1_1, method: .POST, uri: "/messages",
            headers: [
                "Host": "bench", "Content-Type": "application/x-www-form-urlencoded",
                "Content-Length": String(body.readableBytes),
            ])
        remaining = requests
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        send(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let response): status = response.status
        case .body: break
        case .end:
            if status == .ok { succeeded += 1 }
            remaining -= 1
            if remaining > 0 {
                send(context: context)
            } else {
                done.succeed(succeeded)
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        done.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(succeeded)  // a no-op when already completed
    }

    private func send(context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

/// A benchmark that could not measure what it set out to.
public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The fan-out scenario in process: the real HTTP frontend on one event loop and `FanOut`'s
/// epoll client in the calling thread, over loopback.
struct FanOutLoad {
    let subscribers: Int
    let posts: Int

    func run(store: Store) async throws -> FanOut.Result {
        try await withLoopbackServer(store: store) { port in
            var load = FanOut(server: .malten, port: port, subscribers: subscribers, posts: posts)
            load.inFlight = 8
            return try load.run()
        }
    }
}
