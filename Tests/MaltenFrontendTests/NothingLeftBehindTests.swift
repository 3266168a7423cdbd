import Foundation
import MaltenTestClients
import Testing

/// What a stream leaves behind in the server once it is gone: nothing. A stream whose name and
/// texts carry markers is posted, read and delivered over SSE and WebSocket (and in a stdio
/// session); while it lives a scan of the process's memory finds both markers, which proves the
/// scan can see them; once it has expired or been evicted and its connections are closed, the
/// same scan finds neither. Reading another process's memory takes root (the server is not
/// dumpable).
@Suite(.enabled(if: ProcessMemory.readable, "reading /proc/PID/mem of a process that is not dumpable takes root"))
struct NothingLeftBehindTests {
    /// A marker longer than 64 characters, unlike anything else in the process.
    static func marker(_ kind: String) -> String {
        kind + "-" + (0..<3).map { _ in UUID().uuidString.replacingOccurrences(of: "-", with: "") }.joined()
    }

    /// The marked streams' TTL, in seconds.
    static let ttl = 30

    @Test func anExpiredStreamLeavesNothingInTheServer() async throws {
        // Long enough for the checks while it lives on a loaded machine (its messages age out by it
        // too): in a fresh-clone CI run 8 s were not.
        let served = try await ServedProcess(arguments: ["--ttl", "\(Self.ttl)"])
        defer { served.stop() }
        let (name, text) = (Self.marker("name"), Self.marker("text"))
        try await exercise(served, name: name, text: text)
        let api = HTTPDriver(port: served.port, stop: {})
        try await waitUntilGone(name, api)
        try await expectGone([name, text], pid: served.process.processIdentifier)
    }

    @Test func anEvictedStreamLeavesNothingInTheServer() async throws {
        let served = try await ServedProcess(arguments: ["--memory-budget", "1MiB"])
        defer { served.stop() }
        let (name, text) = (Self.marker("name"), Self.marker("text"))
        try await exercise(served, name: name, text: text)
        // Newer streams push the marked one, least recently written, out of the budget.
        let api = HTTPDriver(port: served.port, stop: {})
        let filler = String(repeating: "f", count: 1000)
        var evicted = false
        for round in 0..<40 where !evicted {
            for stream in 0..<50 {
                _ = try await api.call(Call("post", [("stream", "filler-\(round)-\(stream)"), ("text", filler)]))
            }
            evicted = try await api.call(Call("streams", [("stream", name)])).status == 404
        }
        #expect(evicted)
        try await expectGone([name, text], pid: served.process.processIdentifier)
    }

    @Test func aStdioSessionKeepsNothingOfAnExpiredStream() async throws {
        let stdio = try StdioDriver.start(arguments: ["--ttl", "\(Self.ttl)"])
        let (name, text) = (Self.marker("name"), Self.marker("text"))
        let feed = try await stdio.subscribe(name, since: nil, webSocket: false)
        #expect(try await stdio.call(Call("post", [("stream", name), ("text", text)])).status == 200)
        #expect(try await stdio.call(Call("get", [("stream", name)])).array.first?["Text"] as? String == text)
        var delivered = false
        while !delivered { delivered = try await feed.next()["Text"] as? String == text }
        let pid = stdio.process.processIdentifier
        #expect(try await ProcessMemory(pid: pid).contains([name, text]) == [name: true, text: true])
        try await feed.end()
        try await waitUntilGone(name, stdio)
        try await expectGone([name, text], pid: pid)
        try await stdio.close()
    }

    /// Posts `text` to `name` as a form and as a WebSocket frame, reads it back, and has an SSE and
    /// a WebSocket subscriber receive both; then checks the scan sees the markers, and closes.
    private func exercise(_ served: ServedProcess, name: String, text: String) async throws {
        let port = served.port
        let api = HTTPDriver(port: port, stop: {})
        let events = try await EventStreamClient.connect(port: port, path: "/events?stream=\(name)")
        let socket = try #require(try await WebSocketClient.connect(port: port, path: "/events?stream=\(name)"))
        #expect(try await api.call(Call("post", [("stream", name), ("text", text)])).status == 200)
        try await socket.send(text + "-frame")
        var (overSSE, overWebSocket) = (Set<String>(), Set<String>())
        while overSSE.count < 2 {
            if let received = try await events.next().data["Text"] as? String, received.hasPrefix(text) { overSSE.insert(received) }
        }
        while overWebSocket.count < 2 {
            if let received = try await socket.next()["Text"] as? String, received.hasPrefix(text) { overWebSocket.insert(received) }
        }
        // Read once both were delivered: the frame's post may come after a read sent at once.
        let stored = try await api.call(Call("get", [("stream", name)])).array.compactMap { $0["Text"] as? String }
        #expect(Set(stored) == [text, text + "-frame"])
        #expect(try await ProcessMemory(pid: served.process.processIdentifier).contains([name, text]) == [name: true, text: true])
        events.close()
        socket.close()
    }

    /// Asks for `name` until it is not found (its TTL has run out), up to twice the TTL.
    private func waitUntilGone(_ name: String, _ frontend: some FrontendDriver) async throws {
        for _ in 0..<(Self.ttl * 20) {
            if try await frontend.call(Call("streams", [("stream", name)])).status == 404 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(name.prefix(8))… still there after \(Self.ttl * 2) s")
    }

    /// Scans the process until none of `markers` is found, up to 10 s (a connection's buffers go
    /// when its channel has closed on the server's side too).
    private func expectGone(_ markers: [String], pid: Int32) async throws {
        var found: [String: Bool] = [:]
        for _ in 0..<20 {
            found = try await ProcessMemory(pid: pid).contains(markers)
            if !found.values.contains(true) { return }
            try await Task.sleep(for: .milliseconds(500))
        }
        Issue.record("still in memory: \(found.filter(\.value).keys.map { $0.prefix(4) })")
    }
}
