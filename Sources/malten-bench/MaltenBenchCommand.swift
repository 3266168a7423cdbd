import ArgumentParser
import MaltenBench
import MaltenCore
import MaltenHTTP
import MaltenJemalloc

/// `malten-bench`: throughput and memory of the core and the frontends, checked against a device
/// profile (exits non-zero when a check fails); `malten-bench fanout` loads a running server.
@main
struct MaltenBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "malten-bench",
        abstract: "Measure Malten's throughput and memory and check them against a device profile.",
        subcommands: [ProfileRun.self, FanOutRun.self], defaultSubcommand: ProfileRun.self)
}

/// Every scenario in process, checked against a profile.
struct ProfileRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile", abstract: "Run every scenario in process and check it against a device profile.")

    @Option(help: "pi-zero (512 MB), pi4 (2 GB) or server.")
    var profile = "pi-zero"

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Shrink every count by this factor (1 is the real run).")
    var scale = 1.0

    @Option(help: "Override the profile's memory budget (64MiB, 500000); for quick runs.")
    var budget: String?

    @Option(help: "Overwrite freed memory with zeros, as `malten serve` does by default: on or off.")
    var wipeMemory = "on"

    @Option(help: "Per-client writes per second in the HTTP posts scenario, to measure the limiter (its one client must stay under it). Default off.")
    var rateLimit: Double?

    func run() async throws {
        guard var chosen = Profile.named(profile) else {
            throw ValidationError("unknown profile '\(profile)': \(Profile.all.map(\.name).joined(separator: ", "))")
        }
        if let budget {
            do {
                chosen.budget = try MemoryBudget(budget).bytes
            } catch {
                throw ValidationError(error.description)
            }
        }
        guard ["on", "off"].contains(wipeMemory) else { throw ValidationError("wipe memory must be on or off") }
        Jemalloc.wipesFreedMemory = wipeMemory == "on"
        let quiet = json
        if !quiet { print("… freed memory \(wipeMemory == "on" ? "wiped" : "not wiped")") }
        let limits = ClientLimitSettings(writesPerSecond: rateLimit, maxConnectionsPerClient: rateLimit.map { _ in 1 << 20 })
        let report = try await Bench.run(profile: chosen, scale: scale, clientLimits: limits) { step in
            if !quiet { print("… \(step)") }
        }
        print(json ? report.json : "\n" + report.table)
        if !report.passed { throw ExitCode(1) }
    }
}

/// The fan-out load against a running server (Malten or nchan), for comparisons in one run.
struct FanOutRun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fanout",
        abstract: "SSE subscribers on one stream and a publisher, over loopback: deliveries/s, latency, completeness.",
        discussion: "With --server-pid, instead holds --subscribers idle connections and reports the server's RSS per connection.")

    @Option(help: "malten (GET /events, POST /messages) or nchan (/sub/S, /pub/S).")
    var server = "malten"

    @Option(help: "The server's port on 127.0.0.1.")
    var port: Int

    @Option(help: "Subscribers on the stream.")
    var subscribers = 1000

    @Option(help: "Messages posted, one after another.")
    var posts = 2000

    @Option(help: "Posts sent before their answers come back (pipelined): 1 is one publisher posting one after another.")
    var inFlight = 1

    @Option(help: "Idle mode: the server's process id, whose RSS is read before and after.")
    var serverPID: Int32?

    @Option(help: "Idle mode: spread the subscribers over this many streams.")
    var streams = 1

    @Option(help: "Ports the subscribers connect to, round-robin (a cluster's members): PORT[,PORT…]. Default --port.")
    var subscriberPorts: String?

    func run() throws {
        guard let kind = FanOut.Server(rawValue: server) else { throw ValidationError("--server is malten or nchan") }
        var load = FanOut(server: kind, port: port, subscribers: subscribers, posts: posts)
        load.inFlight = inFlight
        load.subscriberPorts = (subscriberPorts ?? "").split(separator: ",").compactMap { Int($0) }
        if let serverPID {
            let idle = try load.idleBytesPerSubscriber(serverPID: serverPID, streams: streams)
            print("\(server) idle_subscribers=\(subscribers) streams=\(streams) rss_before_kb=\(idle.before / 1024) rss_after_kb=\(idle.after / 1024) per_subscriber_kib=\(fixed(idle.perSubscriber / 1024))")
            return
        }
        let result = try load.run()
        print("\(server) subscribers=\(subscribers) posts=\(posts) in_flight=\(inFlight) deliveries=\(result.deliveries)/\(result.expected) per_s=\(Int(result.perSecond)) p50_ms=\(fixed(result.p50 / 1000)) p99_ms=\(fixed(result.p99 / 1000)) complete=\(result.complete)")
    }

    private func fixed(_ value: Double) -> String {
        String(Double((value * 100).rounded()) / 100)
    }
}
