import Foundation
import NIOCore
import NIOWebSocket

/// A WebSocket client for the tests over a real socket: it writes the upgrade request and masked
/// frames itself and parses what comes back byte by byte, so nothing between the `101` and the
/// first frames can be lost in a handler hand-over. `next()` answers pings as a browser would;
/// `nextFrame()` answers nothing (a test can play a dead peer).
public final class WebSocketClient {
    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var received = ByteBuffer()

    private init(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        inbound = channel.inbound.makeAsyncIterator()
    }

    /// Opens `GET path` with an upgrade to WebSocket; nil when the server answered plain HTTP.
    /// `first` frames go out in the same write as the request, so they reach the server however
    /// long this task then waits for its turn.
    public static func connect(port: Int, path: String, first: [WebSocketFrame] = []) async throws -> WebSocketClient? {
        let (client, status) = try await open(port: port, path: path, first: first)
        guard status.hasPrefix("HTTP/1.1 101") else {
            client.close()
            return nil
        }
        return client
    }

    /// Sends the upgrade request for `path` and reads the answer's head: the client, and the
    /// head's status line (`HTTP/1.1 101 Switching Protocols` when upgraded).
    public static func open(port: Int, path: String, first: [WebSocketFrame] = []) async throws -> (client: WebSocketClient, status: String) {
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var request = ByteBuffer(string: """
            GET \(path) HTTP/1.1\r
            Host: 127.0.0.1:\(port)\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: \(key)\r
            Sec-WebSocket-Version: 13\r
            \r

            """)
        for frame in first { request.writeImmutableBuffer(Self.masked(frame)) }
        let client = WebSocketClient(try await openConnection(port: port, writing: request))
        let head = try await client.responseHead()
        return (client, String(head.prefix { $0 != "\r" }))
    }

    public func send(_ text: String) async throws {
        try await send(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: text)))
    }

    /// Sends a frame, masked as a client must.
    public func send(_ frame: WebSocketFrame) async throws {
        try await channel.outbound.write(Self.masked(frame))
    }

    private static func masked(_ frame: WebSocketFrame) -> ByteBuffer {
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt8(frame.fin ? 0x80 : 0) | UInt8(webSocketOpcode: frame.opcode))
        let length = frame.data.readableBytes
        if length < 126 {
            bytes.writeInteger(UInt8(0x80 | length))
        } else {
            bytes.writeInteger(UInt8(0x80 | 126))
            bytes.writeInteger(UInt16(length))
        }
        bytes.writeBytes(mask)
        bytes.writeBytes(frame.data.readableBytesView.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return bytes
    }

    /// The next frame of any kind; nil once the connection has closed.
    public func nextFrame() async throws -> WebSocketFrame? {
        while true {
            if let frame = parseFrame() { return frame }
            guard var chunk = try await inbound.next() else { return nil }
            received.writeBuffer(&chunk)
        }
    }

    /// The next text frame's JSON; pings are answered on the way, as a browser would; throws at close.
    public func next() async throws -> [String: Any] {
        while let frame = try await nextFrame() {
            switch frame.opcode {
            case .ping:
                try await send(WebSocketFrame(fin: true, opcode: .pong, data: frame.data))
            case .text:
                return try JSONSerialization.jsonObject(with: Data(frame.data.readableBytesView)) as! [String: Any]
            case .connectionClose:
                throw Closed(code: frame.data.getInteger(at: frame.data.readerIndex, as: UInt16.self))
            default:
                continue
            }
        }
        throw Closed(code: nil)
    }

    /// Closes the socket without a close frame, as a vanished peer would.
    public func close() {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    deinit {
        close()
    }

    public struct Closed: Error, Equatable {
        public var code: UInt16?
        public init(code: UInt16?) { self.code = code }
    }

    private func responseHead() async throws -> String {
        while true {
            let view = received.readableBytesView
            if let end = view.firstRange(of: Array("\r\n\r\n".utf8)) {
                let length = view.distance(from: view.startIndex, to: end.upperBound)
                return received.readString(length: length)!
            }
            guard var chunk = try await inbound.next() else { throw Closed(code: nil) }
            received.writeBuffer(&chunk)
        }
    }

    /// One whole server frame (unmasked) from what has arrived, if there is one.
    private func parseFrame() -> WebSocketFrame? {
        var peek = received
        guard let first = peek.readInteger(as: UInt8.self), let second = peek.readInteger(as: UInt8.self) else { return nil }
        var length = Int(second & 0x7f)
        if length == 126 {
            guard let extended = peek.readInteger(as: UInt16.self) else { return nil }
            length = Int(extended)
        } else if length == 127 {
            guard let extended = peek.readInteger(as: UInt64.self) else { return nil }
            length = Int(extended)
        }
        guard let data = peek.readSlice(length: length) else { return nil }
        received = peek
        return WebSocketFrame(fin: first & 0x80 != 0, opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0f)!, data: data)
    }
}
