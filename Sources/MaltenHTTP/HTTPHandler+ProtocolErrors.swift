import NIOCore
import NIOHTTP1

extension HTTPHandler {
    /// Answers a request that HTTP itself rejects with a JSON error before the connection closes:
    /// 431 when the head is too large, 400 for anything else malformed. Malten writes each response
    /// whole within one call, so no response is half written when a parser error arrives.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let failure =
            parserError == .headerOverflow
            ? HTTPError(.requestHeaderFieldsTooLarge, "Request header fields too large")
            : HTTPError(.badRequest, "Malformed HTTP request")
        state = .idle  // the response closes the connection
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")
        write(failure.response(allocator: context.channel.allocator), for: head, keepAlive: false, context: context)
    }
}
