import Foundation
import MaltenCrypto
import MaltenTestClients
import MaltenTestSupport
import Testing

/// The page's end-to-end script (`e2e.js`, WebCrypto) in a real browser: the format's vectors byte
/// for byte, and texts sealed by the Swift client's code opened in the page and the other way round.
@Suite(.serialized, .enabled(if: WebDriver.available || ProcessInfo.processInfo.environment["CI"] != nil))
struct BrowserCryptoTests {
    static let helpers = """
        const E = MaltenE2E;
        const hex = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
        """

    @Test func theFormatsVectorsInThePage() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            try await page.open(server.base + "/")
            let result = try await page.run(Self.helpers + """
                const secret = hex(arguments[0]);
                const stream = await E.sealedStream(secret);
                const sealed = await stream.seal(arguments[1], { nonce: hex(arguments[2]), time: arguments[3] });
                const opened = await stream.open(sealed);
                const link = E.parseLink('#k=' + E.base64urlEncode(secret));
                let refused = '';
                try { await stream.seal('x'.repeat(734)); } catch (e) { refused = e.message; }
                return [E.base64urlEncode(secret), stream.name, sealed, opened.text, opened.time, opened.nonce,
                        link.kind, E.base64urlEncode(link.secret), (await stream.seal('é'.repeat(366) + 'x')).length <= 1024, refused];
                """, ["000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", E2EVectors.text, "a0a1a2a3a4a5a6a7a8a9aaab", E2EVectors.time]) as? [Any]
            let values = try #require(result)
            #expect(values[0] as? String == E2EVectors.secretText)
            #expect(values[1] as? String == E2EVectors.name)
            #expect(values[2] as? String == E2EVectors.message)
            #expect(values[3] as? String == E2EVectors.text)
            #expect(values[4] as? Int == Int(E2EVectors.time))
            #expect(values[5] as? String == Base64URL.encode(E2EVectors.nonce))
            #expect(values[6] as? String == "sealed" && values[7] as? String == values[0] as? String)
            #expect(values[8] as? Bool == true)
            #expect((values[9] as? String)?.contains("733") == true)
        }
    }

    @Test func whatDoesNotOpenInThePageAndMalformedLinks() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            try await page.open(server.base + "/")
            let vector = E2EVectors.message
            var tampered = Array(vector.utf8)
            tampered[20] = tampered[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let texts = [String(decoding: tampered, as: UTF8.self), "plain text", String(vector.dropFirst(3)), "m1.!!!!", "m1.", String(vector.dropLast(2))]
            let result = try await page.run(Self.helpers + """
                const stream = await E.sealedStream(E.base64urlDecode(arguments[3]));
                const other = await E.sealedStream(new Uint8Array(32).fill(7));
                const opened = [];
                for (const text of arguments[0]) opened.push(await stream.open(text));
                const links = [];
                for (const hash of arguments[1]) { try { E.parseLink(hash); links.push('parsed'); } catch (e) { links.push(e.message); } }
                return [opened, await other.open(arguments[2]), links, E.parseLink('#room')];
                """, [texts, ["#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh", "#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+", "#k=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"], vector, E2EVectors.secretText]) as? [Any]
            let values = try #require(result)
            #expect((values[0] as? [Any])?.count == texts.count)
            #expect((values[0] as? [Any])?.allSatisfy { $0 is NSNull } == true, "\(values[0])")
            #expect(values[1] is NSNull)
            let links = try #require(values[2] as? [String])
            #expect(links[0].contains("43 characters") && links[1].contains("base64url") && links[2] == "parsed", "\(links)")
            #expect(values[3] is NSNull)
        }
    }

    /// Swift seals, the page opens; the page seals, Swift opens; and 1024 messages open in the page.
    @Test func swiftAndThePageReadEachOther() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            try await page.open(server.base + "/")
            let stream = SealedStream.random()
            let now = UInt32(Date().timeIntervalSince1970)
            let history = try (0..<1024).map { try stream.seal("from Swift \($0) ✓", time: now) }
            let result = try await page.run(Self.helpers + """
                const stream = await E.sealedStream(E.base64urlDecode(arguments[0]));
                const start = performance.now();
                const opened = await Promise.all(arguments[1].map((text) => stream.open(text)));
                const milliseconds = performance.now() - start;
                return [stream.name, opened.map((m) => m && m.text), milliseconds, await stream.seal('from the page ✓')];
                """, [stream.secret, history]) as? [Any]
            let values = try #require(result)
            #expect(values[0] as? String == stream.name)
            #expect(values[1] as? [String] == (0..<1024).map { "from Swift \($0) ✓" })
            let sealed = try #require(values[3] as? String)
            let opened = try #require(stream.open(sealed))
            #expect(opened.text == "from the page ✓" && opened.time >= now)
            print("1024 sealed messages opened in the page in \(values[2]) ms")
        }
    }

    /// An encrypted stream made in one page, opened from its link in another: both write and read,
    /// the server holds only `m1.` texts (which the Swift code opens), plain text posted by someone
    /// else shows as unreadable, and the secret is in no request.
    @Test func anEncryptedStreamBetweenTwoPages() async throws {
        try await BrowserTests().with(browsers: 2) { server, browsers in
            let (a, b) = (browsers[0], browsers[1])
            let link = try await BrowserTests.create("encrypted", in: a, at: server.base)
            #expect(link.hasPrefix(server.base + "/#k="))
            let stream = try SealedStream(secret: link.dropFirst((server.base + "/#k=").count))
            #expect(server.store.info(stream: stream.name)?.isPrivate == true)
            try await b.open(link)
            try await b.wait("the stream", "return document.querySelector('#stream-name').textContent === \(BrowserTests.quoted(stream.name));")
            #expect(try await b.run("return !document.querySelector('#lock').hidden;") as? Bool == true)
            #expect(try await b.text("#count") == "0 / 733 bytes")
            try await a.click("#share-open")
            try await a.wait("the stream", "return !document.querySelector('#stream').hidden;")
            try await a.type("#text", "secret from A 🔒\u{E007}")
            try await b.wait("A's message", BrowserTests.has("secret from A 🔒"))
            try await b.type("#text", "secret from B\u{E007}")
            try await a.wait("B's message", BrowserTests.has("secret from B"))
            _ = try server.store.post(stream: stream.name, text: "plain text from the API")
            _ = try server.store.post(stream: stream.name, text: try SealedStream.random().seal("another key", time: 1))
            try await a.wait("two unreadable", "return document.querySelectorAll('#messages li.unreadable').length === 2;")
            #expect(try await a.run(BrowserTests.has("plain text from the API")) as? Bool == false)
            #expect(try await a.run("return document.querySelectorAll('#messages li.sealed').length;") as? Int == 2)
            try await a.screenshot(to: ".build/browser-tests/encrypted-stream.png")

            let held = server.store.read(stream: stream.name, .newest(limit: 100, after: 0)).map(\.text)
            #expect(held.count == 4 && held.prefix(2).allSatisfy { $0.hasPrefix("m1.") })
            #expect(held.prefix(2).compactMap { stream.open($0)?.text } == ["secret from A 🔒", "secret from B"])
            for page in [a, b] {
                let urls = try await page.requestedURLs()
                #expect(!urls.isEmpty && urls.allSatisfy { !$0.contains(stream.secret) })
                let kept = try await page.run("return JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.title;")
                #expect((kept as? String)?.contains(stream.secret) == false)
            }
        }
    }

    /// The command-line client and the page on one encrypted stream: what the CLI sends the page
    /// shows, what the page posts the CLI reads.
    @Test func theCommandLineClientAndThePageReadEachOther() async throws {
        try await BrowserTests().with(browsers: 1) { server, browsers in
            let page = browsers[0]
            let made = try await Self.malten(["new", "--server", server.base, "--encrypted"])
            let link = try #require(made.split(separator: "\n").first.map(String.init))
            #expect(try await Self.malten(["send", link, "from the CLI ✓"]).isEmpty)
            try await page.open(link)
            try await page.wait("the CLI's message", BrowserTests.has("from the CLI ✓"))
            try await page.type("#text", "from the page ✓\u{E007}")
            try await page.wait("the page's message", "return document.querySelectorAll('#messages li.sealed').length === 2;")
            #expect(try await Self.malten(["read", link]) == "from the CLI ✓\nfrom the page ✓\n")
        }
    }

    /// Runs the `malten` executable under test to its end; its stdout.
    static func malten(_ arguments: [String]) async throws -> String {
        let process = try ClientProcess(arguments)
        try process.finishInput()
        let (status, out, err) = await process.exit()
        #expect(status == 0, "malten \(arguments): \(err)")
        return out
    }
}
