import Foundation
import MaltenCore
import MaltenHTTP
import MaltenTestClients
import Testing

/// `GET /metrics`: Prometheus' text format with the server's counters and the store's totals,
/// summed over every event loop, and never a stream name, a text or an address.
@Suite struct MetricsTests {
    /// `name{labels} value` lines by series.
    static func series(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }

    @Test func countsWhatTheServerDidAndNamesNothing() async throws {
        var limits = ClientLimitSettings(writesPerSecond: 0.01)
        limits.burstSeconds = 500  // a burst of 5, then one write per 100 s
        try await TestServer.with(limits: Limits(memoryBudget: 1 << 20), clientLimits: limits) { server in
            let (name, text) = ("secret-stream-name", "secret-text-words")
            let events = try await EventStreamClient.connect(port: server.port, path: "/events?stream=\(name)")
            for _ in 0..<3 { #expect(try await server.post("/messages", "stream=\(name)&text=\(text)").status == 200) }
            #expect(try await server.get("/messages?stream=\(name)").status == 200)
            #expect(try await server.get("/nowhere").status == 404)
            for _ in 0..<3 { _ = try await server.post("/messages", "stream=\(name)&text=\(text)") }  // the fifth and past: 429
            for _ in 0..<3 { _ = try await events.next() }  // connect and the first messages arrived
            server.clock.advance(seconds: 2000)
            server.store.expireDue()

            let scrape = try await server.get("/metrics")
            #expect(scrape.status == 200)
            #expect(scrape.headers.first(name: "Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            let values = Self.series(scrape.body)
            #expect(values["malten_posts_total"] == 4)
            #expect(values["malten_reads_total"] == 1)
            #expect(values["malten_rate_limited_total"] == 2)
            #expect(values[#"malten_http_requests_total{route="/messages",status="2xx"}"#] == 5)
            #expect(values[#"malten_http_requests_total{route="/messages",status="4xx"}"#] == 2)
            #expect(values[#"malten_http_requests_total{route="other",status="4xx"}"#] == 1)
            #expect(values[#"malten_http_requests_total{route="/events",status="2xx"}"#] == 1)
            #expect((values["malten_events_delivered_total"] ?? 0) >= 5)  // connect and four messages
            #expect(values["malten_subscribers"] == 1 && values["malten_streams"] == 1)  // a subscribed stream stays
            #expect(values["malten_memory_budget_bytes"] == 1_048_576)
            #expect((values["malten_open_connections"] ?? 0) >= 2)  // the subscriber and the scrape
            #expect((values["process_resident_memory_bytes"] ?? 0) > 1_048_576)
            #expect(scrape.body.contains("# TYPE malten_posts_total counter") && scrape.body.contains("# TYPE malten_streams gauge"))
            for secret in [name, text, "127.0.0.1"] { #expect(!scrape.body.contains(secret), "\(secret)") }
            events.close()
        }
    }

    @Test func expiriesAndEvictionsAreCounted() async throws {
        try await TestServer.with(limits: Limits(streamCapacity: 16, memoryBudget: 64 << 10)) { server in
            for i in 0..<200 { _ = try await server.post("/messages", "stream=s\(i)&text=\(String(repeating: "x", count: 500))") }
            server.clock.advance(seconds: 2000)
            server.store.expireDue()
            let values = Self.series(try await server.get("/metrics").body)
            let (evicted, expired) = (values["malten_evictions_total"] ?? 0, values["malten_expiries_total"] ?? 0)
            #expect(evicted > 0 && expired > 0 && evicted + expired == 200, "\(evicted) evicted, \(expired) expired")
            #expect(values["malten_streams"] == 0 && values["malten_messages"] == 0)
        }
    }

    @Test func offRemovesTheRoute() async throws {
        try await TestServer.with(metrics: false) { server async throws in
            #expect(try await server.get("/metrics").status == 404)
        }
    }
}
