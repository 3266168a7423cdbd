/// One file of the web page, embedded in the binary (nothing is read from disk at run time): its
/// path, type, bytes and an ETag derived from the bytes.
public struct WebAsset: Sendable {
    public let path: String
    public let contentType: String
    public let bytes: [UInt8]
    /// A strong validator: FNV-1a of the bytes, quoted.
    public let etag: String

    init(path: String, contentType: String, text: String) {
        self.path = path
        self.contentType = contentType
        self.bytes = Array(text.utf8)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        self.etag = "\"" + String(hash, radix: 16) + "\""
    }

    /// The page at `/` and what it loads, by path.
    public static let all: [String: WebAsset] = Dictionary(
        uniqueKeysWithValues: [
            WebAsset(path: "/", contentType: "text/html; charset=utf-8", text: WebPage.html),
            WebAsset(path: "/app.js", contentType: "text/javascript; charset=utf-8", text: WebScript.js),
            WebAsset(path: "/app.css", contentType: "text/css; charset=utf-8", text: WebStyle.css),
            WebAsset(path: "/icon.svg", contentType: "image/svg+xml", text: WebIcon.svg),
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
