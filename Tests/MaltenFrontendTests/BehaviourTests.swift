import Foundation
import Testing

/// The contract's behaviours, written once and run through every frontend.
@Suite struct BehaviourTests {
    func with(_ frontend: Frontend, _ body: (any FrontendDriver) async throws -> Void) async throws {
        let driver = try await frontend.start()
        do {
            try await body(driver)
        } catch {
            try? await driver.close()
            throw error
        }
        try await driver.close()
    }

    @Test(arguments: Frontend.allCases)
    func postThenGet(_ frontend: Frontend) async throws {
        try await with(frontend) { api in
            let posted = try await api.call(Call("post", [("stream", "foo"), ("text", "hello <world> & \"you\"")]))
            #expect(posted.status == 200)
            #expect(posted.object["Text"] as? String == "hello <world> & \"you\"")
            #expect(posted.object["Type"] as? String == "message")
            #expect(posted.object["Stream"] as? String == "foo")
            #expect(Int64(posted.object["Created"] as? String ?? "") != nil)
            let got = try await api.call(Call("get", [("stream", "foo")]))
            #expect(got.array.map { $0["Id"] as? String } == [posted.object["Id"] as? String])
        }
    }

    @Test(arguments: Frontend.allCases)
    func defaultStreamAndTheMessageField(_ frontend: Frontend) async throws {
        try await with(frontend) { api in
            #expect(try await api.call(Call("post", [("message", "from 2023")])).status == 200)
            let got = try await api.call(Call("get"))
            #expect(got.array.map { $0["Stream"] as? String } == ["_"])
            #expect(got.array.map { $0["Text"] as? String } == ["from 2023"])
        }
    }

    @Test(arguments: Frontend.allCases)
    func readsByLimitDirectionLastSinceAndId(_ frontend: Frontend) async throws {
        try await with(frontend) { api in
            var created: [String] = []
            var ids: [String] = []
            for i in 0..<10 {
                let m = try await api.call(Call("post", [("stream", "page"), ("text", "m\(i)")])).object
                created.append(m["Created"] as! String)
                ids.append(m["Id"] as! String)
            }
            func texts(_ parameters: [(String, Any)]) async throws -> [String] {
                let reply = try await api.call(Call("get", [("stream", "page")] + parameters))
                #expect(reply.status == 200)
                return reply.array.map { $0["Text"] as! String }
            }
            #expect(try await texts([("limit", 3)]) == ["m7", "m8", "m9"])
            #expect(try await texts([("limit", 3), ("last", created[8])]) == ["m9"])
            #expect(try await texts([("limit", 3), ("direction", -1)]) == ["m9", "m8", "m7"])
            #expect(try await texts([("limit", 3), ("direction", -1), ("last", created[5])]) == ["m4", "m3", "m2"])
            #expect(try await texts([("limit", 4), ("since", created[1])]) == ["m2", "m3", "m4", "m5"])
            #expect(try await texts([("id", ids[6])]) == ["m6"])
            #expect(try await texts([("id", "not-a-uuid")]) == [])
            #expect(try await texts([("limit", 100_000)]).count == 10)
            #expect(try await api.call(Call("get", [("stream", "unknown")])).array.isEmpty)
        }
    }

    @Test(arguments: Frontend.allCases)
    func streamsCreateListLookUpAndConflict(_ frontend: Frontend) async throws {
        try await with(frontend) { api in
            let created = try await api.call(Call("create", [("stream", "pub"), ("ttl", 60)]))
            #expect(created.status == 200)
            #expect(created.object["stream"] as? String == "pub")
            #expect(created.object["private"] as? Bool == false)
            #expect(created.object["ttl"] as? Int == 60)
            let secret = try await api.call(Call("create", [("private", true)])).object
            let name = try #require(secret["stream"] as? String)
            #expect(name.count == 32)
            let listing = try await api.call(Call("streams")).object
            #expect(Array(listing.keys) == ["pub"])
            #expect((listing["pub"] as? [String: Any])?["TTL"] as? Int == 60)
            let one = try await api.call(Call("streams", [("stream", name)]))
            #expect((one.object[name] as? [String: Any])?["Private"] as? Bool == true)
            #expect(try await api.call(Call("streams", [("stream", "nothing")])).status == 404)
            let again = try await api.call(Call("create", [("stream", "pub")]))
            #expect(again.status == 409)
            #expect(again.error == "Stream already exists")
        }
    }

    @Test(arguments: Frontend.allCases)
    func refusalsCarryTheSameStatusesAndChangeNothing(_ frontend: Frontend) async throws {
        try await with(frontend) { api in
            let cases: [(Call, Int, String?)] = [
                (Call("post", [("text", "")]), 400, "Message cannot be blank"),
                (Call("post", [("text", "  \n ")]), 400, "Message cannot be blank"),
                (Call("post", [("text", String(repeating: "x", count: 1025))]), 413, "Message exceeds 1024 characters"),
                (Call("post", [("stream", "a b"), ("text", "x")]), 400, nil),
                (Call("post", [("stream", ".."), ("text", "x")]), 400, nil),
                (Call("get", [("limit", 0)]), 400, nil),
                (Call("get", [("last", -5)]), 400, nil),
                (Call("create", [("ttl", 0)]), 400, "ttl must be between 1 and 86400 seconds"),
                (Call("create", [("ttl", 86_401)]), 400, nil),
            ]
            for (call, status, message) in cases {
                let reply = try await api.call(call)
                #expect(reply.status == status, "\(call.op) \(call.parameters)")
                #expect(reply.error != nil)
                if let message { #expect(reply.error == message) }
            }
            // A text of exactly 1024 scalars, four bytes each, passes.
            #expect(try await api.call(Call("post", [("text", String(repeating: "😀", count: 1024))])).status == 200)
            #expect(try await api.call(Call("get")).array.count == 1)
        }
    }
}

/// Subscriptions, written once and run through SSE, WebSocket and stdio.
@Suite struct SubscriptionBehaviourTests {
    func with(_ subscriber: Subscriber, _ body: (any FrontendDriver) async throws -> Void) async throws {
        try await BehaviourTests().with(subscriber.frontend, body)
    }

    func post(_ api: any FrontendDriver, _ stream: String, _ text: String) async throws -> String {
        try #require(try await api.call(Call("post", [("stream", stream), ("text", text)])).object["Created"] as? String)
    }

    func observers(_ api: any FrontendDriver, _ stream: String) async throws -> Int? {
        (try await api.call(Call("streams", [("stream", stream)])).object[stream] as? [String: Any])?["Observers"] as? Int
    }

    /// Asks until `stream` has `count` observers, up to 10 s: a feed's end reaches the server a
    /// little later, and what comes next may depend on it having let go.
    func waitForObservers(_ api: any FrontendDriver, _ stream: String, _ count: Int) async throws {
        for _ in 0..<100 {
            if try await observers(api, stream) == count { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(stream) never had \(count) observers")
    }

    @Test(arguments: Subscriber.allCases)
    func liveMessagesInOrderWithPresence(_ subscriber: Subscriber) async throws {
        try await with(subscriber) { api in
            let feed = try await api.subscribe("room", since: nil, webSocket: subscriber.webSocket)
            let hello = try await feed.next()
            #expect(hello["Type"] as? String == "event" && hello["Text"] as? String == "connect" && hello["Stream"] as? String == "room")
            #expect(try await observers(api, "room") == 1)
            var created: [String] = []
            for i in 0..<10 { created.append(try await post(api, "room", "m\(i)")) }
            for i in 0..<10 {
                let event = try await feed.next()
                #expect(event["Text"] as? String == "m\(i)" && event["Created"] as? String == created[i])
            }
            let other = try await api.subscribe("room", since: nil, webSocket: subscriber.webSocket)
            #expect(try await feed.next()["Text"] as? String == "connect")
            #expect(try await other.next()["Text"] as? String == "connect")
            try await other.end()
            #expect(try await feed.next()["Text"] as? String == "close")
            #expect(try await observers(api, "room") == 1)
        }
    }

    @Test(arguments: Subscriber.allCases)
    func resumeReplaysExactlyWhatWasMissedThenGoesLive(_ subscriber: Subscriber) async throws {
        try await with(subscriber) { api in
            var created: [String] = []
            for i in 0..<10 { created.append(try await post(api, "r", "m\(i)")) }
            let feed = try await api.subscribe("r", since: created[6], webSocket: subscriber.webSocket)
            for i in 7..<10 { #expect(try await feed.next()["Text"] as? String == "m\(i)") }
            #expect(try await feed.next()["Text"] as? String == "connect")
            _ = try await post(api, "r", "m10")
            #expect(try await feed.next()["Text"] as? String == "m10")
        }
    }

    @Test(arguments: Subscriber.allCases)
    func theGapComesFirstWhenTheRingMovedOn(_ subscriber: Subscriber) async throws {
        try await with(subscriber) { api in
            let first = try await post(api, "g", "m0")
            for i in 1..<1100 { _ = try await post(api, "g", "m\(i)") }
            let feed = try await api.subscribe("g", since: first, webSocket: subscriber.webSocket)
            let gap = try await feed.next()
            #expect(gap["Type"] as? String == "gap" && gap["Stream"] as? String == "g" && gap["From"] as? String == first)
            let oldest = try await feed.next()
            #expect(oldest["Text"] as? String == "m76" && oldest["Created"] as? String == gap["Oldest"] as? String)
        }
    }

    /// A pipe: private and unlisted, two parties at most (a third is refused with 409 before its
    /// stream starts), a party that leaves before the other joined may come back, and once both
    /// have joined the first to leave ends it: the other gets `closed`, and the name answers 410
    /// to every call for the pipe's TTL.
    @Test(arguments: Subscriber.allCases)
    func aPipeHoldsTwoAndEndsWhenOneLeaves(_ subscriber: Subscriber) async throws {
        try await with(subscriber) { api in
            let made = try await api.call(Call("create", [("stream", "duct-0123456789_abcdef"), ("pipe", true)]))
            #expect(made.status == 200 && made.object["pipe"] as? Bool == true)
            #expect(made.object["private"] as? Bool == true && made.object["ttl"] as? Int == 600)
            #expect(try await api.call(Call("streams")).object["duct-0123456789_abcdef"] == nil)
            let misnamed = try await api.call(Call("create", [("stream", "lobby"), ("pipe", true)]))
            #expect(misnamed.status == 400 && misnamed.error == "Invalid pipe name: 22 base64url characters")
            let entry = try await api.call(Call("streams", [("stream", "duct-0123456789_abcdef")])).object["duct-0123456789_abcdef"] as? [String: Any]
            #expect(entry?["Pipe"] as? Bool == true && entry?["Private"] as? Bool == true)

            let early = try await api.subscribe("duct-0123456789_abcdef", since: nil, webSocket: subscriber.webSocket)
            #expect(try await early.next()["Text"] as? String == "connect")
            try await early.end()  // before the other side came: the pipe stays
            try await waitForObservers(api, "duct-0123456789_abcdef", 0)
            let a = try await api.subscribe("duct-0123456789_abcdef", since: nil, webSocket: subscriber.webSocket)
            #expect(try await a.next()["Text"] as? String == "connect")
            let b = try await api.subscribe("duct-0123456789_abcdef", since: nil, webSocket: subscriber.webSocket)
            #expect(try await a.next()["Text"] as? String == "connect")
            #expect(try await b.next()["Text"] as? String == "connect")
            let third = try await api.refusedSubscription("duct-0123456789_abcdef", webSocket: subscriber.webSocket)
            #expect(third.status == 409 && third.error == "Pipe is full")
            _ = try await post(api, "duct-0123456789_abcdef", "h1.hello")
            #expect(try await a.next()["Text"] as? String == "h1.hello")
            #expect(try await b.next()["Text"] as? String == "h1.hello")

            try await b.end()
            let last = try await a.next()
            #expect(last["Type"] as? String == "closed" && last["Stream"] as? String == "duct-0123456789_abcdef")
            for call in [
                Call("post", [("stream", "duct-0123456789_abcdef"), ("text", "late")]), Call("get", [("stream", "duct-0123456789_abcdef")]),
                Call("streams", [("stream", "duct-0123456789_abcdef")]), Call("create", [("stream", "duct-0123456789_abcdef")]),
            ] {
                let reply = try await api.call(call)
                #expect(reply.status == 410 && reply.error == "Pipe closed", "\(call.op)")
            }
            let again = try await api.refusedSubscription("duct-0123456789_abcdef", webSocket: subscriber.webSocket)
            #expect(again.status == 410 && again.error == "Pipe closed")
        }
    }

    @Test(arguments: Subscriber.allCases)
    func subscribingCreatesTheStreamUnlisted(_ subscriber: Subscriber) async throws {
        try await with(subscriber) { api in
            let feed = try await api.subscribe("quiet", since: nil, webSocket: subscriber.webSocket)
            _ = try await feed.next()
            let stream = try await api.call(Call("streams", [("stream", "quiet")])).object["quiet"] as? [String: Any]
            #expect(stream?["Private"] as? Bool == true && stream?["Observers"] as? Int == 1)
            #expect(try await api.call(Call("streams")).object["quiet"] == nil)
        }
    }
}
