import Crypto

/// The 32 bytes of a link's fragment (`#k=…` or `#p=…`), and what the format derives from them by
/// HKDF-SHA-256 with an empty salt: a stream's or a pipe's name and keys.
struct LinkSecret {
    let bytes: [UInt8]

    /// The bytes of a link's base64url secret; `malformedSecret` unless they are 32.
    init(_ text: some StringProtocol) throws(SealedStreamError) {
        guard let bytes = Base64URL.decode(text), bytes.count == 32 else { throw .malformedSecret }
        self.bytes = bytes
    }

    init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a link's secret is 32 bytes")
        self.bytes = bytes
    }

    /// 32 bytes from the system's secure generator.
    static func random() -> [UInt8] { SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) } }

    /// The secret's base64url text, as the link carries it.
    var text: String { Base64URL.encode(bytes) }

    func derive(_ info: String, _ count: Int) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: bytes), salt: [UInt8](), info: Array(info.utf8), outputByteCount: count)
    }

    /// A name: the base64url of 16 derived bytes (22 characters).
    func name(_ info: String) -> String { derive(info, 16).withUnsafeBytes { Base64URL.encode($0) } }
}
