import AsyncHTTPClient
import Foundation
import Logging
import MaltenCore
import MaltenHTTP
import NIOCore
import NIOHTTP1
import Testing

/// The web page in a real browser: Debian's headless Chromium, driven through `chromedriver`.
/// `make test` installs both; on a machine without them these tests are skipped, but never in CI.
@Suite(.serialized, .enabled(if: WebDriver.available || ProcessInfo.processInfo.environment["CI"] != nil))
struct BrowserTests {
    /// A server that can be stopped and started again on the same port with the same store.
    final class PageServer: @unchecked Sendable {
        let store = Store(limits: Limits(), shardCount: 4)
        private(set) var port = 0
        private var task: Task<Void, any Error>?

        var base: String { "http://127.0.0.1:\(port)" }

        func start() async throws {
            var logger = Logger(label: "browser-test")
            logger.logLevel = .warning
            let server = HTTPServer(store: store, configuration: .init(host: "127.0.0.1", port: port), logger: logger)
            task = Task { try await server.run() }
            port = try await server.localAddress.port!
        }

        func stop() async {
            task?.cancel()
            _ = await task?.result
        }
    }

    func with(browsers count: Int, _ body: (PageServer, [Browser]) async throws -> Void) async throws {
        let server = PageServer()
        try await server.start()
        let driver = try await WebDriver.start()
        var browsers: [Browser] = []
        do {
            for _ in 0..<count { browsers.append(try await driver.newSession()) }
            try await body(server, browsers)
        } catch {
            for browser in browsers { await browser.close() }
            await driver.stop()
            await server.stop()
            throw error
        }
        for browser in browsers { await browser.close() }
        await driver.stop()
        await server.stop()
    }

    /// Makes a stream of `kind` (public, private, encrypted) through the page's form; its share link.
    static func create(_ kind: String, in page: Browser, at base: String) async throws -> String {
        try await page.open(base + "/")
        try await page.click("#create input[name=kind][value=\(kind)]")
        try await page.click("#create button")
        try await page.wait("the share link", "return !document.querySelector('#share').hidden;")
        return try #require(try await page.run("return document.querySelector('#share-link').value;") as? String)
    }

    static func has(_ text: String) -> String {
        "return [...document.querySelectorAll('#messages li')].some(li => li.textContent.includes(\(quoted(text))));"
    }

    static func quoted(_ text: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast().description
    }

    @Test func twoSessionsChatBothWaysAndSeeEachOther() async throws {
        try await with(browsers: 2) { server, browsers in
            let (a, b) = (browsers[0], browsers[1])
            try await a.open(server.base + "/#room")
            try await b.open(server.base + "/#room")
            try await a.wait("two here", "return document.querySelector('#observers').textContent === '2 here';")
            try await a.type("#text", "hello from A\u{E007}")
            try await b.wait("A's message", Self.has("hello from A"))
            try await b.type("#text", "and hello from B\u{E007}")
            try await a.wait("B's message", Self.has("and hello from B"))
            #expect(try await a.text("#count") == "0 / 1024")
            let path = ".build/browser-tests/stream-view.png"
            try await a.screenshot(to: path)
            print("screenshot of the stream view: \(FileManager.default.currentDirectoryPath)/\(path)")
            await b.close()
            try await a.wait("B gone", "return document.querySelector('#observers').textContent === '1 here';")
        }
    }

    @Test func hostileTextRendersAsText() async throws {
        try await with(browsers: 1) { server, browsers in
            let page = browsers[0]
            for text in ["<img src=x onerror=alert(1)>", "<script>alert(2)</script>", "see https://example.com/a?b=1 or javascript:alert(3)"] {
                _ = try server.store.post(stream: "xss", text: text)
            }
            try await page.open(server.base + "/#xss")
            try await page.wait("three messages", "return document.querySelectorAll('#messages li').length === 3;")
            #expect(try await page.run("return document.querySelectorAll('#messages img, #messages script').length;") as? Int == 0)
            try await page.wait("the tags as text", Self.has("<img src=x onerror=alert(1)>"))
            let links = try await page.run("return [...document.querySelectorAll('#messages a')].map(a => [a.href, a.rel]);") as? [[String]]
            #expect(links == [["https://example.com/a?b=1", "noopener noreferrer nofollow"]])
            #expect(await page.alert() == nil)
        }
    }

    @Test func strictHeadersNoViolationsAndNoRequestElsewhere() async throws {
        try await with(browsers: 1) { server, browsers in
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: server.base + "/"), timeout: .seconds(10))
            let csp = try #require(response.headers.first(name: "Content-Security-Policy"))
            #expect(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe"))
            #expect(response.headers.first(name: "X-Content-Type-Options") == "nosniff")
            #expect(response.headers.first(name: "Referrer-Policy") == "no-referrer")
            #expect(response.headers.first(name: "X-Frame-Options") == "DENY")
            let etag = try #require(response.headers.first(name: "ETag"))
            var again = HTTPClientRequest(url: server.base + "/app.js")
            again.headers.add(name: "If-None-Match", value: etag)
            #expect(try await HTTPClient.shared.execute(again, timeout: .seconds(10)).status == .ok)  // another file's tag
            var same = HTTPClientRequest(url: server.base + "/")
            same.headers.add(name: "If-None-Match", value: etag)
            #expect(try await HTTPClient.shared.execute(same, timeout: .seconds(10)).status == .notModified)

            let page = browsers[0]
            _ = try server.store.post(stream: "csp", text: "hello")
            try await page.open(server.base + "/#csp")
            try await page.wait("the message", Self.has("hello"))
            try await page.open(server.base + "/")
            try await page.wait("the explore view", "return !document.querySelector('#explore').hidden;")
            let problems = try await page.log("browser").filter { entry in
                let message = entry["message"] as? String ?? ""
                return message.contains("Content Security Policy") || entry["level"] as? String == "SEVERE"
            }
            #expect(problems.isEmpty, "\(problems)")
            let urls = try await page.requestedURLs()
            #expect(urls.contains(server.base + "/app.js") && urls.contains { $0.hasPrefix(server.base + "/events") })
            #expect(urls.allSatisfy { $0.hasPrefix(server.base + "/") }, "\(urls.filter { !$0.hasPrefix(server.base + "/") })")
        }
    }

    @Test func aPrivateStreamsShareLinkOpensItElsewhere() async throws {
        try await with(browsers: 2) { server, browsers in
            let (a, b) = (browsers[0], browsers[1])
            let link = try await Self.create("private", in: a, at: server.base)
            #expect(link.hasPrefix(server.base + "/#"))
            let name = String(link.dropFirst((server.base + "/#").count))
            #expect(server.store.info(stream: name)?.isPrivate == true)
            #expect(server.store.listedStreams().isEmpty)
            try await b.open(link)
            try await b.wait("the stream", "return document.querySelector('#stream-name').textContent === \(Self.quoted(name));")
            try await a.click("#share-open")
            try await a.wait("the stream", "return !document.querySelector('#stream').hidden;")
            try await a.type("#text", "only for you\u{E007}")
            try await b.wait("the message", Self.has("only for you"))
        }
    }

    @Test func aRestartedServerIsResumedWithoutLossOrRepeat() async throws {
        try await with(browsers: 1) { server, browsers in
            let page = browsers[0]
            _ = try server.store.post(stream: "resume", text: "before")
            try await page.open(server.base + "/#resume")
            try await page.wait("live", "return document.querySelector('#status').textContent === 'Live';")
            _ = try server.store.post(stream: "resume", text: "live one")
            try await page.wait("the live message", Self.has("live one"))
            await server.stop()
            try await page.wait("the drop noticed", "return document.querySelector('#status').textContent !== 'Live';")
            _ = try server.store.post(stream: "resume", text: "while away")
            try await server.start()
            try await page.wait("the missed message", seconds: 20, Self.has("while away"))
            _ = try server.store.post(stream: "resume", text: "after")
            try await page.wait("the next one", Self.has("after"))
            let texts = try await page.run("return [...document.querySelectorAll('#messages li')].map(li => li.lastChild.textContent);") as? [String]
            #expect(texts == ["before", "live one", "while away", "after"])
        }
    }
}
