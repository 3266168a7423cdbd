import Foundation
import MaltenCore
import NIOCore
import NIOPosix
import Testing

/// Clients that push: concurrency, floods, huge and broken bodies, stalled sockets. After each, the
/// server still answers and nothing stored is lost or corrupted.
@Suite struct HostileClientTests {
    @Test func eightConcurrentPostersLoseNothingAndNeverRepeatCreated() async throws {
        try await TestServer.with { server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for poster in 0..<8 {
                    group.addTask {
                        for i in 0..<100 {
                            let r = try await server.post("/messages", "stream=shared&text=p\(poster)-\(i)")
                            #expect(r.status == 200)
                        }
                    }
                }
                try await group.waitForAll()
            }
            var all: [[String: Any]] = []
            var since = "0"
            while true {  // page forward with since, as a client that is far behind would
                let page = try jsonArray(try await server.get("/messages?stream=shared&limit=200&since=\(since)").body)
                if page.isEmpty { break }
                all += page
                since = page.last!["Created"] as! String
            }
            #expect(all.count == 800)
            #expect(Set(all.map { $0["Text"] as! String }).count == 800)
            let created = all.map { Int64($0["Created"] as! String)! }
            #expect(zip(created, created.dropFirst()).allSatisfy { $0 < $1 })
            // Each poster's own messages keep their order.
            for poster in 0..<8 {
                let mine = all.map { $0["Text"] as! String }.filter { $0.hasPrefix("p\(poster)-") }
                #expect(mine == (0..<100).map { "p\(poster)-\($0)" })
            }
        }
    }

    @Test func tenThousandStreamsInABurst() async throws {
        try await TestServer.with { server in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<20 {
                    group.addTask {
                        var ok = 0
                        for i in stride(from: worker, to: 10_000, by: 20) {
                            let r = try await server.post("/streams", "stream=burst-\(i)")
                            if r.status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
                var ok = 0
                for try await count in group { ok += count }
                #expect(ok == 10_000)
            }
            #expect(server.store.stats().streams == 10_000)
            let listing = try jsonObject(try await server.get("/streams").body)
            #expect(listing.count == 1024)
            #expect(try await server.post("/messages", "stream=burst-9999&text=still+here").status == 200)
        }
    }

    @Test func tenMegabyteBodyIsRefusedAndTheServerCarriesOn() async throws {
        try await TestServer.with { server in
            _ = try await server.post("/messages", "stream=keep&text=before")
            var huge = ByteBuffer(string: "stream=keep&text=")
            huge.writeRepeatingByte(UInt8(ascii: "a"), count: 10 << 20)
            // The server answers 413 and closes; the client may see the close before the answer.
            if let r = try? await server.request(.POST, "/messages", body: huge) {
                #expect(r.status == 413)
            }
            #expect(try await server.post("/messages", "stream=keep&text=after").status == 200)
            let texts = try jsonArray(try await server.get("/messages?stream=keep").body).map { $0["Text"] as? String }
            #expect(texts == ["before", "after"])
        }
    }

    @Test func invalidUTF8IsRefused() async throws {
        try await TestServer.with { server in
            var raw = ByteBuffer(string: "stream=u&text=")
            raw.writeBytes([0xFF, 0xFE, 0x41])
            let r = try await server.request(.POST, "/messages", body: raw, headers: [("Content-Type", "application/x-www-form-urlencoded")])
            #expect(r.status == 400)
            #expect(try jsonObject(r.body)["error"] as? String == "Parameters must be valid UTF-8")
            let encoded = try await server.post("/messages", "stream=u&text=%C3%28")
            #expect(encoded.status == 400)
            #expect(server.store.stats().messages == 0)
        }
    }

    @Test func stalledClientsDoNotHoldUpOthers() async throws {
        try await TestServer.with { server in
            let port = Int(server.base.split(separator: ":").last!)!
            // Ten sockets that send half a request head and then nothing.
            var stalled: [any Channel] = []
            for _ in 0..<10 {
                let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connect(host: "127.0.0.1", port: port).get()
                try await channel.writeAndFlush(ByteBuffer(string: "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Le")).get()
                stalled.append(channel)
            }
            for i in 0..<50 {
                #expect(try await server.post("/messages", "stream=live&text=\(i)").status == 200)
            }
            #expect(server.store.stats().messages == 50)
            for channel in stalled { try? await channel.close() }
        }
    }
}
