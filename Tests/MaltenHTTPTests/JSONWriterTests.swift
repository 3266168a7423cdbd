import Foundation
import MaltenCore
import MaltenJSON
import NIOCore
import Testing

@Suite struct JSONWriterTests {
    func encoded(_ text: String) -> String {
        var buffer = ByteBuffer()
        buffer.writeError(text)
        return String(buffer: buffer)
    }

    @Test(arguments: [
        "", "plain ascii text that runs past eight bytes", "quote \" backslash \\ slash /",
        "<script>alert(1)</script> & more", "tab\tnew\nline\rcr\u{0}nul\u{1F}unit", "café 日本語 😀 mixed",
        "line\u{2028}para\u{2029}end", "\u{E2}\u{80}", String(repeating: "ab<", count: 50), "1234567\"",
    ])
    func stringsRoundTrip(_ text: String) throws {
        let json = encoded(text)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: String])
        #expect(object["error"] == text)
        for unsafe in ["<", ">", "&", "\u{2028}", "\u{2029}", "\n", "\u{0}"] {
            #expect(!json.contains(unsafe), "\(unsafe.unicodeScalars.first!.value) in \(json)")
        }
    }

    @Test func messageObjectHasMaltensShape() throws {
        let id = try #require(MessageID("9b2c2f8e-1a2b-4c3d-8e4f-0123456789ab"))
        var buffer = ByteBuffer()
        buffer.writeMessage(Message(id: id, text: "helloworld", created: 1_652_035_113_591_000_000, stream: "foo"))
        #expect(String(buffer: buffer) == #"{"Id":"9b2c2f8e-1a2b-4c3d-8e4f-0123456789ab","Text":"helloworld","Type":"message","Created":"1652035113591000000","Stream":"foo","Metadata":null}"#)
    }

    @Test func streamListingHasMaltensShape() {
        var buffer = ByteBuffer()
        buffer.writeStreams([
            StreamInfo(name: "foo", updated: 1_652_035_113_591_000_000, ttl: 1024, observers: 2, isPrivate: false),
            StreamInfo(name: "bar", updated: 7, ttl: 60, observers: 0, isPrivate: true),
        ])
        #expect(String(buffer: buffer) == #"{"foo":{"Id":"foo","Updated":1652035113591000000,"TTL":1024,"Observers":2,"Private":false},"bar":{"Id":"bar","Updated":7,"TTL":60,"Observers":0,"Private":true}}"#)
    }

    /// Every digit count and both signs, against the standard library's own formatting.
    @Test func decimalsMatchTheStandardLibrary() {
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, 101, 999, 1000, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        var power: Int64 = 1
        for _ in 0..<18 {
            power *= 10
            values += [power - 1, power, power + 1, -power, -(power - 1)]
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<1000 { values.append(Int64.random(in: Int64.min...Int64.max, using: &random)) }
        for value in values {
            var buffer = ByteBuffer()
            buffer.writeJSON(bound: JSONWriter.decimalBound) { $0.decimal(value) }
            #expect(String(buffer: buffer) == String(value))
        }
    }

    /// Random ids and the extremes, against Foundation's UUID (lowercased) and back through the parser.
    @Test func uuidsMatchFoundation() throws {
        var ids = [MessageID(high: 0, low: 0), MessageID(high: .max, low: .max), MessageID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)]
        for _ in 0..<1000 { ids.append(MessageID.random()) }
        for id in ids {
            var buffer = ByteBuffer()
            buffer.writeJSON(bound: 36) { $0.uuid(id) }
            let text = String(buffer: buffer)
            let bytes = withUnsafeBytes(of: (id.high.bigEndian, id.low.bigEndian)) { Array($0) }
            let expected = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                                       bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
            #expect(text == expected.uuidString.lowercased())
            #expect(MessageID(text) == id)
        }
    }
}
