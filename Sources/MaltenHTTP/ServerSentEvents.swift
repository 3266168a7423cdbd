import MaltenCore
import MaltenJSON
import NIOCore
import NIOHTTP1

extension ByteBuffer {
    /// One Server-Sent Event: messages carry `id: <Created>` (for `Last-Event-ID`); presence events
    /// are plain `data:`; control events are named (`event: gap`), so clients that only listen to
    /// `message` are not disturbed.
    mutating func writeServerSentEvent(_ event: StreamEvent) {
        switch event {
        case .message(let message):
            writeStaticString("id: ")
            writeString(String(message.created))
            writeStaticString("\ndata: ")
        case .presence:
            writeStaticString("data: ")
        case .gap:
            writeStaticString("event: gap\ndata: ")
        case .evicted:
            writeStaticString("event: evicted\ndata: ")
        }
        writeEvent(event)
        writeStaticString("\n\n")
    }
}

/// One `GET /events` over Server-Sent Events: takes the stream's events on the shard, hops them to
/// the connection's event loop and writes them. It may fall at most `queueLimit` events behind
/// what the socket has taken; past that it says `lagged` and closes, so a slow reader never holds
/// up the shard, the other subscribers or the posters, and never makes memory grow without bound.
final class EventStreamSubscriber: StreamSubscriber, @unchecked Sendable {
    private let channel: any Channel
    private let stream: String
    private let queueLimit: Int
    /// Touched only on the channel's event loop.
    private var pending = 0
    private var closed = false
    private var heartbeat: RepeatedTask?

    init(channel: any Channel, stream: String, queueLimit: Int, heartbeat interval: TimeAmount) {
        self.channel = channel
        self.stream = stream
        self.queueLimit = queueLimit
        heartbeat = channel.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in
            self?.write(ByteBuffer(staticString: ": hb\n\n"))
        }
    }

    func receive(_ event: StreamEvent) {
        channel.eventLoop.execute { self.deliver(event) }
    }

    /// Stops the heartbeat; the connection is gone.
    func stop() {
        channel.eventLoop.assertInEventLoop()
        closed = true
        heartbeat?.cancel()
        heartbeat = nil
    }

    private func deliver(_ event: StreamEvent) {
        guard !closed else { return }
        var buffer = channel.allocator.buffer(capacity: 256)
        if pending >= queueLimit {
            buffer.writeStaticString("event: lagged\ndata: ")
            buffer.writeLagged(stream: stream)
            buffer.writeStaticString("\n\n")
            finish(with: buffer)
            return
        }
        buffer.writeServerSentEvent(event)
        if case .evicted = event {
            finish(with: buffer)
        } else {
            write(buffer)
        }
    }

    private func write(_ buffer: ByteBuffer) {
        guard !closed else { return }
        pending += 1
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenComplete { _ in self.pending -= 1 }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: written)
    }

    /// Writes the last event and closes once it is out, or after five seconds if the reader never
    /// takes it (a reader that has stopped reading would otherwise hold the connection open).
    private func finish(with buffer: ByteBuffer) {
        stop()
        let channel = channel
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer))).whenComplete { _ in
            channel.close(promise: nil)
        }
        channel.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }
}
