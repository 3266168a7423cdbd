import MaltenCore
import MaltenJSON
import NIOCore

/// The courier of one event loop: takes a stream's events off the shard with one hop for all of
/// the loop's subscribers of that stream, and hands them to each connection encoded once per
/// transport. It also knows the loop's open event connections, to close them at shutdown.
final class EventLoopCourier: EventCourier, @unchecked Sendable {
    let eventLoop: any EventLoop
    private let allocator = ByteBufferAllocator()
    /// Touched only on the loop.
    private var connections: [ObjectIdentifier: EventConnection] = [:]

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func deliver(_ events: [StreamEvent], to subscribers: [any StreamSubscriber]) {
        let allocator = allocator
        eventLoop.execute {
            var batch = EncodedEvents(events, allocator: allocator)
            for subscriber in subscribers {
                unsafeDowncast(subscriber, to: EventConnection.self).send(&batch)
            }
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

/// A batch of events on its way to one loop's connections, encoded on first use for each
/// transport and then shared: the bytes are written to every connection without a copy.
struct EncodedEvents {
    private let events: [StreamEvent]
    private let allocator: ByteBufferAllocator
    private var sse: ByteBuffer?
    private var frames: [ByteBuffer]?

    init(_ events: [StreamEvent], allocator: ByteBufferAllocator) {
        self.events = events
        self.allocator = allocator
    }

    var count: Int { events.count }
    var last: StreamEvent? { events.last }

    /// The whole batch as Server-Sent Events, one buffer.
    var serverSent: ByteBuffer {
        mutating get {
            if let sse { return sse }
            var buffer = allocator.buffer(capacity: 256 * events.count)
            for event in events { buffer.writeServerSentEvent(event) }
            sse = buffer
            return buffer
        }
    }

    /// One JSON text per event, for one WebSocket frame each.
    var webSocketPayloads: [ByteBuffer] {
        mutating get {
            if let frames { return frames }
            let encoded = events.map { event in
                var buffer = allocator.buffer(capacity: 256)
                buffer.writeEvent(event)
                return buffer
            }
            frames = encoded
            return encoded
        }
    }
}
