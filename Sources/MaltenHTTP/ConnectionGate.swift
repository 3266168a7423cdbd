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
        if context.channel.isActive { admit(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        admit(context: context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if open { metrics.openConnections -= 1 }
        if let counted { limits?.disconnect(counted) }
        (open, counted) = (false, nil)
        context.fireChannelInactive()
    }

    private func admit(context: ChannelHandlerContext) {
        guard !open else { return }
        open = true
        metrics.openConnections += 1
        guard let limits, limits.settings.maxConnectionsPerClient != nil,
            let peer = context.channel.remoteAddress.flatMap(ClientAddress.init)
        else { return }
        if limits.connect(peer) {
            counted = peer
        } else {
            context.close(promise: nil)
        }
    }
}
