import Foundation
import MaltenCore
import NIOHTTP1
import Testing

/// Part 1 of the wire contract (and the Part 2 pieces the foundation carries), over real sockets.
@Suite struct APITests {
    @Test func postThenGetMessages() async throws {
        try await TestServer.with { server in
            let posted = try await server.post("/messages", "stream=foo&text=\(form("hello <world> & \"you\""))")
            #expect(posted.status == 200)
            #expect(posted.headers["Content-Type"].first == "application/json")
            let message = try jsonObject(posted.body)
            #expect(message["Text"] as? String == "hello <world> & \"you\"")
            #expect(message["Stream"] as? String == "foo")
            #expect(message["Type"] as? String == "message")
            #expect(message["Metadata"] is NSNull)
            #expect(UUID(uuidString: try #require(message["Id"] as? String)) != nil)
            let created = try #require(message["Created"] as? String)
            #expect(Int64(created) != nil)

            let listed = try jsonArray(try await server.get("/messages?stream=foo").body)
            #expect(listed.count == 1)
            #expect(listed[0]["Id"] as? String == message["Id"] as? String)
            #expect(listed[0]["Created"] as? String == created)
        }
    }

    @Test func defaultsToTheUnderscoreStreamAndAcceptsMessageField() async throws {
        try await TestServer.with { server in
            #expect(try await server.post("/messages", "message=from+2023").status == 200)
            let messages = try jsonArray(try await server.get("/messages").body)
            #expect(messages.map { $0["Text"] as? String } == ["from 2023"])
            #expect(messages.map { $0["Stream"] as? String } == ["_"])
        }
    }

    @Test func parametersFromQueryStringOnPost() async throws {
        try await TestServer.with { server in
            let posted = try await server.request(.POST, "/messages?stream=q&text=via+query")
            #expect(posted.status == 200)
            // Body values win over query values, as with Go's ParseForm.
            _ = try await server.request(.POST, "/messages?stream=q&text=query", form: "text=body")
            let texts = try jsonArray(try await server.get("/messages?stream=q").body).map { $0["Text"] as? String }
            #expect(texts == ["via query", "body"])
        }
    }

    @Test func limitDirectionLastSinceAndId() async throws {
        try await TestServer.with { server in
            var created: [String] = []
            var ids: [String] = []
            for i in 0..<10 {
                let m = try jsonObject(try await server.post("/messages", "stream=page&text=m\(i)").body)
                created.append(m["Created"] as! String)
                ids.append(m["Id"] as! String)
            }
            func texts(_ query: String) async throws -> [String] {
                let r = try await server.get("/messages?stream=page&\(query)")
                #expect(r.status == 200, "\(query)")
                return try jsonArray(r.body).map { $0["Text"] as! String }
            }
            #expect(try await texts("") == (0..<10).map { "m\($0)" })
            #expect(try await texts("limit=3") == ["m7", "m8", "m9"])
            #expect(try await texts("limit=3&last=\(created[8])") == ["m9"])
            #expect(try await texts("limit=3&direction=-1") == ["m9", "m8", "m7"])
            #expect(try await texts("limit=3&direction=-1&last=\(created[5])") == ["m4", "m3", "m2"])
            #expect(try await texts("limit=4&since=\(created[1])") == ["m2", "m3", "m4", "m5"])
            #expect(try await texts("since=\(created[1])&direction=-1&limit=1") == ["m2"])
            #expect(try await texts("id=\(ids[6])") == ["m6"])
            #expect(try await texts("id=\(UUID().uuidString)") == [])
            #expect(try await texts("limit=100000") == (0..<10).map { "m\($0)" })
            // Present but empty counts as absent.
            #expect(try await texts("limit=&direction=&last=") == (0..<10).map { "m\($0)" })
            #expect(try jsonArray(try await server.get("/messages?stream=unknown").body).isEmpty)
        }
    }

    @Test func streamsCreateListAndLookUp() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/streams", "stream=pub&ttl=60")
            #expect(created.status == 200)
            #expect(try jsonObject(created.body) as NSDictionary == ["stream": "pub", "private": false, "ttl": 60])
            let secret = try jsonObject(try await server.post("/streams", "private=true").body)
            let secretName = try #require(secret["stream"] as? String)
            #expect(secretName.count == 32)
            #expect(secret["private"] as? Bool == true)
            #expect(secret["ttl"] as? Int == 1024)
            _ = try await server.post("/messages", "stream=unlisted&text=x")

            let listing = try jsonObject(try await server.get("/streams").body)
            #expect(Array(listing.keys) == ["pub"])
            let pub = try #require(listing["pub"] as? [String: Any])
            #expect(pub["Id"] as? String == "pub")
            #expect(pub["TTL"] as? Int == 60)
            #expect(pub["Observers"] as? Int == 0)
            #expect(pub["Private"] as? Bool == false)
            #expect((pub["Updated"] as? NSNumber)?.int64Value ?? 0 > 1_600_000_000_000_000_000)

            // One stream by name, listed or not.
            let one = try await server.get("/streams?stream=\(secretName)")
            #expect(one.status == 200)
            let entry = try #require(try jsonObject(one.body)[secretName] as? [String: Any])
            #expect(entry["Private"] as? Bool == true)
            #expect(try await server.get("/streams?stream=unlisted").status == 200)
            #expect(try await server.get("/streams?stream=nothing").status == 404)

            // Taken names: 409, and nothing changes.
            let again = try await server.post("/streams", "stream=pub&private=true&ttl=5")
            #expect(again.status == 409)
            #expect(try jsonObject(again.body)["error"] as? String == "Stream already exists")
            #expect(try await server.post("/streams", "stream=unlisted").status == 409)
            #expect(server.store.info(stream: "pub")?.ttl == 60)
            #expect(server.store.info(stream: "pub")?.isPrivate == false)
        }
    }

    @Test func streamsExpireAfterTheirTTL() async throws {
        try await TestServer.with { server in
            _ = try await server.post("/streams", "stream=brief&ttl=2")
            _ = try await server.post("/messages", "stream=brief&text=soon+gone")
            server.clock.advance(seconds: 2)
            server.store.expireDue()
            #expect(try await server.get("/streams").body == "{}")
            #expect(try await server.get("/messages?stream=brief").body == "[]")
            #expect(try await server.get("/streams?stream=brief").status == 404)
        }
    }

    @Test func errorsAreJSONWithFittingStatuses() async throws {
        try await TestServer.with(limits: Limits(maxCharacters: 10)) { server in
            let cases: [(HTTPMethod, String, String?, Int, String?)] = [
                (.POST, "/messages", "text=", 400, "Message cannot be blank"),
                (.POST, "/messages", "text=+++%0A", 400, "Message cannot be blank"),
                (.POST, "/messages", "stream=foo", 400, "Message cannot be blank"),
                (.POST, "/messages", "text=12345678901", 413, nil),
                (.POST, "/messages", "stream=a%2Fb&text=x", 400, nil),
                (.POST, "/messages", "stream=..&text=x", 400, nil),
                (.POST, "/messages", "text=%zz", 400, nil),
                (.GET, "/messages?limit=0", nil, 400, nil),
                (.GET, "/messages?limit=ten", nil, 400, nil),
                (.GET, "/messages?direction=up", nil, 400, nil),
                (.GET, "/messages?last=-5", nil, 400, nil),
                (.GET, "/messages?since=x", nil, 400, nil),
                (.GET, "/messages?stream=a+b", nil, 400, nil),
                (.POST, "/streams", "ttl=0", 400, nil),
                (.POST, "/streams", "ttl=86401", 400, nil),
                (.POST, "/streams", "ttl=soon", 400, nil),
                (.POST, "/streams", "private=maybe", 400, nil),
                (.GET, "/nowhere", nil, 404, nil),
                (.DELETE, "/messages", nil, 405, nil),
                (.PUT, "/streams", nil, 405, nil),
                (.POST, "/", nil, 405, nil),
                (.TRACE, "/app.js", nil, 405, nil),
                (.DELETE, "/metrics", nil, 405, nil),
            ]
            for (method, path, body, status, message) in cases {
                let r = try await server.request(method, path, form: body)
                #expect(r.status == status, "\(method) \(path) \(body ?? "")")
                let error = try jsonObject(r.body)["error"] as? String
                #expect(error != nil, "\(path)")
                if let message { #expect(error == message) }
            }
            // Exactly the limit passes; scalars are counted, not bytes.
            #expect(try await server.post("/messages", "text=\(form("😀😀😀😀😀😀😀😀😀😀"))").status == 200)
            #expect(server.store.stats().messages == 1)
            let denied = try await server.request(.DELETE, "/streams")
            #expect(denied.headers["Allow"].first == "GET, HEAD, POST, OPTIONS")
            // The page's files and the scrape take GET and HEAD (schemathesis found them answering 404).
            #expect(try await server.request(.PUT, "/openapi.yaml").headers["Allow"].first == "GET, HEAD")
        }
    }

    @Test func corsForAnyOrigin() async throws {
        try await TestServer.with { server in
            let get = try await server.request(.GET, "/streams", headers: [("Origin", "https://example.org")])
            #expect(get.headers["Access-Control-Allow-Origin"].first == "*")
            let preflight = try await server.request(
                .OPTIONS, "/messages",
                headers: [("Origin", "https://example.org"), ("Access-Control-Request-Method", "POST")])
            #expect(preflight.status == 204)
            #expect(preflight.headers["Access-Control-Allow-Origin"].first == "*")
            #expect(preflight.headers["Access-Control-Allow-Methods"].first?.contains("POST") == true)
            #expect(preflight.headers["Access-Control-Allow-Credentials"].isEmpty)
        }
    }

    @Test func headAnswersWithoutABody() async throws {
        try await TestServer.with { server in
            _ = try await server.post("/messages", "text=x")
            let head = try await server.request(.HEAD, "/messages")
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            #expect(Int(head.headers["Content-Length"].first ?? "0")! > 2)
        }
    }
}

/// The memory budget and `/stats` over HTTP.
@Suite struct BudgetAPITests {
    @Test func statsReportTotalsWithoutNamesOrText() async throws {
        try await TestServer.with(limits: Limits(memoryBudget: 64 << 20)) { server in
            _ = try await server.post("/streams", "stream=secret-name")
            _ = try await server.post("/messages", "stream=other&text=private+words")
            let r = try await server.get("/stats")
            #expect(r.status == 200)
            #expect(!r.body.contains("secret-name") && !r.body.contains("private") && !r.body.contains("other"))
            let stats = try jsonObject(r.body)
            #expect(stats["streams"] as? Int == 2)
            #expect(stats["listed"] as? Int == 1)
            #expect(stats["messages"] as? Int == 1)
            #expect(stats["budget"] as? Int == 64 << 20)
            #expect(stats["subscribers"] as? Int == 0)
            #expect((stats["bytes"] as? Int ?? 0) >= 2 * 1024 * 32)  // two rings of 1024 32-byte slots
        }
    }

    @Test func whatCanNeverFitGets503() async throws {
        // Four shards of 50 KiB: one stream's ring (40 KiB) fits, a second 1024-character text too.
        try await TestServer.with(limits: Limits(memoryBudget: 4 * 50 * 1024)) { server in
            #expect(try await server.post("/messages", "stream=s&text=fits").status == 200)
            let big = String(repeating: "字", count: 1024)  // 3 KiB of UTF-8: fits
            #expect(try await server.post("/messages", "stream=s&text=\(form(big))").status == 200)
            let tiny = try await TestServer.with(limits: Limits(memoryBudget: 4 * 1024)) { tiny in
                try await tiny.post("/messages", "stream=s&text=no+room")
            }
            #expect(tiny.status == 503)
            #expect(try jsonObject(tiny.body)["error"] as? String == "Does not fit in the server's memory budget")
        }
    }

    @Test func theWebPageAndItsFilesAreServedFromTheBinary() async throws {
        try await TestServer.with { (server: TestServer) async throws in
            for (path, type, marker) in [
                ("/", "text/html; charset=utf-8", "<script src=\"/app.js\" defer></script>"),
                ("/e2e.js", "text/javascript; charset=utf-8", "globalThis.MaltenE2E"),
                ("/app.js", "text/javascript; charset=utf-8", "new EventSource("),
                ("/app.css", "text/css; charset=utf-8", "#messages"),
                ("/icon.svg", "image/svg+xml", "<svg"),
            ] {
                let page = try await server.get(path)
                #expect(page.status == 200 && page.headers.first(name: "Content-Type") == type, "\(path)")
                #expect(page.body.contains(marker), "\(path)")
                #expect(page.headers.first(name: "Content-Security-Policy")?.hasPrefix("default-src 'self'") == true)
                #expect(page.headers.first(name: "ETag") != nil && page.headers.first(name: "Cache-Control") == "no-cache")
            }
            // Nothing in the page pulls from elsewhere, and nothing runs inline.
            let html = try await server.get("/").body
            #expect(!html.contains("http://") && !html.contains("https://") && !html.contains("<style") && !html.contains("style="))
            // Two scripts, both files of this server.
            let scripts = html.components(separatedBy: "<script").dropFirst()
            #expect(scripts.count == 2 && scripts.allSatisfy { $0.hasPrefix(" src=\"/") })
            let head = try await server.request(.HEAD, "/")
            #expect(head.status == 200 && head.body.isEmpty)
            let missing = try await server.get("/nothing-here")
            #expect(missing.status == 404 && missing.body == #"{"error":"Not found"}"#)
        }
    }
}

