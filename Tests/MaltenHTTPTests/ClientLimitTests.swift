import Foundation
import MaltenTestClients
import NIOCore
import NIOHTTP1
import Testing

@testable import MaltenHTTP

/// Per-client limits over real sockets: a burst past the rate gets 429 with `Retry-After` and
/// stores nothing; posts, WebSocket frames, creations and subscriptions share one bucket; reads
/// are never limited; a client's connections past the limit are closed at once; behind a trusted
/// proxy the client is the one `X-Forwarded-For` names, and nobody else's header counts.
@Suite struct ClientLimitTests {
    /// `burst` writes at once, then `rate` a second.
    static func limits(rate: Double? = nil, burst: Double = 5, connections: Int? = nil, proxies: [String] = []) -> ClientLimitSettings {
        var settings = ClientLimitSettings(
            writesPerSecond: rate, maxConnectionsPerClient: connections, trustedProxies: proxies.compactMap(AddressRange.init))
        if let rate { settings.burstSeconds = burst / rate }
        return settings
    }

    /// A burst of 5, then one write per 100 s: no test on a loaded machine is slow enough to see a refill.
    static let slowBucket = 0.01

    @Test func aBurstPastTheRateIsRefusedAndNothingIsStored() async throws {
        try await TestServer.with(clientLimits: Self.limits(rate: 1, burst: 50)) { server in
            var (stored, refused) = (0, 0)
            for i in 0..<80 {
                let answer = try await server.post("/messages", "stream=burst&text=m\(i)")
                if answer.status == 200 { stored += 1 }
                if answer.status == 429 {
                    refused += 1
                    #expect(try jsonObject(answer.body)["error"] as? String == "Too many requests")
                    #expect(answer.headers.first(name: "Retry-After").flatMap(Int.init).map { $0 >= 1 } == true)
                }
            }
            #expect(stored >= 50 && refused > 0 && stored + refused == 80, "\(stored) stored, \(refused) refused")
            // Reads are not limited, and hold exactly what was answered 200.
            for _ in 0..<30 { #expect(try await server.get("/messages?stream=burst&limit=1").status == 200) }
            #expect(try jsonArray(try await server.get("/messages?stream=burst&limit=1024").body).count == stored)
            try await Task.sleep(for: .milliseconds(1200))  // a write's worth refills
            #expect(try await server.post("/messages", "stream=burst&text=again").status == 200)
        }
    }

    @Test func creationsAndSubscriptionsTakeFromTheSameBucket() async throws {
        try await TestServer.with(clientLimits: Self.limits(rate: Self.slowBucket)) { server in
            for i in 0..<5 { #expect(try await server.post("/streams", "stream=made-\(i)").status == 200) }  // the burst
            #expect(try await server.post("/streams", "stream=made-5").status == 429)
            #expect(try await server.post("/messages", "stream=made-0&text=hi").status == 429)
            let events = try await EventStreamClient.connect(port: server.port, path: "/events?stream=made-0")
            #expect(events.status == 429)
            events.close()
            // A WebSocket request is refused before the upgrade, with the same answer.
            let (refused, status) = try await WebSocketClient.open(port: server.port, path: "/events?stream=made-0")
            #expect(status.hasPrefix("HTTP/1.1 429"), "\(status)")
            refused.close()
            #expect(try await server.get("/streams?stream=made-4").status == 200)
        }
    }

    @Test func withOnlyTheConnectionLimitWebSocketsUpgrade() async throws {
        try await TestServer.with(clientLimits: Self.limits(connections: 8)) { server in
            for _ in 0..<3 {
                let socket = try #require(try await WebSocketClient.connect(port: server.port, path: "/events?stream=open"))
                #expect(try await socket.next()["Text"] as? String == "connect")
                socket.close()
            }
        }
    }

    @Test func aWebSocketFramePastTheRateIsRefusedAndTheSocketStaysOpen() async throws {
        try await TestServer.with(clientLimits: Self.limits(rate: Self.slowBucket)) { server in
            let socket = try #require(try await WebSocketClient.connect(port: server.port, path: "/events?stream=frames"))  // 1 of 5
            #expect(try await socket.next()["Text"] as? String == "connect")
            for i in 0..<6 { try await socket.send("frame \(i)") }
            var (posted, refused) = (0, 0)
            while posted + refused < 6 {
                let event = try await socket.next()
                if event["Type"] as? String == "message" { posted += 1 }
                if event["status"] as? Int == 429 {
                    refused += 1
                    #expect(event["error"] as? String == "Too many requests")
                }
            }
            #expect(posted == 4 && refused == 2)
            // Still open: a further frame is refused on it, and it still gets the stream's messages.
            try await socket.send("one more")
            #expect(try await socket.next()["status"] as? Int == 429)
            _ = try server.store.post(stream: "frames", text: "from elsewhere")
            #expect(try await socket.next()["Text"] as? String == "from elsewhere")
            #expect(try jsonArray(try await server.get("/messages?stream=frames").body).count == 5)
            socket.close()
        }
    }

    @Test func connectionsPastTheLimitAreClosedAtOnce() async throws {
        try await TestServer.with(clientLimits: Self.limits(connections: 3)) { server in
            var held: [EventStreamClient] = []
            for _ in 0..<3 {
                let events = try await EventStreamClient.connect(port: server.port, path: "/events?stream=held")
                #expect(events.status == 200)
                held.append(events)
            }
            let fourth = try? await EventStreamClient.connect(port: server.port, path: "/events?stream=held")
            #expect(fourth == nil || fourth?.status == 0, "the fourth connection is closed before any answer")
            fourth?.close()
            held.removeLast().close()
            var admitted = false
            for _ in 0..<50 where !admitted {  // the server sees the close a moment later
                try await Task.sleep(for: .milliseconds(100))
                admitted = (try? await server.get("/stats"))?.status == 200
            }
            #expect(admitted)
            for events in held { events.close() }
        }
    }

    @Test func behindATrustedProxyTheForwardedClientIsLimited() async throws {
        try await TestServer.with(clientLimits: Self.limits(rate: Self.slowBucket, proxies: ["127.0.0.0/8"])) { server async throws in
            for _ in 0..<5 { #expect(try await Self.post(server, as: "203.0.113.5") == 200) }
            #expect(try await Self.post(server, as: "203.0.113.5") == 429)
            // The rightmost address that is not a trusted proxy is the client.
            #expect(try await Self.post(server, as: "198.51.100.1, 203.0.113.5") == 429)
            #expect(try await Self.post(server, as: "203.0.113.5, 127.0.0.1") == 429)
            #expect(try await Self.post(server, as: "203.0.113.6") == 200)
            // An entry that does not parse ends the walk: what a client wrote left of it is not believed.
            #expect(try await Self.post(server, as: "203.0.113.5, unknown") == 200)
        }
        // Where the peer is not trusted, its header is nobody's word: every post is the peer's.
        try await TestServer.with(clientLimits: Self.limits(rate: Self.slowBucket)) { server in
            var statuses: [Int] = []
            for i in 0..<6 {
                statuses.append(
                    try await server.request(.POST, "/messages", form: "stream=spoof&text=hi", headers: [("X-Forwarded-For", "203.0.113.\(i)")]).status)
            }
            #expect(statuses == [200, 200, 200, 200, 200, 429])
        }
    }

    static func post(_ server: TestServer, as forwarded: String) async throws -> Int {
        try await server.request(.POST, "/messages", form: "stream=proxied&text=hi", headers: [("X-Forwarded-For", forwarded)]).status
    }

    // MARK: The parts

    @Test func addressesAndRanges() throws {
        let v4 = try #require(ClientAddress(text: "203.0.113.5"))
        #expect(v4.isIPv4 && v4.client == v4)
        #expect(ClientAddress(text: " 203.0.113.5:8443 ") == v4)
        #expect(ClientAddress(text: "::ffff:203.0.113.5") == v4)
        // IPv6 clients are one per /64.
        let home = try #require(ClientAddress(text: "2001:db8:1:2::10"))
        #expect(ClientAddress(text: "[2001:db8:1:2:ffff::1]:443")?.client == home.client)
        #expect(ClientAddress(text: "2001:db8:1:3::10")?.client != home.client)
        for bad in ["", "example.org", "1.2.3", "203.0.113.5.6", "::g"] { #expect(ClientAddress(text: bad[...]) == nil, "\(bad)") }
        let lan = try #require(AddressRange("10.0.0.0/8"))
        #expect(lan.contains(ClientAddress(text: "10.200.3.4")!) && !lan.contains(ClientAddress(text: "11.0.0.1")!))
        #expect(AddressRange("::1")?.contains(ClientAddress(text: "::1")!) == true)
        #expect(AddressRange("2001:db8::/32")?.contains(home) == true)
        #expect(AddressRange("0.0.0.0/0")?.contains(v4) == true && AddressRange("0.0.0.0/0")?.contains(home) == false)
        for bad in ["10.0.0.0/33", "::/129", "10.0.0.0/", "nope", "/8"] { #expect(AddressRange(bad) == nil, "\(bad)") }
    }

    @Test func bucketsRefillWithTimeAndTheLeastRecentlySeenIsForgotten() {
        var table = BucketTable(capacity: 2)
        let (a, b, c) = (ClientAddress(ipv4: 1), ClientAddress(ipv4: 2), ClientAddress(ipv4: 3))
        let second: Int64 = 1_000_000_000
        #expect(table.take(a, rate: 2, burst: 2, now: 0) == nil)
        #expect(table.take(a, rate: 2, burst: 2, now: 0) == nil)
        #expect(table.take(a, rate: 2, burst: 2, now: 0) == 1)  // empty: a token in half a second, said as 1 s
        #expect(table.take(a, rate: 2, burst: 2, now: second / 2) == nil)
        #expect(table.take(b, rate: 2, burst: 2, now: second) == nil)
        #expect(table.take(c, rate: 2, burst: 2, now: second) == nil)  // a, least recently seen, is dropped
        #expect(table.count == 2)
        #expect(table.take(b, rate: 2, burst: 2, now: second) == nil)
        #expect(table.take(b, rate: 2, burst: 2, now: second) == 1)  // b was kept, and is empty now
        #expect(table.take(a, rate: 2, burst: 2, now: second) == nil)  // a comes back with a full bucket
    }
}
