import AsyncHTTPClient
import Foundation
import NIOCore
import MaltenTestClients
import Testing

/// `malten serve` needs no privilege: run as an unprivileged user it serves (the behaviour suite
/// runs through it as the `served` frontend), and what it cannot have it does without, saying so once.
@Suite struct UnprivilegedServeTests {
    /// Where it may lock its memory (MemoryLockTests: otherwise `--lock-memory auto` warns).
    @Test func startsWithoutAWarning() async throws {
        let served = try await ServedProcess(arguments: MemoryLockTests.lockable, capabilities: ["ipc_lock"])
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("post", [("stream", "nobody"), ("text", "hi")])).status == 200)
        #expect(!served.logText.contains("warning"), "\(served.logText)")
    }

    /// The start says, in one line, where the page is and the server's state (budget, wiping, locking,
    /// alone), and the page is there; nothing a client sends reaches the log.
    @Test func startLineSaysWhereThePageIsAndTheState() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("post", [("stream", "start-line-stream"), ("text", "start-line-text")])).status == 200)
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(served.port)/")
        request.headers.add(name: "Connection", value: "close")
        let page = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(page.status == .ok)
        #expect(String(buffer: try await page.body.collect(upTo: 1 << 20)).contains("<html"))
        let lines = served.logText.split(separator: "\n").filter { $0.contains("] the page: ") }
        #expect(lines.count == 1, "\(served.logText)")
        let line = String(lines.first ?? "")
        #expect(line.contains("the page: http://127.0.0.1:\(served.port)/; memory budget "), "\(line)")
        #expect(line.contains(" MiB; freed memory wiped; memory "), "\(line)")
        #expect(line.contains("; alone; allocator jemalloc "), "\(line)")
        #expect(!served.logText.contains("start-line"), "\(served.logText)")
    }

    /// No core dump, and nothing of the process readable by its own user: the core limit is 0 soft
    /// and hard, and it is not dumpable, so `/proc/PID/mem` belongs to root. Stdio and a client too.
    @Test func noCoreDumpAndMemoryClosedToItsUser() async throws {
        // Started with cores allowed, as a shell with `ulimit -c unlimited` would start it.
        let served = try await ServedProcess(wrapper: ["/usr/bin/prlimit", "--core=unlimited:unlimited"])
        defer { served.stop() }
        let stdio = try ClientProcess(["stdio"])
        let client = try ClientProcess(["pipe", "--server", "http://127.0.0.1:\(served.port)"])
        _ = try await client.line(startingWith: "http://")
        for pid in [served.process.processIdentifier, stdio.process.processIdentifier, client.process.processIdentifier] {
            let limits = try String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)
            let core = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }
            #expect(core?.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).prefix(2) == ["0", "0"], "\(core ?? "")")
            let owner = try FileManager.default.attributesOfItem(atPath: "/proc/\(pid)/mem")[.ownerAccountID] as? NSNumber
            #expect(owner == 0)
        }
        #expect(served.userIDs.allSatisfy { $0 != 0 })  // it runs as someone else, yet its memory is root's
        try stdio.finishInput()
        try client.finishInput()
        client.process.terminate()
        _ = (await stdio.exit(), await client.exit())
    }

    /// The check that every served run's log goes through (HTTPDriver.serve) passes the server's own
    /// lines and catches one that carries what a client sent.
    @Test func theLogCheckCatchesWhatTheServerMayNotWrite() {
        let own = "2026-12-02T03:11:58+0000 info malten: [MaltenHTTP] listening on 127.0.0.1:9477"
        let request = "2026-12-02T03:11:58+0000 info malten: [MaltenHTTP] GET /messages?stream=secret"
        #expect(HTTPDriver.forbiddenLogLines(own + "\n").isEmpty)
        #expect(HTTPDriver.forbiddenLogLines(own + "\n" + request + "\n") == [Substring(request)])
    }

    /// A hard open-files limit that only the service's settings could lift: one warning, then it
    /// serves within it.
    @Test func aLowOpenFilesLimitWarnsOnceAndStillServes() async throws {
        let served = try await ServedProcess(
            arguments: MemoryLockTests.lockable, wrapper: ["/usr/bin/prlimit", "--nofile=256:256"], capabilities: ["ipc_lock"])
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("post", [("stream", "low"), ("text", "hi")])).status == 200)
        #expect(try await api.call(Call("get", [("stream", "low")])).array.count == 1)
        let warnings = served.logText.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("open-files limit 256") == true, "\(warnings)")
    }
}
