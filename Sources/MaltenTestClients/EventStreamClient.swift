import Foundation
import NIOCore
import NIOPosix

/// A Server-Sent Events client for the tests over a real socket: it writes `GET` itself and undoes
/// the chunked framing byte by byte, so what it reports is exactly what the server sent.
public final class EventStreamClient {
    /// One event: its `id:`, its `event:` name and its data as JSON.
    public struct Event {
        public var id: String?
        public var name: String?
        public var data: [String: Any]
    }

    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private var received: [UInt8] = []
    private var body: [UInt8] = []
    private var chunked = false
    /// The response head, once it has come.
    public private(set) var head = ""
    /// Comment lines (`: hb`) seen so far.
    public private(set) var comments = 0

    private init(_ channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        inbound = channel.inbound.makeAsyncIterator()
    }

    /// Opens `GET path` and reads the response head.
    public static func connect(port: Int, path: String, headers: [(String, String)] = []) async throws -> EventStreamClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let client = EventStreamClient(channel)
        let extra = headers.map { "\($0): \($1)\r\n" }.joined()
        try await channel.outbound.write(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)\r\n"))
        while client.head.isEmpty {
            if let end = client.received.firstRange(of: Array("\r\n\r\n".utf8)) {
                client.head = String(decoding: client.received[..<end.upperBound], as: UTF8.self)
                client.received.removeFirst(end.upperBound)
                client.chunked = client.head.lowercased().contains("transfer-encoding: chunked")
            } else if !(try await client.readMore()) {
                throw EndOfStream()
            }
        }
        return client
    }

    /// The status code of the response.
    public var status: Int { Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0 }

    /// The next event, skipping comments; throws `EndOfStream` once the response has ended.
    public func next() async throws -> Event {
        while true {
            if let end = body.firstRange(of: Array("\n\n".utf8)) {
                let block = String(decoding: body[..<end.lowerBound], as: UTF8.self)
                body.removeFirst(end.upperBound)
                if let event = try Self.event(from: block) { return event }
                comments += 1
                continue
            }
            if try takeChunk() { continue }
            guard try await readMore() else { throw EndOfStream() }
        }
    }

    /// One SSE block (the lines before a blank line) as an event; nil for a comment.
    public static func event(from block: String) throws -> Event? {
        var event = Event(data: [:])
        var isComment = true
        for line in block.split(separator: "\n") {
            if line.hasPrefix("id: ") { event.id = String(line.dropFirst(4)); isComment = false }
            if line.hasPrefix("event: ") { event.name = String(line.dropFirst(7)); isComment = false }
            if line.hasPrefix("data: ") {
                event.data = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any] ?? [:]
                isComment = false
            }
        }
        return isComment ? nil : event
    }

    /// The whole body of an answer that is not an event stream (a refusal), by its Content-Length.
    public func plainBody() async throws -> String {
        let length = head.lowercased().split(separator: "\r\n")
            .first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        while received.count < length {
            guard try await readMore() else { throw EndOfStream() }
        }
        return String(decoding: received.prefix(length), as: UTF8.self)
    }

    /// Closes the socket.
    public func close() {
        channel.outbound.finish()
        channel.channel.close(promise: nil)
    }

    deinit {
        close()
    }

    public struct EndOfStream: Error {}

    /// Moves one whole chunk (or, unchunked, everything) from what arrived to the body.
    private func takeChunk() throws -> Bool {
        guard chunked else {
            guard !received.isEmpty else { return false }
            body += received
            received.removeAll()
            return true
        }
        guard let line = received.firstRange(of: Array("\r\n".utf8)),
            let size = Int(String(decoding: received[..<line.lowerBound], as: UTF8.self), radix: 16)
        else { return false }
        if size == 0 { throw EndOfStream() }
        guard received.count >= line.upperBound + size + 2 else { return false }
        body += received[line.upperBound..<line.upperBound + size]
        received.removeFirst(line.upperBound + size + 2)
        return true
    }

    private func readMore() async throws -> Bool {
        guard let chunk = try await inbound.next() else { return false }
        received += chunk.readableBytesView
        return true
    }
}
