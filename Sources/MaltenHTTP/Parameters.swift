/// Request parameters decoded from `application/x-www-form-urlencoded` text: the query string and,
/// for a form body, the body. Body values win over query values, as with Go's `ParseForm`.
struct Parameters {
    private var pairs: [(name: String, value: String)] = []

    /// Why parameters could not be decoded.
    enum DecodingError: Error {
        case badEscape
        case invalidUTF8
    }

    init() {}

    /// Appends the pairs of one form-encoded text (`a=1&b=x+y`), in order.
    mutating func decode(_ bytes: UnsafeRawBufferPointer) throws(DecodingError) {
        var start = 0
        while start < bytes.count {
            let end = bytes[start...].firstIndex(of: UInt8(ascii: "&")) ?? bytes.count
            let pair = bytes[start..<end]
            if !pair.isEmpty {
                let equals = pair.firstIndex(of: UInt8(ascii: "="))
                let name = try Self.component(pair[..<(equals ?? end)])
                let value = try equals.map { equals throws(DecodingError) in try Self.component(pair[(equals + 1)...]) } ?? ""
                pairs.append((name, value))
            }
            start = end + 1
        }
    }

    /// One percent-encoded name or value as a validated String; plain text takes no copy but the String's own.
    private static func component(_ bytes: Slice<UnsafeRawBufferPointer>) throws(DecodingError) -> String {
        let plain = UnsafeBufferPointer(rebasing: UnsafeRawBufferPointer(rebasing: bytes).bindMemory(to: UInt8.self)[...])
        if !plain.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) {
            guard let text = String(validating: plain, as: UTF8.self) else { throw .invalidUTF8 }
            return text
        }
        var decoded: [UInt8] = []
        decoded.reserveCapacity(plain.count)
        var index = 0
        while index < plain.count {
            switch plain[index] {
            case UInt8(ascii: "+"):
                decoded.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index + 2 < plain.count, let high = hexValue(plain[index + 1]), let low = hexValue(plain[index + 2])
                else { throw .badEscape }
                decoded.append(high << 4 | low)
                index += 2
            case let byte:
                decoded.append(byte)
            }
            index += 1
        }
        guard let text = String(validating: decoded, as: UTF8.self) else { throw .invalidUTF8 }
        return text
    }

    /// The first value given for `name`; a value that is present but empty counts as absent.
    subscript(name: String) -> String? {
        for pair in pairs where pair.name == name {
            return pair.value.isEmpty ? nil : pair.value
        }
        return nil
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
