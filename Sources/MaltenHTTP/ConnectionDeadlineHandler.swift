import NIOCore
import NIOHTTP1

/// Closes a connection that takes too long: to send a request head (from connect, or after the last
/// response while kept alive), or to finish a request body. A slow or idle client holds only its own
/// socket, never an event loop, and never for longer than these limits.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The limits, in one value.
    struct Limits: Sendable {
        /// From connect to a complete first request head.
        var firstHead: TimeAmount = .seconds(10)
        /// From a response to the next request head on a kept-alive connection.
        var keepAliveIdle: TimeAmount = .seconds(60)
        /// From a request head to the end of its body.
        var body: TimeAmount = .seconds(30)
    }

    private let limits: Limits
    private var deadline: Scheduled<Void>?

    init(limits: Limits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(limits.firstHead, context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(limits.firstHead, context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(limits.body, context: context)
        case .end: disarm()
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(limits.keepAliveIdle, context: context) }
        context.write(data, promise: promise)
    }

    private func arm(_ amount: TimeAmount, context: ChannelHandlerContext) {
        deadline?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: amount) {
            loopBound.value.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}
