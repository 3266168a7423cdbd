import MaltenCore
import NIOCore

/// Writes JSON bytes into memory the caller has reserved (see `ByteBuffer.writeJSON`): no
/// intermediate strings, no Codable, one capacity check per value rather than per byte.
public struct JSONWriter {
    private let base: UnsafeMutableRawPointer
    public private(set) var count = 0

    public init(_ base: UnsafeMutableRawPointer) {
        self.base = base
    }

    /// The most bytes `string(_:)` can write for a string of `utf8Count` bytes (every byte `\u00XX`).
    public static func stringBound(_ utf8Count: Int) -> Int { 2 + 6 * utf8Count }

    @inline(__always)
    public mutating func byte(_ byte: UInt8) {
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    public mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    public mutating func raw(_ text: StaticString) {
        raw(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// `value` as a JSON string. Escapes what JSON requires, plus `<`, `>`, `&`, U+2028 and U+2029
    /// as Go's `encoding/json` does, so the output is safe inside HTML and JavaScript.
    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// Valid UTF-8 bytes as a JSON string, escaped as `string(_:)` does.
    public mutating func string(utf8 bytes: UnsafeRawBufferPointer) {
        byte(UInt8(ascii: "\""))
        escape(bytes)
        byte(UInt8(ascii: "\""))
    }

    private mutating func escape(_ bytes: UnsafeRawBufferPointer) {
        var start = 0
        var index = 0
        let end = bytes.count
        while index < end {
            // Eight plain ASCII bytes at a time: none below 0x20, none of " \ < > &, none above 0x7F.
            if index + 8 <= end {
                let word = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                if !Self.needsLook(word) {
                    index += 8
                    continue
                }
            }
            let current = bytes[index]
            let replacement: StaticString
            switch current {
            case UInt8(ascii: "\""): replacement = "\\\""
            case UInt8(ascii: "\\"): replacement = "\\\\"
            case UInt8(ascii: "\n"): replacement = "\\n"
            case UInt8(ascii: "\r"): replacement = "\\r"
            case UInt8(ascii: "\t"): replacement = "\\t"
            case UInt8(ascii: "<"): replacement = "\\u003c"
            case UInt8(ascii: ">"): replacement = "\\u003e"
            case UInt8(ascii: "&"): replacement = "\\u0026"
            case 0..<0x20: replacement = ""
            case 0xE2 where index + 2 < end && bytes[index + 1] == 0x80 && (bytes[index + 2] & 0xFE) == 0xA8:
                replacement = bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
            default:
                index += 1
                continue
            }
            raw(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
            if replacement.utf8CodeUnitCount > 0 {
                raw(replacement)
                index += current == 0xE2 ? 3 : 1
            } else {
                raw("\\u00")
                byte(Self.hexDigit(current >> 4))
                byte(Self.hexDigit(current & 0xF))
                index += 1
            }
            start = index
        }
        raw(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
    }

    /// Whether any byte of `word` is a control character, `"`, `\`, `<`, `>`, `&` or non-ASCII.
    @inline(__always)
    private static func needsLook(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasByte(_ word: UInt64, _ b: UInt8) -> UInt64 {
            let x = word ^ (ones &* UInt64(b))
            return (x &- ones) & ~x & highs
        }
        let below0x20 = (word &- ones &* 0x20) & ~word & highs
        // " (0x22) and & (0x26) differ only in bit 2, < (0x3C) and > (0x3E) only in bit 1.
        let quoteOrAmpersand = hasByte(word | ones &* 0x04, 0x26)
        let angle = hasByte(word | ones &* 0x02, 0x3E)
        return (below0x20 | (word & highs) | quoteOrAmpersand | angle | hasByte(word, 0x5C)) != 0
    }

    /// The most bytes `decimal` writes.
    public static var decimalBound: Int { 20 }

    public mutating func decimal(_ value: Int64) {
        if value < 0 { byte(UInt8(ascii: "-")) }
        var rest = value.magnitude
        var digits = 1
        var threshold: UInt64 = 10
        while rest >= threshold {
            digits += 1
            if digits == 20 { break }
            threshold &*= 10
        }
        // Two digits at a time, from the last.
        var end = count + digits
        while rest >= 100 {
            end -= 2
            pair(Self.decimalPairs, Int(rest % 100), at: end)
            rest /= 100
        }
        if rest >= 10 {
            pair(Self.decimalPairs, Int(rest), at: end - 2)
        } else {
            base.storeBytes(of: UInt8(truncatingIfNeeded: rest) + 48, toByteOffset: end - 1, as: UInt8.self)
        }
        count += digits
    }

    /// The two characters at `table[2 × index]`, stored at `offset`.
    @inline(__always)
    private func pair(_ table: StaticString, _ index: Int, at offset: Int) {
        let characters = UnsafeRawPointer(table.utf8Start).loadUnaligned(fromByteOffset: 2 * index, as: UInt16.self)
        base.storeBytes(of: characters, toByteOffset: offset, as: UInt16.self)
    }

    private static var decimalPairs: StaticString {
        """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """
    }


    /// The 36-character UUID form, lowercase: eight hex digits at a time.
    public mutating func uuid(_ id: MessageID) {
        let start = base + count
        let first = Self.hexDigits(UInt32(truncatingIfNeeded: id.high >> 32))
        let second = Self.hexDigits(UInt32(truncatingIfNeeded: id.high))
        let third = Self.hexDigits(UInt32(truncatingIfNeeded: id.low >> 32))
        let fourth = Self.hexDigits(UInt32(truncatingIfNeeded: id.low))
        // xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx: the middle groups' eight digits are stored one place
        // late, then their first four moved back over the gap that the dash then fills.
        start.storeBytes(of: first, toByteOffset: 0, as: UInt64.self)
        start.storeBytes(of: second, toByteOffset: 10, as: UInt64.self)
        start.storeBytes(of: start.loadUnaligned(fromByteOffset: 10, as: UInt32.self), toByteOffset: 9, as: UInt32.self)
        start.storeBytes(of: third, toByteOffset: 20, as: UInt64.self)
        start.storeBytes(of: start.loadUnaligned(fromByteOffset: 20, as: UInt32.self), toByteOffset: 19, as: UInt32.self)
        start.storeBytes(of: fourth, toByteOffset: 28, as: UInt64.self)
        start.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 8, as: UInt8.self)
        start.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 13, as: UInt8.self)
        start.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 18, as: UInt8.self)
        start.storeBytes(of: UInt8(ascii: "-"), toByteOffset: 23, as: UInt8.self)
        count += 36
    }

    /// The eight lowercase hex digits of `value`, most significant first in memory order.
    @inline(__always)
    static func hexDigits(_ value: UInt32) -> UInt64 {
        // One nibble per byte, the least significant nibble in the lowest byte...
        var nibbles = UInt64(value)
        nibbles = (nibbles | nibbles << 16) & 0x0000_FFFF_0000_FFFF
        nibbles = (nibbles | nibbles << 8) & 0x00FF_00FF_00FF_00FF
        nibbles = (nibbles | nibbles << 4) & 0x0F0F_0F0F_0F0F_0F0F
        // ...then each byte 0...15 to '0'...'9', 'a'...'f' (a byte of 10 or more carries into bit 4).
        let letters = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101
        let ascii = nibbles &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
        // The most significant digit at the lowest address, whatever the byte order.
        return ascii.bigEndian
    }

    public static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? nibble + 48 : nibble + 87
    }
}

extension ByteBuffer {
    /// Reserves `bound` bytes and lets `body` write at most that many.
    public mutating func writeJSON(bound: Int, _ body: (inout JSONWriter) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { memory in
            var writer = JSONWriter(memory.baseAddress!)
            body(&writer)
            assert(writer.count <= bound)
            return writer.count
        }
    }

    /// `{"Id":…,"Text":…,"Type":"message","Created":"…","Stream":…,"Metadata":null}`: Malten's message object.
    public mutating func writeMessage(_ message: Message) {
        var text = message.text
        text.withUTF8 { text in
            writeMessage(StoredMessage(id: message.id, created: message.created, text: UnsafeRawBufferPointer(text)), stream: message.stream)
        }
    }

    /// The message object of a stored message, straight from the ring's bytes.
    public mutating func writeMessage(_ message: StoredMessage, stream: String) {
        let bound = 128 + JSONWriter.stringBound(message.text.count) + JSONWriter.stringBound(stream.utf8.count)
        writeJSON(bound: bound) { json in
            json.raw("{\"Id\":\"")
            json.uuid(message.id)
            json.raw("\",\"Text\":")
            json.string(utf8: message.text)
            json.raw(",\"Type\":\"message\",\"Created\":\"")
            json.decimal(message.created)
            json.raw("\",\"Stream\":")
            json.string(stream)
            json.raw(",\"Metadata\":null}")
        }
    }

    /// A JSON array of the messages of `stream` that `query` selects, encoded straight from the
    /// ring's bytes inside the shard's hop; how many it wrote.
    @discardableResult
    public mutating func writeMessages(of stream: String, _ query: ReadQuery, in store: any StreamStore) -> Int {
        writeInteger(UInt8(ascii: "["))
        var count = 0
        store.read(stream: stream, query) { message in
            if count > 0 { writeInteger(UInt8(ascii: ",")) }
            count += 1
            writeMessage(message, stream: stream)
        }
        writeInteger(UInt8(ascii: "]"))
        return count
    }

    /// `{"NAME":{"Id":…,"Updated":…,"TTL":…,"Observers":…,"Private":…},…}`: Malten's stream listing
    /// (a pipe's entry ends with `"Pipe":true`).
    public mutating func writeStreams(_ streams: [StreamInfo]) {
        writeInteger(UInt8(ascii: "{"))
        for (index, stream) in streams.enumerated() {
            writeJSON(bound: 128 + 2 * JSONWriter.stringBound(stream.name.utf8.count) + 3 * JSONWriter.decimalBound) { json in
                if index > 0 { json.byte(UInt8(ascii: ",")) }
                json.string(stream.name)
                json.raw(":{\"Id\":")
                json.string(stream.name)
                json.raw(",\"Updated\":")
                json.decimal(stream.updated)
                json.raw(",\"TTL\":")
                json.decimal(Int64(stream.ttl))
                json.raw(",\"Observers\":")
                json.decimal(Int64(stream.observers))
                json.raw(stream.isPrivate ? ",\"Private\":true" : ",\"Private\":false")
                json.raw(stream.isPipe ? ",\"Pipe\":true}" : "}")
            }
        }
        writeInteger(UInt8(ascii: "}"))
    }

    /// `{"stream":…,"private":…,"ttl":…}`: what `POST /streams` made (`,"pipe":true` for a pipe).
    public mutating func writeCreatedStream(_ created: CreatedStream) {
        writeJSON(bound: 64 + JSONWriter.stringBound(created.name.utf8.count)) { json in
            json.raw("{\"stream\":")
            json.string(created.name)
            json.raw(created.isPrivate ? ",\"private\":true,\"ttl\":" : ",\"private\":false,\"ttl\":")
            json.decimal(Int64(created.ttl))
            json.raw(created.isPipe ? ",\"pipe\":true}" : "}")
        }
    }

    /// `{"streams":…,"listed":…,"messages":…,"bytes":…,"budget":…,"subscribers":…}`; budget is null when unbounded.
    public mutating func writeStats(_ stats: StoreStats) {
        writeJSON(bound: 140 + 7 * JSONWriter.decimalBound) { json in
            json.raw("{\"streams\":")
            json.decimal(Int64(stats.streams))
            json.raw(",\"listed\":")
            json.decimal(Int64(stats.listedStreams))
            json.raw(",\"messages\":")
            json.decimal(Int64(stats.messages))
            json.raw(",\"bytes\":")
            json.decimal(Int64(stats.bytes))
            json.raw(",\"budget\":")
            if stats.budget == Int.max { json.raw("null") } else { json.decimal(Int64(stats.budget)) }
            json.raw(",\"subscribers\":")
            json.decimal(Int64(stats.observers))
            json.raw(",\"members\":")
            json.decimal(Int64(stats.members))
            json.byte(UInt8(ascii: "}"))
        }
    }

    /// `{"error":"…"}`
    public mutating func writeError(_ message: String) {
        writeJSON(bound: 16 + JSONWriter.stringBound(message.utf8.count)) { json in
            json.raw("{\"error\":")
            json.string(message)
            json.byte(UInt8(ascii: "}"))
        }
    }

    /// `{"error":"…","status":N}`: a refusal where no status line can carry it (a WebSocket frame, an
    /// event already inside a response).
    public mutating func writeError(_ message: String, status: Int) {
        writeJSON(bound: 40 + JSONWriter.stringBound(message.utf8.count)) { json in
            json.raw("{\"error\":")
            json.string(message)
            json.raw(",\"status\":")
            json.decimal(Int64(status))
            json.byte(UInt8(ascii: "}"))
        }
    }
}
