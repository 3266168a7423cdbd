/// The test vectors of the end-to-end format (`E2E.md`, "Sealed streams"), from an independent
/// implementation: the Swift code and the page's script must each give these bytes.
public enum E2EVectors {
    public static let secret = bytes(hex: "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
    public static let secretText = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
    public static let name = "S8D4RE1EkxESgvOCzu9MNg"
    public static let nonce = bytes(hex: "a0a1a2a3a4a5a6a7a8a9aaab")
    public static let time: UInt32 = 1_700_000_000
    public static let text = "héllo, wörld 👋"
    public static let message = "m1.oKGio6SlpqeoqaqrkgkYozaIdIFukWuxovMffZ0V3zL3PsEQHyUQHH0YPQrJVF_E0fMv"

    /// The bytes of a hex string.
    public static func bytes(hex text: String) -> [UInt8] {
        let digits = Array(text.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
