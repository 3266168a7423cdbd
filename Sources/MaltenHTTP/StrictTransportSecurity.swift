import NIOCore
import NIOHTTP1

/// On a TLS connection, every response head says to come back over HTTPS only (HSTS, one year).
final class StrictTransportSecurity: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart
    static let name = "hsts"

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .head(var head) = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        head.headers.replaceOrAdd(name: "Strict-Transport-Security", value: "max-age=31536000")
        context.write(wrapOutboundOut(.head(head)), promise: promise)
    }
}
