import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 request on a connection of its own (TLS for an `https://` origin, with the
/// system's trust roots and any `caFile`), its response read part by part.
struct HTTPExchange {
    let origin: ServerOrigin
    let caFile: String?

    /// Sends the request and hands `body` the status and each chunk of the body as it comes, until
    /// the response ends or `body` returns false. A server silent for `idle` (a stalled handshake, a
    /// half-open connection) ends the exchange as a dropped connection.
    func run(
        _ method: HTTPMethod, _ path: String, form: [(String, String)] = [], headers: [(String, String)] = [],
        idle: TimeAmount = .seconds(30), _ body: (_ status: Int, _ chunk: ByteBuffer?) async throws -> Bool
    ) async throws(ClientError) {
        do {
            let tls = try origin.secure ? tlsContext() : nil
            let host = origin.host
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(10))
                .connect(host: host, port: origin.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandlers([IdleStateHandler(readTimeout: idle), CloseWhenIdle()])
                        if let tls {
                            let name = host.contains(":") || host.allSatisfy({ $0.isNumber || $0 == "." }) ? nil : host
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: name))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                    }
                }
            try await channel.executeThenClose { inbound, outbound in
                let encoded = form.map { "\(Self.percentEncoded($0))=\(Self.percentEncoded($1))" }.joined(separator: "&")
                var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
                head.headers.add(name: "Host", value: origin.authority)
                head.headers.add(name: "Connection", value: "close")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                if method == .POST {
                    head.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                    head.headers.add(name: "Content-Length", value: "\(encoded.utf8.count)")
                }
                // One write, flushed once: a server that answers the head and closes (we asked for
                // `Connection: close`) must not find a later part of the request still to be written.
                let content: [HTTPClientRequestPart] = method == .POST ? [.body(.byteBuffer(ByteBuffer(string: encoded)))] : []
                try await outbound.write(contentsOf: [.head(head)] + content + [.end(nil)])
                var status = 0
                for try await part in inbound {
                    switch part {
                    case .head(let response): status = Int(response.status.code)
                    case .body(let chunk): if !(try await body(status, chunk)) { return }
                    case .end: _ = try await body(status, nil); return
                    }
                }
                throw ClientError.unreachable(origin: origin.description, reason: "the connection closed before the answer ended")
            }
        } catch let error as ClientError {
            throw error
        } catch is NIOConnectionError {
            throw .unreachable(origin: origin.description, reason: "no server answers there")
        } catch let error as IOError {
            throw .unreachable(origin: origin.description, reason: error.description)
        } catch {
            throw .unreachable(origin: origin.description, reason: "\(error)")
        }
    }

    /// The whole response: status and body bytes (up to 16 MiB).
    func collect(_ method: HTTPMethod, _ path: String, form: [(String, String)] = []) async throws(ClientError) -> (status: Int, body: [UInt8]) {
        var status = 0
        var bytes: [UInt8] = []
        try await run(method, path, form: form) { code, chunk in
            status = code
            if let chunk { bytes += chunk.readableBytesView }
            return bytes.count < 16 << 20
        }
        return (status, bytes)
    }

    private func tlsContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile { configuration.additionalTrustRoots = [.file(caFile)] }
        return try NIOSSLContext(configuration: configuration)
    }

    /// `application/x-www-form-urlencoded` and query values: everything but unreserved characters escaped.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".unicodeScalars)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(hex[Int(byte >> 4)])
                out.unicodeScalars.append(hex[Int(byte & 15)])
            }
        }
        return out
    }
}

/// Closes a connection on which nothing was read for the idle time.
private final class CloseWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
