import MaltenCore
import NIOCore
import NIOHTTP1

/// Maps a request to the route that answers it: Malten's handful of paths, each with its methods.
struct Router: Sendable {
    let store: any StreamStore

    /// Whether `request` is a write (`POST /messages`, `POST /streams`): answered through
    /// `write(_:allocator:answer:)`, everything else by `respond`.
    static func isWrite(_ request: Request) -> Bool {
        request.method == .POST && (request.path == "/messages" || request.path == "/streams")
    }

    /// Answers anything but a write, at once.
    func respond(to request: Request, allocator: ByteBufferAllocator) -> Response {
        do {
            return try route(request, routes: Routes(store: store, parameters: request.parameters, allocator: allocator))
        } catch {
            return error.response(allocator: allocator)
        }
    }

    /// Answers a write through `answer`, once: before returning on a local store; from the
    /// cluster's thread, when it is done, on a clustered one.
    func write(_ request: Request, allocator: ByteBufferAllocator, answer: @escaping @Sendable (Response) -> Void) {
        let routes = Routes(store: store, parameters: request.parameters, allocator: allocator)
        do throws(HTTPError) {
            if request.path == "/messages" { try routes.postMessage(answer: answer) } else { try routes.postStream(answer: answer) }
        } catch {
            answer(error.response(allocator: allocator))
        }
    }

    private func route(_ request: Request, routes: Routes) throws(HTTPError) -> Response {
        switch (request.path, request.method) {
        case ("/messages", .GET), ("/messages", .HEAD): return try routes.getMessages()
        case ("/streams", .GET), ("/streams", .HEAD): return try routes.getStreams()
        case ("/stats", .GET), ("/stats", .HEAD): return routes.getStats()
        case ("/messages", .OPTIONS), ("/streams", .OPTIONS), ("/stats", .OPTIONS):
            return .preflight
        case ("/events", .OPTIONS): return .preflight
        case (_, .GET), (_, .HEAD):
            if let page = WebRoutes.response(for: request) { return page }
            throw HTTPError(.notFound, "Not found")
        case ("/events", _):
            throw HTTPError.methodNotAllowed(allow: "GET, OPTIONS")
        case ("/stats", _):
            throw HTTPError.methodNotAllowed(allow: "GET, HEAD, OPTIONS")
        case ("/messages", _), ("/streams", _):
            throw HTTPError.methodNotAllowed(allow: "GET, HEAD, POST, OPTIONS")
        case (let path, _) where WebRoutes.isPage(path):
            throw HTTPError.methodNotAllowed(allow: "GET, HEAD")
        default:
            throw HTTPError(.notFound, "Not found")
        }
    }
}
