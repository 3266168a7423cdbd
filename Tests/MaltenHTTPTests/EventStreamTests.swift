import AsyncHTTPClient
import Foundation
import MaltenCore
import MaltenHTTP
import NIOCore
import NIOHTTP1
import Testing

/// `GET /events` over Server-Sent Events, with AsyncHTTPClient reading the stream as it comes.
@Suite struct EventStreamTests {
    /// One parsed event: its `id:`, its `event:` name and its data as JSON.
    struct Event {
        var id: String?
        var name: String?
        var data: [String: Any]
    }

    /// Reads events from an open SSE response until `until` says stop (or 10 s pass).
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
                    var event = Event(data: [:])
                    var isComment = true
                    for line in block.split(separator: "\n") {
                        if line.hasPrefix("id: ") { event.id = String(line.dropFirst(4)); isComment = false }
                        if line.hasPrefix("event: ") { event.name = String(line.dropFirst(7)); isComment = false }
                        if line.hasPrefix("data: ") {
                            event.data = try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as! [String: Any]
                            isComment = false
                        }
                    }
                    if isComment { comments += 1; continue }
                    return event
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
}
