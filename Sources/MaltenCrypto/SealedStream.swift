import Crypto

/// A sealed stream of the end-to-end format (`E2E.md`, "Sealed streams"): everything follows from
/// the 32-byte secret of the link's fragment (`#k=…`), which never reaches the server. The stream's
/// name and its AES-256-GCM key are derived with HKDF-SHA-256; a message text is `m1.` and the
/// base64url of nonce ‖ ciphertext ‖ tag, with the stream's name bound as associated data.
///
///     let stream = try SealedStream(secret: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8")
///     stream.name                                   // "S8D4RE1EkxESgvOCzu9MNg"
///     let text = try stream.seal("hello")           // "m1.…", what the server stores
///     stream.open(text)?.text                       // "hello"
public struct SealedStream: Sendable {
    /// The longest text that seals into a message of 1024 characters.
    public static let maxTextBytes = 733

    /// The secret's base64url text, as the link carries it.
    public let secret: String
    /// The stream's name on the server: 22 base64url characters.
    public let name: String
    private let box: MessageBox

    /// The stream of a link's secret (base64url of 32 bytes).
    public init(secret: some StringProtocol) throws(SealedStreamError) {
        self.init(try LinkSecret(secret))
    }

    /// The stream of 32 secret bytes.
    public init(secret bytes: [UInt8]) {
        self.init(LinkSecret(bytes: bytes))
    }

    private init(_ secret: LinkSecret) {
        self.secret = secret.text
        self.name = secret.name("malten/1 stream")
        self.box = MessageBox(key: secret.derive("malten/1 key", 32), name: name)
    }

    /// A new stream with a secret from the system's secure generator.
    public static func random() -> SealedStream {
        SealedStream(secret: LinkSecret.random())
    }

    /// The message text for `text` sent at `time` (Unix seconds), under a fresh random nonce
    /// unless one is given (test vectors only: a nonce must never repeat under one key).
    public func seal(_ text: String, time: UInt32, nonce: [UInt8]? = nil) throws(SealedStreamError) -> String {
        try box.seal(text, time: time, nonce: nonce)
    }

    /// The message inside `text`, or nil when it does not open: no `m1.` prefix, bad base64url,
    /// too short, a tag that does not verify (tampered, another stream's key) or text that is not
    /// UTF-8.
    public func open(_ text: some StringProtocol) -> SealedMessage? {
        box.open(text)
    }
}

/// Message texts under one AES-256-GCM key, bound to one stream name: `m1.` + base64url(nonce ‖
/// ciphertext ‖ tag) of the send time (4 bytes big-endian) and the text, with `malten/1 NAME` as
/// associated data. A sealed stream's key comes from its secret, a pipe's from the two parties.
struct MessageBox: Sendable {
    static let prefix = "m1."
    let key: SymmetricKey
    let associatedData: [UInt8]

    init(key: SymmetricKey, name: String) {
        self.key = key
        self.associatedData = Array("malten/1 \(name)".utf8)
    }

    func seal(_ text: String, time: UInt32, nonce: [UInt8]?) throws(SealedStreamError) -> String {
        let utf8 = Array(text.utf8)
        guard utf8.count <= SealedStream.maxTextBytes else { throw .textTooLong(bytes: utf8.count) }
        let plaintext = withUnsafeBytes(of: time.bigEndian, Array.init) + utf8
        do {
            let box = try AES.GCM.seal(
                plaintext, using: key, nonce: try nonce.map { try AES.GCM.Nonce(data: $0) } ?? AES.GCM.Nonce(),
                authenticating: associatedData)
            return Self.prefix + Base64URL.encode(box.combined!)
        } catch {
            preconditionFailure("AES-GCM sealing with a 256-bit key and a 12-byte nonce cannot fail: \(error)")
        }
    }

    func open(_ text: some StringProtocol) -> SealedMessage? {
        guard text.hasPrefix(Self.prefix), let combined = Base64URL.decode(text.dropFirst(Self.prefix.count)),
            combined.count >= 12 + 16 + 4,
            let box = try? AES.GCM.SealedBox(combined: combined),
            let plaintext = try? AES.GCM.open(box, using: key, authenticating: associatedData),
            let message = String(validating: plaintext.dropFirst(4), as: UTF8.self)
        else { return nil }
        let time = plaintext.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return SealedMessage(text: message, time: time, nonce: Array(combined.prefix(12)))
    }
}

/// A message opened from a sealed stream: its text, the send time it carries (Unix seconds, the
/// sender's word; `Created` is the server's) and its nonce (a client drops a nonce seen before).
public struct SealedMessage: Sendable, Equatable {
    public var text: String
    public var time: UInt32
    public var nonce: [UInt8]

    public init(text: String, time: UInt32, nonce: [UInt8]) {
        self.text = text
        self.time = time
        self.nonce = nonce
    }
}

/// Why a sealed stream refused.
public enum SealedStreamError: Error, Equatable, CustomStringConvertible {
    /// The link's secret is not base64url of 32 bytes.
    case malformedSecret
    /// The text is longer than `SealedStream.maxTextBytes` UTF-8 bytes.
    case textTooLong(bytes: Int)

    public var description: String {
        switch self {
        case .malformedSecret: "the link's secret is not 32 bytes of base64url (43 characters after #k=)"
        case .textTooLong(let bytes):
            "an encrypted message holds at most \(SealedStream.maxTextBytes) bytes of UTF-8 text; this one has \(bytes)"
        }
    }
}
