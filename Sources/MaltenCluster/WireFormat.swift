import MaltenCore

/// The bytes members send each other over NATS: fixed-width little-endian integers and
/// length-prefixed UTF-8, written and read field by field. Nothing here is ever parsed from a
/// client; a payload that does not read whole is dropped.
struct WireWriter {
    private(set) var bytes: [UInt8] = []

    /// A payload that starts with its kind (or, for an answer, its outcome).
    init(_ kind: UInt8) { bytes.append(kind) }

    /// An answer whose asker knows what it holds.
    init() {}

    mutating func byte(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    mutating func int(_ value: Int64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func word(_ value: UInt64) { int(Int64(bitPattern: value)) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            withUnsafeBytes(of: UInt32(utf8.count).littleEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func message(_ message: Message) {
        string(message.stream)
        word(message.id.high)
        word(message.id.low)
        int(message.created)
        string(message.text)
    }

    mutating func stream(_ info: StreamInfo) {
        string(info.name)
        int(Int64(info.ttl))
        bool(info.isPrivate)
        bool(info.isPipe)
    }

    mutating func error(_ error: StoreError) {
        switch error {
        case .blankMessage: byte(0)
        case .messageTooLong(let limit): byte(1); int(Int64(limit))
        case .invalidStreamName: byte(2)
        case .streamExists: byte(3)
        case .invalidTTL(let bounds): byte(4); int(Int64(bounds.lowerBound)); int(Int64(bounds.upperBound))
        case .overBudget: byte(5)
        case .invalidPipeName: byte(6)
        case .pipeFull: byte(7)
        case .pipeClosed: byte(8)
        case .unavailable: byte(9)
        }
    }
}

/// Reads what `WireWriter` wrote; every read is nil past the end.
struct WireReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bool() -> Bool? { byte().map { $0 != 0 } }

    mutating func int() -> Int64? {
        guard offset + 8 <= bytes.count else { return nil }
        var value: Int64 = 0
        withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[offset..<offset + 8]) }
        offset += 8
        return Int64(littleEndian: value)
    }

    mutating func word() -> UInt64? { int().map { UInt64(bitPattern: $0) } }

    mutating func string() -> String? {
        guard offset + 4 <= bytes.count else { return nil }
        var length: UInt32 = 0
        withUnsafeMutableBytes(of: &length) { $0.copyBytes(from: bytes[offset..<offset + 4]) }
        let count = Int(UInt32(littleEndian: length))
        guard offset + 4 + count <= bytes.count else { return nil }
        defer { offset += 4 + count }
        return String(validating: bytes[offset + 4..<offset + 4 + count], as: UTF8.self)
    }

    mutating func message() -> Message? {
        guard let stream = string(), let high = word(), let low = word(), let created = int(), let text = string()
        else { return nil }
        return Message(id: MessageID(high: high, low: low), text: text, created: created, stream: stream)
    }

    mutating func stream() -> StreamInfo? {
        guard let name = string(), let ttl = int(), let isPrivate = bool(), let isPipe = bool() else { return nil }
        return StreamInfo(name: name, updated: 0, ttl: Int(ttl), observers: 0, isPrivate: isPrivate, isPipe: isPipe)
    }

    mutating func error() -> StoreError? {
        switch byte() {
        case 0: .blankMessage
        case 1: int().map { .messageTooLong(limit: Int($0)) }
        case 2: .invalidStreamName
        case 3: .streamExists
        case 4:
            if let low = int(), let high = int(), low <= high { .invalidTTL(bounds: Int(low)...Int(high)) } else { nil }
        case 5: .overBudget
        case 6: .invalidPipeName
        case 7: .pipeFull
        case 8: .pipeClosed
        case 9: .unavailable
        default: nil
        }
    }
}
