import Benchmark
import MaltenCore

/// The store's hot operations, a thousand calls per sample: post, read the newest 25 (lent and
/// copied), page with `since`, create a stream. Compare a change against a baseline with
/// `swift package benchmark baseline update` / `baseline compare`.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo, maxDuration: .seconds(2))

    let text = String(repeating: "x", count: 100)
    let names = (0..<64).map { "bench-\($0)" }
    let full = Store(expiryInterval: nil)
    for name in names { for _ in 0..<1024 { _ = try? full.post(stream: name, text: text) } }

    Benchmark("post 100 chars, 64 streams") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(try? full.post(stream: names[i % names.count], text: text))
        }
    }

    Benchmark("read newest 25, lent") { benchmark in
        for i in benchmark.scaledIterations {
            var bytes = 0
            full.read(stream: names[i % names.count], .newest(limit: 25, after: 0)) { bytes += $0.text.count }
            blackHole(bytes)
        }
    }

    Benchmark("read newest 25, copied") { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(full.read(stream: names[i % names.count], .newest(limit: 25, after: 0)))
        }
    }

    Benchmark("page forward with since, 100 at a time") { benchmark in
        let oldest = full.read(stream: names[0], .since(0, limit: 1)).first!.created
        for i in benchmark.scaledIterations {
            var count = 0
            full.read(stream: names[i % names.count], .since(oldest &+ Int64(i % 512), limit: 100)) { _ in count += 1 }
            blackHole(count)
        }
    }

    let creating = Store(expiryInterval: nil)
    var next = 0
    Benchmark("create a stream (ring of 1024)") { benchmark in
        for _ in benchmark.scaledIterations {
            next += 1
            blackHole(try? creating.create(stream: "s\(next)", isPrivate: false, ttl: nil))
        }
    }
}
