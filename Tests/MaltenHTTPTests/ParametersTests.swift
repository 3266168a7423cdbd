@testable import MaltenHTTP
import Testing

@Suite struct ParametersTests {
    func decode(_ text: String) throws -> Parameters {
        var parameters = Parameters()
        try parameters.decode(text: text)
        return parameters
    }

    @Test func decodesFormEncoding() throws {
        let p = try decode("stream=foo&text=hello+world%21%20%E2%9C%93&empty=&flag&a=b=c")
        #expect(p["stream"] == "foo")
        #expect(p["text"] == "hello world! ✓")
        #expect(p["empty"] == nil)
        #expect(p["flag"] == nil)
        #expect(p["a"] == "b=c")
        #expect(p["missing"] == nil)
    }

    @Test func firstValueWins() throws {
        var p = Parameters()
        try p.decode(text: "text=body")
        try p.decode(text: "text=query&stream=q")
        #expect(p["text"] == "body")
        #expect(p["stream"] == "q")
    }

    @Test func rejectsBadEscapesAndInvalidUTF8() {
        #expect(throws: Parameters.DecodingError.badEscape) { try decode("text=%zz") }
        #expect(throws: Parameters.DecodingError.badEscape) { try decode("text=%4") }
        #expect(throws: Parameters.DecodingError.invalidUTF8) { try decode("text=%ff") }
        #expect(throws: Parameters.DecodingError.invalidUTF8) { try decode("text=%C3%28") }
    }
}

extension Parameters {
    mutating func decode(text: String) throws {
        var text = text
        try text.withUTF8 { bytes in try decode(UnsafeRawBufferPointer(bytes)) }
    }
}
