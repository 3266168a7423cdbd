import Foundation
import MaltenCore
import MaltenHTTP
import NIOCore
import MaltenTestClients
import NIOWebSocket
import Testing

/// `GET /events` as a WebSocket, through NIO's client upgrader over a real socket.
@Suite struct WebSocketTests {
    func connect(_ server: TestServer, _ query: String) async throws -> WebSocketClient {
        try #require(try await WebSocketClient.connect(port: server.port, path: "/events?" + query))
    }

    @Test func liveMessagesInOrderWithPresence() async throws {
        try await TestServer.with { server in
            let socket = try await connect(server, "stream=ws")
            let hello = try await socket.next()
            #expect(hello["Type"] as? String == "event" && hello["Text"] as? String == "connect")
            let observers = try jsonObject(try await server.get("/streams?stream=ws").body)["ws"] as? [String: Any]
            #expect(observers?["Observers"] as? Int == 1)
            var posted: [String] = []
            for i in 0..<50 {
                posted.append(try jsonObject(try await server.post("/messages", "stream=ws&text=m\(i)").body)["Created"] as! String)
            }
            for i in 0..<50 {
                let event = try await socket.next()
                #expect(event["Text"] as? String == "m\(i)" && event["Created"] as? String == posted[i])
            }
            // A second subscriber: both see it connect; when it leaves, the first sees it close.
            let other = try await connect(server, "stream=ws")
            #expect(try await socket.next()["Text"] as? String == "connect")
            #expect(try await other.next()["Text"] as? String == "connect")
            other.close()
            #expect(try await socket.next()["Text"] as? String == "close")
            let after = try jsonObject(try await server.get("/streams?stream=ws").body)["ws"] as? [String: Any]
            #expect(after?["Observers"] as? Int == 1)
        }
    }

    @Test func textFramesPostAndRefusedOnesGetAnError() async throws {
        try await TestServer.with { server in
            let socket = try await connect(server, "stream=chat")
            _ = try await socket.next()  // connect
            try await socket.send("hello from a frame")
            let echoed = try await socket.next()
            #expect(echoed["Text"] as? String == "hello from a frame" && echoed["Stream"] as? String == "chat")
            try await socket.send(String(repeating: "x", count: 1025))
            let tooLong = try await socket.next()
            #expect(tooLong["status"] as? Int == 413 && tooLong["error"] != nil)
            try await socket.send("   ")
            #expect(try await socket.next()["status"] as? Int == 400)
            try await socket.send(WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: [0xff, 0xfe])))
            #expect(try await socket.next()["status"] as? Int == 400)
            // A message in two fragments is one message.
            try await socket.send(WebSocketFrame(fin: false, opcode: .text, data: ByteBuffer(string: "two ")))
            try await socket.send(WebSocketFrame(fin: true, opcode: .continuation, data: ByteBuffer(string: "halves")))
            #expect(try await socket.next()["Text"] as? String == "two halves")
            let stored = try jsonArray(try await server.get("/messages?stream=chat").body).map { $0["Text"] as? String }
            #expect(stored == ["hello from a frame", "two halves"])
        }
    }

    @Test func resumeWithSinceAndTheGap() async throws {
        try await TestServer.with { server in
            var created: [String] = []
            for i in 0..<1100 {
                created.append(try server.store.post(stream: "resume", text: "m\(i)").created.description)
            }
            let recent = try await connect(server, "stream=resume&since=\(created[1095])")
            for i in 1096..<1100 { #expect(try await recent.next()["Text"] as? String == "m\(i)") }
            #expect(try await recent.next()["Text"] as? String == "connect")
            let old = try await connect(server, "stream=resume&since=\(created[0])")
            let gap = try await old.next()
            #expect(gap["Type"] as? String == "gap" && gap["From"] as? String == created[0] && gap["Oldest"] as? String == created[76])
            #expect(try await old.next()["Text"] as? String == "m76")
        }
    }

    @Test func pingsAreAnsweredAndSilentPeersDropped() async throws {
        try await TestServer.with(events: EventSettings(heartbeat: .milliseconds(100))) { (server: TestServer) async throws in
            // The ping goes out with the upgrade request: a loaded machine has stalled this task for
            // longer than the server waits for a silent peer (two intervals) between connect and send.
            let ping = WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer(string: "are you there"))
            let socket = try #require(try await WebSocketClient.connect(port: server.port, path: "/events?stream=beat", first: [ping]))
            var sawPong = false
            var pings = 0
            // This client never answers the server's pings: after one silent interval it is dropped.
            while let frame = try await socket.nextFrame() {
                if frame.opcode == .pong { sawPong = String(buffer: frame.data) == "are you there" }
                if frame.opcode == .ping { pings += 1 }
            }
            #expect(sawPong)
            #expect(pings >= 1)
            #expect(server.store.info(stream: "beat")?.observers == 0)
        }
    }

    @Test func badRequestsAreNotUpgraded() async throws {
        try await TestServer.with { (server: TestServer) async throws in
            for path in ["/events?stream=a+b", "/events?since=soon", "/messages?stream=a"] {
                let socket = try await WebSocketClient.connect(port: server.port, path: path)
                #expect(socket == nil, "\(path)")
            }
        }
    }

    @Test func shutdownClosesSubscriptions() async throws {
        try await TestServer.with { server in
            let socket = try await connect(server, "stream=bye")
            _ = try await socket.next()
            let (_, events) = try await EventStreamTests().open(server, "stream=bye")
            _ = try await events.next()
            server.stop()
            await #expect(throws: WebSocketClient.Closed(code: 1001)) {
                while true { _ = try await socket.next() }  // presence events, then the close frame
            }
            await #expect(throws: CancellationError.self) {
                while true { _ = try await events.next() }  // presence events, then the end of the stream
            }
        }
    }

    @Test func aSocketThatStopsReadingIsDroppedWithLagged() async throws {
        // A heartbeat far off: the slow socket is to go for its lag, not for its silence (a
        // socket that reads nothing answers no ping, and on a slow machine the flood outlasts one).
        let settings = EventSettings(heartbeat: .seconds(3600), subscriberQueue: 16)
        try await TestServer.with(events: settings) { (server: TestServer) async throws in
            let slow = try await SlowReader.open(port: server.port, path: "/events?stream=wsflood", webSocket: true)
            let normal = try await connect(server, "stream=wsflood")
            while server.store.info(stream: "wsflood")?.observers != 2 { try await Task.sleep(for: .milliseconds(5)) }
            let count = 5000
            let received = try await server.flood("wsflood", count: count, slow: slow) {
                let event = try await normal.next()
                return event["Type"] as? String == "message" ? event["Text"] as? String : nil
            }
            #expect(received == (0..<count).map(String.init))
            // The slow socket got a prefix in order, then `lagged`, then a close frame.
            let frames = try await slow.frames()
            #expect(frames.last?.opcode == 0x8)
            let texts = frames.filter { $0.opcode == 0x1 }.map { String(decoding: $0.payload, as: UTF8.self) }
            #expect(texts.last == #"{"Type":"lagged","Stream":"wsflood"}"#)
            let numbers = texts.compactMap { text -> Int? in
                guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                    object["Type"] as? String == "message", let body = object["Text"] as? String
                else { return nil }
                return Int(body.prefix { $0 != " " })
            }
            #expect(!numbers.isEmpty && numbers.count < count && numbers == Array(0..<numbers.count))
        }
    }
}

