import NIOCore

/// The first handler of every connection: counts it among the loop's open connections and, when
/// connections per client are limited, closes it at once if its address already has all it may
/// open (before TLS or a request).
final class ConnectionGate: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    private let limits: ClientLimits?
    private let metrics: LoopMetrics
    private var open = false
    private var counted: ClientAddress?

    init(limits: ClientLimits?, metrics: LoopMetrics) {
        self.limits = limits
        self.metrics = metrics
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive, !admit(context: context) { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        // A refused connection is closed once the handlers after this one saw it start, so each
        // sees the usual order: active, then inactive.
        let admitted = admit(context: context)
        context.fireChannelActive()
        if !admitted { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if open { metrics.openConnections -= 1 }
        if let counted { limits?.disconnect(counted) }
        (open, counted) = (false, nil)
        context.fireChannelInactive()
    }

    /// Counts the connection; false when its client has all it may open.
    private func admit(context: ChannelHandlerContext) -> Bool {
        guard !open else { return true }
        open = true
        metrics.openConnections += 1
        guard let limits, limits.settings.maxConnectionsPerClient != nil,
            let peer = context.channel.remoteAddress.flatMap(ClientAddress.init)
        else { return true }
        guard limits.connect(peer) else { return false }
        counted = peer
        return true
    }
}
