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

    /// The pipe's vectors (`E2E.md`, "Pipes").
    public enum Pipe {
        public static let secret = bytes(hex: "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f")
        public static let secretText = "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8"
        public static let name = "CgK2kiJD7QXHDWxLsUVKKw"
        public static let authKey = "23e9c54b7c4f423c25c64675e816f6ba6cda110f64f5dca020fe00c48ac1ea33"
        public static let private1 = bytes(hex: String(repeating: "11", count: 32))
        public static let point1 =
            "040217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e5794"
        public static let hello1 =
            "h1.BAIX5hfwtkQ5KCePlpmeaaI6TywVK99tbN9m5bgCgtTtGUp968uXcS0t2jyoWqh2Wlb0X8dYWZZS8ol8ZTBuV5S_gj7DwETsOXG1Le7HCar1-XpZBBRVAlCdwSN6O63ixQ"
        public static let private2 = bytes(hex: String(repeating: "22", count: 32))
        public static let point2 =
            "04d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a137557e473fddb6755f05bd507c3c533fce9c91285"
        public static let hello2 =
            "h1.BNZak5d8qj0bCBhS_1ennkZfFmBXcwS66tUF3TpIWJzzUBheiVNy32Ih6joTdVfkc_3bZ1XwW9UHw8Uz_OnJEoVDI__PMzhECDA7vXBBz3GInb78AkCC36jzH3W3Z9S0gg"
        public static let pipeKey = "873abe2da53f6a769106bfaeea9e28604a105fe3f16e3b5e8229f7b77725103e"
        public static let safetyCode = "1457 0045"
        public static let nonce = bytes(hex: "b0b1b2b3b4b5b6b7b8b9babb")
        public static let time: UInt32 = 1_700_000_001
        public static let text = "pipe hello"
        public static let message = "m1.sLGys7S1tre4ubq74lnpKm15-YyCJ5vhps2w9XFBfjOlVhRjj4k9GZSO"
    }

    /// The bytes of a hex string.
    public static func bytes(hex text: String) -> [UInt8] {
        let digits = Array(text.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }
}
