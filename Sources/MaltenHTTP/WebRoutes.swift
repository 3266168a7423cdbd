import MaltenWeb
import NIOCore
import NIOHTTP1

/// The web page's files, each in one buffer made once and shared by every response.
enum WebRoutes {
    private static let files: [String: (asset: WebAsset, body: ByteBuffer)] = WebAsset.all.mapValues {
        ($0, ByteBuffer(bytes: $0.bytes))
    }

    /// Whether `path` is one of the page's files.
    static func isPage(_ path: Substring) -> Bool {
        files[String(path)] != nil
    }

    /// `GET /` and its files, with the page's security headers; 304 when `If-None-Match` matches.
    static func response(for request: Request) -> Response? {
        guard let (asset, body) = files[String(request.path)] else { return nil }
        let headers = WebAsset.headers + [("ETag", asset.etag)]
        if let tags = request.headers.first(name: "if-none-match"),
            tags.split(separator: ",").contains(where: { tag in
                let tag = tag.filter { $0 != " " }
                return tag == asset.etag || tag == "*"
            })
        {
            return Response(status: .notModified, body: ByteBuffer(), contentType: asset.contentType, headers: headers)
        }
        return Response(status: .ok, body: body, contentType: asset.contentType, headers: headers)
    }
}
