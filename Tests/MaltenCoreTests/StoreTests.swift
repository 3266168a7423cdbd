import Dispatch
import MaltenCore
import MaltenTestSupport
import Testing

@Suite struct StoreTests {
    let clock = ManualClock()

    func makeStore(_ limits: Limits = Limits(), shards: Int = 4) -> Store {
        Store(limits: limits, shardCount: shards, clock: clock, expiryInterval: nil)
    }

    @Test func postThenReadNewestFirstOrder() throws {
        let store = makeStore()
        let a = try store.post(stream: "foo", text: "a")
        let b = try store.post(stream: "foo", text: "b")
        #expect(a.stream == "foo" && a.text == "a")
        #expect(store.read(stream: "foo", .newest(limit: 25, after: 0)) == [a, b])
        #expect(store.read(stream: "nope", .newest(limit: 25, after: 0)) == [])
    }

    @Test func createdStrictlyIncreasesWithinTheSameNanosecond() throws {
        let store = makeStore()  // the manual clock does not move
        var last: Int64 = 0
        for i in 0..<1000 {
            let m = try store.post(stream: "same", text: "m\(i)")
            #expect(m.created > last)
            last = m.created
        }
        #expect(last == clock.now() + 999)
    }

    @Test func fifoCapKeepsTheNewest() throws {
        let store = makeStore(Limits(streamCapacity: 8))
        for i in 0..<20 { _ = try store.post(stream: "cap", text: "m\(i)") }
        let all = store.read(stream: "cap", .newest(limit: 100, after: 0))
        #expect(all.map(\.text) == (12..<20).map { "m\($0)" })
        #expect(store.stats().messages == 8)
    }

    @Test func readQueries() throws {
        let store = makeStore()
        var posted: [Message] = []
        for i in 0..<10 {
            posted.append(try store.post(stream: "q", text: "m\(i)"))
            clock.advance(nanos: 10)
        }
        let c = posted.map(\.created)
        // direction >= 0: of the newest `limit`, those after `last`, oldest first.
        #expect(store.read(stream: "q", .newest(limit: 3, after: 0)) == Array(posted[7...]))
        #expect(store.read(stream: "q", .newest(limit: 5, after: c[7])) == Array(posted[8...]))
        #expect(store.read(stream: "q", .newest(limit: 3, after: c[2])) == Array(posted[7...]))
        // direction < 0: back from the newest (or before `last`), newest first.
        #expect(store.read(stream: "q", .older(limit: 3, before: 0)) == posted[7...].reversed())
        #expect(store.read(stream: "q", .older(limit: 3, before: c[5])) == posted[2..<5].reversed())
        #expect(store.read(stream: "q", .older(limit: 3, before: c[1])) == [posted[0]])
        #expect(store.read(stream: "q", .older(limit: 3, before: c[0])) == [])
        // since: the oldest `limit` after the position, oldest first.
        #expect(store.read(stream: "q", .since(c[2], limit: 3)) == Array(posted[3..<6]))
        #expect(store.read(stream: "q", .since(0, limit: 2)) == Array(posted[0..<2]))
        #expect(store.read(stream: "q", .since(c[9], limit: 2)) == [])
        // id
        #expect(store.read(stream: "q", .id(posted[4].id)) == [posted[4]])
        #expect(store.read(stream: "q", .id(.random())) == [])
        // A limit above the capacity counts as the capacity; below 1 as 1.
        #expect(store.read(stream: "q", .since(0, limit: Int.max)).count == 10)
        #expect(store.read(stream: "q", .newest(limit: 0, after: 0)) == [posted[9]])
    }

    @Test func validationRejectsAndStoresNothing() throws {
        let store = makeStore(Limits(maxCharacters: 5))
        #expect(throws: StoreError.blankMessage) { try store.post(stream: "v", text: "") }
        #expect(throws: StoreError.blankMessage) { try store.post(stream: "v", text: " \n\t\u{3000}") }
        #expect(throws: StoreError.messageTooLong(limit: 5)) { try store.post(stream: "v", text: "abcdef") }
        #expect(throws: StoreError.invalidStreamName) { try store.post(stream: "a b", text: "x") }
        #expect(throws: StoreError.invalidStreamName) { try store.post(stream: "..", text: "x") }
        // Five scalars pass even when each is four UTF-8 bytes.
        _ = try store.post(stream: "v", text: "😀😀😀😀😀")
        #expect(store.stats().messages == 1)
        #expect(store.stats().streams == 1)
    }

    @Test func streamNames() {
        #expect(StreamName.isValid("_"))
        #expect(StreamName.isValid("foo-bar_baz.~1"))
        #expect(StreamName.isValid("café"))
        #expect(StreamName.isValid("日本語"))
        #expect(StreamName.isValid("٣"))
        #expect(StreamName.isValid(String(repeating: "a", count: 256)))
        #expect(!StreamName.isValid(String(repeating: "a", count: 257)))
        for bad in ["", ".", "..", "a/b", "a b", "a?b", "a%20", "😀", "a\u{0}"] {
            #expect(!StreamName.isValid(bad), "\(bad)")
        }
        let random = StreamName.random()
        #expect(random.utf8.count == 32 && StreamName.isValid(random))
        #expect(random != StreamName.random())
    }

    @Test func messageIDsAreVersion4UUIDs() {
        let id = MessageID.random()
        let text = id.uuidString
        #expect(text.utf8.count == 36)
        #expect(Array(text)[14] == "4")
        #expect("89ab".contains(Array(text)[19]))
        #expect(MessageID(text) == id)
        #expect(MessageID(text.uppercased()) == id)
        #expect(MessageID("not-a-uuid") == nil)
        #expect(MessageID(text + "0") == nil)
    }

    @Test func createListsPublicStreamsOnly() throws {
        let store = makeStore()
        #expect(try store.create(stream: "pub", isPrivate: false, ttl: nil) == CreatedStream(name: "pub", isPrivate: false, ttl: 1024))
        clock.advance(seconds: 1)
        #expect(try store.create(stream: "priv", isPrivate: true, ttl: 60).ttl == 60)
        let random = try store.create(stream: nil, isPrivate: true, ttl: nil)
        #expect(random.name.utf8.count == 32 && random.isPrivate)
        #expect(store.info(stream: random.name)?.isPrivate == true)
        _ = try store.post(stream: "unlisted", text: "x")
        #expect(throws: StoreError.streamExists) { try store.create(stream: "pub", isPrivate: true, ttl: nil) }
        #expect(throws: StoreError.streamExists) { try store.create(stream: "unlisted", isPrivate: false, ttl: nil) }
        #expect(throws: StoreError.invalidTTL(bounds: 1...86_400)) { try store.create(stream: "t", isPrivate: false, ttl: 0) }
        #expect(throws: StoreError.invalidTTL(bounds: 1...86_400)) { try store.create(stream: "t", isPrivate: false, ttl: 86_401) }
        #expect(store.listedStreams().map(\.name) == ["pub"])
        #expect(store.info(stream: "priv")?.isPrivate == true)
        #expect(store.info(stream: "priv")?.ttl == 60)
        #expect(store.info(stream: "missing") == nil)
    }

    @Test func listingIsNewestFirstAndCapped() throws {
        let store = makeStore()
        for i in 0..<1030 {
            _ = try store.create(stream: "s\(i)", isPrivate: false, ttl: nil)
            clock.advance(nanos: 1)
        }
        _ = try store.post(stream: "s0", text: "bump")
        let listed = store.listedStreams()
        #expect(listed.count == 1024)
        #expect(listed.first?.name == "s0")
        #expect(listed[1].name == "s1029")
        #expect(zip(listed, listed.dropFirst()).allSatisfy { $0.updated >= $1.updated })
    }

    @Test func idleStreamsExpireAndOldMessagesAgeOut() throws {
        let store = makeStore()
        _ = try store.create(stream: "short", isPrivate: false, ttl: 10)
        _ = try store.post(stream: "short", text: "first")
        clock.advance(seconds: 6)
        _ = try store.post(stream: "short", text: "second")
        clock.advance(seconds: 4)
        // "first" is 10 s old: dropped; the stream lives on through "second".
        #expect(store.read(stream: "short", .newest(limit: 25, after: 0)).map(\.text) == ["second"])
        store.expireDue()
        #expect(store.stats().messages == 1)
        clock.advance(seconds: 6)
        // Ten seconds without a message: the stream is gone.
        store.expireDue()
        #expect(store.info(stream: "short") == nil)
        let stats = store.stats()
        #expect(stats.streams == 0 && stats.messages == 0 && stats.bytes == 0)
        // The name is free again.
        #expect(try store.create(stream: "short", isPrivate: false, ttl: nil).ttl == 1024)
    }

    @Test func readsNeverSeeWhatTheWheelHasNotReachedYet() throws {
        let store = makeStore()
        _ = try store.create(stream: "lazy", isPrivate: false, ttl: 5)
        _ = try store.post(stream: "lazy", text: "x")
        clock.advance(nanos: 5_000_000_000 - 1)
        #expect(store.read(stream: "lazy", .newest(limit: 1, after: 0)).count == 1)
        clock.advance(nanos: 1)
        // No expireDue call: the read itself sees that the stream is due.
        #expect(store.read(stream: "lazy", .newest(limit: 1, after: 0)) == [])
        #expect(store.listedStreams().isEmpty)
    }

    @Test func timingWheelExpiresOneHundredThousandStreamsExactlyWhenDue() throws {
        let store = makeStore(Limits(streamCapacity: 1), shards: 8)
        let ttls = [1, 7, 60, 1024, 4096, 5000, 86_400]
        var dueAt: [Int: Int] = [:]  // ttl -> streams
        for i in 0..<100_000 {
            let ttl = ttls[i % ttls.count]
            _ = try store.create(stream: "w\(i)", isPrivate: false, ttl: ttl)
            dueAt[ttl, default: 0] += 1
        }
        #expect(store.stats().streams == 100_000)
        var remaining = 100_000
        var elapsed = 0
        for ttl in ttls {
            // One second before the deadline nothing of this group has gone...
            clock.advance(seconds: Double(ttl - 1 - elapsed))
            store.expireDue()
            #expect(store.stats().streams == remaining)
            // ...and at the deadline the whole group has.
            clock.advance(seconds: 1)
            store.expireDue()
            remaining -= dueAt[ttl]!
            #expect(store.stats().streams == remaining)
            elapsed = ttl
        }
        #expect(remaining == 0)
    }

    @Test func namesSpreadOverShards() {
        let store = makeStore(shards: 8)
        var counts = Array(repeating: 0, count: 8)
        for i in 0..<8000 { counts[store.shardIndex(for: "stream-\(i)")] += 1 }
        // Each shard gets its share, within a wide margin.
        #expect(counts.allSatisfy { $0 > 700 && $0 < 1300 }, "\(counts)")
    }

    @Test func concurrentPostersLoseNothing() throws {
        let store = Store(limits: Limits(streamCapacity: 1024), shardCount: 4, clock: SystemClock(), expiryInterval: nil)
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for i in 0..<100 { _ = try? store.post(stream: "busy", text: "w\(worker)-\(i)") }
        }
        let all = store.read(stream: "busy", .since(0, limit: 1024))
        #expect(all.count == 800)
        #expect(Set(all.map(\.text)).count == 800)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.created < $1.created })
    }
}

@Suite struct ExpiryTimerTests {
    @Test func theStoresOwnTimerRunsTheWheels() async throws {
        let clock = ManualClock()
        let store = Store(shardCount: 8, clock: clock, expiryInterval: .milliseconds(10))
        for i in 0..<100 { _ = try store.create(stream: "t\(i)", isPrivate: false, ttl: 5) }
        clock.advance(seconds: 5)
        // Nobody calls expireDue: the timer does, within a few ticks.
        var waited = 0
        while store.stats().streams > 0 && waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(store.stats().streams == 0)
    }
}
