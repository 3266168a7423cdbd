import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// A W3C WebDriver client (over AsyncHTTPClient) for Debian's headless Chromium through
/// `chromedriver`, with Chromium's log endpoints for console messages and the network log.
struct WebDriver {
    let base: String
    let process: Process

    static let chromium = "/usr/bin/chromium"
    static let chromedriver = "/usr/bin/chromedriver"
    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: chromium) && FileManager.default.isExecutableFile(atPath: chromedriver)
    }

    /// Starts `chromedriver` on a free port and waits until it answers.
    static func start() async throws -> WebDriver {
        let port = Int.random(in: 20_000..<30_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromedriver)
        process.arguments = ["--port=\(port)"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let driver = WebDriver(base: "http://127.0.0.1:\(port)", process: process)
        for _ in 0..<100 {
            if (try? await driver.command(.GET, "/status")) != nil { return driver }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.terminate()
        throw Failure(message: "chromedriver did not start")
    }

    /// Ends `chromedriver` (and the browsers it started): SIGTERM, then SIGKILL after 5 s.
    func stop() async {
        process.terminate()
        for _ in 0..<50 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    struct Failure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Sends a command; returns its `value`. A WebDriver error throws with its message.
    @discardableResult
    func command(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil) async throws -> Any {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let json = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any] ?? [:]
        let value = json["value"] ?? NSNull()
        if response.status.code >= 400 {
            let error = (value as? [String: Any])?["error"] as? String ?? "error"
            let message = (value as? [String: Any])?["message"] as? String ?? ""
            throw Failure(message: "\(error): \(message.prefix(300))")
        }
        return value
    }

    /// A new headless browser with console and network logging on, and `arguments` for Chromium.
    func newSession(arguments: [String] = []) async throws -> Browser {
        let capabilities: [String: Any] = [
            "capabilities": [
                "alwaysMatch": [
                    "browserName": "chrome",
                    "goog:chromeOptions": [
                        "binary": Self.chromium,
                        "args": [
                            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                            "--window-size=420,800", "--no-first-run", "--disable-background-networking",
                            "--disable-component-update", "--disable-sync", "--disable-default-apps",
                        ] + arguments,
                    ],
                    "goog:loggingPrefs": ["browser": "ALL", "performance": "ALL"],
                ] as [String: Any]
            ]
        ]
        let value = try await command(.POST, "/session", capabilities) as? [String: Any]
        let id = try #require(value?["sessionId"] as? String)
        return Browser(driver: self, session: "/session/\(id)")
    }
}

/// One browser session.
struct Browser {
    let driver: WebDriver
    let session: String

    func open(_ url: String) async throws {
        try await driver.command(.POST, session + "/url", ["url": url])
    }

    /// Runs `script` (a function body) in the page and returns its result.
    @discardableResult
    func run(_ script: String, _ arguments: [Any] = []) async throws -> Any {
        try await driver.command(.POST, session + "/execute/sync", ["script": script, "args": arguments])
    }

    /// Waits up to `seconds` for `script` to return true.
    func wait(_ what: String, seconds: Double = 15, _ script: String) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while ContinuousClock.now < deadline {
            if (try? await run(script)) as? Bool == true { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw WebDriver.Failure(message: "timed out waiting for \(what)")
    }

    func element(_ selector: String) async throws -> String {
        let value = try await driver.command(.POST, session + "/element", ["using": "css selector", "value": selector])
        return try #require((value as? [String: Any])?.values.first as? String)
    }

    func click(_ selector: String) async throws {
        try await driver.command(.POST, session + "/element/\(try await element(selector))/click", [:])
    }

    /// Types into an element as a user would (`\u{E007}` is Enter).
    func type(_ selector: String, _ text: String) async throws {
        try await driver.command(.POST, session + "/element/\(try await element(selector))/value", ["text": text])
    }

    func text(_ selector: String) async throws -> String {
        try await run("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", [selector]) as? String ?? ""
    }

    /// The text of an open alert, if one is open.
    func alert() async -> String? {
        try? await driver.command(.GET, session + "/alert/text") as? String
    }

    /// Chromium's log entries of `type` (`browser`: the console; `performance`: DevTools events).
    func log(_ type: String) async throws -> [[String: Any]] {
        try await driver.command(.POST, session + "/se/log", ["type": type]) as? [[String: Any]] ?? []
    }

    /// Every URL the page asked for since the last call, from the network log.
    func requestedURLs() async throws -> [String] {
        try await log("performance").compactMap { entry in
            guard let message = entry["message"] as? String,
                let event = try? JSONSerialization.jsonObject(with: Data(message.utf8)) as? [String: Any],
                let inner = event["message"] as? [String: Any], inner["method"] as? String == "Network.requestWillBeSent",
                let request = (inner["params"] as? [String: Any])?["request"] as? [String: Any]
            else { return nil }
            return request["url"] as? String
        }
    }

    func screenshot(to path: String) async throws {
        let base64 = try #require(try await driver.command(.GET, session + "/screenshot") as? String)
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(base64Encoded: base64)!.write(to: url)
    }

    func close() async {
        _ = try? await driver.command(.DELETE, session)
    }
}
