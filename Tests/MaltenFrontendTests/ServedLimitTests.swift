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
        let start = ContinuousClock.now
        var statuses: [Int: Int] = [:]
        for i in 0..<2000 {
            statuses[try await api.call(Call("post", [("stream", "burst"), ("text", "m\(i)")])).status, default: 0] += 1
        }
        let seconds = Double((ContinuousClock.now - start).components.seconds) + 1
        let stored = statuses[200, default: 0]
        // 250 at once (5 s of 50/s), then 50 a second.
        #expect(statuses[429, default: 0] > 0 && stored >= 250 && Double(stored) <= 251 + 50 * seconds, "\(statuses) in \(seconds) s")
        #expect(statuses.keys.allSatisfy { $0 == 200 || $0 == 429 })
        let canary = try await api.call(Call("get", [("stream", "canary")]))
        #expect(canary.array.map { $0["Text"] as? String } == ["before the burst"])
        // The stream keeps the newest 1024 (a slow machine's loop lets more than that through).
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
