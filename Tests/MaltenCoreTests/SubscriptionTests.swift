import MaltenCore
import MaltenTestSupport
import Synchronization
import Testing

/// Collects what a subscription receives.
final class Recorder: StreamSubscriber, EventCourier {
    private let events = Mutex<[StreamEvent]>([])

    var courier: any EventCourier { self }

    func deliver(_ events: [StreamEvent], to subscribers: [any StreamSubscriber]) {
        #expect(subscribers.count == 1 && subscribers[0] === self)
        self.events.withLock { $0.append(contentsOf: events) }
    }

    var all: [StreamEvent] { events.withLock { $0 } }

    var texts: [String] {
        all.compactMap { if case .message(let m) = $0 { m.text } else { nil } }
    }

    var presence: [Presence.Change] {
        all.compactMap { if case .presence(let p) = $0 { p.change } else { nil } }
    }
}

@Suite struct SubscriptionTests {
    let clock = ManualClock()

    func makeStore(_ limits: Limits = Limits()) -> Store {
        Store(limits: limits, shardCount: 4, clock: clock, expiryInterval: nil)
    }

    @Test func liveMessagesArriveInOrderAfterTheConnectEvent() throws {
        let store = makeStore()
        let a = Recorder()
        _ = try store.subscribe(stream: "live", subscriber: a)
        for i in 0..<100 { _ = try store.post(stream: "live", text: "m\(i)") }
        #expect(a.presence == [.connect])
        #expect(a.texts == (0..<100).map { "m\($0)" })
        guard case .presence(let hello) = a.all.first else { Issue.record("connect first"); return }
        #expect(hello.stream == "live")
    }

    @Test func presenceCountsAndTellsEveryone() throws {
        let store = makeStore()
        let a = Recorder()
        let b = Recorder()
        let first = try store.subscribe(stream: "room", subscriber: a)
        let second = try store.subscribe(stream: "room", subscriber: b)
        #expect(store.info(stream: "room")?.observers == 2)
        #expect(store.stats().observers == 2)
        store.unsubscribe(second)
        #expect(store.info(stream: "room")?.observers == 1)
        #expect(a.presence == [.connect, .connect, .close])
        #expect(b.presence == [.connect])
        store.unsubscribe(second)  // twice: nothing happens
        store.unsubscribe(first)
        #expect(store.stats().observers == 0)
        #expect(a.presence == [.connect, .connect, .close])
    }

    @Test func subscribingCreatesTheStreamUnlisted() throws {
        let store = makeStore()
        _ = try store.subscribe(stream: "new", subscriber: Recorder())
        #expect(store.info(stream: "new")?.isPrivate == true)
        #expect(store.listedStreams().isEmpty)
        #expect(throws: StoreError.invalidStreamName) { try store.subscribe(stream: "a b", subscriber: Recorder()) }
    }

    @Test func resumeReplaysExactlyWhatWasMissedThenGoesLive() throws {
        let store = makeStore()
        var created: [Int64] = []
        for i in 0..<10 { created.append(try store.post(stream: "r", text: "m\(i)").created) }
        let late = Recorder()
        _ = try store.subscribe(stream: "r", since: created[6], subscriber: late)
        _ = try store.post(stream: "r", text: "m10")
        #expect(late.texts == ["m7", "m8", "m9", "m10"])
        #expect(late.presence == [.connect])
        #expect(!late.all.contains { if case .gap = $0 { true } else { false } })
        // The replay comes before the connect event, live messages after it.
        let kinds = late.all.map { if case .message = $0 { "m" } else { "p" } }
        #expect(kinds == ["m", "m", "m", "p", "m"])
    }

    @Test func gapAfterMoreThanTheRingHolds() throws {
        let store = makeStore()
        let first = try store.post(stream: "g", text: "m0").created
        for i in 1..<1100 { _ = try store.post(stream: "g", text: "m\(i)") }
        let resumed = Recorder()
        _ = try store.subscribe(stream: "g", since: first, subscriber: resumed)
        guard case .gap(let stream, let from, let oldest) = resumed.all.first else {
            Issue.record("a gap event first, got \(String(describing: resumed.all.first))")
            return
        }
        #expect(stream == "g" && from == first)
        let held = store.read(stream: "g", .since(0, limit: 1))
        #expect(oldest == held.first?.created)
        #expect(resumed.texts == (76..<1100).map { "m\($0)" })
        // Nothing was dropped after the newest position: no gap.
        let current = Recorder()
        _ = try store.subscribe(stream: "g", since: oldest, subscriber: current)
        #expect(!current.all.contains { if case .gap = $0 { true } else { false } })
    }

    @Test func subscribersKeepAStreamAliveWhileItsMessagesAgeOut() throws {
        let store = makeStore()
        _ = try store.create(stream: "kept", isPrivate: false, ttl: 10)
        _ = try store.post(stream: "kept", text: "old")
        let watcher = Recorder()
        let subscription = try store.subscribe(stream: "kept", subscriber: watcher)
        clock.advance(seconds: 30)
        store.expireDue()
        #expect(store.info(stream: "kept")?.observers == 1)
        #expect(store.read(stream: "kept", .since(0, limit: 10)).isEmpty)
        _ = try store.post(stream: "kept", text: "new")
        clock.advance(seconds: 10)
        store.expireDue()
        #expect(store.stats().messages == 0)  // "new" aged out too, through the wheel
        store.unsubscribe(subscription)
        clock.advance(seconds: 1)
        store.expireDue()
        #expect(store.info(stream: "kept") == nil)
        #expect(store.stats().streams == 0)
    }

    @Test func evictionEndsSubscriptionsWithAnEvent() throws {
        let limits = Limits(streamCapacity: 8, memoryBudget: 1200)  // two streams of 512 bytes and some text
        let store = Store(limits: limits, shardCount: 1, clock: clock, expiryInterval: nil)
        let bystander = Recorder()
        _ = try store.subscribe(stream: "old", subscriber: bystander)
        clock.advance(seconds: 1)
        _ = try store.post(stream: "newer", text: "x")
        _ = try store.post(stream: "newest", text: "y")  // over the budget: "old" goes first
        #expect(store.info(stream: "old") == nil)
        #expect(bystander.all.last == .evicted(stream: "old"))
        #expect(store.stats().observers == 0)
    }

    @Test func aStreamMadeAgainAfterExpiryStillSendsTheGap() throws {
        let store = makeStore()
        _ = try store.create(stream: "again", isPrivate: false, ttl: 10)
        let seen = try store.post(stream: "again", text: "seen").created
        let missed = try store.post(stream: "again", text: "missed").created
        clock.advance(seconds: 20)
        store.expireDue()
        #expect(store.info(stream: "again") == nil)
        let resumed = Recorder()
        _ = try store.subscribe(stream: "again", since: seen, subscriber: resumed)
        #expect(resumed.all.first == .gap(stream: "again", from: seen, oldest: 0))
        let next = try store.post(stream: "again", text: "next").created
        #expect(next > missed)
        // A client that had everything gets no gap.
        let current = Recorder()
        _ = try store.subscribe(stream: "again", since: next, subscriber: current)
        #expect(!current.all.contains { if case .gap = $0 { true } else { false } })
    }

    @Test func subscribersSharingACourierGetEachEventInOneDelivery() throws {
        let store = makeStore()
        let courier = CountingCourier()
        let members = (0..<3).map { _ in Member(courier: courier) }
        let alone = Recorder()
        var subscriptions = try members.map { try store.subscribe(stream: "shared", subscriber: $0) }
        _ = try store.subscribe(stream: "shared", subscriber: alone)
        let before = courier.deliveries.count
        _ = try store.post(stream: "shared", text: "one")
        #expect(courier.deliveries.count == before + 1)
        #expect(courier.deliveries.last?.members == 3)
        store.unsubscribe(subscriptions.remove(at: 1))
        _ = try store.post(stream: "shared", text: "two")
        #expect(courier.deliveries.last?.members == 2)
        #expect(alone.texts == ["one", "two"])
        #expect(store.info(stream: "shared")?.observers == 3)
    }
}

/// A courier shared by several subscribers, counting its deliveries.
final class CountingCourier: EventCourier {
    private let calls = Mutex<[(events: Int, members: Int)]>([])

    func deliver(_ events: [StreamEvent], to subscribers: [any StreamSubscriber]) {
        calls.withLock { $0.append((events.count, subscribers.count)) }
    }

    var deliveries: [(events: Int, members: Int)] { calls.withLock { $0 } }
}

final class Member: StreamSubscriber {
    let courier: any EventCourier
    init(courier: any EventCourier) { self.courier = courier }
}
