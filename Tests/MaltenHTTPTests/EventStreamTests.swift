import AsyncHTTPClient
import Foundation
import MaltenCore
import MaltenHTTP
import MaltenTestClients
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// `GET /events` over Server-Sent Events, with AsyncHTTPClient reading the stream as it comes.
@Suite struct EventStreamTests {
    typealias Event = EventStreamClient.Event

    /// Reads the events of an open SSE response as AsyncHTTPClient hands its body on.
    final class EventReader {
        var iterator: HTTPClientResponse.Body.AsyncIterator
        var text = ""
        var comments = 0

        init(_ response: HTTPClientResponse) {
            iterator = response.body.makeAsyncIterator()
        }

        func next() async throws -> Event {
            while true {
                if let end = text.range(of: "\n\n") {
                    let block = String(text[..<end.lowerBound])
                    text = String(text[end.upperBound...])
                    if let event = try EventStreamClient.event(from: block) { return event }
                    comments += 1
                    continue
                }
                guard let chunk = try await iterator.next() else { throw CancellationError() }
                text += String(buffer: chunk)
            }
        }
    }

    func open(_ server: TestServer, _ query: String, lastEventID: String? = nil) async throws -> (HTTPClientResponse, EventReader) {
        var request = HTTPClientRequest(url: server.base + "/events?" + query)
        if let lastEventID { request.headers.add(name: "Last-Event-ID", value: lastEventID) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        return (response, EventReader(response))
    }

    @Test func liveMessagesPresenceAndObservers() async throws {
        try await TestServer.with { server in
            let (response, events) = try await open(server, "stream=live")
            #expect(response.status == .ok)
            #expect(response.headers["Content-Type"].first == "text/event-stream")
            #expect(response.headers["X-Accel-Buffering"].first == "no")
            let hello = try await events.next()
            #expect(hello.id == nil && hello.data["Text"] as? String == "connect" && hello.data["Type"] as? String == "event")
            let observers = try jsonObject(try await server.get("/streams?stream=live").body)["live"] as? [String: Any]
            #expect(observers?["Observers"] as? Int == 1)
            var posted: [String] = []
            for i in 0..<20 {
                posted.append(try jsonObject(try await server.post("/messages", "stream=live&text=m\(i)").body)["Created"] as! String)
            }
            for i in 0..<20 {
                let event = try await events.next()
                #expect(event.data["Text"] as? String == "m\(i)")
                #expect(event.id == posted[i])
            }
        }
    }

    @Test func resumeWithLastEventIDReplaysExactlyWhatWasMissed() async throws {
        try await TestServer.with { server in
            var created: [String] = []
            for i in 0..<10 {
                created.append(try jsonObject(try await server.post("/messages", "stream=r&text=m\(i)").body)["Created"] as! String)
            }
            // The header wins over ?since.
            let (_, events) = try await open(server, "stream=r&since=0", lastEventID: created[6])
            var texts: [String] = []
            for _ in 0..<3 { texts.append(try await events.next().data["Text"] as! String) }
            #expect(texts == ["m7", "m8", "m9"])
            #expect(try await events.next().data["Text"] as? String == "connect")
            _ = try await server.post("/messages", "stream=r&text=m10")
            #expect(try await events.next().data["Text"] as? String == "m10")
        }
    }

    @Test func gapAfterMoreThanTheRingHolds() async throws {
        try await TestServer.with { server in
            let first = try jsonObject(try await server.post("/messages", "stream=g&text=m0").body)["Created"] as! String
            for i in 1..<1100 { _ = try await server.post("/messages", "stream=g&text=m\(i)") }
            let (_, events) = try await open(server, "stream=g&since=\(first)")
            let gap = try await events.next()
            #expect(gap.name == "gap" && gap.id == nil)
            #expect(gap.data["Type"] as? String == "gap" && gap.data["From"] as? String == first)
            let replayed = try await events.next()
            #expect(replayed.data["Text"] as? String == "m76")
            #expect(replayed.id == gap.data["Oldest"] as? String)
        }
    }

    @Test func heartbeatsKeepAQuietStreamTalking() async throws {
        try await TestServer.with(events: EventSettings(heartbeat: .milliseconds(50))) { (server: TestServer) async throws in
            let (_, events) = try await open(server, "stream=quiet")
            #expect(try await events.next().data["Text"] as? String == "connect")
            try await Task.sleep(for: .milliseconds(400))
            _ = try await server.post("/messages", "stream=quiet&text=finally")
            #expect(try await events.next().data["Text"] as? String == "finally")
            #expect(events.comments >= 3)  // `: hb` lines in between
        }
    }

    @Test func refusalsBeforeTheStreamStarts() async throws {
        try await TestServer.with { (server: TestServer) async throws in
            #expect(try await server.get("/events?stream=a+b").status == 400)
            #expect(try await server.get("/events?since=yesterday").status == 400)
            #expect(try await server.request(.POST, "/events").status == 405)
        }
    }

    @Test func aReaderThatStopsIsDroppedWithLaggedWhileOthersGetEverything() async throws {
        try await TestServer.with(events: EventSettings(subscriberQueue: 16)) { (server: TestServer) async throws in
            // A 4 KiB receive buffer that is not read: the server's socket buffer (4 MiB at most
            // here) fills, then its queue of 16, and it must give up on this one.
            let slow = try await SlowReader.open(port: server.port, path: "/events?stream=flood")
            let (_, events) = try await open(server, "stream=flood")
            _ = try await events.next()  // its own connect
            while server.store.info(stream: "flood")?.observers != 2 { try await Task.sleep(for: .milliseconds(5)) }
            let count = 5000
            let received = try await server.flood("flood", count: count, slow: slow) {
                let event = try await events.next()
                return event.id == nil ? nil : event.data["Text"] as? String
            }
            #expect(received == (0..<count).map(String.init))
            // The slow reader got a prefix of the messages, in order, then `lagged`, then the end.
            let blocks = try await slow.body().components(separatedBy: "\n\n").filter { !$0.isEmpty }
            let last = try #require(blocks.last)
            #expect(last.hasPrefix("event: lagged\ndata: {\"Type\":\"lagged\",\"Stream\":\"flood\"}"))
            let ids = blocks.compactMap { $0.hasPrefix("id: ") ? $0.dropFirst(4).prefix { $0 != "\n" } : nil }
            #expect(ids.count > 0 && ids.count < count)
            #expect(zip(ids, ids.dropFirst()).allSatisfy { Int64($0)! < Int64($1)! })
            // It resumes from the last it got: a gap (the ring holds 1024), then the newest 1024.
            let lastID = String(try #require(ids.last))
            let (_, resumed) = try await open(server, "stream=flood", lastEventID: lastID)
            let gap = try await resumed.next()
            #expect(gap.name == "gap" && gap.data["From"] as? String == lastID)
            #expect((try await resumed.next().data["Text"] as? String)?.hasPrefix("\(count - 1024) ") == true)
        }
    }
}

/// A client that connects with a tiny receive buffer and reads nothing until told to.
final class SlowReader: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private var bytes = ByteBuffer()
    private let done: EventLoopPromise<[UInt8]>
    private let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
        done = channel.eventLoop.makePromise()
    }

    /// Sends `GET path`, as a WebSocket upgrade when `webSocket`.
    static func open(port: Int, path: String, webSocket: Bool = false) async throws -> SlowReader {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelOption(.autoRead, value: false)
            .connect(host: "127.0.0.1", port: port).get()
        let reader = SlowReader(channel: channel)
        try await channel.pipeline.addHandler(reader).get()
        let upgrade = webSocket
            ? "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            : ""
        try await channel.writeAndFlush(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: x\r\n\(upgrade)\r\n")).get()
        return reader
    }

    /// Starts reading, to the end.
    func resume() {
        channel.setOption(.autoRead, value: true).whenSuccess { self.channel.read() }
    }

    /// The response body (chunked transfer encoding undone), once the server has closed the connection.
    func body() async throws -> String {
        let raw = try await done.futureResult.get()
        let crlf = Array("\r\n".utf8)
        var at = try #require(raw.firstRange(of: crlf + crlf)).upperBound
        var body: [UInt8] = []
        while let line = raw[at...].firstRange(of: crlf),
            let size = Int(String(decoding: raw[at..<line.lowerBound], as: UTF8.self), radix: 16), size > 0,
            line.upperBound + size <= raw.count
        {
            body += raw[line.upperBound..<line.upperBound + size]
            at = line.upperBound + size + 2
        }
        return String(decoding: body, as: UTF8.self)
    }

    /// The WebSocket frames after the `101`, as (opcode, payload), once the server has closed.
    func frames() async throws -> [(opcode: UInt8, payload: [UInt8])] {
        let raw = try await done.futureResult.get()
        var at = try #require(raw.firstRange(of: Array("\r\n\r\n".utf8))).upperBound
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        while at + 2 <= raw.count {
            var length = Int(raw[at + 1] & 0x7f)
            var start = at + 2
            if length == 126 {
                guard start + 2 <= raw.count else { break }
                length = Int(raw[start]) << 8 | Int(raw[start + 1])
                start += 2
            }
            guard start + length <= raw.count else { break }
            frames.append((raw[at] & 0x0f, Array(raw[start..<start + length])))
            at = start + length
        }
        return frames
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        bytes.writeBuffer(&chunk)
    }

    func channelInactive(context: ChannelHandlerContext) {
        done.succeed(Array(bytes.readableBytesView))
    }
}

extension TestServer {
    /// Posts `count` numbered messages of 2 KB (10 MB for 5 000, far past any socket buffer) in
    /// batches of 8, reading the normal subscriber through `next` (the text of a message, nil for
    /// anything else) after each batch, so it is never more than 16 KB behind (within any socket's
    /// buffers, so within a small `--subscriber-queue`) however slow the machine.
    /// `slow` is resumed the moment it lags (a lagged subscriber stops being an observer at once).
    /// Returns the number of each message the normal subscriber got, in order.
    func flood(_ stream: String, count: Int, slow: SlowReader, next: () async throws -> String?) async throws -> [String] {
        let text = String(repeating: "é", count: 1000)
        var received: [String] = []
        var lagged = false
        for batch in stride(from: 0, to: count, by: 8) {
            for i in batch..<min(count, batch + 8) {
                #expect(try await post("/messages", "stream=\(stream)&text=\(i)+\(text)").status == 200)
                if !lagged && store.info(stream: stream)?.observers == 1 {
                    lagged = true
                    slow.resume()
                }
            }
            while received.count < min(count, batch + 8) {
                if let text = try await next() { received.append(String(text.prefix { $0 != " " })) }
            }
        }
        #expect(lagged, "the slow reader never lagged")
        return received
    }
}

