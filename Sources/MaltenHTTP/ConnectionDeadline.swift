import NIOCore

/// Closes a connection that takes too long: to send a request head (from connect, or after the last
/// response while kept alive), or to finish a request body. A slow or idle client holds only its own
/// socket, never an event loop, and never for longer than these limits.
///
/// One timer per connection wakes at least every `tick` (the smallest limit) and at the deadline.
/// Every deadline lies at least `tick` after the moment it is set, and the timer fires at most `tick`
/// after it was scheduled, so it never fires after a deadline it should enforce. Moving the deadline
/// per request is a field write: no timer is scheduled or cancelled per request. Used by
/// `HTTPHandler` on the connection's event loop.
final class ConnectionDeadline {
    /// The limits, in one value.
    struct Limits: Sendable {
        /// From connect to a complete first request head.
        var firstHead: TimeAmount = .seconds(10)
        /// From a response to the next request head on a kept-alive connection.
        var keepAliveIdle: TimeAmount = .seconds(60)
        /// From a request head to the end of its body.
        var body: TimeAmount = .seconds(30)

        var tick: TimeAmount { min(firstHead, keepAliveIdle, body) }
    }

    private let limits: Limits
    /// When the connection must have made its next step.
    private var deadline = NIODeadline.distantFuture
    private var timer: Scheduled<Void>?

    init(limits: Limits) {
        self.limits = limits
    }

    /// The connection is open: its first request head is due.
    func connected(context: ChannelHandlerContext) {
        guard timer == nil else { return }
        deadline = context.eventLoop.now + limits.firstHead
        schedule(context: context)
    }

    /// A request head arrived: its body is due.
    func requestBegan(context: ChannelHandlerContext) {
        deadline = context.eventLoop.now + limits.body
    }

    /// A request ended and was answered in the same call: the next head is due within the keep-alive time.
    func requestEnded(context: ChannelHandlerContext) {
        deadline = context.eventLoop.now + limits.keepAliveIdle
    }

    func stop() {
        timer?.cancel()
        timer = nil
    }

    private func schedule(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: min(deadline, context.eventLoop.now + limits.tick)) {
            let (this, context) = loopBound.value
            this.timer = nil
            if context.eventLoop.now >= this.deadline {
                context.close(promise: nil)
            } else {
                this.schedule(context: context)
            }
        }
    }
}
