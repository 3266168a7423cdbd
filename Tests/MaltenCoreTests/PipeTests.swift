import MaltenCore
import MaltenTestSupport
import Testing

/// Pipes in the store: two subscribers at most, the end when one leaves after both joined, the
/// closed name for the pipe's TTL, the small ring and the store holding nothing afterwards.
@Suite struct PipeTests {
    let clock = ManualClock()
    /// A name of a pipe's shape (22 base64url characters).
    static let p = "pipe-0123456789_abcdef"

    func makeStore(_ limits: Limits = Limits()) -> Store {
        Store(limits: limits, shardCount: 4, clock: clock, expiryInterval: nil)
    }

    static func empty(_ store: Store) -> Bool {
        let stats = store.stats()
        return stats.streams == 0 && stats.messages == 0 && stats.observers == 0 && stats.bytes == 0
    }

    @Test func aPipeIsPrivateSmallAndHasItsOwnTTL() throws {
        let store = makeStore()
        let made = try store.create(stream: Self.p, isPrivate: false, ttl: nil, pipe: true)
        #expect(made == CreatedStream(name: Self.p, isPrivate: true, ttl: 600, isPipe: true))
        #expect(store.info(stream: Self.p)?.isPipe == true && store.info(stream: Self.p)?.isPrivate == true)
        #expect(store.listedStreams().isEmpty)
        for i in 0..<70 { _ = try store.post(stream: Self.p, text: "m\(i)") }
        #expect(store.read(stream: Self.p, .newest(limit: 1024, after: 0)).map(\.text) == (6..<70).map { "m\($0)" })
        let random = try store.create(stream: nil, isPrivate: false, ttl: 30, pipe: true)
        #expect(random.isPipe && StreamName.isPipeName(random.name) && random.ttl == 30)
        #expect(throws: StoreError.streamExists) { try store.create(stream: Self.p, isPrivate: true, ttl: nil, pipe: true) }
        // Only names of a pipe's shape: nobody can close an ordinary name by making a pipe of it.
        for name in ["lobby", "_", "pipe-0123456789_abcde.", "pipe-0123456789_abcdefg"] {
            #expect(throws: StoreError.invalidPipeName) { try store.create(stream: name, isPrivate: true, ttl: nil, pipe: true) }
        }
    }

    @Test func aThirdPartyIsRefusedAndTheFirstToLeaveEndsIt() throws {
        let store = makeStore()
        _ = try store.create(stream: Self.p, isPrivate: true, ttl: nil, pipe: true)
        let (a, b) = (Recorder(), Recorder())
        _ = try store.subscribe(stream: Self.p, subscriber: a)
        let second = try store.subscribe(stream: Self.p, subscriber: b)
        #expect(store.pipeRefusal(forSubscribingTo: Self.p) == .pipeFull)
        #expect(throws: StoreError.pipeFull) { try store.subscribe(stream: Self.p, subscriber: Recorder()) }
        _ = try store.post(stream: Self.p, text: "h1.x")
        store.unsubscribe(second)
        #expect(a.all.last == .closed(stream: Self.p))
        #expect(a.texts == ["h1.x"] && a.presence == [.connect, .connect])  // no `close` presence: the pipe ended
        #expect(Self.empty(store))  // nothing of it is left: no stream, message, observer or byte
        #expect(store.info(stream: Self.p) == nil && store.isClosedPipe(stream: Self.p))
        #expect(store.read(stream: Self.p, .newest(limit: 25, after: 0)).isEmpty)
        #expect(throws: StoreError.pipeClosed) { try store.post(stream: Self.p, text: "late") }
        #expect(throws: StoreError.pipeClosed) { try store.create(stream: Self.p, isPrivate: false, ttl: nil) }
        #expect(throws: StoreError.pipeClosed) { try store.subscribe(stream: Self.p, subscriber: Recorder()) }
        #expect(store.pipeRefusal(forSubscribingTo: Self.p) == .pipeClosed)
        // For the pipe's TTL only; then the name is free again, as an ordinary stream.
        clock.advance(seconds: 599)
        #expect(store.isClosedPipe(stream: Self.p))
        clock.advance(seconds: 2)
        #expect(!store.isClosedPipe(stream: Self.p))
        #expect(try store.post(stream: Self.p, text: "ordinary").text == "ordinary")
        #expect(store.info(stream: Self.p)?.isPipe == false)
    }

    @Test func aPartyThatLeavesBeforeTheOtherJoinedMayComeBack() throws {
        let store = makeStore()
        _ = try store.create(stream: Self.p, isPrivate: true, ttl: nil, pipe: true)
        let early = try store.subscribe(stream: Self.p, subscriber: Recorder())
        store.unsubscribe(early)
        #expect(!store.isClosedPipe(stream: Self.p) && store.info(stream: Self.p)?.observers == 0)
        let (a, b) = (Recorder(), Recorder())
        let first = try store.subscribe(stream: Self.p, subscriber: a)
        _ = try store.subscribe(stream: Self.p, subscriber: b)
        store.unsubscribe(first)
        #expect(b.all.last == .closed(stream: Self.p))
        #expect(store.isClosedPipe(stream: Self.p))
    }

    @Test func aPairedPipeTheBudgetEvictsStaysClosed() throws {
        let limits = Limits(streamCapacity: 8, memoryBudget: 2_800)  // room for the pipe and little else
        let store = Store(limits: limits, shardCount: 1, clock: clock, expiryInterval: nil)
        _ = try store.create(stream: Self.p, isPrivate: true, ttl: nil, pipe: true)
        let (a, b) = (Recorder(), Recorder())
        _ = try store.subscribe(stream: Self.p, subscriber: a)
        _ = try store.subscribe(stream: Self.p, subscriber: b)
        clock.advance(seconds: 1)
        for i in 0..<8 { _ = try store.post(stream: "other", text: String(repeating: "x", count: 100) + "\(i)") }
        #expect(a.all.last == .evicted(stream: Self.p) && store.info(stream: Self.p) == nil)
        #expect(store.isClosedPipe(stream: Self.p))
        #expect(throws: StoreError.pipeClosed) { try store.subscribe(stream: Self.p, subscriber: Recorder()) }
    }

    @Test func aPipeNobodyJoinsExpiresByItsTTL() throws {
        let store = makeStore()
        _ = try store.create(stream: Self.p, isPrivate: true, ttl: 60, pipe: true)
        _ = try store.post(stream: Self.p, text: "h1.hello")
        clock.advance(seconds: 61)
        store.expireDue()
        #expect(store.info(stream: Self.p) == nil && !store.isClosedPipe(stream: Self.p))
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
