import MaltenCore
import MaltenJSON
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// `GET /events` as a WebSocket: events go out as JSON text frames; text frames that come in are
/// posted to the stream with the rules of `POST /messages`, and a refused one is answered with
/// `{"error":…,"status":N}` (nothing is stored). Pings are answered; the connection's heartbeat
/// pings the peer and drops it when a whole interval passes without a word back.
final class WebSocketEventsHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let store: any StreamStore
    private let target: EventRequest
    private let courier: EventLoopCourier
    private let settings: EventSettings
    /// Each text frame is a write of this client's, when writes are limited.
    private let limits: (ClientLimits, ClientAddress?)?
    private var connection: EventConnection?

    init(store: any StreamStore, target: EventRequest, courier: EventLoopCourier, settings: EventSettings, limits: (ClientLimits, ClientAddress?)?) {
        self.store = store
        self.target = target
        self.courier = courier
        self.settings = settings
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        courier.metrics.answered("/events", status: 101)
        let connection = EventConnection(
            channel: context.channel, stream: target.stream, transport: .webSocket, courier: courier,
            store: store, settings: settings)
        self.connection = connection
        connection.start(since: target.since)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection?.end()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection?.end()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        connection?.heard()
        switch frame.opcode {
        case .text:
            post(frame.unmaskedData, context: context)
        case .binary:
            refuse("Binary frames are not accepted: send the message as text", status: 400)
        case .ping:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .connectionClose:
            // Echo the peer's code, then close (RFC 6455 §5.5.1).
            var data = frame.unmaskedData
            let code = data.readWebSocketErrorCode() ?? .normalClosure
            connection?.finish(last: nil, code: code)
        default:
            break  // pongs (already counted as life) and anything reserved
        }
    }

    private func post(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        guard let text = String(validating: payload.readableBytesView, as: UTF8.self) else {
            refuse("Message must be valid UTF-8", status: 400)
            return
        }
        if let (limits, client) = limits, limits.takeWrite(from: client) != nil {
            courier.metrics.rateLimited += 1
            refuse("Too many requests", status: 429)  // the socket stays open
            return
        }
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        store.post(stream: target.stream, text: text) { result in
            @Sendable func settle() {
                switch result {
                case .success: handler.value.courier.metrics.posts += 1
                case .failure(let error): handler.value.refuse(error.message, status: error.status)
                }
            }
            if loop.inEventLoop { settle() } else { loop.execute(settle) }
        }
    }

    private func refuse(_ message: String, status: Int) {
        connection?.reply { $0.writeError(message, status: status) }
    }
}

extension WebSocketEventsHandler {
    /// The upgrader for `GET /events`: it takes only requests the SSE path would accept, so a bad
    /// stream name or `since`, a full or closed pipe, or a client past its rate, falls through to
    /// the HTTP handler and its 400, 409, 410 or 429 before any upgrade. Frames up to
    /// `maxFrameBytes` are read (larger ones close the connection, 1009); fragments are joined.
    static func upgrader(
        store: any StreamStore, courier: EventLoopCourier, settings: EventSettings, maxFrameBytes: Int, limits: ClientLimits?
    ) -> NIOWebSocketServerUpgrader {
        NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameBytes, automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                guard let target = target(of: head), store.pipeRefusal(forSubscribingTo: target.stream) == nil,
                    limits?.takeWrite(from: limits?.client(of: channel, head: head)) == nil
                else {
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                return channel.eventLoop.makeSucceededFuture(HTTPHeaders())
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    guard let target = target(of: head) else { throw ChannelError.inappropriateOperationForState }
                    try channel.pipeline.syncOperations.addHandlers(
                        NIOWebSocketFrameAggregator(
                            minNonFinalFragmentSize: 1, maxAccumulatedFrameCount: 64, maxAccumulatedFrameSize: maxFrameBytes),
                        WebSocketEventsHandler(
                            store: store, target: target, courier: courier, settings: settings,
                            limits: limits.map { ($0, $0.client(of: channel, head: head)) }))
                }
            })
    }

    private static func target(of head: HTTPRequestHead) -> EventRequest? {
        guard head.method == .GET, let request = try? Request(head: head, body: nil), request.path == "/events"
        else { return nil }
        return try? EventRequest(request)
    }
}
