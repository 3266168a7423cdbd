import AsyncHTTPClient
import Foundation
import MaltenTestClients
import NIOCore
import NIOHTTP1
import Testing

/// `malten serve`'s per-client limits as it starts by default (ClientLimitTests covers each rule
/// on a server in process): a script's burst of 2 000 posts meets the rate, what went before it is
/// intact, and `--trusted-proxy` is read from the command line.
@Suite struct ServedLimitTests {
    @Test func theDefaultRateRefusesAScriptsBurst() async throws {
        let served = try await ServedProcess(limited: true)
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("post", [("stream", "canary"), ("text", "before the burst")])).status == 200)
        // Pipelined on one connection: the burst reaches the server as fast as it can take it, so
        // no slow test machine stretches it out and lets the rate refill it.
        let start = ContinuousClock.now
        let requests = (0..<2000).map { i in
            let body = "stream=burst&text=m\(i)"
            return "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
        }
        let answered = try await PipelinedClient.statuses(of: requests, port: served.port)
        let seconds = Double((ContinuousClock.now - start).components.seconds) + 1
        #expect(answered.count == 2000)
        let statuses = Dictionary(answered.map { ($0, 1) }, uniquingKeysWith: +)
        let stored = statuses[200, default: 0]
        // 250 at once (5 s of 50/s), then 50 a second.
        #expect(statuses[429, default: 0] > 0 && stored >= 250 && Double(stored) <= 251 + 50 * seconds, "\(statuses) in \(seconds) s")
        #expect(statuses.keys.allSatisfy { $0 == 200 || $0 == 429 })
        let canary = try await api.call(Call("get", [("stream", "canary")]))
        #expect(canary.array.map { $0["Text"] as? String } == ["before the burst"])
        // The stream keeps its newest 1024, should a slow server let more than that through.
        #expect(try await api.call(Call("get", [("stream", "burst"), ("limit", 1024)])).array.count == min(stored, 1024))
    }

    @Test func trustedProxiesComeFromTheCommandLine() async throws {
        let served = try await ServedProcess(arguments: ["--rate-limit", "0.01", "--trusted-proxy", "10.0.0.0/8,127.0.0.1"], limited: true)
        defer { served.stop() }
        var statuses: [String: [Int]] = [:]
        for client in ["203.0.113.5", "203.0.113.5", "203.0.113.5", "203.0.113.5", "203.0.113.5", "203.0.113.5", "203.0.113.6"] {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(served.port)/messages")
            request.method = .POST
            request.headers.add(name: "Connection", value: "close")
            request.headers.add(name: "X-Forwarded-For", value: client)
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: "stream=proxied&text=hi"))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 16)
            statuses[client, default: []].append(Int(response.status.code))
        }
        // One write per 100 s, and a bucket of one: however slow the machine, no refill.
        #expect(statuses["203.0.113.5"] == [200, 429, 429, 429, 429, 429])
        #expect(statuses["203.0.113.6"] == [200])
        do {
            let refused = try await ServedProcess(arguments: ["--trusted-proxy", "10.0.0.0/33"], limited: true)
            refused.stop()
            Issue.record("a bad range was accepted")
        } catch let failure as ServedProcess.StartFailed {
            #expect(failure.description.contains("trusted proxy '10.0.0.0/33'"), "\(failure)")
        }
    }
}
