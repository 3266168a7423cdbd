import Foundation
import MaltenCrypto
import MaltenTestClients
import MaltenTestSupport
import Testing

/// Pipes in the page (`e2e.js` on WebCrypto, the pipe view of `app.js`) in Chromium: the format's
/// pipe vectors, a page and the Swift code pairing, two pages through the UI, and the command-line
/// client with a page.
@Suite(.serialized, .enabled(if: WebDriver.available || ProcessInfo.processInfo.environment["CI"] != nil))
struct BrowserPipeTests {
    typealias V = E2EVectors.Pipe

    @Test func thePipeVectorsInThePage() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            try await page.open(server.base + "/")
            var forged = Array(V.hello2.utf8)
            forged[forged.count - 2] = forged[forged.count - 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let result = try await page.run(BrowserCryptoTests.helpers + """
                const [P, d1, q1, d2, q2, nonce, forged] = Array.from(arguments).slice(0, 7).map((h, i) => i === 6 ? h : hex(h));
                const one = await E.pipe(P, { fixedKey: { d: d1, point: q1 } });
                const two = await E.pipe(P, { fixedKey: { d: d2, point: q2 } });
                const a = await one.session(await one.peer(two.hello));
                const b = await two.session(await two.peer(one.hello));
                const sealed = await a.seal(arguments[7], { nonce, time: arguments[8] });
                const opened = await b.open(sealed);
                const other = await E.pipe(new Uint8Array(32).fill(9));
                return [one.name, one.hello, two.hello, a.safetyCode, b.safetyCode, sealed, opened && opened.text,
                        await one.peer(forged), await one.peer(one.hello), await one.peer(other.hello), await one.peer('h1.!!'),
                        E.parseLink('#p=' + E.base64urlEncode(P)).kind];
                """,
                [
                    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f", String(repeating: "11", count: 32), V.point1,
                    String(repeating: "22", count: 32), V.point2, "b0b1b2b3b4b5b6b7b8b9babb", String(decoding: forged, as: UTF8.self),
                    V.text, V.time,
                ]) as? [Any]
            let values = try #require(result)
            #expect(values[0] as? String == V.name)
            #expect(values[1] as? String == V.hello1 && values[2] as? String == V.hello2)
            #expect(values[3] as? String == V.safetyCode && values[4] as? String == V.safetyCode)
            #expect(values[5] as? String == V.message && values[6] as? String == V.text)
            #expect(values[7] is NSNull && values[8] is NSNull && values[9] is NSNull && values[10] is NSNull)
            #expect(values[11] as? String == "pipe")
        }
    }

    /// A party in the page and one in Swift pair over their hellos: the same safety code, and each
    /// opens what the other sealed.
    @Test func thePageAndSwiftPair() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            try await page.open(server.base + "/")
            let pipe = PipeSecret.random()
            let swift = PipeParty(pipe)
            let result = try await page.run(BrowserCryptoTests.helpers + """
                const party = await E.pipe(E.base64urlDecode(arguments[0]));
                globalThis.testSession = await party.session(await party.peer(arguments[1]));
                return [party.hello, testSession.safetyCode, await testSession.seal('from the page ✓'), party.name];
                """, [pipe.secret, swift.hello]) as? [Any]
            let values = try #require(result)
            let hello = try #require(values[0] as? String)
            let session = swift.session(with: try #require(swift.peer(inHello: hello)))
            #expect(values[1] as? String == session.safetyCode && values[3] as? String == pipe.name)
            #expect(session.open(try #require(values[2] as? String))?.text == "from the page ✓")
            let opened = try await page.run(
                "return (await testSession.open(arguments[0]))?.text ?? null;", [try session.seal("from Swift ✓", time: 7)]) as? String
            #expect(opened == "from Swift ✓")
        }
    }

    /// Two pages through the UI: one makes the pipe and waits, a forged hello is ignored, the other
    /// opens the link; both show the same safety code and chat; a third page is turned away; when one
    /// leaves, the other says the pipe is closed, and the server holds nothing of it.
    @Test func twoPagesThroughAPipe() async throws {
        try await BrowserTests().with(browsers: 3) { server, browsers in
            let (a, b, c) = (browsers[0], browsers[1], browsers[2])
            let link = try await BrowserTests.create("pipe", in: a, at: server.base)
            #expect(link.hasPrefix(server.base + "/#p="))
            let pipe = try PipeSecret(secret: link.dropFirst((server.base + "/#p=").count))
            #expect(server.store.info(stream: pipe.name)?.isPipe == true)
            try await a.wait("waiting", "return /waiting/i.test(document.querySelector('#pipe-status').textContent);")
            // A hello from someone without the secret (a valid point, another pipe's MAC) comes first.
            _ = try server.store.post(stream: pipe.name, text: PipeParty(PipeSecret.random()).hello)
            try await b.open(link)
            let safety = "return document.querySelector('#safety').textContent;"
            try await a.wait("a's safety code", "return /^\\d{4} \\d{4}$/.test(document.querySelector('#safety').textContent);")
            try await b.wait("b's safety code", "return /^\\d{4} \\d{4}$/.test(document.querySelector('#safety').textContent);")
            let code = try #require(try await a.run(safety) as? String)
            #expect(try await b.run(safety) as? String == code)
            try await a.type("#text", "a secret for B 🔑\u{E007}")
            try await b.wait("A's message", "return [...document.querySelectorAll('#messages li.sealed')].some(li => li.textContent.includes('a secret for B 🔑'));")
            try await b.type("#text", "got it\u{E007}")
            try await a.wait("B's message", "return [...document.querySelectorAll('#messages li.sealed')].some(li => li.textContent.includes('got it'));")
            #expect(try await a.run("return document.querySelectorAll('#messages li.mine').length;") as? Int == 1)
            #expect(try await a.run("return document.querySelectorAll('#messages li.sealed').length;") as? Int == 1)
            let held = server.store.read(stream: pipe.name, .newest(limit: 64, after: 0)).map(\.text)
            #expect(held.filter { $0.hasPrefix("m1.") }.count == 2 && held.allSatisfy { $0.hasPrefix("h1.") || $0.hasPrefix("m1.") })

            try await c.open(link)
            try await c.wait("turned away", "return /two people/i.test(document.querySelector('#pipe-status').textContent + document.body.textContent);")

            try await b.open(server.base + "/#")  // b leaves: the pipe ends for both
            try await a.wait("closed", "return /closed/i.test(document.querySelector('#pipe-status').textContent);")
            #expect(try await a.run(BrowserTests.has("got it")) as? Bool == true)  // what was said stays on screen
            #expect(server.store.isClosedPipe(stream: pipe.name) && server.store.info(stream: pipe.name) == nil)
            for page in [a, b, c] {
                #expect(try await page.requestedURLs().allSatisfy { !$0.contains(pipe.secret) })
                let kept = try await page.run("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.title;")
                #expect((kept as? String)?.contains(pipe.secret) == false)
            }
            try await a.screenshot(to: ".build/browser-tests/pipe.png")
        }
    }

    /// `malten pipe` and a page: the client makes the pipe, the page joins by its link; the same
    /// safety code, lines both ways, and the client's leaving closes the page's pipe.
    @Test func theCommandLineClientAndAPage() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            let cli = try ClientProcess(["pipe", "--server", server.base])
            let link = try await cli.line(startingWith: "http://")
            try await page.open(link)
            let code = try await cli.line(startingWith: "safety code ")
            try await page.wait("the safety code", "return document.querySelector('#safety').textContent === \(BrowserTests.quoted(String(code.dropFirst("safety code ".count))));")
            try cli.send(["from the terminal ✓"])
            try await page.wait("the CLI's line", "return [...document.querySelectorAll('#messages li.sealed')].some(li => li.textContent.includes('from the terminal ✓'));")
            try await page.type("#text", "from the page ✓\u{E007}")
            #expect(await cli.nextLine() == "from the page ✓")
            try cli.finishInput()  // everything is sent: the client leaves, which ends the pipe
            let (status, rest, err) = await cli.exit()
            #expect(status == 0 && rest.isEmpty, "\(err)")
            try await page.wait("closed", "return /closed/i.test(document.querySelector('#pipe-status').textContent);")
        }
    }
}
