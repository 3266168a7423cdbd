/// The rules for stream names: 1–256 Unicode scalars, each a letter, a digit, or one of `-` `_` `.` `~`;
/// `.` and `..` alone are not names.
public enum StreamName {
    /// The stream used when a request names none.
    public static let defaultName = "_"
    public static let maxLength = 256

    /// Whether `name` is a valid stream name.
    public static func isValid(_ name: String) -> Bool {
        if name.isEmpty || name == "." || name == ".." { return false }
        // ASCII names, the common case, without decoding scalars.
        if name.utf8.count <= maxLength && name.utf8.allSatisfy(isASCIINameByte) { return true }
        var length = 0
        for scalar in name.unicodeScalars {
            length += 1
            if length > maxLength { return false }
            switch scalar {
            case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "~":
                continue
            default:
                guard scalar.value >= 0x80 else { return false }
                switch scalar.properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
                    .decimalNumber:
                    continue
                default:
                    return false
                }
            }
        }
        return true
    }

    private static func isASCIINameByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    /// Whether `name` has a pipe's shape: 22 base64url characters, as the end-to-end format derives a
    /// pipe's name from its secret. Only such names can be pipes, so nobody can hold an ordinary
    /// name closed by making a pipe of it.
    public static func isPipeName(_ name: String) -> Bool {
        name.utf8.count == 22 && name.utf8.allSatisfy { isASCIINameByte($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "~") }
    }

    /// A fresh pipe name: 22 base64url characters, 132 bits from the system's secure generator.
    public static func randomPipeName() -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var rng = SystemRandomNumberGenerator()
        return String(decoding: (0..<22).map { _ in alphabet[Int(rng.next() % 64)] }, as: UTF8.self)
    }

    /// A fresh name with 128 bits from the system's secure generator, as 32 lowercase hex digits.
    public static func random() -> String {
        var rng = SystemRandomNumberGenerator()
        let id = MessageID(high: rng.next(), low: rng.next())
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        id.write { if $0 != UInt8(ascii: "-") { bytes.append($0) } }
        return String(decoding: bytes, as: UTF8.self)
    }
}
