import AsyncHTTPClient
import Foundation
import Logging
import MaltenCore
import MaltenHTTP
import MaltenTestClients
import NIOCore
import NIOHTTP1
import Testing

/// One call of the API, independent of the frontend: an operation of the contract's Part 3 and
/// its parameters (which HTTP sends as a query or form, stdio as JSON).
struct Call {
    var op: String
    var parameters: [(String, Any)] = []

    init(_ op: String, _ parameters: [(String, Any)] = []) {
        self.op = op
        self.parameters = parameters
    }
}

/// What a frontend answered: the status HTTP would use (200 for success) and the JSON.
struct Reply {
    var status: Int
    var json: Any

    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
    var error: String? { object["error"] as? String }
}

/// A frontend under test.
protocol FrontendDriver: Sendable {
    func call(_ call: Call) async throws -> Reply
    /// Subscribes to `stream` (after `since`, if given); HTTP over a WebSocket or over SSE.
    func subscribe(_ stream: String, since: String?, webSocket: Bool) async throws -> any EventFeed
    /// Subscribes expecting a refusal before the stream starts (for a WebSocket, before the
    /// upgrade): the status and JSON it got.
    func refusedSubscription(_ stream: String, webSocket: Bool) async throws -> Reply
    func close() async throws
}

/// A live subscription through a frontend: the events it receives, as JSON objects.
protocol EventFeed {
    func next() async throws -> [String: Any]
    /// Ends the subscription (HTTP closes the connection; stdio sends `unsubscribe`).
    func end() async throws
}

/// The ways to subscribe: both HTTP transports, in process and through the served executable, and stdio.
enum Subscriber: String, CaseIterable, CustomTestStringConvertible {
    case serverSentEvents
    case webSocket
    case stdio
    case servedServerSentEvents
    case servedWebSocket

    var testDescription: String { rawValue }
    var webSocket: Bool { self == .webSocket || self == .servedWebSocket }
    var frontend: Frontend {
        switch self {
        case .serverSentEvents, .webSocket: .http
        case .stdio: .stdio
        case .servedServerSentEvents, .servedWebSocket: .served
        }
    }
}

enum Frontend: String, CaseIterable, CustomTestStringConvertible {
    /// The HTTP server in this process.
    case http
    /// The `malten stdio` executable on pipes.
    case stdio
    /// The `malten serve` executable, run as an unprivileged user.
    case served

    var testDescription: String { rawValue }

    func start() async throws -> any FrontendDriver {
        switch self {
        case .http: try await HTTPDriver.start()
        case .stdio: try StdioDriver.start()
        case .served: try await HTTPDriver.serve()
        }
    }
}

/// The HTTP frontend: a real server on a loopback port, AsyncHTTPClient as the client.
struct HTTPDriver: FrontendDriver {
    let port: Int
    let stop: @Sendable () -> Void
    var base: String { "http://127.0.0.1:\(port)" }

    /// The server in this process.
    static func start() async throws -> HTTPDriver {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let server = HTTPServer(store: Store(), configuration: .init(host: "127.0.0.1", port: 0), logger: logger)
        let task = Task { try await server.run() }
        let port = try await server.localAddress.port!
        return HTTPDriver(port: port, stop: { task.cancel() })
    }

    /// The `malten serve` executable as an unprivileged user: none of its user ids is root's. When it
    /// stops, every line it logged is checked against what it may say.
    static func serve() async throws -> HTTPDriver {
        let served = try await ServedProcess()
        let ids = served.userIDs
        #expect(ids.count == 4 && !ids.contains(0), "malten serve runs as \(ids)")
        return HTTPDriver(port: served.port, stop: {
            #expect(forbiddenLogLines(served.logText).isEmpty, "log lines the server may not write")
            served.stop()
        })
    }

    /// What the server may log (README: start-up, shutdown and faults; never message text, names or
    /// query strings): each line is one of its few messages, none of which carries anything a client sent.
    static let allowedLog = ["] the page: http", "] listening on 127.0.0.1:", "] shutting down", "] TLS on: ", "] open-files limit ", "] memory not locked",
        "] Connected to NATS", "] NATS unreachable: refusing posts", "] Cluster member ", "] Not caught up with the cluster"]

    /// The lines of `log` that are none of the server's messages.
    static func forbiddenLogLines(_ log: String) -> [Substring] {
        log.split(separator: "\n").filter { line in !allowedLog.contains { line.contains($0) } }
    }

    func call(_ call: Call) async throws -> Reply {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-_.~")
        let form = call.parameters.map { name, value in
            "\(name)=\(String(describing: value).addingPercentEncoding(withAllowedCharacters: allowed)!)"
        }.joined(separator: "&")
        let (method, path): (HTTPMethod, String) =
            switch call.op {
            case "post": (.POST, "/messages")
            case "get": (.GET, "/messages")
            case "streams": (.GET, "/streams")
            case "create": (.POST, "/streams")
            default: (.GET, "/\(call.op)")
            }
        var request = HTTPClientRequest(url: base + path + (method == .GET && !form.isEmpty ? "?" + form : ""))
        request.method = method
        // A connection per call: the shared client's pool must not hand a test a kept-alive
        // connection to an earlier test's server that had the same port (a write to a closed channel).
        request.headers.add(name: "Connection", value: "close")
        if method == .POST {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 24)
        let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed])
        return Reply(status: Int(response.status.code), json: json)
    }

    func subscribe(_ stream: String, since: String?, webSocket: Bool) async throws -> any EventFeed {
        let path = "/events?stream=\(stream)" + (since.map { "&since=\($0)" } ?? "")
        if webSocket {
            return try #require(try await WebSocketClient.connect(port: port, path: path))
        }
        let client = try await EventStreamClient.connect(port: port, path: path)
        #expect(client.status == 200)
        return client
    }

    func refusedSubscription(_ stream: String, webSocket: Bool) async throws -> Reply {
        let upgrade = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Sec-WebSocket-Version", "13"),
        ]
        let client = try await EventStreamClient.connect(port: port, path: "/events?stream=\(stream)", headers: webSocket ? upgrade : [])
        defer { client.close() }
        let body = try await client.plainBody()
        return Reply(status: client.status, json: (try? JSONSerialization.jsonObject(with: Data(body.utf8))) ?? [:])
    }

    func close() async throws {
        stop()
    }
}

extension WebSocketClient: EventFeed {
    func end() async throws { close() }
}

extension EventStreamClient: EventFeed {
    func next() async throws -> [String: Any] { try await next().data }
    func end() async throws { close() }
}

/// The stdio frontend: the real `malten stdio` executable as a subprocess, on pipes.
final class StdioDriver: FrontendDriver, @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let output = Pipe()
    private var pending = Data()
    private var rid = 0
    /// Event lines that came while something else was read, by subscription number.
    private var events: [Int: [[String: Any]]] = [:]

    /// `malten` sits beside the test bundle in the build folder.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("malten")
    }

    /// Starts `malten stdio` with `arguments`, through `wrapper` (such as `strace`) when given.
    static func start(arguments: [String] = [], wrapper: [String] = []) throws -> StdioDriver {
        let driver = StdioDriver()
        let command = wrapper + [executable.path, "stdio"] + arguments
        driver.process.executableURL = URL(fileURLWithPath: command[0])
        driver.process.arguments = Array(command.dropFirst())
        driver.process.standardInput = driver.input
        driver.process.standardOutput = driver.output
        try driver.process.run()
        return driver
    }

    /// Sends one raw line.
    func send(line: String) throws {
        try input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Writes `data` to stdin from another thread and then closes stdin: the process may stop
    /// reading until its output is read, so the test must be free to read meanwhile.
    func writeThenClose(_ data: Data) {
        let handle = input.fileHandleForWriting
        let box = UncheckedBox(handle)
        Thread.detachNewThread {
            try? box.value.write(contentsOf: data)
            try? box.value.close()
        }
    }

    /// Reads the next line of output as JSON (blocks until it comes).
    func nextLine() throws -> [String: Any] {
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = pending[pending.startIndex..<newline]
                pending = Data(pending[(newline + 1)...])
                return try #require(try JSONSerialization.jsonObject(with: line) as? [String: Any])
            }
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { throw EndOfOutput() }
            pending.append(data)
        }
    }

    struct EndOfOutput: Error {}

    func call(_ call: Call) async throws -> Reply {
        rid += 1
        var request: [String: Any] = ["rid": rid, "op": call.op]
        for (name, value) in call.parameters { request[name] = value }
        let data = try JSONSerialization.data(withJSONObject: request)
        try send(line: String(decoding: data, as: UTF8.self))
        var answer = try nextLine()
        while let sub = answer["sub"] as? Int, let event = answer["event"] as? [String: Any] {
            events[sub, default: []].append(event)
            answer = try nextLine()
        }
        #expect(answer["rid"] as? Int == rid)
        if let ok = answer["ok"] { return Reply(status: 200, json: ok) }
        return Reply(status: answer["status"] as? Int ?? 0, json: ["error": answer["error"] ?? ""])
    }

    func subscribe(_ stream: String, since: String?, webSocket: Bool) async throws -> any EventFeed {
        var parameters: [(String, Any)] = [("stream", stream)]
        if let since { parameters.append(("since", since)) }
        let sub = try #require(try await call(Call("subscribe", parameters)).object["sub"] as? Int)
        return StdioFeed(driver: self, sub: sub)
    }

    func refusedSubscription(_ stream: String, webSocket: Bool) async throws -> Reply {
        try await call(Call("subscribe", [("stream", stream)]))
    }

    /// The next event of subscription `sub`, from what was set aside or from new lines.
    func nextEvent(of sub: Int) throws -> [String: Any] {
        while events[sub, default: []].isEmpty {
            let line = try nextLine()
            guard let number = line["sub"] as? Int, let event = line["event"] as? [String: Any] else {
                Issue.record("an answer nobody asked for: \(line)")
                continue
            }
            events[number, default: []].append(event)
        }
        return events[sub]!.removeFirst()
    }

    /// Ends input, reads (and drops) what output is left, so a process still writing events is
    /// not left blocked on a full pipe, and waits for it to exit.
    func close() async throws {
        try input.fileHandleForWriting.close()
        while !output.fileHandleForReading.availableData.isEmpty {}
        process.waitUntilExit()
    }
}

/// A stdio subscription: its event lines.
struct StdioFeed: EventFeed {
    let driver: StdioDriver
    let sub: Int

    func next() async throws -> [String: Any] { try driver.nextEvent(of: sub) }

    func end() async throws {
        #expect(try await driver.call(Call("unsubscribe", [("sub", sub)])).status == 200)
    }
}

/// Hands a non-Sendable value to a thread that alone uses it from then on.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
