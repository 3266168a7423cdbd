import MaltenCore
import NIOCore
import NIOHTTP1

/// The last handler of a connection: collects a request (its body bounded), asks the router, writes
/// the response. Runs on the connection's event loop; its one blocking step is the store's short hop.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    enum State {
        case idle
        case receiving(HTTPRequestHead, body: ByteBuffer?)
        /// A response that closes the connection went out before the request ended; drop the rest.
        case discarding
        /// The connection carries `GET /events`; it sends events until it closes.
        case streaming(EventConnection)
    }

    /// Its name in the pipeline.
    static let name = "malten.http"

    let router: Router
    let events: EventSettings
    /// Carries events to this loop's event connections.
    let courier: EventLoopCourier
    /// Writes per client, when limited.
    let limits: ClientLimits?
    /// `GET /metrics`, when on.
    let metrics: ServerMetrics?
    private let maxBodyBytes: Int
    private let deadline: ConnectionDeadline
    private let allowance: BodyAllowance
    /// What the body being received has taken from the loop's allowance.
    private var bodyBytesHeld = 0
    var state = State.idle
    private var needsFlush = false
    /// The connection's peer, read from the channel (behind a lock in NIO) once, when first needed.
    private var peer = Peer.unread

    private enum Peer {
        case unread
        case read(ClientAddress?)
    }

    init(
        router: Router, maxBodyBytes: Int, deadlines: ConnectionDeadline.Limits, allowance: BodyAllowance,
        events: EventSettings, courier: EventLoopCourier, limits: ClientLimits? = nil, metrics: ServerMetrics? = nil
    ) {
        self.router = router
        self.limits = limits
        self.metrics = metrics
        self.events = events
        self.courier = courier
        self.maxBodyBytes = maxBodyBytes
        self.deadline = ConnectionDeadline(limits: deadlines)
        self.allowance = allowance
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { deadline.connected(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        deadline.connected(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline.stop()
        releaseBody()
        endEvents()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline.stop()
        releaseBody()
        endEvents()
    }

    /// A connection that streams events has no request deadlines.
    func stopDeadline() {
        deadline.stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            deadline.requestBegan(context: context)
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodyBytes {
                refuseBody(context: context, head: head)
            } else {
                state = .receiving(head, body: nil)
            }
        case (.body(var chunk), .receiving(let head, let body)):
            guard (body?.readableBytes ?? 0) + chunk.readableBytes <= maxBodyBytes else {
                refuseBody(context: context, head: head)
                return
            }
            guard allowance.take(chunk.readableBytes) else {
                refuse(HTTPError(.serviceUnavailable, "Server busy: too many request bodies in flight"), head: head, context: context)
                return
            }
            bodyBytesHeld += chunk.readableBytes
            if var body {
                state = .idle  // release the buffer's reference before appending, so it is not copied
                body.writeBuffer(&chunk)
                state = .receiving(head, body: body)
            } else {
                state = .receiving(head, body: chunk)
            }
        case (.end, .receiving(let head, let body)):
            state = .idle
            deadline.requestEnded(context: context)
            // Before writing: the write may hand this handler the next pipelined request at once.
            releaseBody()
            do throws(HTTPError) {
                let request = try Request(head: head, body: body)
                if request.path == "/events" && request.method == .GET {
                    startEvents(request, head: head, context: context)
                    return
                }
                if request.path == "/metrics", let metrics {
                    guard request.method == .GET || request.method == .HEAD else { throw HTTPError.methodNotAllowed(allow: "GET, HEAD") }
                    scrape(metrics, head: head, context: context)
                    return
                }
                guard Router.isWrite(request) else {
                    let response = router.respond(to: request, allocator: context.channel.allocator)
                    if response.status == .ok, request.path == "/messages" { courier.metrics.reads += 1 }
                    write(response, for: head, keepAlive: head.isKeepAlive, context: context)
                    return
                }
                if let wait = limits?.takeWrite(from: client(of: head, context: context)) {
                    courier.metrics.rateLimited += 1
                    throw HTTPError.tooManyRequests(retryAfter: wait)
                }
                answerWrite(request, head: head, context: context)
            } catch {
                write(error.response(allocator: context.channel.allocator), for: head, keepAlive: head.isKeepAlive, context: context)
            }
        case (.end, .discarding):
            context.close(promise: nil)
        case (_, .discarding), (_, .streaming):
            break
        default:
            // The HTTP decoder guarantees head, body*, end; anything else is a bug upstream.
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            courier.whenDelivered { context.flush() }
        }
        context.fireChannelReadComplete()
    }

    /// A write's answer, written at once, or from the loop when a clustered store answers later.
    private func answerWrite(_ request: Request, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let handler = NIOLoopBound((self, context), eventLoop: loop)
        let isPost = request.path == "/messages"
        router.write(request, allocator: context.channel.allocator) { response in
            @Sendable func write(later: Bool) {
                let (handler, context) = handler.value
                guard !later || context.channel.isActive else { return }
                if response.status == .ok, isPost { handler.courier.metrics.posts += 1 }
                handler.write(response, for: head, keepAlive: head.isKeepAlive, context: context)
                if later { context.flush() }
            }
            if loop.inEventLoop { write(later: false) } else { loop.execute { write(later: true) } }
        }
    }

    /// `GET /metrics`: answered once every loop has given its counters.
    private func scrape(_ metrics: ServerMetrics, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive
        metrics.scrape(on: context.eventLoop).assumeIsolated().whenComplete { result in
            guard context.channel.isActive else { return }
            let response: Response
            switch result {
            case .success(let text):
                response = Response(
                    status: .ok, body: context.channel.allocator.buffer(bytes: text), contentType: "text/plain; version=0.0.4; charset=utf-8")
            case .failure:  // a loop shutting down
                response = HTTPError(.serviceUnavailable, "Server shutting down").response(allocator: context.channel.allocator)
            }
            self.write(response, for: head, keepAlive: keepAlive, context: context)
            context.flush()
        }
    }

    /// Who sent `head`, as the per-client limits count (the peer, or the client a trusted proxy names).
    func client(of head: HTTPRequestHead, context: ChannelHandlerContext) -> ClientAddress? {
        guard let limits else { return nil }
        if case .unread = peer { peer = .read(context.channel.remoteAddress.flatMap(ClientAddress.init)) }
        guard case .read(let address) = peer else { return nil }
        return limits.client(peer: address, headers: head.headers)
    }

    /// 413 without reading the body: the connection closes once the client has sent it or given up.
    private func refuseBody(context: ChannelHandlerContext, head: HTTPRequestHead) {
        refuse(HTTPError(.payloadTooLarge, "Request body exceeds \(maxBodyBytes) bytes"), head: head, context: context)
    }

    /// Answers before the body is in, drops the rest of it, and closes once it has come or timed out.
    private func refuse(_ error: HTTPError, head: HTTPRequestHead, context: ChannelHandlerContext) {
        state = .discarding
        releaseBody()
        write(error.response(allocator: context.channel.allocator), for: head, keepAlive: false, context: context)
    }

    private func releaseBody() {
        allowance.give(bodyBytesHeld)
        bodyBytesHeld = 0
    }

    func write(_ response: Response, for head: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext) {
        courier.metrics.answered(head.uri.prefix { $0 != "?" }, status: Int(response.status.code))
        // Built as one array: `HTTPHeaders.add` checks each name, and these are the server's own.
        var fields: [(String, String)] = []
        fields.reserveCapacity(5 + response.headers.count)
        if response.status != .noContent && response.status != .notModified {
            fields.append(("Content-Type", response.contentType))
            fields.append(("Content-Length", String(response.body.readableBytes)))
        }
        fields.append(("Access-Control-Allow-Origin", "*"))
        fields += response.headers
        if !keepAlive {
            fields.append(("Connection", "close"))
        } else if head.version.major == 1 && head.version.minor == 0 {
            fields.append(("Connection", "keep-alive"))
        }
        let headers = HTTPHeaders(fields)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: response.status, headers: headers))), promise: nil)
        if head.method != .HEAD && response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        if keepAlive {
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            needsFlush = true
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                if case .discarding = self.state { return }  // closes at the request's end instead
                context.close(promise: nil)
            }
        }
    }
}
