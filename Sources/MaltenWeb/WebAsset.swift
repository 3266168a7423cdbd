/// One file of the web page, embedded in the binary at build time from `Resources/` (SwiftPM's
/// `embedInCode`; nothing is read from disk at run time): its path, type, bytes and an ETag derived
/// from the bytes.
public struct WebAsset: Sendable {
    public let path: String
    public let contentType: String
    public let bytes: [UInt8]
    /// A strong validator: FNV-1a of the bytes, quoted.
    public let etag: String

    init(path: String, contentType: String, bytes: [UInt8]) {
        self.path = path
        self.contentType = contentType
        self.bytes = bytes
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        self.etag = "\"" + String(hash, radix: 16) + "\""
    }

    /// The page at `/` and what it loads, and the API's OpenAPI document, by path.
    public static let all: [String: WebAsset] = Dictionary(
        uniqueKeysWithValues: [
            WebAsset(path: "/", contentType: "text/html; charset=utf-8", bytes: PackageResources.index_html),
            WebAsset(path: "/e2e.js", contentType: "text/javascript; charset=utf-8", bytes: PackageResources.e2e_js),
            WebAsset(path: "/app.js", contentType: "text/javascript; charset=utf-8", bytes: PackageResources.app_js),
            WebAsset(path: "/app.css", contentType: "text/css; charset=utf-8", bytes: PackageResources.app_css),
            WebAsset(path: "/icon.svg", contentType: "image/svg+xml", bytes: PackageResources.icon_svg),
            WebAsset(path: "/openapi.yaml", contentType: "application/yaml", bytes: PackageResources.openapi_yaml),
        ].map { ($0.path, $0) })

    /// Everything the page loads comes from this server; nothing inline, no frames, no referrer.
    public static let headers: [(String, String)] = [
        (
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
                + "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-cache"),
    ]
}
