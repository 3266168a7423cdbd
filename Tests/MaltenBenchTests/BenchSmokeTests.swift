import Foundation
import Testing

/// The real `malten-bench` executable, every scenario at a tiny size, in a process of its own (its
/// memory figures must not see other tests' allocations): the JSON has every figure, and each is sane.
/// Speed is not judged here.
@Suite struct BenchSmokeTests {
    /// `malten-bench` sits beside the test bundle in the build folder.
    var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("malten-bench")
    }

    @Test func everyScenarioReportsSaneFigures() throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--profile", "pi-zero", "--scale", "0.02", "--budget", "4MiB", "--json"]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let report = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(report["profile"] as? String == "pi-zero")
        let figures = try #require(report["figures"] as? [[String: Any]])
        let values = Dictionary(uniqueKeysWithValues: figures.map { ($0["name"] as! String, ($0["value"] as! NSNumber).doubleValue) })
        for name in [
            "idle_rss", "flood_posted", "flood_peak_rss", "rss_after_expiry", "bytes_per_message_16_chars",
            "bytes_per_message_100_chars", "bytes_per_message_1024_chars", "bytes_per_empty_stream_1024",
            "appends_per_s_1_thread_64_streams", "reads_newest_25_per_s_1_thread", "expiry_streams_per_s",
            "http_posts_per_s", "stdio_post_lines_per_s", "stdio_get_lines_per_s", "fanout_deliveries_per_s",
            "fanout_p99_latency",
        ] {
            let value = try #require(values[name], "\(name) missing")
            #expect(value > 0, "\(name) = \(value)")
        }
        #expect(values["budget"] == Double(4 << 20))
        #expect(values["flood_posted"]! >= 10 * values["budget"]!)
        #expect(values["flood_held_at_end"]! <= values["budget"]!)
        // Text blocks are 4 + the UTF-8 bytes, in jemalloc's size classes.
        #expect((104...128).contains(values["bytes_per_message_100_chars"]!))
        #expect((1028...1300).contains(values["bytes_per_message_1024_chars"]!))
        #expect((32_768...36_000).contains(values["bytes_per_empty_stream_1024"]!))
        let checks = try #require(report["checks"] as? [[String: Any]])
        #expect(checks.count == 8)
        // The fan-out over loopback delivered every event, in order, to every subscriber.
        #expect(checks.first { $0["name"] as? String == "fanout_every_event_in_order" }?["passed"] as? Bool == true)
        // Exit status 1 exactly when a check failed.
        let failed = checks.contains { $0["passed"] as? Bool == false }
        #expect(process.terminationStatus == (failed ? 1 : 0))
        #expect(report["passed"] as? Bool == !failed)
    }
}
