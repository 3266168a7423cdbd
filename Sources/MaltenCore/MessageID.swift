/// A message's id: a random (version 4) UUID held in 16 bytes, written in its usual 36-character form.
public struct MessageID: Hashable, Sendable {
    public let high: UInt64
    public let low: UInt64

    /// A fresh random id from the system's secure generator.
    public static func random() -> MessageID {
        var rng = SystemRandomNumberGenerator()
        return random(using: &rng)
    }

    /// A fresh random id from `rng` (a shard's pool of secure random words).
    static func random(using rng: inout some RandomNumberGenerator) -> MessageID {
        // Version 4 in the high word's version nibble, RFC 4122 variant in the low word.
        let high = (rng.next() as UInt64) & ~0xF000 | 0x4000
        let low = (rng.next() as UInt64) & ~(0xC000_0000_0000_0000) | 0x8000_0000_0000_0000
        return MessageID(high: high, low: low)
    }

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the 36-character form (any case); nil for anything else.
    public init?(_ text: some StringProtocol) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var nibbles = 0
        for (offset, byte) in text.utf8.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            guard let value = Self.hexValue(byte), nibbles < 32 else { return nil }
            if nibbles < 16 {
                high = high << 4 | UInt64(value)
            } else {
                low = low << 4 | UInt64(value)
            }
            nibbles += 1
        }
        guard nibbles == 32 else { return nil }
        self.init(high: high, low: low)
    }

    /// Writes the lowercase 36-character form, byte by byte, into `body` (no String is made).
    @inlinable
    public func write(into body: (UInt8) -> Void) {
        for nibble in 0..<32 {
            if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 { body(UInt8(ascii: "-")) }
            let word = nibble < 16 ? high : low
            let value = UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * (nibble % 16))) & 0xF
            body(value < 10 ? value + 48 : value + 87)
        }
    }

    /// The lowercase 36-character form.
    public var uuidString: String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(36)
        write { bytes.append($0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - 55
        default: nil
        }
    }
}
