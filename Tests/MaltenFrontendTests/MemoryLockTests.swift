import Foundation
import MaltenTestClients
import Testing

/// `--lock-memory`: with locking permitted the server's pages stay out of swap, locked as they are
/// touched (idle RSS as without); where it may not lock, `auto` says so once and serves a flood to
/// its budget, and `on` refuses to start. Run as an unprivileged user, without CAP_IPC_LOCK.
@Suite struct MemoryLockTests {
    static func status(_ served: ServedProcess, _ field: String) -> Int? {
        let status = (try? String(contentsOfFile: "/proc/\(served.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix(field + ":") }
        return line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
    }

    /// Posts 1000-character messages into 20 streams until `bytes` have been sent; every one answered 200.
    static func flood(_ served: ServedProcess, bytes: Int) async throws {
        let api = HTTPDriver(port: served.port, stop: {})
        let text = String(repeating: "x", count: 1000)
        var failures = 0
        for i in 0..<(bytes / 1000) {
            if try await api.call(Call("post", [("stream", "flood-\(i % 20)"), ("text", text)])).status != 200 { failures += 1 }
        }
        #expect(failures == 0)
    }

    /// The arguments of a served process that was given `ipc_lock`: none as root, which can give
    /// it; `--lock-memory off` otherwise, where only an unlimited memory-lock limit would let it lock.
    static var lockable: [String] { getuid() == 0 ? [] : ["--lock-memory", "off"] }

    /// With CAP_IPC_LOCK, as `AmbientCapabilities=CAP_IPC_LOCK` gives it. (An unlimited
    /// RLIMIT_MEMLOCK, the unit's way, needs CAP_SYS_RESOURCE to set up here, which the tests'
    /// root may lack; the server treats both alike.)
    @Test(.enabled(if: getuid() == 0, "only root can hand the server CAP_IPC_LOCK"))
    func whenItMayLockPagesAreLockedAsTheyAreTouched() async throws {
        let locked = try await ServedProcess(arguments: ["--memory-budget", "8MiB"], capabilities: ["ipc_lock"])
        defer { locked.stop() }
        let unlocked = try await ServedProcess(arguments: ["--memory-budget", "8MiB", "--lock-memory", "off"], capabilities: ["ipc_lock"])
        defer { unlocked.stop() }
        for served in [locked, unlocked] {
            #expect(try await HTTPDriver(port: served.port, stop: {}).call(Call("streams")).status == 200)
        }
        try await Task.sleep(for: .seconds(1))
        let (lockedRSS, unlockedRSS) = (try #require(Self.status(locked, "VmRSS")), try #require(Self.status(unlocked, "VmRSS")))
        #expect(try #require(Self.status(locked, "VmLck")) > 0)
        #expect(Self.status(unlocked, "VmLck") == 0)
        // Locking on fault makes nothing resident by itself.
        #expect(Double(lockedRSS) < Double(unlockedRSS) * 1.25 + 1024, "idle RSS \(lockedRSS) kB locked, \(unlockedRSS) kB not")
        #expect(locked.logText.contains("memory locked (no swap)") && !locked.logText.contains("warning"), "\(locked.logText)")
        try await Self.flood(locked, bytes: 12 << 20)
    }

    @Test func autoWarnsOnceAndServesToItsBudgetWhenItMayNotLock() async throws {
        let served = try await ServedProcess(arguments: ["--memory-budget", "8MiB"], wrapper: ["/usr/bin/prlimit", "--memlock=65536:65536"])
        defer { served.stop() }
        try await Self.flood(served, bytes: 12 << 20)
        #expect(Self.status(served, "VmLck") == 0)
        let warnings = served.logText.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warnings.count == 1 && warnings.first?.contains("memory not locked") == true, "\(warnings)")
        #expect(served.logText.contains("memory not locked"))
        let stored = try await HTTPDriver(port: served.port, stop: {}).call(Call("get", [("stream", "flood-0"), ("limit", 5)]))
        #expect(stored.array.count == 5)
    }

    @Test func onRefusesToStartWhenItMayNotLock() async throws {
        do {
            let started = try await ServedProcess(arguments: ["--lock-memory", "on"], wrapper: ["/usr/bin/prlimit", "--memlock=65536:65536"])
            started.stop()
            Issue.record("malten serve --lock-memory on started without a way to lock")
        } catch let failure as ServedProcess.StartFailed {
            #expect(failure.description.contains("cannot lock memory") && failure.description.contains("LimitMEMLOCK"), "\(failure)")
        }
    }
}
