import Foundation
import Testing

/// What only the stdio frontend has: its line shapes, subscriptions as event lines, and the ways
/// bad input and the end of input are handled.
@Suite struct StdioTests {
    @Test func subscriptionEventsFollowTheAnswerThatCausedThem() async throws {
        let stdio = try StdioDriver.start()
        try stdio.send(line: #"{"rid":"s","op":"subscribe","stream":"chat"}"#)
        #expect(try stdio.nextLine()["ok"] as? [String: Int] == ["sub": 1])
        let hello = try #require(try stdio.nextLine()["event"] as? [String: Any])
        #expect(hello["Type"] as? String == "event")
        #expect(hello["Text"] as? String == "connect")
        try stdio.send(line: #"{"rid":7,"op":"post","stream":"chat","text":"hi"}"#)
        let answer = try stdio.nextLine()
        #expect(answer["rid"] as? Int == 7)
        let event = try stdio.nextLine()
        #expect(event["sub"] as? Int == 1)
        #expect((event["event"] as? [String: Any])?["Text"] as? String == "hi")
        #expect((event["event"] as? [String: Any])?["Id"] as? String == (answer["ok"] as? [String: Any])?["Id"] as? String)
        // A second subscriber: both hear it connect; the first hears it close.
        try stdio.send(line: #"{"rid":8,"op":"subscribe","stream":"chat"}"#)
        #expect(try stdio.nextLine()["ok"] as? [String: Int] == ["sub": 2])
        let connects = [try stdio.nextLine(), try stdio.nextLine()]
        #expect(Set(connects.map { $0["sub"] as? Int }) == [1, 2])
        let observers = try await stdio.call(Call("streams", [("stream", "chat")]))
        #expect((observers.object["chat"] as? [String: Any])?["Observers"] as? Int == 2)
        try stdio.send(line: #"{"rid":9,"op":"unsubscribe","sub":2}"#)
        #expect(try stdio.nextLine()["ok"] as? Bool == true)
        let close = try stdio.nextLine()
        #expect(close["sub"] as? Int == 1)
        #expect((close["event"] as? [String: Any])?["Text"] as? String == "close")
        try stdio.send(line: #"{"rid":10,"op":"unsubscribe","sub":2}"#)
        #expect(try stdio.nextLine()["status"] as? Int == 404)
        try await stdio.close()
        #expect(stdio.process.terminationStatus == 0)
    }

    @Test func resumeAfterMoreThanTheRingHoldsStartsWithAGap() async throws {
        let stdio = try StdioDriver.start()
        let first = try await stdio.call(Call("post", [("stream", "g"), ("text", "m0")])).object["Created"] as! String
        for i in 1..<1100 { _ = try await stdio.call(Call("post", [("stream", "g"), ("text", "m\(i)")])) }
        try stdio.send(line: #"{"rid":"r","op":"subscribe","stream":"g","since":"\#(first)"}"#)
        #expect(try stdio.nextLine()["ok"] != nil)
        let gap = try #require(try stdio.nextLine()["event"] as? [String: Any])
        #expect(gap["Type"] as? String == "gap")
        #expect(gap["From"] as? String == first)
        var texts: [String] = []
        while texts.count < 1024 {
            let event = try #require(try stdio.nextLine()["event"] as? [String: Any])
            texts.append(event["Text"] as! String)
        }
        #expect(texts == (76..<1100).map { "m\($0)" })
        #expect((try stdio.nextLine()["event"] as? [String: Any])?["Text"] as? String == "connect")
        try await stdio.close()
    }

    @Test func badLinesGetErrorsAndTheNextLineIsServed() async throws {
        let stdio = try StdioDriver.start()
        try stdio.send(line: "not json")
        #expect(try stdio.nextLine() as NSDictionary == ["rid": NSNull(), "error": "Invalid request: not a JSON object", "status": 400])
        try stdio.send(line: #"{"rid":{"deep":[1,2]},"op":"fly"}"#)
        let unknown = try stdio.nextLine()
        #expect(unknown["rid"] as? NSDictionary == ["deep": [1, 2]])
        #expect(unknown["status"] as? Int == 400)
        try stdio.send(line: #"{"rid":3,"op":"get","limit":"many"}"#)
        #expect(try stdio.nextLine() as NSDictionary == ["rid": 3, "error": "Invalid request: a field has the wrong type", "status": 400])
        try stdio.send(line: #"{"rid":4,"text":"no op"}"#)
        #expect(try stdio.nextLine()["error"] as? String == "Missing op")
        // Invalid UTF-8 inside a JSON string.
        var raw = Data(#"{"rid":5,"op":"post","text":""#.utf8)
        raw.append(contentsOf: [0xFF, 0xFE])
        raw.append(contentsOf: Data("\"}\n".utf8))
        try stdio.input.fileHandleForWriting.write(contentsOf: raw)
        #expect(try stdio.nextLine()["status"] as? Int == 400)
        // A line over the limit is refused without being held; the next one is served.
        try stdio.send(line: #"{"rid":6,"op":"post","text":""# + String(repeating: "x", count: 200_000) + #""}"#)
        #expect(try stdio.nextLine() as NSDictionary == ["rid": NSNull(), "error": "Line exceeds 65536 bytes", "status": 413])
        let fine = try await stdio.call(Call("post", [("text", "still here")]))
        #expect(fine.status == 200)
        #expect(try await stdio.call(Call("get")).array.map { $0["Text"] as? String } == ["still here"])
        try await stdio.close()
        #expect(stdio.process.terminationStatus == 0)
    }

    @Test func aReaderThatFallsBehindHoldsUpInputNotMemory() throws {
        let stdio = try StdioDriver.start()
        try stdio.send(line: #"{"rid":0,"op":"subscribe","stream":"flood"}"#)
        // 20 000 posts of 1000 characters in one go (about 40 MB of answers and events), nothing
        // read for a while: stdout's pipe fills, and the process stops reading stdin.
        let text = String(repeating: "x", count: 1000)
        var batch = ""
        for i in 1...20_000 { batch += #"{"rid":\#(i),"op":"post","stream":"flood","text":"\#(text)"}"# + "\n" }
        stdio.writeThenClose(Data(batch.utf8))
        Thread.sleep(forTimeInterval: 1)
        let resident = try String(contentsOfFile: "/proc/\(stdio.process.processIdentifier)/status", encoding: .utf8)
            .split(separator: "\n").first { $0.hasPrefix("VmRSS:") }?.split(separator: " ").dropFirst().first.flatMap { Int($0) }
        #expect(try #require(resident) < 60_000, "RSS \(resident ?? 0) kB while stdout is not read")
        var answers: [Int] = []
        var events: [String] = []
        while let line = try? stdio.nextLine() {
            if let rid = line["rid"] as? Int { answers.append(rid) } else { events.append((line["event"] as! [String: Any])["Type"] as! String) }
        }
        stdio.process.waitUntilExit()
        // Nothing lost, nothing out of order.
        #expect(answers == Array(0...20_000))
        #expect(events.count == 20_001 && events.first == "event" && events.dropFirst().allSatisfy { $0 == "message" })
        #expect(stdio.process.terminationStatus == 0)
    }

    @Test func aClosedStdoutEndsTheProcessCleanly() throws {
        signal(SIGPIPE, SIG_IGN)  // this test's own writes may meet the process already gone
        let stdio = try StdioDriver.start()
        try stdio.output.fileHandleForReading.close()  // nobody reads the answers any more
        for i in 0..<100 { try? stdio.send(line: #"{"rid":\#(i),"op":"post","text":"into the void"}"#) }
        stdio.process.waitUntilExit()
        #expect(stdio.process.terminationReason == .exit)
        #expect(stdio.process.terminationStatus == 0)
    }

    @Test func endOfInputFlushesAndExitsCleanly() throws {
        let stdio = try StdioDriver.start()
        var batch = ""
        for i in 0..<1000 { batch += #"{"rid":\#(i),"op":"post","text":"m\#(i)"}"# + "\n" }
        batch += #"{"rid":"last","op":"get","limit":1}"#  // no newline at the very end
        stdio.writeThenClose(Data(batch.utf8))
        var lines: [[String: Any]] = []
        while let line = try? stdio.nextLine() { lines.append(line) }
        stdio.process.waitUntilExit()
        #expect(lines.count == 1001)
        #expect(lines.map { $0["rid"] as? Int }.prefix(1000).elementsEqual((0..<1000).map { $0 }))
        #expect(((lines.last?["ok"] as? [[String: Any]])?.first?["Text"] as? String) == "m999")
        #expect(stdio.process.terminationStatus == 0)
    }
}
