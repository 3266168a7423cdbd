import MaltenCore
import NIOCore
import NIOHTTP1

/// What `GET /events` asks for: the stream, and where to resume.
struct EventRequest {
    var stream: String
    var since: Int64?

    /// `Last-Event-ID` wins over `?since` (EventSource reconnects to the same URL); the stream is
    /// created, unlisted, when it does not exist.
    init(_ request: Request) throws(HTTPError) {
        stream = request.parameters["stream"] ?? StreamName.defaultName
        let position = request.headers.first(name: "last-event-id").flatMap { $0.isEmpty ? nil : $0 }
            ?? request.parameters["since"]
        since = position.flatMap { Int64($0) }
        guard StreamName.isValid(stream) else { throw HTTPError(StoreError.invalidStreamName) }
        guard position == nil || (since ?? -1) >= 0 else {
            throw HTTPError(.badRequest, "Invalid since: expected decimal nanoseconds")
        }
    }
}

extension HTTPHandler {
    /// `GET /events?stream=S` over Server-Sent Events (a WebSocket upgrade never gets here).
    func startEvents(_ request: Request, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let target: EventRequest
        do throws(HTTPError) {
            target = try EventRequest(request)
            // A full or closed pipe is refused with its status before the stream starts.
            if let refusal = router.store.pipeRefusal(forSubscribingTo: target.stream) { throw HTTPError(refusal) }
            // A WebSocket request the limit refused its upgrade is refused here again, with its own
            // wait (a refused take takes nothing); one the upgrader passed on for other reasons
            // (not the first request, a missing key) is served as SSE, as before the limits.
            if let wait = limits?.takeWrite(from: client(of: head, context: context)) {
                courier.metrics.rateLimited += 1
                throw HTTPError.tooManyRequests(retryAfter: wait)
            }
        } catch {
            write(error.response(allocator: context.channel.allocator), for: head, keepAlive: false, context: context)
            return
        }
        // HTTP/1.1 bodies are chunked; the event bytes carry their chunk framing themselves.
        let chunked = head.version.major == 1 && head.version.minor >= 1
        var headers = HTTPHeaders([
            ("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no"),
            ("Access-Control-Allow-Origin", "*"),
        ])
        headers.add(name: chunked ? "Transfer-Encoding" : "Connection", value: chunked ? "chunked" : "close")
        context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        courier.metrics.answered("/events", status: 200)
        stopDeadline()
        let connection = EventConnection(
            channel: context.channel, stream: target.stream, transport: .serverSentEvents(chunked: chunked),
            courier: courier, store: router.store, settings: events)
        state = .streaming(connection)
        connection.start(since: target.since)
    }

    /// Ends the subscription of a connection that streamed events.
    func endEvents() {
        guard case .streaming(let connection) = state else { return }
        state = .idle
        connection.end()
    }
}
