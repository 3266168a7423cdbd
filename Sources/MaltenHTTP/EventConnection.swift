import MaltenCore
import MaltenJSON
import NIOCore
import NIOSSL
import NIOWebSocket

/// One subscriber of `GET /events`, over either transport. Everything but `courier` (a constant)
/// is touched only on the channel's event loop.
///
/// Its bytes, already framed (see `EventTransport`), go in through an `EventWriter` next to the
/// socket, and are flushed once per turn of the loop however many events came. It may fall about
/// `subscriberQueue` events behind what its socket has taken; past that it says `lagged` and
/// closes, so a slow reader never holds up the shard, the other subscribers or the posters,
/// and never makes memory grow without bound.
final class EventConnection: StreamSubscriber, @unchecked Sendable {
    let channel: any Channel
    let stream: String
    let transport: EventTransport
    private let loop: EventLoopCourier
    private let store: any StreamStore
    private let settings: EventSettings
    private var writer: ChannelHandlerContext?
    private var subscription: Subscription?
    /// Events written, and of those the ones the socket is known to have taken: a write's
    /// promise says so, and only every `confirmEvery`-th write carries one (a promise per write
    /// costs more than the rest of the write), so `written - taken` overstates the backlog by
    /// less than `confirmEvery`.
    private var written = 0
    private var taken = 0
    private var unconfirmedWrites = 0
    private let confirmEvery: Int
    private var closed = false
    /// Whether it waits for the loop's next flush.
    var needsFlush = false
    private var heartbeat: RepeatedTask?
    /// WebSocket: whether the peer has sent anything (a pong, say) since the last ping.
    private var heardFrom = true

    init(
        channel: any Channel, stream: String, transport: EventTransport, courier: EventLoopCourier, store: any StreamStore,
        settings: EventSettings
    ) {
        self.channel = channel
        self.stream = stream
        self.transport = transport
        self.loop = courier
        self.store = store
        self.settings = settings
        self.confirmEvery = max(1, settings.subscriberQueue / 16)
    }

    /// Its loop's courier: set once, so it may be read on the shard's queue.
    var courier: any EventCourier { loop }

    /// Puts the writer next to the socket, subscribes (replaying after `since`) and starts the
    /// heartbeat. A refusal is written as the stream's one event, then the connection closes.
    func start(since: Int64?) {
        channel.eventLoop.assertInEventLoop()
        let writer = EventWriter()
        do {
            // Next to the socket, or to the TLS handler that encrypts what goes to it.
            let pipeline = channel.pipeline.syncOperations
            let tls = try? pipeline.handler(type: NIOSSLServerHandler.self)
            try pipeline.addHandler(writer, position: tls.map { .after($0) } ?? .first)
        } catch {
            channel.close(promise: nil)
            return
        }
        self.writer = writer.context
        loop.opened(self)
        do {
            subscription = try store.subscribe(stream: stream, since: since, subscriber: self)
        } catch {
            let refusal = transport.control("error", allocator: channel.allocator) { $0.writeError(error.message, status: error.status) }
            finish(last: refusal, code: .unexpectedServerError)
            return
        }
        let interval = settings.heartbeat
        // A strong reference, dropped when `stop` cancels it (a weak one would move every
        // retain of this object to the slow, side-table path).
        heartbeat = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            self.beat()
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

    /// Writes a batch the courier brought, framed once for every connection of the loop.
    func send(_ batch: inout EncodedEvents) {
        guard !closed else { return }
        if written - taken >= settings.subscriberQueue {
            let stream = stream
            loop.metrics.laggedSubscribers += 1
            finish(last: transport.control("lagged", allocator: channel.allocator) { $0.writeLagged(stream: stream) })
            return
        }
        write(batch.bytes(for: transport), events: batch.count)
        switch batch.last {
        case .evicted, .closed: finish(last: nil)  // nothing follows
        default: break
        }
    }

    /// Says goodbye as the server shuts down: the SSE response ends, the WebSocket closes (1001).
    func shutDown() {
        finish(last: nil, code: .goingAway)
    }

    /// Writes one JSON object as a frame of its own, outside the event count (an error answering a frame).
    func reply(_ json: (inout ByteBuffer) -> Void) {
        guard !closed, let writer else { return }
        writer.writeAndFlush(NIOAny(transport.control("error", allocator: channel.allocator, json)), promise: nil)
    }

    /// Unsubscribes, writes `last` (if any) and the transport's ending, and closes once that is
    /// out, or after five seconds if the reader never takes it (one that stopped reading would
    /// hold it open).
    func finish(last: ByteBuffer?, code: WebSocketErrorCode = .normalClosure) {
        guard !closed else { return }
        end()  // no longer an observer, from now: the others see it leave at once
        guard let writer else { return }
        if let last { writer.write(NIOAny(last), promise: nil) }
        let channel = channel
        writer.writeAndFlush(NIOAny(transport.ending(code: code, allocator: channel.allocator))).whenComplete { _ in
            channel.close(promise: nil)
        }
        channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }

    /// Flushes what was written since the loop's last flush.
    func flush() {
        needsFlush = false
        writer?.flush()
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
        if case .webSocket = transport {
            guard heardFrom else {
                // No pong (nor anything else) for a whole interval: the peer is gone.
                end()
                channel.close(promise: nil)
                return
            }
            heardFrom = false
        }
        write(transport.heartbeat(allocator: channel.allocator), events: 1)
    }

    private func write(_ bytes: ByteBuffer, events: Int) {
        guard let writer else { return }
        written += events
        unconfirmedWrites += 1
        if unconfirmedWrites >= confirmEvery {
            unconfirmedWrites = 0
            let mark = written
            let promise = channel.eventLoop.makePromise(of: Void.self)
            promise.futureResult.whenSuccess { self.taken = max(self.taken, mark) }
            writer.write(NIOAny(bytes), promise: promise)
        } else {
            writer.write(NIOAny(bytes), promise: nil)
        }
        loop.flushSoon(self)
    }
}

/// The first handler of an event connection, next to the socket (or to TLS): its context is where
/// the connection's framed bytes go in, past every encoder.
final class EventWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }
}
