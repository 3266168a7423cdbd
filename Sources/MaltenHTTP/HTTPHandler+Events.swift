import MaltenCore
import NIOCore
import NIOHTTP1

extension HTTPHandler {
    /// `GET /events?stream=S`: Server-Sent Events. `Last-Event-ID` (or `?since`; the header wins)
    /// resumes after that position; the stream is created, unlisted, if it does not exist.
    func startEvents(_ request: Request, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let stream = request.parameters["stream"] ?? StreamName.defaultName
        let position = head.headers.first(name: "last-event-id").flatMap { $0.isEmpty ? nil : $0 } ?? request.parameters["since"]
        let since = position.flatMap { Int64($0) }
        guard StreamName.isValid(stream) else {
            write(HTTPError(StoreError.invalidStreamName).response(allocator: context.channel.allocator), for: head, keepAlive: false, context: context)
            return
        }
        guard position == nil || (since ?? -1) >= 0 else {
            write(HTTPError(.badRequest, "Invalid since: expected decimal nanoseconds").response(allocator: context.channel.allocator), for: head, keepAlive: false, context: context)
            return
        }
        let headers = HTTPHeaders([
            ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
            ("Access-Control-Allow-Origin", "*"),
        ])
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        stopDeadline()
        let subscriber = EventStreamSubscriber(
            channel: context.channel, stream: stream, queueLimit: events.subscriberQueue, heartbeat: events.heartbeat)
        do {
            let subscription = try router.store.subscribe(stream: stream, since: since, subscriber: subscriber)
            state = .streaming(subscription, subscriber)
        } catch {
            subscriber.stop()
            context.close(promise: nil)
        }
    }

    /// Ends the subscription of a connection that streamed events.
    func endEvents() {
        guard case .streaming(let subscription, let subscriber) = state else { return }
        state = .idle
        subscriber.stop()
        router.store.unsubscribe(subscription)
    }
}
