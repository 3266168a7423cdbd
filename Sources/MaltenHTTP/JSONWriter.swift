import MaltenCore
import NIOCore

/// JSON written straight into a `ByteBuffer`: no intermediate strings, no Codable.
extension ByteBuffer {
    /// Writes `value` as a JSON string. Escapes what JSON requires, plus `<`, `>`, `&`, U+2028 and
    /// U+2029 as Go's `encoding/json` does, so the output is safe to embed in HTML and JavaScript.
    mutating func writeJSONString(_ value: String) {
        writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var start = 0
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                let escape: StaticString?
                switch byte {
                case UInt8(ascii: "\""): escape = "\\\""
                case UInt8(ascii: "\\"): escape = "\\\\"
                case UInt8(ascii: "\n"): escape = "\\n"
                case UInt8(ascii: "\r"): escape = "\\r"
                case UInt8(ascii: "\t"): escape = "\\t"
                case UInt8(ascii: "<"): escape = "\\u003c"
                case UInt8(ascii: ">"): escape = "\\u003e"
                case UInt8(ascii: "&"): escape = "\\u0026"
                case 0xE2 where index + 2 < bytes.count && bytes[index + 1] == 0x80 && (bytes[index + 2] & 0xFE) == 0xA8:
                    escape = bytes[index + 2] == 0xA8 ? "\\u2028" : "\\u2029"
                case 0..<0x20: escape = nil
                default:
                    index += 1
                    continue
                }
                writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<index])))
                if let escape {
                    writeStaticString(escape)
                    index += byte == 0xE2 ? 3 : 1
                } else {
                    writeStaticString("\\u00")
                    writeInteger(Self.hexDigit(byte >> 4))
                    writeInteger(Self.hexDigit(byte & 0xF))
                    index += 1
                }
                start = index
            }
            writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<bytes.count])))
        }
        writeInteger(UInt8(ascii: "\""))
    }

    /// Writes `value` in decimal.
    mutating func writeDecimal(_ value: Int64) {
        if value < 0 {
            writeInteger(UInt8(ascii: "-"))
            writeDecimal(UInt64(value.magnitude))
        } else {
            writeDecimal(UInt64(value))
        }
    }

    private mutating func writeDecimal(_ value: UInt64) {
        var digits = 1
        var scan = value
        while scan >= 10 {
            scan /= 10
            digits += 1
        }
        writeWithUnsafeMutableBytes(minimumWritableBytes: digits) { out in
            var rest = value
            for index in stride(from: digits - 1, through: 0, by: -1) {
                out[index] = UInt8(truncatingIfNeeded: rest % 10) + 48
                rest /= 10
            }
            return digits
        }
    }

    /// `{"Id":…,"Text":…,"Type":"message","Created":"…","Stream":…,"Metadata":null}`: Malten's message object.
    mutating func writeMessage(_ message: Message) {
        writeStaticString("{\"Id\":\"")
        message.id.write { writeInteger($0) }
        writeStaticString("\",\"Text\":")
        writeJSONString(message.text)
        writeStaticString(",\"Type\":\"message\",\"Created\":\"")
        writeDecimal(message.created)
        writeStaticString("\",\"Stream\":")
        writeJSONString(message.stream)
        writeStaticString(",\"Metadata\":null}")
    }

    /// A JSON array of message objects.
    mutating func writeMessages(_ messages: [Message]) {
        writeInteger(UInt8(ascii: "["))
        for (index, message) in messages.enumerated() {
            if index > 0 { writeInteger(UInt8(ascii: ",")) }
            writeMessage(message)
        }
        writeInteger(UInt8(ascii: "]"))
    }

    /// `{"NAME":{"Id":…,"Updated":…,"TTL":…,"Observers":…,"Private":…},…}`: Malten's stream listing.
    mutating func writeStreams(_ streams: [StreamInfo]) {
        writeInteger(UInt8(ascii: "{"))
        for (index, stream) in streams.enumerated() {
            if index > 0 { writeInteger(UInt8(ascii: ",")) }
            writeJSONString(stream.name)
            writeStaticString(":{\"Id\":")
            writeJSONString(stream.name)
            writeStaticString(",\"Updated\":")
            writeDecimal(stream.updated)
            writeStaticString(",\"TTL\":")
            writeDecimal(Int64(stream.ttl))
            writeStaticString(",\"Observers\":")
            writeDecimal(Int64(stream.observers))
            writeStaticString(stream.isPrivate ? ",\"Private\":true}" : ",\"Private\":false}")
        }
        writeInteger(UInt8(ascii: "}"))
    }

    /// `{"error":"…"}`
    mutating func writeError(_ message: String) {
        writeStaticString("{\"error\":")
        writeJSONString(message)
        writeInteger(UInt8(ascii: "}"))
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? nibble + 48 : nibble + 87
    }
}
