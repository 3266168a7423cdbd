import NIOCore
import NIOHTTP1

/// Answers a request that HTTP itself rejects with a JSON error before the connection closes:
/// 431 when the head is too large, 400 for anything else malformed. The decoder closes the
/// connection right after. Malten writes each response whole within one call, so no response is
/// ever half written when a parser error arrives.
final class ProtocolErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
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
        context.close(promise: nil)
    }
}
