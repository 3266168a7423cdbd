@testable import MaltenCore
import MaltenTestSupport
import Testing

@Suite struct MemoryBudgetTests {
    let clock = ManualClock()

    /// One shard, so eviction order is the whole store's.
    func makeStore(budget: Int, capacity: Int = 8) -> Store {
        Store(
            limits: Limits(streamCapacity: capacity, memoryBudget: budget), shardCount: 1, clock: clock,
            expiryInterval: nil)
    }

    var emptyStream: Int { MemoryCost.stream(name: "s0", capacity: 8) }

    @Test func sizeClassesFollowJemalloc() {
        #expect(MemoryCost.sizeClass(1) == 16)
        #expect(MemoryCost.sizeClass(17) == 32)
        #expect(MemoryCost.sizeClass(128) == 128)
        #expect(MemoryCost.sizeClass(129) == 160)
        #expect(MemoryCost.sizeClass(133) == 160)  // a 100-byte String: 32 + 100 + 1
        #expect(MemoryCost.sizeClass(257) == 320)
        #expect(MemoryCost.sizeClass(1057) == 1280)
        #expect(MemoryCost.string("short") == 0)  // a name of up to 15 bytes lives in its String
        #expect(MemoryCost.string(String(repeating: "x", count: 100)) == 160)
        #expect(StoredText.heapBytes(utf8Count: 100) == 112)  // a message's text: 4 + bytes
    }

    @Test func leastRecentlyUpdatedStreamsGoFirst() throws {
        let store = makeStore(budget: 3 * emptyStream + 100)
        for name in ["s0", "s1", "s2"] {
            _ = try store.create(stream: name, isPrivate: false, ttl: nil)
            clock.advance(seconds: 1)
        }
        _ = try store.post(stream: "s0", text: "bump")  // s0 is now the most recent
        #expect(store.accounting()[0].streamsByAge == ["s1", "s2", "s0"])
        _ = try store.create(stream: "s3", isPrivate: false, ttl: nil)
        // s1 was the least recently updated: it made room.
        #expect(store.accounting()[0].streamsByAge == ["s2", "s0", "s3"])
        #expect(store.info(stream: "s1") == nil)
        #expect(store.read(stream: "s0", .newest(limit: 1, after: 0)).map(\.text) == ["bump"])
        _ = try store.post(stream: "s2", text: String(repeating: "y", count: 100))
        #expect(store.accounting()[0].streamsByAge == ["s3", "s2"])
        #expect(store.stats().bytes <= 3 * emptyStream + 100)
    }

    @Test func aLoneStreamOverItsShareDropsItsOwnOldest() throws {
        let text = String(repeating: "z", count: 200)
        let store = makeStore(budget: emptyStream + 3 * StoredText.heapBytes(utf8Count: 200))
        for i in 0..<6 { _ = try store.post(stream: "s0", text: "\(i)" + text.dropFirst()) }
        let held = store.read(stream: "s0", .since(0, limit: 8)).map { $0.text.first! }
        #expect(held == ["3", "4", "5"])
        #expect(store.stats().messages == 3)
    }

    @Test func whatCanNeverFitIs503AndChangesNothing() throws {
        let store = makeStore(budget: emptyStream + 200)
        _ = try store.post(stream: "s0", text: "kept")
        #expect(throws: StoreError.overBudget) { try store.post(stream: "s0", text: String(repeating: "x", count: 300)) }
        #expect(store.read(stream: "s0", .since(0, limit: 8)).map(\.text) == ["kept"])
        let tiny = makeStore(budget: 100)
        #expect(throws: StoreError.overBudget) { try tiny.create(stream: "s0", isPrivate: false, ttl: nil) }
        #expect(throws: StoreError.overBudget) { try tiny.post(stream: "s0", text: "x") }
        #expect(tiny.stats() == { var s = StoreStats(); s.budget = 100; return s }())
    }

    @Test func runningCountEqualsTheRecountAfterAnySequence() throws {
        var rng = SeededGenerator(seed: 42)
        let store = Store(
            limits: Limits(streamCapacity: 16, memoryBudget: 4 * 40_000), shardCount: 4, clock: clock,
            expiryInterval: nil)
        for step in 0..<20_000 {
            let name = "s\(Int.random(in: 0..<300, using: &rng))"
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<80:
                let length = [1, 10, 16, 100, 1024].randomElement(using: &rng)!
                _ = try? store.post(stream: name, text: String(repeating: "é", count: length / 2 + 1))
            case 80..<90:
                _ = try? store.create(stream: name, isPrivate: Bool.random(using: &rng), ttl: Int.random(in: 1...30, using: &rng))
            default:
                clock.advance(seconds: Double.random(in: 0...3, using: &rng))
                if step % 7 == 0 { store.expireDue() }
            }
        }
        for shard in store.accounting() {
            #expect(shard.counted == shard.recounted)
            #expect(shard.counted <= 40_000)
            #expect(Set(shard.streamsByAge).count == shard.streamsByAge.count)
        }
        #expect(store.stats().bytes == store.accounting().map(\.counted).reduce(0, +))
        #expect(store.stats().streams == store.accounting().map(\.streamsByAge.count).reduce(0, +))
    }

    @Test func budgetsParse() throws {
        #expect(try MemoryBudget("500000") == .bytes(500_000))
        #expect(try MemoryBudget("64MiB") == .bytes(64 << 20))
        #expect(try MemoryBudget("64mb") == .bytes(64 << 20))
        #expect(try MemoryBudget("1GiB") == .bytes(1 << 30))
        #expect(try MemoryBudget("512K") == .bytes(512 << 10))
        #expect(try MemoryBudget("25%") == .share(percent: 25))
        #expect(try MemoryBudget("12.5%") == .share(percent: 12.5))
        for bad in ["", "0", "-5", "64XB", "150%", "0%", "abc", "99999999999999999999GiB"] {
            #expect(throws: MemoryBudget.ParseError.self, "\(bad)") { try MemoryBudget(bad) }
        }
        let quarter = MemoryBudget.default.bytes
        #expect(quarter > 0 && quarter <= MemoryBudget.availableMemory() / 4 + 1)
    }
}

/// A small deterministic generator (SplitMix64) so a failing sequence can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct SmallBudgetTests {
    @Test func aSmallBudgetGetsFewerShardsNotRefusals() throws {
        // 500 000 bytes over 32 shards would leave each less than one 33 KiB stream.
        let store = Store(limits: Limits(memoryBudget: 500_000), shardCount: 32, expiryInterval: nil)
        #expect(store.shardCount == 3)
        for i in 0..<40 { _ = try store.post(stream: "s\(i)", text: "hello") }
        #expect(store.stats().bytes <= 500_000)
        #expect(store.stats().streams >= 10)
        let random = try store.create(stream: nil, isPrivate: true, ttl: nil)
        #expect(store.info(stream: random.name) != nil)
    }

    @Test func anUnnamedStreamThatCannotFitIsRefusedNotRetriedForever() {
        let store = Store(limits: Limits(memoryBudget: 1000), shardCount: 4, expiryInterval: nil)
        #expect(throws: StoreError.overBudget) { try store.create(stream: nil, isPrivate: true, ttl: nil) }
    }
}
