import MaltenCore
import NIOCore

/// The courier of one event loop: takes a stream's events off the shard with one hop for all of
/// the loop's subscribers of that stream, and hands them to each connection framed once per
/// transport. Connections written to are flushed together once the loop's queued deliveries are
/// done, so events that arrive together leave in one write per connection. It also knows the
/// loop's open event connections, to close them at shutdown.
final class EventLoopCourier: EventCourier, @unchecked Sendable {
    let eventLoop: any EventLoop
    /// The loop's counters for `GET /metrics`, touched only on the loop.
    let metrics = LoopMetrics()
    private let allocator = ByteBufferAllocator()
    /// Touched only on the loop.
    private var connections: [ObjectIdentifier: EventConnection] = [:]
    private var unflushed: [EventConnection] = []
    private var afterFlush: [() -> Void] = []
    /// Set when a post made on this loop queued a delivery here: the poster's answer then waits
    /// for that delivery's flush (see `whenDelivered`). Touched only on the loop.
    private var deliveryQueued = false

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func deliver(_ events: [StreamEvent], to subscribers: [any StreamSubscriber]) {
        if eventLoop.inEventLoop { deliveryQueued = true }
        let allocator = allocator
        eventLoop.execute {
            var batch = EncodedEvents(events, allocator: allocator)
            self.metrics.eventsDelivered += events.count * subscribers.count
            for subscriber in subscribers {
                unsafeDowncast(subscriber, to: EventConnection.self).send(&batch)
            }
        }
    }

    /// Flushes `connection` after the deliveries already queued on the loop.
    func flushSoon(_ connection: EventConnection) {
        guard !connection.needsFlush else { return }
        connection.needsFlush = true
        unflushed.append(connection)
        if unflushed.count == 1 {
            eventLoop.execute { self.flushAll() }
        }
    }

    private func flushAll() {
        var connections: [EventConnection] = []
        swap(&connections, &unflushed)
        for connection in connections { connection.flush() }
        var after: [() -> Void] = []
        swap(&after, &afterFlush)
        for body in after { body() }
    }

    /// Runs `body` once what this loop's posts queued for its subscribers is out: at once when
    /// they queued nothing. A poster's answer waits for its message's fan-out on this loop, as it
    /// would with a server that fans out before it answers: a publisher then never runs ahead of
    /// its subscribers, so their latency stays one fan-out deep.
    func whenDelivered(_ body: @escaping () -> Void) {
        guard deliveryQueued else { return body() }
        deliveryQueued = false
        // Behind the queued deliveries; by then they have asked for their flush.
        eventLoop.assumeIsolated().execute {
            if self.unflushed.isEmpty { body() } else { self.afterFlush.append(body) }
        }
    }

    func opened(_ connection: EventConnection) {
        connections[ObjectIdentifier(connection)] = connection
    }

    func closed(_ connection: EventConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    /// Ends every event connection of the loop (the server is shutting down); on the loop.
    func shutDown() {
        eventLoop.assertInEventLoop()
        for connection in Array(connections.values) { connection.shutDown() }
    }
}
