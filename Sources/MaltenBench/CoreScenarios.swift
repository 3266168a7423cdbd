import Dispatch
import MaltenCore
import MaltenJemalloc
import MaltenTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// Scenarios that drive the core in process, through its public API.
struct CoreScenarios {
    let profile: Profile
    /// 1 for the real run; smaller for a quick smoke run.
    let scale: Double
    let cores = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    func scaled(_ count: Int) -> Int { max(1, Int(Double(count) * scale)) }

    private static func names(_ count: Int, _ prefix: String) -> [String] { (0..<count).map { "\(prefix)-\($0)" } }

    // MARK: Throughput

    /// Posts of 100 characters per second into `streams` streams (rings allocated beforehand),
    /// from `threads` threads at once. No budget: this measures the hot path itself.
    func appendsPerSecond(streams: Int, threads: Int) -> Double {
        let store = Store(expiryInterval: nil)
        let names = Self.names(streams, "append")
        for name in names { _ = try? store.create(stream: name, isPrivate: false, ttl: nil) }
        let text = String(repeating: "x", count: 100)
        let perThread = scaled(profile.operations) / threads
        let (_, seconds) = Stopwatch.seconds {
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                var index = worker * 7919
                for _ in 0..<perThread {
                    _ = try? store.post(stream: names[index % names.count], text: text)
                    index &+= 13
                }
            }
        }
        return Double(perThread * threads) / seconds
    }

    /// Reads of the newest 25 messages per second, from `threads` threads, over 64 full streams,
    /// through the lending `read` (each message's bytes are touched, nothing is copied).
    func readsPerSecond(threads: Int) -> Double {
        let store = Store(expiryInterval: nil)
        let names = Self.names(64, "read")
        let text = String(repeating: "r", count: 100)
        for name in names { for _ in 0..<1024 { _ = try? store.post(stream: name, text: text) } }
        let perThread = scaled(profile.operations) / threads
        let (returned, seconds) = Stopwatch.seconds {
            var counts = [Int](repeating: 0, count: threads)
            counts.withUnsafeMutableBufferPointer { counts in
                let counts = UnsafeMutableBufferPointerBox(counts)
                DispatchQueue.concurrentPerform(iterations: threads) { worker in
                    var total = 0
                    for i in 0..<perThread {
                        store.read(stream: names[(worker &+ i) % names.count], .newest(limit: 25, after: 0)) { message in
                            total += message.text.count > 0 ? 1 : 0
                        }
                    }
                    counts.buffer[worker] = total
                }
            }
            return counts.reduce(0, +)
        }
        precondition(returned == perThread * threads * 25, "every read returns 25 messages")
        return Double(perThread * threads) / seconds
    }

    /// Creates streams with mixed TTLs, moves the clock past them and times one pass of the wheels.
    func expiry(streams requested: Int) -> (streams: Int, seconds: Double) {
        let clock = ManualClock(SystemClock().now())
        let store = Store(limits: Limits(streamCapacity: 16, memoryBudget: profile.budget), clock: clock, expiryInterval: nil)
        let count = scaled(requested)
        let ttls = [60, 300, 1024, 3600]
        for i in 0..<count { _ = try? store.create(stream: "expire-\(i)", isPrivate: i % 2 == 0, ttl: ttls[i % ttls.count]) }
        let created = store.stats().streams
        clock.advance(seconds: 3601)
        let (_, seconds) = Stopwatch.seconds { store.expireDue() }
        precondition(store.stats().streams == 0, "every stream expired")
        return (created, seconds)
    }

    // MARK: Memory

    /// Allocated bytes per stored message of `characters` ASCII characters, the rings allocated
    /// beforehand (the slot's 32 bytes are part of the empty stream).
    func bytesPerMessage(characters: Int) -> Double {
        let store = Store(expiryInterval: nil)
        let names = Self.names(max(1, scaled(100)), "size")
        for name in names { _ = try? store.create(stream: name, isPrivate: false, ttl: nil) }
        let text = String(repeating: "m", count: characters)
        let before = Jemalloc.statistics().allocated
        for name in names { for _ in 0..<1024 { _ = try? store.post(stream: name, text: text) } }
        let after = Jemalloc.statistics().allocated
        return Double(after - before) / Double(names.count * 1024)
    }

    /// Allocated bytes per empty stream of capacity 1024, its ring's block from the shard's pool included.
    func bytesPerEmptyStream() -> Double {
        let store = Store(expiryInterval: nil)
        let count = max(10, scaled(2000))
        let before = Jemalloc.statistics().allocated + store.stats().ringPoolBytes
        for i in 0..<count { _ = try? store.create(stream: "empty-\(i)", isPrivate: false, ttl: nil) }
        let after = Jemalloc.statistics().allocated + store.stats().ringPoolBytes
        precondition(store.stats().streams == count)
        return Double(after - before) / Double(count)
    }

    /// Posts ten times the budget into ever new streams (16 messages of 100 characters each), then
    /// lets everything expire. Returns the idle RSS with the store in place and warmed up (what a
    /// server idles at), the peak RSS during the flood, and the RSS once freed memory has gone back
    /// to the system (after `settle` seconds).
    func flood(factor: Int = 10, settle: Double = 5) -> (
        idle: Int, posted: Int, peak: Int, held: Int, afterExpiry: Int, settledIn: Double,
        allocator: Jemalloc.Statistics
    ) {
        let clock = ManualClock(SystemClock().now())
        // As the server does: the expiring thread's allocator cache is flushed after each round.
        let store = Store(
            limits: Limits(memoryBudget: profile.budget), clock: clock, expiryInterval: nil, afterExpiry: Jemalloc.flushThreadCache)
        let text = String(repeating: "f", count: 100)
        // Warm up: the post, evict and expire paths run once, so their code is paged in before
        // the idle figure is taken, as in a server that has served. (A small store evicts.)
        let small = Store(limits: Limits(memoryBudget: 1 << 20), clock: clock, expiryInterval: nil)
        for warm in [store, small] {
            for stream in 0..<64 { for _ in 0..<16 { _ = try? warm.post(stream: "warm-\(stream)", text: text) } }
        }
        clock.advance(seconds: 1025)
        store.expireDue()
        small.expireDue()
        usleep(1_500_000)  // the allocator's decay
        let idle = ProcessMemory.resident
        ProcessMemory.resetPeak()
        var posted = 0
        var stream = 0
        var perStream = 0
        while posted < factor * profile.budget {
            let name = "flood-\(stream)"
            for _ in 0..<16 { _ = try? store.post(stream: name, text: text) }
            if stream == 0 { perStream = store.stats().bytes }
            posted += perStream
            stream += 1
        }
        let peak = ProcessMemory.peak
        let held = store.stats().bytes
        clock.advance(seconds: 1025)
        store.expireDue()
        precondition(store.stats().streams == 0)
        let start = Stopwatch.now()
        var resident = ProcessMemory.resident
        while Double(Stopwatch.now() - start) / 1e9 < settle {
            usleep(250_000)
            resident = ProcessMemory.resident
        }
        return (idle, posted, peak, held, resident, Double(Stopwatch.now() - start) / 1e9, Jemalloc.statistics())
    }
}

/// Hands a buffer to `concurrentPerform`'s workers, each writing only its own index.
private struct UnsafeMutableBufferPointerBox: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Int>
    init(_ buffer: UnsafeMutableBufferPointer<Int>) { self.buffer = buffer }
}
