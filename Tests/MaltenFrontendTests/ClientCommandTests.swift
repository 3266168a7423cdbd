import Foundation
import MaltenTestClients
import MaltenCrypto
import Testing

/// The command-line client (`malten new`, `send`, `read`, `tail`) as a user runs it, against the
/// served executable: encrypted and plain streams, what the server holds, refusals and failures.
@Suite struct ClientCommandTests {
    /// One run of the client: its exit status and what it printed.
    struct Run {
        var status: Int32
        var out: String
        var err: String
        var lines: [String] { out.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) }
    }

    /// Runs a client command to its end (on a Dispatch thread: the tests' task threads stay free).
    static func malten(_ arguments: [String], input: String? = nil) async throws -> Run {
        let process = try ClientProcess(arguments)
        if let input { try process.send([String(input.dropLast(input.hasSuffix("\n") ? 1 : 0))]) }
        try process.finishInput()
        let (status, out, err) = await process.exit()
        return Run(status: status, out: out, err: err)
    }

    func stored(_ api: HTTPDriver, _ name: String) async throws -> [String] {
        try await api.call(Call("get", [("stream", name), ("limit", 1024)])).array.compactMap { $0["Text"] as? String }
    }

    @Test func anEncryptedStreamFromNewToSendToRead() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let server = "http://127.0.0.1:\(served.port)"
        let made = try await Self.malten(["new", "--server", server, "--encrypted", "--ttl", "600"])
        #expect(made.status == 0 && made.lines.count == 1, "\(made.err)")
        let link = try #require(made.lines.first)
        #expect(link.hasPrefix(server + "/#k="))
        let stream = try SealedStream(secret: link.dropFirst((server + "/#k=").count))
        let info = try await api.call(Call("streams", [("stream", stream.name)])).object[stream.name] as? [String: Any]
        #expect(info?["Private"] as? Bool == true && info?["TTL"] as? Int == 600)

        #expect(try await Self.malten(["send", link, "hello,", "sealed", "world ✓"]).status == 0)
        #expect(try await Self.malten(["send", link], input: "line one\n\nline three\n").status == 0)
        let read = try await Self.malten(["read", link])
        #expect(read.status == 0 && read.lines == ["hello, sealed world ✓", "line one", "", "line three"], "\(read)")
        let json = try await Self.malten(["read", link, "--json", "--limit", "2"])
        let objects = try json.lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        #expect(objects.map { $0["Text"] as? String } == ["", "line three"])
        #expect(objects.allSatisfy { $0["Stream"] as? String == stream.name && $0["Type"] as? String == "message" })

        // The server holds only ciphertext, which opens to what was sent.
        let held = try await stored(api, stream.name)
        #expect(held.count == 4 && held.allSatisfy { $0.hasPrefix("m1.") && !$0.contains("line") })
        #expect(held.compactMap { stream.open($0)?.text } == ["hello, sealed world ✓", "line one", "", "line three"])
    }

    @Test func plainStreamsAndKinds() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let server = "http://127.0.0.1:\(served.port)"
        let listed = try #require(try await Self.malten(["new", "--server", server]).lines.first)
        let unlisted = try #require(try await Self.malten(["new", "--server", server, "--private"]).lines.first)
        let listedName = String(listed.dropFirst((server + "/#").count))
        let unlistedName = String(unlisted.dropFirst((server + "/#").count))
        let listing = try await api.call(Call("streams")).object
        #expect(listing[listedName] != nil && listing[unlistedName] == nil && unlistedName.count == 32)
        #expect(try await Self.malten(["send", unlisted, "in the clear"]).status == 0)
        #expect(try await stored(api, unlistedName) == ["in the clear"])
        #expect(try await Self.malten(["read", unlisted]).lines == ["in the clear"])
        // A name the page writes percent-encoded, as its links carry it.
        #expect(try await Self.malten(["send", server + "/#caf%C3%A9-na%C3%AFve", "déjà vu"]).status == 0)
        #expect(try await stored(api, "café-naïve") == ["déjà vu"])
        #expect(try await Self.malten(["read", server + "/#caf%C3%A9-na%C3%AFve"]).lines == ["déjà vu"])
        let bad = try await Self.malten(["read", server + "/#caf%C3"])
        #expect(bad.status != 0 && bad.err.contains("not valid percent-encoded UTF-8"))
    }

    @Test func whatDoesNotOpenIsAWarningWithItsCreated() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let stream = SealedStream.random()
        let link = "http://127.0.0.1:\(served.port)/#k=\(stream.secret)"
        #expect(try await Self.malten(["send", link, "good"]).status == 0)
        let plain = try await api.call(Call("post", [("stream", stream.name), ("text", "plain text")])).object
        var tampered = Array(try stream.seal("tampered", time: 1).utf8)
        tampered[10] = tampered[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let bad = try await api.call(Call("post", [("stream", stream.name), ("text", String(decoding: tampered, as: UTF8.self))])).object
        let replayed = try #require(try await stored(api, stream.name).first)
        _ = try await api.call(Call("post", [("stream", stream.name), ("text", replayed)]))  // a replay of "good"
        let read = try await Self.malten(["read", link])
        #expect(read.status == 0 && read.lines == ["good"], "\(read)")
        for created in [plain["Created"], bad["Created"]] {
            #expect(read.err.contains("message \(created as! String) does not open"), "\(read.err)")
        }
        #expect(!read.err.contains("plain text") && !read.out.contains("plain text"))
    }

    @Test func refusalsAndFailuresAreOneLineAndANonZeroExit() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let stream = SealedStream.random()
        let link = "http://127.0.0.1:\(served.port)/#k=\(stream.secret)"
        let cases: [([String], String)] = [
            (["send", link, String(repeating: "x", count: 734)], "at most 733 bytes"),
            (["send", "http://127.0.0.1:\(served.port)/#plain", String(repeating: "x", count: 1025)], "(413): Message exceeds 1024 characters"),
            (["send", "http://127.0.0.1:\(served.port)/#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh", "x"], "43 characters"),
            (["send", "http://127.0.0.1:\(served.port)/#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+", "x"], "base64url"),
            (["read", "http://127.0.0.1:\(served.port)/#"], "names no stream"),
            (["read", "ftp://127.0.0.1/#x"], "not an http:// or https:// URL"),
            (["send", "http://127.0.0.1:\(served.port)/#a b", "x"], "(400)"),
            (["send", "127.0.0.1:\(served.port)/#k=\(stream.secret)", "x"], "127.0.0.1:\(served.port)/ is not an http://"),
            (["send", "http://127.0.0.1:99999/#k=\(stream.secret)", "x"], "bad host or port"),
        ]
        for (arguments, says) in cases {
            let run = try await Self.malten(arguments)
            #expect(run.status != 0 && run.out.isEmpty, "\(arguments)")
            #expect(run.err.split(separator: "\n").count == 1 && run.err.contains(says), "\(arguments): \(run.err)")
            #expect(!run.err.contains(stream.secret))  // a link's secret is never repeated
        }
        #expect(try await stored(api, stream.name).isEmpty)
        #expect(try await stored(api, "plain").isEmpty)
        // A stream that expired, or never was: nothing to print, and a word on stderr.
        let empty = try await Self.malten(["read", link])
        #expect(empty.status == 0 && empty.out.isEmpty && empty.err.contains("empty, or it has expired"))
        served.stop()
        let down = try await Self.malten(["read", link])
        #expect(down.status != 0 && down.err.contains("cannot reach http://127.0.0.1:\(served.port)"), "\(down.err)")
    }

    /// `tail`: history after `--since`, then live; a server restarted under it is resumed.
    @Test func tailFollowsLiveAndResumesAfterTheServerCameBack() async throws {
        var served = try await ServedProcess()
        let port = served.port
        defer { served.stop() }
        let stream = SealedStream.random()
        let link = "http://127.0.0.1:\(port)/#k=\(stream.secret)"
        #expect(try await Self.malten(["send", link, "one"]).status == 0)
        let tail = try ClientProcess(["tail", link, "--since", "0"])
        defer { if tail.process.isRunning { tail.process.terminate() } }
        #expect(await tail.nextLine() == "one")
        #expect(try await Self.malten(["send", link, "two"]).status == 0)
        #expect(await tail.nextLine() == "two")
        served.stop()
        served = try await ServedProcess(port: port)
        // The tail comes back within its one-second retry; what is posted then reaches it.
        var third: String?
        for attempt in 0..<20 where third == nil {
            try await Task.sleep(for: .milliseconds(500))
            let observers = try await HTTPDriver(port: port, stop: {}).call(Call("streams", [("stream", stream.name)]))
            if (observers.object[stream.name] as? [String: Any])?["Observers"] as? Int == 1 {
                #expect(try await Self.malten(["send", link, "three"]).status == 0)
                third = await tail.nextLine()
            }
            _ = attempt
        }
        #expect(third == "three")
        tail.process.terminate()
        let said = await tail.exit().err
        #expect(said.contains("connection lost; resuming after "), "\(said)")
    }

    /// `tail --since` a message the stream no longer holds: a warning that messages were dropped,
    /// then what is held, oldest first (`send` reading stdin posted the flood, a message a line).
    @Test func tailSaysWhenMessagesAfterItsSinceWereDropped() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let link = "http://127.0.0.1:\(served.port)/#flooded"
        let first = try #require(try await api.call(Call("post", [("stream", "flooded"), ("text", "m0")])).object["Created"] as? String)
        let flood = (1..<1030).map { "m\($0)" }
        #expect(try await Self.malten(["send", link], input: flood.joined(separator: "\n") + "\n").status == 0)
        let tail = try ClientProcess(["tail", link, "--since", first])
        var lines: [String] = []
        while lines.last != "m1029", let line = await tail.nextLine() { lines.append(line) }
        tail.process.terminate()
        #expect(lines == (6..<1030).map { "m\($0)" })  // a stream holds the newest 1024
        let said = await tail.exit().err
        #expect(said.contains("warning: gap: messages after the last one seen were dropped"), "\(said)")
    }

    /// The server's memory holds the ciphertext the client sent, and neither the text inside it
    /// nor the link's secret.
    @Test(.enabled(if: ProcessMemory.readable, "root only: the server is not dumpable"))
    func theServersMemoryHoldsOnlyCiphertext() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let stream = SealedStream.random()
        let link = "http://127.0.0.1:\(served.port)/#k=\(stream.secret)"
        let marker = "MARKER-" + UUID().uuidString + "-" + String(repeating: "plaintext-that-must-never-reach-the-server-", count: 2)
        #expect(try await Self.malten(["send", link, marker]).status == 0)
        #expect(try await Self.malten(["read", link]).lines == [marker])
        let held = try #require(try await stored(api, stream.name).first)
        #expect(held.hasPrefix("m1."))
        let found = try await ProcessMemory(pid: served.process.processIdentifier).contains([marker, stream.secret, held])
        #expect(found[held] == true)  // the scan sees what the server holds
        #expect(found[marker] == false && found[stream.secret] == false)
    }
}
