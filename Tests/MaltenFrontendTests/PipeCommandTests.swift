import Foundation
import MaltenCrypto
import MaltenTestClients
import Testing

/// `malten pipe` against the served executable: two of them pass lines both ways with the same
/// safety code, a third is refused, a forged hello is ignored, the pipe is gone afterwards (410, an
/// empty store, no plaintext in the server's memory), and each failure is one line and an exit.
@Suite struct PipeCommandTests {
    @Test func twoPartiesBothWaysThenGone() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        let a = try ClientProcess(["pipe", "--server", "http://127.0.0.1:\(served.port)"])
        let link = try await a.line(startingWith: "http://")
        let pipe = try PipeSecret(secret: try #require(link.split(separator: "#p=").last))
        // Someone who knows the pipe's name but not its secret posts a hello first: a valid point
        // whose MAC is another pipe's. It must be ignored.
        let forged = PipeParty(PipeSecret.random()).hello
        #expect(try await api.call(Call("post", [("stream", pipe.name), ("text", forged)])).status == 200)

        let b = try ClientProcess(["pipe", link])
        let code = try await a.line(startingWith: "safety code ")
        #expect(try await b.line(startingWith: "safety code ") == code)
        #expect(code.wholeMatch(of: /safety code \d{4} \d{4}/) != nil)
        let third = try await ClientCommandTests.malten(["pipe", link])
        #expect(third.status != 0 && third.err.contains("(409): Pipe is full"), "\(third.err)")

        let marker = "MARKER-\(UUID().uuidString)-a-password-for-one-person-only"
        try a.send([marker, "", "é ✓"])
        try b.send(["from b"])
        // The server holds only hellos (the forged one too, and the creator's again when b came) and
        // the four messages' ciphertext while the pipe is open.
        var held: [String] = []
        for _ in 0..<100 where held.filter({ $0.hasPrefix("m1.") }).count < 4 {
            held = try await api.call(Call("get", [("stream", pipe.name), ("limit", 64)])).array.compactMap { $0["Text"] as? String }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(held.filter { $0.hasPrefix("m1.") }.count == 4 && held.allSatisfy { $0.hasPrefix("h1.") || $0.hasPrefix("m1.") })
        if ProcessMemory.readable {  // root only: the server is not dumpable
            let ciphertext = try #require(held.last { $0.hasPrefix("m1.") })
            let found = try await ProcessMemory(pid: served.process.processIdentifier).contains([marker, ciphertext])
            #expect(found[ciphertext] == true && found[marker] == false)  // the scan sees what the server holds
        }

        try a.finishInput()  // a leaves once all it read is sent: the pipe ends for both
        let (aStatus, aOut, _) = await a.exit()
        let (bStatus, bOut, _) = await b.exit()
        #expect(aStatus == 0 && bStatus == 0)
        #expect(bOut == marker + "\n\né ✓\n")
        #expect(aOut == "from b\n")
        let after = try await api.call(Call("streams", [("stream", pipe.name)]))
        #expect(after.status == 410 && after.error == "Pipe closed")
        let stats = try await api.call(Call("stats")).object
        #expect(stats["streams"] as? Int == 0 && stats["messages"] as? Int == 0)
        if ProcessMemory.readable { #expect(try await ProcessMemory(pid: served.process.processIdentifier).contains([marker])[marker] == false) }
        let late = try await ClientCommandTests.malten(["pipe", link])
        #expect(late.status != 0 && late.err.contains("(410): Pipe closed"), "\(late.err)")
    }

    /// The creator's first hello aged out (a TTL of 1 s) before the other side came: it says hello
    /// again when someone connects, and they pair.
    @Test func aLateJoinerStillPairsAfterTheFirstHelloAgedOut() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let a = try ClientProcess(["pipe", "--server", "http://127.0.0.1:\(served.port)", "--ttl", "1"])
        let link = try await a.line(startingWith: "http://")
        try await Task.sleep(for: .seconds(2.5))
        let b = try ClientProcess(["pipe", link])
        let code = try await a.line(startingWith: "safety code ")
        #expect(try await b.line(startingWith: "safety code ") == code)
        try a.send(["still here"])
        #expect(await b.nextLine() == "still here")
        try a.finishInput()
        let (aEnd, bEnd) = (await a.exit(), await b.exit())
        #expect(aEnd.status == 0 && bEnd.status == 0)
    }

    @Test func failuresAreOneLineAndANonZeroExit() async throws {
        let served = try await ServedProcess()
        defer { served.stop() }
        let server = "http://127.0.0.1:\(served.port)"
        let alone = try ClientProcess(["pipe", "--server", server, "--wait", "1"])
        #expect(try await alone.line(startingWith: "http://").contains("/#p="))
        let (status, out, err) = await alone.exit()
        #expect(status != 0 && out.isEmpty && err.contains("the other side did not join within 1 s"), "\(err)")
        for (link, says) in [
            (server + "/#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "not a pipe's"),
            (server + "/#p=short", "not 32 bytes of base64url"),
            ("ftp://example/#p=x", "not an http:// or https:// URL"),
        ] {
            let run = try await ClientCommandTests.malten(["pipe", link])
            #expect(run.status != 0 && run.err.contains(says) && run.err.split(separator: "\n").count == 1, "\(run.err)")
        }
        let send = try await ClientCommandTests.malten(["send", server + "/#p=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "x"])
        #expect(send.status != 0 && send.err.contains("use malten pipe"))
        served.stop()
        let down = try await ClientCommandTests.malten(["pipe", "--server", server])
        #expect(down.status != 0 && down.err.contains("cannot reach"), "\(down.err)")
    }
}
