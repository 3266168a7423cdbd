import Testing
import AsyncHTTPClient
import Foundation
import Logging
import MaltenCore
import MaltenHTTP
import MaltenTestSupport
import NIOCore
import NIOHTTP1

/// A real Malten HTTP server on a free loopback port, with its own store and manual clock.
struct TestServer {
    let port: Int
    let store: Store
    let clock: ManualClock
    /// Shuts the server down gracefully, as SIGTERM would.
    let stop: @Sendable () -> Void

    var base: String { "http://127.0.0.1:\(port)" }

    /// Runs `body` against a fresh server, then shuts the server down.
    static func with<T>(
        limits: Limits = Limits(), events: EventSettings = EventSettings(), clientLimits: ClientLimitSettings = ClientLimitSettings(),
        metrics: Bool = true, _ body: (TestServer) async throws -> T
    ) async throws -> T {
        let clock = ManualClock(SystemClock().now())
        let store = Store(limits: limits, shardCount: 4, clock: clock, expiryInterval: nil)
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        var configuration = HTTPServer.Configuration(host: "127.0.0.1", port: 0)
        configuration.events = events
        configuration.clientLimits = clientLimits
        configuration.metrics = metrics
        let server = HTTPServer(store: store, configuration: configuration, logger: logger)
        let task = Task { try await server.run() }
        defer { task.cancel() }
        let port = try await server.localAddress.port!
        return try await body(TestServer(port: port, store: store, clock: clock, stop: { task.cancel() }))
    }

    /// One request with a form body or none; the status and the body as text.
    func request(
        _ method: HTTPMethod, _ path: String, form: String? = nil, body: ByteBuffer? = nil,
        headers: [(String, String)] = []
    ) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        // A connection per request, unless a test asks otherwise: the shared client's pool must
        // not reuse a connection to an earlier test's server that had the same port.
        if !headers.contains(where: { $0.0.lowercased() == "connection" }) { request.headers.add(name: "Connection", value: "close") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let form {
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(ByteBuffer(string: form))
        } else if let body {
            request.body = .bytes(body)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes), response.headers)
    }

    func get(_ path: String) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
        try await request(.GET, path)
    }

    func post(_ path: String, _ form: String) async throws -> (status: Int, body: String, headers: HTTPHeaders) {
        try await request(.POST, path, form: form)
    }
}

/// Parses a JSON body for assertions.
func json(_ text: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try json(text) as? [String: Any])
}

func jsonArray(_ text: String) throws -> [[String: Any]] {
    try #require(try json(text) as? [[String: Any]])
}

/// Percent-encodes a form value.
func form(_ value: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-_.~")
    return value.addingPercentEncoding(withAllowedCharacters: allowed)!
}
