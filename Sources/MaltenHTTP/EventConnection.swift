import MaltenCore
import MaltenJSON
import NIOCore
import NIOHTTP1
import NIOWebSocket

/// How a connection carries `GET /events`.
enum EventTransport {
    /// A `text/event-stream` response (`id:`, named control events, `: hb` comments).
    case serverSentEvents
    /// Text frames of JSON, pings as heartbeats.
    case webSocket
}

/// One subscriber of `GET /events`, over either transport. Everything but `courier` is touched
/// only on the channel's event loop.
///
/// It may fall at most `queueLimit` events behind what its socket has taken; past that it says
/// `lagged` and closes, so a slow reader never holds up the shard, the other subscribers or the
/// posters, and never makes memory grow without bound.
final class EventConnection: StreamSubscriber, @unchecked Sendable {
    let courier: any EventCourier
    let channel: any Channel
    let stream: String
    let transport: EventTransport
    private let loop: EventLoopCourier
    private let store: Store
    private let settings: EventSettings
    private var subscription: Subscription?
    /// Events written and not yet taken by the socket.
    private var pending = 0
    private var closed = false
    private var heartbeat: RepeatedTask?
    /// WebSocket: whether the peer has sent anything (a pong, say) since the last ping.
    private var heardFrom = true

    init(channel: any Channel, stream: String, transport: EventTransport, courier: EventLoopCourier, store: Store, settings: EventSettings) {
        self.channel = channel
        self.stream = stream
        self.transport = transport
        self.courier = courier
        self.loop = courier
        self.store = store
        self.settings = settings
    }

    /// Subscribes (replaying after `since`) and starts the heartbeat.
    func start(since: Int64?) throws(StoreError) {
        channel.eventLoop.assertInEventLoop()
        subscription = try store.subscribe(stream: stream, since: since, subscriber: self)
        loop.opened(self)
        let interval = settings.heartbeat
        heartbeat = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.beat()
        }
    }

    /// Ends the subscription; the connection has closed (or is closing).
    func end() {
        channel.eventLoop.assertInEventLoop()
        stop()
        if let subscription {
            self.subscription = nil
            store.unsubscribe(subscription)
        }
    }

    /// The peer sent something: it is alive.
    func heard() {
        heardFrom = true
    }

    /// Writes a batch the courier brought, encoded once for every connection of the loop.
    func send(_ batch: inout EncodedEvents) {
        guard !closed else { return }
        if pending >= settings.subscriberQueue {
            var lagged = channel.allocator.buffer(capacity: 64 + stream.utf8.count)
            switch transport {
            case .serverSentEvents:
                lagged.writeStaticString("event: lagged\ndata: ")
                lagged.writeLagged(stream: stream)
                lagged.writeStaticString("\n\n")
            case .webSocket:
                lagged.writeLagged(stream: stream)
            }
            finish(last: lagged)
            return
        }
        switch transport {
        case .serverSentEvents:
            write(batch.serverSent, events: batch.count)
        case .webSocket:
            for payload in batch.webSocketPayloads.dropLast() {
                pipeline.write(NIOAny(WebSocketFrame(fin: true, opcode: .text, data: payload)), promise: nil)
            }
            write(batch.webSocketPayloads[batch.count - 1], events: batch.count)
        }
        if case .evicted = batch.last { finish(last: nil) }
    }

    /// Says goodbye as the server shuts down: the SSE response ends, the WebSocket closes (1001).
    func shutDown() {
        finish(last: nil, code: .goingAway)
    }

    /// Writes one text frame or SSE chunk outside the event count (an error answering a frame).
    func reply(_ buffer: ByteBuffer) {
        guard !closed else { return }
        pipeline.writeAndFlush(frame(buffer), promise: nil)
    }

    /// Unsubscribes, writes `last` (if any), ends the transport's way, and closes once that is
    /// out, or after five seconds if the reader never takes it (one that stopped reading would
    /// hold it open).
    func finish(last: ByteBuffer?, code: WebSocketErrorCode = .normalClosure) {
        guard !closed else { return }
        end()  // no longer an observer, from now: the others see it leave at once
        if let last { pipeline.write(frame(last), promise: nil) }
        let ending: NIOAny
        switch transport {
        case .serverSentEvents:
            ending = NIOAny(HTTPServerResponsePart.end(nil))
        case .webSocket:
            var data = channel.allocator.buffer(capacity: 2)
            data.write(webSocketErrorCode: code)
            ending = NIOAny(WebSocketFrame(fin: true, opcode: .connectionClose, data: data))
        }
        let channel = channel
        pipeline.writeAndFlush(ending).whenComplete { _ in channel.close(promise: nil) }
        channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }

    private func stop() {
        guard !closed else { return }
        closed = true
        heartbeat?.cancel()
        heartbeat = nil
        loop.closed(self)
    }

    private func beat() {
        guard !closed else { return }
        switch transport {
        case .serverSentEvents:
            write(ByteBuffer(staticString: ": hb\n\n"), events: 1)
        case .webSocket:
            guard heardFrom else {
                // No pong (nor anything else) for a whole interval: the peer is gone.
                end()
                channel.close(promise: nil)
                return
            }
            heardFrom = false
            pipeline.writeAndFlush(NIOAny(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
        }
    }

    private func write(_ buffer: ByteBuffer, events: Int) {
        pending += events
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in self.pending -= events }
        pipeline.writeAndFlush(frame(buffer), promise: written)
    }

    /// Writes go in from the pipeline's tail, on the loop.
    private var pipeline: ChannelPipeline.SynchronousOperations { channel.pipeline.syncOperations }

    private func frame(_ buffer: ByteBuffer) -> NIOAny {
        switch transport {
        case .serverSentEvents: NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer)))
        case .webSocket: NIOAny(WebSocketFrame(fin: true, opcode: .text, data: buffer))
        }
    }
}
