import MaltenCore
import MaltenJSON
import NIOCore
import NIOHTTP1

/// What a route answers: a status and a body that is already encoded.
struct Response: Sendable {
    var status: HTTPResponseStatus
    var body: ByteBuffer
    var contentType = "application/json"
    /// Extra headers for this response (`Allow` on a 405).
    var headers: [(String, String)] = []

    /// A 200 with a JSON body.
    static func json(_ body: ByteBuffer) -> Response {
        Response(status: .ok, body: body)
    }

    /// 204 for a CORS preflight: any origin, Malten's methods, the headers its clients send.
    static let preflight = Response(
        status: .noContent, body: ByteBuffer(),
        headers: [
            ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
            ("Access-Control-Allow-Headers", "Content-Type, Last-Event-ID"),
            ("Access-Control-Max-Age", "86400"),
        ])
}

/// A refusal that becomes `{"error":"…"}` with its status.
struct HTTPError: Error {
    var status: HTTPResponseStatus
    var message: String
    var headers: [(String, String)] = []

    init(_ status: HTTPResponseStatus, _ message: String, headers: [(String, String)] = []) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// One of the store's refusals, with the status every frontend gives it.
    init(_ error: StoreError) {
        self.init(HTTPResponseStatus(statusCode: error.status), error.message)
    }

    /// 405 for a method `path` does not take, with the ones it does.
    static func methodNotAllowed(allow: String) -> HTTPError {
        HTTPError(.methodNotAllowed, "Method not allowed", headers: [("Allow", allow)])
    }

    /// 429 from the per-client limits, with the whole seconds until the client may write again.
    static func tooManyRequests(retryAfter seconds: Int) -> HTTPError {
        HTTPError(.tooManyRequests, "Too many requests", headers: [("Retry-After", String(seconds))])
    }

    func response(allocator: ByteBufferAllocator) -> Response {
        var body = allocator.buffer(capacity: message.utf8.count + 16)
        body.writeError(message)
        return Response(status: status, body: body, headers: headers)
    }
}
