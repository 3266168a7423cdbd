import MaltenCrypto

/// A server's origin: scheme, host and port, as a page URL or `--server` names it.
public struct ServerOrigin: Sendable, CustomStringConvertible {
    public var secure: Bool
    public var host: String
    public var port: Int

    /// `http://HOST[:PORT]` or `https://…`, anything after the authority ignored.
    public init(_ url: some StringProtocol) throws(ClientError) {
        let text = String(url)
        let shown = text.prefix { $0 != "#" }  // never the fragment: it may hold a secret
        let rest: Substring
        if text.hasPrefix("http://") {
            secure = false
            rest = text.dropFirst(7)
        } else if text.hasPrefix("https://") {
            secure = true
            rest = text.dropFirst(8)
        } else {
            throw .badLink("\(shown) is not an http:// or https:// URL")
        }
        let authority = rest.prefix { $0 != "/" && $0 != "#" && $0 != "?" }
        if authority.hasPrefix("[") {  // [IPv6]:port
            guard let close = authority.firstIndex(of: "]") else { throw .badLink("\(shown) has a bad host") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.isEmpty ? (secure ? 443 : 80) : Int(after.dropFirst()) ?? -1
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = Int(authority[authority.index(after: colon)...]) ?? -1
        } else {
            host = String(authority)
            port = secure ? 443 : 80
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw .badLink("\(shown) has a bad host or port") }
    }

    /// `HOST:PORT`, an IPv6 host in brackets: the `Host` header's value.
    var authority: String { (host.contains(":") ? "[\(host)]" : host) + ":\(port)" }

    public var description: String { (secure ? "https://" : "http://") + authority }
}

/// A LINK as the page shares it: `ORIGIN/#k=SECRET` (a sealed stream) or `ORIGIN/#NAME` (a plain one).
public struct StreamLink: Sendable, CustomStringConvertible {
    public var origin: ServerOrigin
    /// Set for a sealed stream: it names the stream and seals its messages.
    public var sealed: SealedStream?
    /// The stream's name on the server.
    public var name: String

    public init(_ text: String) throws(ClientError) {
        origin = try ServerOrigin(text)
        guard let hash = text.firstIndex(of: "#"), text.index(after: hash) < text.endIndex else {
            throw .badLink("the link names no stream (nothing after #)")
        }
        let fragment = text[text.index(after: hash)...]
        if fragment.hasPrefix("p=") { throw .badLink("the link is a pipe's: use malten pipe LINK") }
        if fragment.hasPrefix("k=") {
            do {
                let stream = try SealedStream(secret: fragment.dropFirst(2))
                sealed = stream
                name = stream.name
            } catch {
                throw .badLink(error.description)
            }
        } else {
            sealed = nil
            guard let decoded = Self.percentDecoded(fragment) else {
                throw .badLink("the link's stream name is not valid percent-encoded UTF-8")
            }
            name = decoded
        }
    }

    /// The page writes a plain stream's name percent-encoded (`#caf%C3%A9` for `café`), as
    /// `encodeURIComponent` does; nil for a bad escape or bytes that are not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var utf8 = text.utf8.makeIterator()
        while let byte = utf8.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = utf8.next().flatMap(hexValue), let low = utf8.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    init(origin: ServerOrigin, sealed: SealedStream?, name: String) {
        self.origin = origin
        self.sealed = sealed
        self.name = name
    }

    /// The link, a plain name percent-encoded as the page's `encodeURIComponent` writes it.
    public var description: String { "\(origin)/#" + (sealed.map { "k=" + $0.secret } ?? HTTPExchange.percentEncoded(name)) }
}
