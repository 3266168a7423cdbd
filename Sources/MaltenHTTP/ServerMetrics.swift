import MaltenCore
import NIOCore
import Prometheus

#if canImport(Glibc)
import Glibc
#endif

/// One event loop's counters, plain integers touched only on that loop: the hot path pays an
/// increment, never a lock or an atomic. A scrape reads every loop's on the loop and sums them.
final class LoopMetrics: @unchecked Sendable {
    /// Responses by route and status class (1xx…5xx): `requests[route][class - 1]`.
    var requests = [[Int]](repeating: [0, 0, 0, 0, 0], count: Route.allCases.count)
    var posts = 0
    var reads = 0
    var eventsDelivered = 0
    var laggedSubscribers = 0
    var rateLimited = 0
    var openConnections = 0

    /// The label of a request's path: a fixed set, never what a client chose.
    enum Route: String, CaseIterable {
        case messages = "/messages", streams = "/streams", stats = "/stats", events = "/events", metrics = "/metrics"
        case openapi = "/openapi.yaml", page = "page", other = "other"

        init(path: Substring) {
            self = Route(rawValue: String(path)) ?? (WebRoutes.isPage(path) ? .page : .other)
        }
    }

    func answered(_ path: Substring, status: Int) {
        guard (100...599).contains(status) else { return }
        requests[Route(path: path).index][status / 100 - 1] += 1
    }

    fileprivate func add(to total: LoopMetrics) {
        for route in requests.indices {
            for status in 0..<5 { total.requests[route][status] += requests[route][status] }
        }
        total.posts += posts
        total.reads += reads
        total.eventsDelivered += eventsDelivered
        total.laggedSubscribers += laggedSubscribers
        total.rateLimited += rateLimited
        total.openConnections += openConnections
    }
}

extension LoopMetrics.Route {
    var index: Int { Self.allCases.firstIndex(of: self)! }
}

/// `GET /metrics`: every loop's counters and the store's totals in Prometheus' text format,
/// written by swift-prometheus into a registry made for the scrape (so the serving path never
/// touches it). No label carries a stream name, a text or an address.
struct ServerMetrics: Sendable {
    let store: any StreamStore
    let loops: [(any EventLoop, LoopMetrics)]

    /// The exposition, gathered from every loop.
    func scrape(on loop: any EventLoop) -> EventLoopFuture<[UInt8]> {
        let snapshots = loops.map { eventLoop, metrics in
            eventLoop.submit {
                let copy = LoopMetrics()
                metrics.add(to: copy)
                return UncheckedLoopMetrics(value: copy)
            }
        }
        let store = store
        return EventLoopFuture.whenAllSucceed(snapshots, on: loop).map { snapshots in
            let total = LoopMetrics()
            for snapshot in snapshots { snapshot.value.add(to: total) }
            return Self.exposition(total, store.stats())
        }
    }

    private static func exposition(_ total: LoopMetrics, _ stats: StoreStats) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        for route in LoopMetrics.Route.allCases {
            for status in 0..<5 where total.requests[route.index][status] > 0 {
                registry.makeCounter(
                    name: "malten_http_requests_total", labels: [("route", route.rawValue), ("status", "\(status + 1)xx")],
                    help: "HTTP responses by route and status class"
                ).increment(by: Int64(total.requests[route.index][status]))
            }
        }
        func counter(_ name: String, _ value: Int, _ help: String) {
            registry.makeCounter(name: name, help: help).increment(by: Int64(value))
        }
        func gauge(_ name: String, _ value: Int, _ help: String) {
            registry.makeGauge(name: name, help: help).set(Int64(value))
        }
        counter("malten_posts_total", total.posts, "Messages stored through HTTP posts and WebSocket frames")
        counter("malten_reads_total", total.reads, "GET /messages answered")
        counter("malten_events_delivered_total", total.eventsDelivered, "Events written to subscribers")
        counter("malten_lagged_subscribers_total", total.laggedSubscribers, "Subscribers closed for falling behind")
        counter("malten_rate_limited_total", total.rateLimited, "Requests and frames refused by the per-client limits")
        counter("malten_evictions_total", stats.evicted, "Streams removed by the memory budget")
        counter("malten_expiries_total", stats.expired, "Streams removed by their TTL")
        gauge("malten_open_connections", total.openConnections, "Open HTTP and WebSocket connections")
        gauge("malten_streams", stats.streams, "Streams held")
        gauge("malten_messages", stats.messages, "Messages held")
        gauge("malten_bytes_held", stats.bytes, "Bytes the streams hold, as the memory budget counts them")
        if stats.budget != Int.max { gauge("malten_memory_budget_bytes", stats.budget, "The memory budget") }
        gauge("malten_subscribers", stats.observers, "Live subscribers")
        gauge("process_resident_memory_bytes", residentBytes(), "Resident memory of the process")
        return registry.emitToBuffer()
    }

    /// RSS from `/proc/self/statm`: its second field, in pages.
    private static func residentBytes() -> Int {
        guard let file = fopen("/proc/self/statm", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 128)
        guard fgets(&line, Int32(line.count), file) != nil else { return 0 }
        let fields = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).split(separator: " ")
        guard fields.count >= 2, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// A loop's snapshot, handed to the loop that writes the scrape.
private struct UncheckedLoopMetrics: @unchecked Sendable {
    let value: LoopMetrics
}
