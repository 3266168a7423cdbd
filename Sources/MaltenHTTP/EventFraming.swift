import MaltenCore
import MaltenJSON
import NIOCore
import NIOWebSocket

/// How a connection carries `GET /events`, down to the bytes: events are framed here once and
/// the same bytes go to every connection of the transport, straight to the socket (past NIO's
/// HTTP and WebSocket encoders, which would frame them again for each connection).
enum EventTransport {
    /// A `text/event-stream` response body; HTTP/1.1 bodies carry their own chunked framing.
    case serverSentEvents(chunked: Bool)
    /// Unmasked text frames of JSON (a server never masks), pings as heartbeats.
    case webSocket

    /// One event or comment, framed: an HTTP chunk, plain body bytes, or one text frame.
    func frame(_ payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        switch self {
        case .serverSentEvents(chunked: false):
            return payload
        case .serverSentEvents(chunked: true):
            var chunk = allocator.buffer(capacity: payload.readableBytes + 12)
            chunk.writeString(String(payload.readableBytes, radix: 16))
            chunk.writeStaticString("\r\n")
            chunk.writeImmutableBuffer(payload)
            chunk.writeStaticString("\r\n")
            return chunk
        case .webSocket:
            var frame = allocator.buffer(capacity: payload.readableBytes + 10)
            frame.writeWebSocketHeader(opcode: 0x81, length: payload.readableBytes)
            frame.writeImmutableBuffer(payload)
            return frame
        }
    }

    /// The last bytes of the stream: the final chunk, nothing, or a close frame with `code`.
    func ending(code: WebSocketErrorCode, allocator: ByteBufferAllocator) -> ByteBuffer {
        switch self {
        case .serverSentEvents(chunked: false):
            return ByteBuffer()
        case .serverSentEvents(chunked: true):
            return ByteBuffer(staticString: "0\r\n\r\n")
        case .webSocket:
            var frame = allocator.buffer(capacity: 4)
            frame.writeWebSocketHeader(opcode: 0x88, length: 2)
            frame.write(webSocketErrorCode: code)
            return frame
        }
    }

    /// What the heartbeat sends: an SSE comment, or an empty ping.
    func heartbeat(allocator: ByteBufferAllocator) -> ByteBuffer {
        switch self {
        case .serverSentEvents: frame(ByteBuffer(staticString: ": hb\n\n"), allocator: allocator)
        case .webSocket: ByteBuffer(bytes: [0x89, 0x00])
        }
    }

    /// A control event (`lagged`, an error) in this transport's shape: a named SSE event, or a
    /// plain JSON frame.
    func control(_ name: StaticString, allocator: ByteBufferAllocator, _ json: (inout ByteBuffer) -> Void) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 96)
        if case .serverSentEvents = self {
            payload.writeStaticString("event: ")
            payload.writeStaticString(name)
            payload.writeStaticString("\ndata: ")
            json(&payload)
            payload.writeStaticString("\n\n")
        } else {
            json(&payload)
        }
        return frame(payload, allocator: allocator)
    }
}

extension ByteBuffer {
    /// A server frame's header: FIN and `opcode` in the first byte, no mask, the shortest length.
    mutating func writeWebSocketHeader(opcode: UInt8, length: Int) {
        writeInteger(opcode)
        if length < 126 {
            writeInteger(UInt8(length))
        } else if length <= Int(UInt16.max) {
            writeInteger(UInt8(126))
            writeInteger(UInt16(length))
        } else {
            writeInteger(UInt8(127))
            writeInteger(UInt64(length))
        }
    }
}

/// A batch of events on its way to one loop's connections, framed on first use for each
/// transport and then shared: the same bytes are written to every connection without a copy.
struct EncodedEvents {
    private let events: [StreamEvent]
    private let allocator: ByteBufferAllocator
    private var chunked: ByteBuffer?
    private var plain: ByteBuffer?
    private var frames: ByteBuffer?

    init(_ events: [StreamEvent], allocator: ByteBufferAllocator) {
        self.events = events
        self.allocator = allocator
    }

    var count: Int { events.count }
    var last: StreamEvent? { events.last }

    /// The whole batch, framed for `transport`: one buffer.
    mutating func bytes(for transport: EventTransport) -> ByteBuffer {
        switch transport {
        case .serverSentEvents(chunked: true):
            if let chunked { return chunked }
            let body = bytes(for: .serverSentEvents(chunked: false))
            chunked = transport.frame(body, allocator: allocator)
            return chunked!
        case .serverSentEvents(chunked: false):
            if let plain { return plain }
            var body = allocator.buffer(capacity: 256 * events.count)
            for event in events { body.writeServerSentEvent(event) }
            plain = body
            return body
        case .webSocket:
            if let frames { return frames }
            var bytes = allocator.buffer(capacity: 256 * events.count)
            var payload = allocator.buffer(capacity: 256)
            for event in events {
                payload.clear()
                payload.writeEvent(event)
                bytes.writeWebSocketHeader(opcode: 0x81, length: payload.readableBytes)
                bytes.writeBuffer(&payload)
            }
            frames = bytes
            return bytes
        }
    }
}
