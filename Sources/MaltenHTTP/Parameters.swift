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
    mutating func decode(_ bytes: some Collection<UInt8>) throws(DecodingError) {
        var name: [UInt8] = []
        var value: [UInt8] = []
        var inValue = false
        var iterator = bytes.makeIterator()
        func flush() throws(DecodingError) {
            defer {
                name.removeAll(keepingCapacity: true)
                value.removeAll(keepingCapacity: true)
                inValue = false
            }
            if name.isEmpty && value.isEmpty { return }
            guard let n = String(validating: name, as: UTF8.self), let v = String(validating: value, as: UTF8.self)
            else { throw .invalidUTF8 }
            pairs.append((n, v))
        }
        while let byte = iterator.next() {
            let decoded: UInt8
            switch byte {
            case UInt8(ascii: "&"):
                try flush()
                continue
            case UInt8(ascii: "="):
                if !inValue {
                    inValue = true
                    continue
                }
                decoded = byte
            case UInt8(ascii: "+"):
                decoded = UInt8(ascii: " ")
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue)
                else { throw .badEscape }
                decoded = high << 4 | low
            default:
                decoded = byte
            }
            if inValue { value.append(decoded) } else { name.append(decoded) }
        }
        try flush()
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
