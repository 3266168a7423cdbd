import NIOCore
import NIOHTTP1

/// Answers a request that HTTP itself rejects with a JSON error before the connection closes:
/// 431 when the head is too large, 400 for anything else malformed. The decoder closes the
/// connection right after.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private var responseInProgress = false

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !responseInProgress {
            let (status, message): (HTTPResponseStatus, String) =
                parserError == .headerOverflow
                ? (.requestHeaderFieldsTooLarge, "Request header fields too large")
                : (.badRequest, "Malformed HTTP request")
            var body = context.channel.allocator.buffer(capacity: 64)
            body.writeError(message)
            let headers = HTTPHeaders([
                ("Content-Type", "application/json"), ("Content-Length", String(body.readableBytes)),
                ("Access-Control-Allow-Origin", "*"), ("Connection", "close"),
            ])
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInProgress = true
        case .end: responseInProgress = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
