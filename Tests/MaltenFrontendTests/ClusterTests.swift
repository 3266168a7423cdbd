import Foundation
import MaltenTestClients
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Many `malten serve` processes joined through a real `nats-server` on loopback, as a cluster's
/// users run them: posts on any member, reads and subscriptions on any, one order for all.
@Suite(.serialized) struct ClusterTests {
    /// Posts spread over three members at once, one of them with its clock 10 s ahead, another
    /// 10 s behind: every member holds the same messages with the same `Id`s and `Created` in the
    /// same strictly increasing order, each acknowledged post exactly once; a member started late
    /// catches up to identical streams, settings included.
    @Test func concurrentPostsOnEveryMemberGiveOneOrderEverywhere() async throws {
        let cluster = try await Cluster.start(arguments: [[], ["--clock-offset=10"], ["--clock-offset=-10"]])
        defer { cluster.stop() }
        for member in cluster.members { #expect(try await member.call(Call("stats")).object["members"] as? Int == 3) }
        #expect(try await cluster.members[1].call(Call("create", [("stream", "settled"), ("private", "true"), ("ttl", 600)])).status == 200)

        let streams = ["one", "two", "three", "four"]
        let acknowledged = try await withThrowingTaskGroup(of: [Posted].self) { group in
            for (index, member) in cluster.members.enumerated() {
                group.addTask {
                    var posted: [Posted] = []
                    for i in 0..<40 {
                        let stream = streams[(i + index) % streams.count]
                        let reply = try await member.call(Call("post", [("stream", stream), ("text", "m\(index)-\(i)")]))
                        #expect(reply.status == 200, "\(reply.object)")
                        if reply.status == 200 { posted.append(Posted(reply.object)) }
                    }
                    return posted
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(acknowledged.count == 120)
        try await cluster.expectIdentical(streams + ["settled"], holding: acknowledged)

        let late = try await cluster.add()
        defer { late.stop() }
        try await cluster.expectIdentical(streams + ["settled"], holding: acknowledged)
        let settled = try await late.call(Call("streams", [("stream", "settled")])).object["settled"] as? [String: Any]
        #expect(settled?["TTL"] as? Int == 600 && settled?["Private"] as? Bool == true)
    }

    /// A subscriber on C gets what A and B take, live and in that one order; one that drops from A at
    /// `Last-Event-ID` X and reconnects to B gets exactly what came after X. `Observers` and the
    /// `connect`/`close` events add up across the members.
    @Test func subscribersOnAnyMemberSeeOneStreamAndOneCount() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let (a, b, c) = (cluster.members[0], cluster.members[1], cluster.members[2])

        let onC = try await EventStreamClient.connect(port: c.port, path: "/events?stream=live")
        defer { onC.close() }
        #expect(try await onC.next().data["Text"] as? String == "connect")
        let onA = try await EventStreamClient.connect(port: a.port, path: "/events?stream=live")
        #expect(try await onA.next().data["Text"] as? String == "connect")
        #expect(try await onC.next().data["Text"] as? String == "connect")  // A's subscriber, told on C
        try await cluster.eventually("Observers 2 on B") {
            try await b.observers(of: "live") == 2
        }

        var sent: [String] = []
        for i in 0..<10 {
            let text = "live-\(i)"
            #expect(try await (i % 2 == 0 ? a : b).call(Call("post", [("stream", "live"), ("text", text)])).status == 200)
            sent.append(text)
        }
        var created: [Int64] = []
        var seen: [String] = []
        for _ in 0..<10 {
            let event: EventStreamClient.Event = try await onC.next()
            seen.append(event.data["Text"] as? String ?? "?")
            created.append(Int64(event.id ?? "") ?? 0)
        }
        #expect(seen == sent)
        #expect(created == created.sorted() && Set(created).count == 10)

        // A drops after the third message and resumes on B.
        var lastID = ""
        for _ in 0..<3 { lastID = try await onA.next().id ?? "" }
        onA.close()
        try await cluster.eventually("A's subscriber left C's count") { try await onC.next().data["Text"] as? String == "close" }
        for i in 10..<13 { #expect(try await c.call(Call("post", [("stream", "live"), ("text", "live-\(i)")])).status == 200) }
        let onB = try await EventStreamClient.connect(port: b.port, path: "/events?stream=live", headers: [("Last-Event-ID", lastID)])
        defer { onB.close() }
        var resumed: [String] = []
        while resumed.count < 10 {
            let event: EventStreamClient.Event = try await onB.next()
            if event.data["Type"] as? String == "message" { resumed.append(event.data["Text"] as? String ?? "?") }
        }
        #expect(resumed == Array((sent + ["live-10", "live-11", "live-12"]).dropFirst(3)))
        var onCAfter: [String] = []
        while onCAfter.count < 4 { onCAfter.append(try await onC.next().data["Text"] as? String ?? "?") }
        #expect(onCAfter == ["live-10", "live-11", "live-12", "connect"])  // then B's resumed subscriber
        try await cluster.eventually("Observers 2 on A") {
            try await a.observers(of: "live") == 2
        }
        #expect(try await a.call(Call("stats")).object["subscribers"] as? Int == 2)
    }

    /// Posts keep going to thirty streams through two members while the third, which owns some of
    /// them, is killed: posts are taken again within seconds, every acknowledged post is held once,
    /// no `Created` is reused or goes back, and the dead member's subscriber leaves the count.
    @Test func killingAnOwnerLosesNoAcknowledgedPost() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let (doomed, b, c) = (cluster.members[0], cluster.members[1], cluster.members[2])
        let streams = (0..<30).map { "busy-\($0)" }
        let watcher = try await EventStreamClient.connect(port: doomed.port, path: "/events?stream=busy-0")
        defer { watcher.close() }
        try await cluster.eventually("Observers 1 on B") {
            try await b.observers(of: "busy-0") == 1
        }

        let killed = Mutex(false)
        let posting = Task {
            var acknowledged: [Posted] = []
            var refusedAfterKill: [String: Int] = [:]
            var acceptedAfterKill: Set<String> = []
            var round = 0
            let deadline = ContinuousClock.now + .seconds(90)
            while acceptedAfterKill.count < streams.count && ContinuousClock.now < deadline {
                for (index, stream) in streams.enumerated() {
                    let member = index % 2 == 0 ? b : c
                    let wasKilled = killed.withLock { $0 }
                    let reply = try await member.call(Call("post", [("stream", stream), ("text", "r\(round)-\(index)")]))
                    if reply.status == 200 {
                        acknowledged.append(Posted(reply.object))
                        if wasKilled { acceptedAfterKill.insert(stream) }
                    } else {
                        #expect(reply.status == 503 && reply.object["error"] as? String == "Cluster unavailable")
                        refusedAfterKill[stream, default: 0] += 1
                    }
                }
                round += 1
            }
            return (acknowledged, refusedAfterKill, acceptedAfterKill)
        }
        try await Task.sleep(for: .seconds(2))
        cluster.kill(0)
        killed.withLock { $0 = true }
        let (acknowledged, refused, accepted) = try await posting.value
        #expect(accepted.count == streams.count, "streams that took a post after the kill: \(accepted.count)")
        // The members must have noticed: some posts went to the dead owner and were refused.
        #expect(!refused.isEmpty)

        try await cluster.expectIdentical(streams, holding: acknowledged)
        try await cluster.eventually("the dead member's subscriber left") {
            try await b.observers(of: "busy-0") == 0
        }
        #expect(try await b.call(Call("stats")).object["members"] as? Int == 2)
    }

    /// With `nats-server` stopped, posts are refused with 503 within 2 s while reads and open
    /// subscriptions go on; a refused post is never stored later; once NATS is back the members
    /// take posts again, and the subscription opened before the outage gets them.
    @Test func withoutNATSPostsAreRefusedAndReadsGoOn() async throws {
        let cluster = try await Cluster.start()
        defer { cluster.stop() }
        let (a, b) = (cluster.members[0], cluster.members[1])
        #expect(try await a.call(Call("post", [("stream", "outage"), ("text", "before")])).status == 200)
        let subscriber = try await EventStreamClient.connect(port: b.port, path: "/events?stream=outage&since=0")
        defer { subscriber.close() }
        #expect(try await subscriber.next().data["Text"] as? String == "before")
        #expect(try await subscriber.next().data["Text"] as? String == "connect")

        cluster.nats.stop()
        try await Task.sleep(for: .seconds(2))
        for member in cluster.members {
            let refused = try await member.call(Call("post", [("stream", "outage"), ("text", "refused")]))
            #expect(refused.status == 503 && refused.object["error"] as? String == "Cluster unavailable")
            #expect(try await member.call(Call("get", [("stream", "outage")])).array.map { $0["Text"] as? String } == ["before"])
        }

        try await cluster.nats.restart()
        try await cluster.eventually("posts taken again", seconds: 30) {
            try await a.call(Call("post", [("stream", "outage"), ("text", "after")])).status == 200
        }
        while true {
            let event: EventStreamClient.Event = try await subscriber.next()
            guard event.data["Type"] as? String == "message" else { continue }
            #expect(event.data["Text"] as? String == "after")
            break
        }
        for member in cluster.members {
            try await cluster.eventually("one order after the outage") {
                try await member.call(Call("get", [("stream", "outage")])).array.map { $0["Text"] as? String } == ["before", "after"]
            }
        }
    }
}

extension HTTPDriver {
    /// The stream's `Observers` as this member lists it; nil when it has no such stream.
    func observers(of stream: String) async throws -> Int? {
        let entry = try await call(Call("streams", [("stream", stream)])).object[stream] as? [String: Any]
        return entry?["Observers"] as? Int
    }
}

/// A message as a post's answer gave it.
struct Posted: Hashable {
    var id: String
    var created: String
    var text: String
    var stream: String

    init(_ object: [String: Any]) {
        id = object["Id"] as? String ?? ""
        created = object["Created"] as? String ?? ""
        text = object["Text"] as? String ?? ""
        stream = object["Stream"] as? String ?? ""
    }
}

/// One `nats-server` and the `malten serve` members joined through it.
final class Cluster: @unchecked Sendable {
    let nats: NATSServer
    var members: [HTTPDriver]
    private var served: [ServedProcess]

    private init(nats: NATSServer, served: [ServedProcess]) {
        self.nats = nats
        self.served = served
        members = served.map { HTTPDriver(port: $0.port, stop: {}) }
    }

    /// A NATS server and one member per entry of `arguments` (extra `serve` arguments), started together.
    static func start(arguments: [[String]] = [[], [], []]) async throws -> Cluster {
        let nats = try await NATSServer.start()
        let served = try await withThrowingTaskGroup(of: (Int, ServedProcess).self) { group in
            for (index, extra) in arguments.enumerated() {
                group.addTask { (index, try await ServedProcess(arguments: ["--nats", nats.url] + extra)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
        }
        return Cluster(nats: nats, served: served)
    }

    /// One more member; it answers once it has caught up.
    func add() async throws -> HTTPDriver {
        let process = try await ServedProcess(arguments: ["--nats", nats.url])
        served.append(process)
        let member = HTTPDriver(port: process.port, stop: {})
        members.append(member)
        return member
    }

    /// SIGKILLs member `index`; the checks that follow leave it out.
    func kill(_ index: Int) {
        served[index].kill()
        #expect(HTTPDriver.forbiddenLogLines(served[index].logText).isEmpty, "log lines the server may not write")
        served[index].stop()
        served.remove(at: index)
        members.remove(at: index)
    }

    /// Every member's log holds only the server's own lines; then all stop.
    func stop() {
        for process in served {
            #expect(HTTPDriver.forbiddenLogLines(process.logText).isEmpty, "log lines the server may not write")
            process.stop()
        }
        nats.stop()
    }

    /// Polls `condition` every 200 ms, up to `seconds`.
    func eventually(_ what: String, seconds: Int = 20, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("never: \(what)")
    }

    /// Every live member holds the same messages of each stream (same `Id`, `Created`, text, order;
    /// `Created` strictly increasing), and they are exactly the acknowledged posts of that stream.
    func expectIdentical(_ streams: [String], holding acknowledged: [Posted]) async throws {
        for stream in streams {
            let expected = Set(acknowledged.filter { $0.stream == stream })
            var reference: [Posted]?
            try await eventually("members agree on \(stream)") {
                var views: [[Posted]] = []
                for member in members {
                    views.append(try await member.call(Call("get", [("stream", stream), ("limit", 1024)])).array.map(Posted.init))
                }
                reference = views.first
                return views.allSatisfy { $0 == views[0] } && Set(views[0]) == expected
            }
            guard let held = reference else { continue }
            #expect(Set(held) == expected, "\(stream): \(held.count) held, \(expected.count) acknowledged")
            #expect(held.count == expected.count, "\(stream): a post held twice")
            let created = held.map { Int64($0.created) ?? 0 }
            #expect(zip(created, created.dropFirst()).allSatisfy { $0 < $1 }, "\(stream): Created not strictly increasing")
        }
    }
}

/// Debian's `nats-server` on a free loopback port, memory-only as core NATS always is.
final class NATSServer: @unchecked Sendable {
    private var process: Process
    private(set) var port: Int
    private let log: URL
    var url: String { "nats://127.0.0.1:\(port)" }

    private init(process: Process, port: Int, log: URL) {
        self.process = process
        self.port = port
        self.log = log
    }

    static func start() async throws -> NATSServer {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("nats-\(UUID().uuidString).log")
        let (process, port) = try await launch(port: -1, log: log)
        return NATSServer(process: process, port: port, log: log)
    }

    /// Starts it again on the same port.
    func restart() async throws {
        (process, port) = try await Self.launch(port: port, log: log)
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    private static func launch(port: Int, log: URL) async throws -> (Process, Int) {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/nats-server")
        process.arguments = ["-a", "127.0.0.1", "-p", "\(port)", "-l", log.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains("Listening for client connections on 127.0.0.1:") }),
                let found = Int(line.split(separator: ":").last ?? "")
            {
                return (process, found)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NATSDidNotStart(log: (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    struct NATSDidNotStart: Error { var log: String }
}
