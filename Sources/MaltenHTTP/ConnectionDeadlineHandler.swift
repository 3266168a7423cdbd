import NIOCore
import NIOHTTP1

/// Closes a connection that takes too long: to send a request head (from connect, or after the last
/// response while kept alive), or to finish a request body. A slow or idle client holds only its own
/// socket, never an event loop, and never for longer than these limits.
///
/// Inbound only: Malten answers a request within the call that delivers its end, so the
/// request's end is also where the keep-alive wait begins.
final class ConnectionDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

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
    /// When the connection must have made its next step.
    private var deadline = NIODeadline.distantFuture
    /// One timer per connection that wakes at least every `tick` and at the deadline. Moving the
    /// deadline is a field write: no timer is scheduled or cancelled per request.
    private var timer: Scheduled<Void>?
    private var tick: TimeAmount { min(limits.firstHead, limits.keepAliveIdle, limits.body) }

    init(limits: Limits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        stop()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: deadline = context.eventLoop.now + limits.body
        case .end: deadline = context.eventLoop.now + limits.keepAliveIdle
        case .body: break
        }
        context.fireChannelRead(data)
    }

    private func start(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        deadline = context.eventLoop.now + limits.firstHead
        schedule(context: context)
    }

    /// Every deadline lies at least `tick` after the moment it is set, and the timer fires at most
    /// `tick` after it was scheduled, so it never fires after a deadline it should enforce.
    private func schedule(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: min(deadline, context.eventLoop.now + tick)) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            if context.eventLoop.now >= handler.deadline {
                context.close(promise: nil)
            } else {
                handler.schedule(context: context)
            }
        }
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }
}
