@testable import MaltenHTTP
import MaltenCore
import MaltenTestSupport
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

/// The connection pipeline on NIO's `EmbeddedChannel`: raw bytes in, raw bytes out, time by hand.
@Suite struct PipelineTests {
    let channel: EmbeddedChannel
    let loop: EmbeddedEventLoop
    let store = Store(shardCount: 2, clock: ManualClock(), expiryInterval: nil)

    let allowance: BodyAllowance

    init() throws {
        loop = EmbeddedEventLoop()
        allowance = BodyAllowance(eventLoop: loop, limit: 1500)
        channel = try Self.connection(loop: loop, store: store, allowance: allowance)
    }

    /// A connection's pipeline as the server builds it, on `loop`.
    static func connection(loop: EmbeddedEventLoop, store: Store, allowance: BodyAllowance) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(loop: loop)
        var configuration = HTTPServer.Configuration(maxBodyBytes: 1024, maxHeadBytes: 2048)
        configuration.deadlines = .init(firstHead: .seconds(10), keepAliveIdle: .seconds(60), body: .seconds(30))
        let courier = EventLoopCourier(eventLoop: loop)
        try HTTPServer.configure(
            channel.pipeline.syncOperations, router: Router(store: store), configuration: configuration, allowance: allowance,
            courier: courier)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// Sends raw bytes and returns everything the server wrote back.
    func exchange(_ request: String) throws -> String {
        try channel.writeInbound(ByteBuffer(string: request))
        return try output()
    }

    func output() throws -> String {
        loop.run()  // the pipelining handler hands on buffered requests in tasks of its own
        var text = ""
        while let chunk = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: chunk) }
        return text
    }

    /// The status lines in order (a body has no line end of its own, so the next response follows it directly).
    func statusLines(_ text: String) -> [String] {
        text.matches(of: /HTTP\/1\.1 \d{3} [A-Za-z ]+?\r\n/).map { String($0.output.dropLast()) }  // "\r\n" is one Character
    }

    @Test func pipelinedRequestsAnswerInOrderOnOneConnection() throws {
        let post = "stream=p&text=one"
        let requests =
            "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(post.utf8.count)\r\n\r\n\(post)"
            + "GET /messages?stream=p HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
            + "GET /streams HTTP/1.1\r\nHost: x\r\n\r\n"
        let text = try exchange(requests)
        #expect(statusLines(text) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK"])
        #expect(text.contains("\"Text\":\"one\""))
        #expect(channel.isActive)
    }

    @Test func oversizedHeadGets431AndTheConnectionCloses() throws {
        let text = try exchange("GET /streams HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 4096))\r\n\r\n")
        #expect(statusLines(text) == ["HTTP/1.1 431 Request Header Fields Too Large"])
        #expect(text.hasSuffix("{\"error\":\"Request header fields too large\"}"))
        #expect(!channel.isActive)
    }

    @Test func malformedRequestGets400() throws {
        let text = try exchange("NOT HTTP AT ALL\r\n\r\n")
        #expect(statusLines(text) == ["HTTP/1.1 400 Bad Request"])
        #expect(text.contains("\"error\""))
        #expect(!channel.isActive)
    }

    @Test func declaredOversizedBodyIsRefusedBeforeItIsRead() throws {
        let text = try exchange("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\ntext=")
        #expect(statusLines(text) == ["HTTP/1.1 413 Payload Too Large"])
        #expect(text.contains("Connection: close"))
        // The rest of the body is dropped as it comes, never stored.
        try channel.writeInbound(ByteBuffer(repeating: UInt8(ascii: "a"), count: 100_000))
        #expect(store.stats().messages == 0)
    }

    @Test func chunkedBodyOverTheLimitIsRefused() throws {
        let chunk = String(repeating: "a", count: 800)
        let head = "POST /messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        let body = "320\r\ntext=\(chunk.dropFirst(5))\r\n320\r\n\(chunk)\r\n0\r\n\r\n"
        let text = try exchange(head + body)
        #expect(statusLines(text) == ["HTTP/1.1 413 Payload Too Large"])
        #expect(store.stats().messages == 0)
        #expect(!channel.isActive)
    }

    @Test func slowHeadIsCutOffAtItsDeadline() throws {
        try channel.writeInbound(ByteBuffer(string: "GET /streams HTTP/1.1\r\nHo"))
        loop.advanceTime(by: .seconds(9))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func idleKeepAliveConnectionClosesAfterItsLimit() throws {
        #expect(statusLines(try exchange("GET /streams HTTP/1.1\r\nHost: x\r\n\r\n")) == ["HTTP/1.1 200 OK"])
        loop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        #expect(statusLines(try exchange("GET /streams HTTP/1.1\r\nHost: x\r\n\r\n")) == ["HTTP/1.1 200 OK"])
        loop.advanceTime(by: .seconds(59))
        #expect(channel.isActive)
        loop.advanceTime(by: .seconds(1))
        #expect(!channel.isActive)
    }

    @Test func slowBodyIsCutOffAtItsDeadline() throws {
        try channel.writeInbound(ByteBuffer(string: "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\ntext="))
        loop.advanceTime(by: .seconds(30))
        #expect(!channel.isActive)
        #expect(store.stats().messages == 0)
    }

    @Test func bodiesInFlightShareOneBoundPerLoop() throws {
        // Two connections on one loop, allowance 1500 bytes: the first holds 1000 unfinished bytes.
        let other = try Self.connection(loop: loop, store: store, allowance: allowance)
        let head = "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1005\r\n\r\n"
        let part = "text=" + String(repeating: "a", count: 995)
        try channel.writeInbound(ByteBuffer(string: head + part))
        #expect(allowance.inFlight == 1000)
        try other.writeInbound(ByteBuffer(string: head + part))
        loop.run()
        var refused = ""
        while let chunk = try other.readOutbound(as: ByteBuffer.self) { refused += String(buffer: chunk) }
        #expect(statusLines(refused) == ["HTTP/1.1 503 Service Unavailable"])
        #expect(allowance.inFlight == 1000)
        // The first body completes and is stored; its bytes go back.
        #expect(statusLines(try exchange("aaaaa")) == ["HTTP/1.1 200 OK"])
        #expect(allowance.inFlight == 0)
        #expect(store.stats().messages == 1)
        // A connection that dies mid-body gives its bytes back too.
        let third = try Self.connection(loop: loop, store: store, allowance: allowance)
        try third.writeInbound(ByteBuffer(string: head + part))
        #expect(allowance.inFlight == 1000)
        _ = try? third.close().wait()
        #expect(allowance.inFlight == 0)
    }

    @Test func connectionCloseIsHonoured() throws {
        let text = try exchange("GET /streams HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(text.contains("Connection: close"))
        #expect(!channel.isActive)
    }

    @Test func http10KeepAlive() throws {
        let text = try exchange("GET /streams HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(statusLines(text).isEmpty)  // HTTP/1.0 status line
        #expect(text.hasPrefix("HTTP/1.0 200 OK"))
        #expect(text.contains("Connection: keep-alive"))
        #expect(channel.isActive)
    }
}
