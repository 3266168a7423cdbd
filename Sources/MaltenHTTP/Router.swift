import MaltenCore
import NIOCore
import NIOHTTP1

/// Maps a request to the route that answers it: Malten's handful of paths, each with its methods.
struct Router: Sendable {
    let store: Store

    func respond(to request: Request, allocator: ByteBufferAllocator) -> Response {
        do {
            return try route(request, allocator: allocator)
        } catch {
            return error.response(allocator: allocator)
        }
    }

    private func route(_ request: Request, allocator: ByteBufferAllocator) throws(HTTPError) -> Response {
        let routes = Routes(store: store, parameters: request.parameters, allocator: allocator)
        switch (request.path, request.method) {
        case ("/messages", .GET), ("/messages", .HEAD): return try routes.getMessages()
        case ("/messages", .POST): return try routes.postMessage()
        case ("/streams", .GET), ("/streams", .HEAD): return try routes.getStreams()
        case ("/streams", .POST): return try routes.postStream()
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
