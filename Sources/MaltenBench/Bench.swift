import MaltenCore
import MaltenHTTP
import MaltenJemalloc

#if canImport(Glibc)
import Glibc
#endif

/// The benchmark: every scenario in turn, its figures, and the profile's checks.
public enum Bench {
    /// Runs the scenarios for `profile`. `scale` shrinks every count (1 for the real run).
    /// - Parameter clientLimits: the HTTP server's per-client limits in the posts scenario (off by
    ///   default), to measure what they cost.
    public static func run(
        profile: Profile, scale: Double = 1, clientLimits: ClientLimitSettings = ClientLimitSettings(), log: (String) -> Void = { _ in }
    ) async throws -> Report {
        var report = Report(profile: profile.name, machine: machine())
        let core = CoreScenarios(profile: profile, scale: scale)
        let startup = Jemalloc.statistics()
        report.add("budget", Double(profile.budget), "bytes")
        report.add("jemalloc_allocated_idle", Double(startup.allocated), "bytes")
        report.add("jemalloc_resident_idle", Double(startup.resident), "bytes")
        report.add("jemalloc_metadata_idle", Double(startup.metadata), "bytes")

        log("flood: 10x the budget into new streams")
        let flood = core.flood(settle: scale < 1 ? 1 : 3)
        let idle = flood.idle
        report.add("idle_rss", Double(idle), "bytes")
        report.add("flood_posted", Double(flood.posted), "bytes")
        report.add("flood_held_at_end", Double(flood.held), "bytes")
        report.add("flood_peak_rss", Double(flood.peak), "bytes")
        report.add("rss_after_expiry", Double(flood.afterExpiry), "bytes")
        report.add("rss_after_expiry_waited", flood.settledIn, "s")
        report.add("jemalloc_allocated_after_expiry", Double(flood.allocator.allocated), "bytes")
        report.add("jemalloc_resident_after_expiry", Double(flood.allocator.resident), "bytes")
        report.add("jemalloc_metadata_after_expiry", Double(flood.allocator.metadata), "bytes")
        report.check("flood_peak_rss", Double(flood.peak), atMost: Double(profile.budget + idle) * 1.1, "bytes")
        report.check("rss_after_expiry", Double(flood.afterExpiry), atMost: Double(idle) * 1.1, "bytes")

        log("memory per message and per stream")
        for characters in [16, 100, 1024] {
            let bytes = core.bytesPerMessage(characters: characters)
            report.add("bytes_per_message_\(characters)_chars", bytes, "bytes (+32 slot)")
            if characters == 100 {
                report.check("bytes_per_100_char_message_with_slot", bytes + 32, atMost: 164, "bytes")
            }
        }
        let emptyStream = core.bytesPerEmptyStream()
        report.add("bytes_per_empty_stream_1024", emptyStream, "bytes")
        report.check("bytes_per_empty_stream_1024", emptyStream, atMost: 40 * 1024, "bytes")
        Jemalloc.purge()

        for streams in profile.streamCounts {
            log("appends into \(streams) streams")
            report.add("appends_per_s_1_thread_\(streams)_streams", core.appendsPerSecond(streams: streams, threads: 1), "/s")
            let all = core.appendsPerSecond(streams: streams, threads: core.cores)
            report.add("appends_per_s_\(core.cores)_threads_\(streams)_streams", all, "/s")
            if streams == profile.streamCounts.first {
                report.check("appends_per_s_all_cores", all, atLeast: 1_000_000, "/s")
            }
            Jemalloc.purge()
        }
        log("reads of the newest 25")
        report.add("reads_newest_25_per_s_1_thread", core.readsPerSecond(threads: 1), "/s")
        let reads = core.readsPerSecond(threads: core.cores)
        report.add("reads_newest_25_per_s_\(core.cores)_threads", reads, "/s")
        report.check("reads_newest_25_per_s_all_cores", reads, atLeast: 1_000_000, "/s")
        Jemalloc.purge()

        log("expiry through the timing wheel")
        let expiry = core.expiry(streams: 100_000)
        report.add("expired_streams", Double(expiry.streams), "streams")
        report.add("expiry_streams_per_s", Double(expiry.streams) / expiry.seconds, "/s")

        log("HTTP posts through the real frontend")
        var load = HTTPLoad(connections: 50, requests: max(50, core.scaled(200_000)))
        load.clientLimits = clientLimits
        let posts = try await load.postsPerSecond(store: Store(limits: Limits(memoryBudget: profile.budget)))
        report.add("http_posts_per_s", posts, "/s")

        log("fan-out: SSE subscribers on one stream, 8 posts in flight, over loopback")
        let fanOut = try await FanOutLoad(subscribers: max(10, core.scaled(1000)), posts: max(20, core.scaled(2000)))
            .run(store: Store(limits: Limits(memoryBudget: profile.budget)))
        report.add("fanout_deliveries_per_s", fanOut.perSecond, "/s")
        report.add("fanout_p50_latency", fanOut.p50 / 1000, "ms")
        report.add("fanout_p99_latency", fanOut.p99 / 1000, "ms")
        report.check("fanout_every_event_in_order", fanOut.complete ? 1 : 0, atLeast: 1, "yes")

        log("stdio: post lines, then get lines, through pipes")
        let stdio = StdioLoad()
        let stdioStore = Store(limits: Limits(memoryBudget: profile.budget))
        let text = String(repeating: "x", count: 100)
        let lines = stdio.linesPerSecond
        let postLines = try lines(stdioStore, #"{"op":"post","stream":"bench7","text":"\#(text)"}"#, core.scaled(1_000_000))
        let getLines = try lines(stdioStore, #"{"op":"get","stream":"bench7","limit":25}"#, core.scaled(100_000))
        report.add("stdio_post_lines_per_s", postLines, "/s")
        report.add("stdio_get_lines_per_s", getLines, "/s")
        report.check("stdio_posts_vs_http_posts", postLines / posts, atLeast: 3, "x")
        return report
    }

    static func machine() -> String {
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        var model = "unknown cpu"
        if let file = fopen("/proc/cpuinfo", "r") {
            defer { fclose(file) }
            var line = [CChar](repeating: 0, count: 512)
            while fgets(&line, Int32(line.count), file) != nil {
                let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if text.hasPrefix("model name"), let colon = text.firstIndex(of: ":") {
                    model = String(text[text.index(after: colon)...].drop { $0 == " " })
                    break
                }
            }
        }
        return "\(cores) cores, \(model), jemalloc \(Jemalloc.version.prefix { $0 != "-" })"
    }
}
