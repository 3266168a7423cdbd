import MaltenCore
import MaltenTestSupport
import Testing

/// Pipes in the store: two subscribers at most, the end when one leaves after both joined, the
/// closed name for the pipe's TTL, the small ring and the store holding nothing afterwards.
@Suite struct PipeTests {
    let clock = ManualClock()

    func makeStore(_ limits: Limits = Limits()) -> Store {
        Store(limits: limits, shardCount: 4, clock: clock, expiryInterval: nil)
    }

    static func empty(_ store: Store) -> Bool {
        let stats = store.stats()
        return stats.streams == 0 && stats.messages == 0 && stats.observers == 0 && stats.bytes == 0
    }

    @Test func aPipeIsPrivateSmallAndHasItsOwnTTL() throws {
        let store = makeStore()
        let made = try store.create(stream: "p", isPrivate: false, ttl: nil, pipe: true)
        #expect(made == CreatedStream(name: "p", isPrivate: true, ttl: 600, isPipe: true))
        #expect(store.info(stream: "p")?.isPipe == true && store.info(stream: "p")?.isPrivate == true)
        #expect(store.listedStreams().isEmpty)
        for i in 0..<70 { _ = try store.post(stream: "p", text: "m\(i)") }
        #expect(store.read(stream: "p", .newest(limit: 1024, after: 0)).map(\.text) == (6..<70).map { "m\($0)" })
        let random = try store.create(stream: nil, isPrivate: false, ttl: 30, pipe: true)
        #expect(random.isPipe && random.name.count == 32 && random.ttl == 30)
        #expect(throws: StoreError.streamExists) { try store.create(stream: "p", isPrivate: true, ttl: nil, pipe: true) }
    }

    @Test func aThirdPartyIsRefusedAndTheFirstToLeaveEndsIt() throws {
        let store = makeStore()
        _ = try store.create(stream: "p", isPrivate: true, ttl: nil, pipe: true)
        let (a, b) = (Recorder(), Recorder())
        _ = try store.subscribe(stream: "p", subscriber: a)
        let second = try store.subscribe(stream: "p", subscriber: b)
        #expect(store.pipeRefusal(forSubscribingTo: "p") == .pipeFull)
        #expect(throws: StoreError.pipeFull) { try store.subscribe(stream: "p", subscriber: Recorder()) }
        _ = try store.post(stream: "p", text: "h1.x")
        store.unsubscribe(second)
        #expect(a.all.last == .closed(stream: "p"))
        #expect(a.texts == ["h1.x"] && a.presence == [.connect, .connect])  // no `close` presence: the pipe ended
        #expect(Self.empty(store))  // nothing of it is left: no stream, message, observer or byte
        #expect(store.info(stream: "p") == nil && store.isClosedPipe(stream: "p"))
        #expect(store.read(stream: "p", .newest(limit: 25, after: 0)).isEmpty)
        #expect(throws: StoreError.pipeClosed) { try store.post(stream: "p", text: "late") }
        #expect(throws: StoreError.pipeClosed) { try store.create(stream: "p", isPrivate: false, ttl: nil) }
        #expect(throws: StoreError.pipeClosed) { try store.subscribe(stream: "p", subscriber: Recorder()) }
        #expect(store.pipeRefusal(forSubscribingTo: "p") == .pipeClosed)
        // For the pipe's TTL only; then the name is free again, as an ordinary stream.
        clock.advance(seconds: 599)
        #expect(store.isClosedPipe(stream: "p"))
        clock.advance(seconds: 2)
        #expect(!store.isClosedPipe(stream: "p"))
        #expect(try store.post(stream: "p", text: "ordinary").text == "ordinary")
        #expect(store.info(stream: "p")?.isPipe == false)
    }

    @Test func aPartyThatLeavesBeforeTheOtherJoinedMayComeBack() throws {
        let store = makeStore()
        _ = try store.create(stream: "p", isPrivate: true, ttl: nil, pipe: true)
        let early = try store.subscribe(stream: "p", subscriber: Recorder())
        store.unsubscribe(early)
        #expect(!store.isClosedPipe(stream: "p") && store.info(stream: "p")?.observers == 0)
        let (a, b) = (Recorder(), Recorder())
        let first = try store.subscribe(stream: "p", subscriber: a)
        _ = try store.subscribe(stream: "p", subscriber: b)
        store.unsubscribe(first)
        #expect(b.all.last == .closed(stream: "p"))
        #expect(store.isClosedPipe(stream: "p"))
    }

    @Test func aPipeNobodyJoinsExpiresByItsTTL() throws {
        let store = makeStore()
        _ = try store.create(stream: "p", isPrivate: true, ttl: 60, pipe: true)
        _ = try store.post(stream: "p", text: "h1.hello")
        clock.advance(seconds: 61)
        store.expireDue()
        #expect(store.info(stream: "p") == nil && !store.isClosedPipe(stream: "p"))
        #expect(Self.empty(store))
    }

    @Test func ordinaryStreamsKeepTheirWays() throws {
        let store = makeStore()
        let (a, b, c) = (Recorder(), Recorder(), Recorder())
        let first = try store.subscribe(stream: "s", subscriber: a)
        _ = try store.subscribe(stream: "s", subscriber: b)
        _ = try store.subscribe(stream: "s", subscriber: c)
        store.unsubscribe(first)
        #expect(b.presence.last == .close && store.info(stream: "s")?.observers == 2)
        #expect(store.pipeRefusal(forSubscribingTo: "s") == nil && !store.isClosedPipe(stream: "s"))
    }
}
