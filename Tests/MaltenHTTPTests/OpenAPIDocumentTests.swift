import Foundation
import MaltenCore
import Testing

/// `openapi.yaml` against the server it describes, where a fuzzer cannot reach: the document is
/// served as it is in the repository, and its stream-name pattern admits exactly the names the
/// server does. (Tests/OpenAPI/check.sh validates the document and fuzzes the live server with it.)
@Suite struct OpenAPIDocumentTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../openapi.yaml").standardized

    @Test func theServerServesTheRepositorysDocument() async throws {
        try await TestServer.with { server in
            let served = try await server.get("/openapi.yaml")
            #expect(served.status == 200)
            #expect(served.headers["Content-Type"].first == "application/yaml")
            #expect(served.body == (try String(contentsOf: Self.document, encoding: .utf8)))
        }
    }

    /// Unicode's letters and decimal digits spelled out range by range (`\p{L}` is not portable:
    /// Python's `re`, which openapi-spec-validator uses, has no property escapes), from the
    /// server's own rule applied to every scalar; a mismatch prints the pattern to write.
    @Test func theStreamNamePatternIsExactlyTheServersRule() throws {
        var ranges: [ClosedRange<UInt32>] = []
        for value in UInt32(0x80)...0x10FFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }
            var name = "x"
            name.unicodeScalars.append(scalar)
            guard StreamName.isValid(name) else { continue }
            if let last = ranges.last, last.upperBound + 1 == value {
                ranges[ranges.count - 1] = last.lowerBound...value
            } else {
                ranges.append(value...value)
            }
        }
        func spelled(_ value: UInt32) -> String {
            // Astral scalars as themselves: no escape for them is read alike by ECMA-262, Python and Rust.
            value <= 0xFFFF ? "\\u" + String(value, radix: 16, uppercase: true).leftPadded(to: 4) : String(Unicode.Scalar(value)!)
        }
        let nonASCII = ranges.map { $0.count == 1 ? spelled($0.lowerBound) : spelled($0.lowerBound) + "-" + spelled($0.upperBound) }
        let expected = "^(?!\\.\\.?$)[A-Za-z0-9._~" + nonASCII.joined() + "-]+$"

        let yaml = try String(contentsOf: Self.document, encoding: .utf8)
        let schema = try #require(yaml.range(of: "\n    StreamName:\n"))
        let line = try #require(yaml[schema.upperBound...].split(separator: "\n").first { $0.hasPrefix("      pattern: ") })
        let pattern = line.dropFirst("      pattern: '".count).dropLast()
        #expect(pattern == expected, "write the StreamName pattern as:\n'\(expected)'")
        // The ASCII part, and the rule's edges, as the server reads them.
        #expect(StreamName.isValid("café") && StreamName.isValid("名前") && StreamName.isValid("٣"))
        #expect(!StreamName.isValid("²") && !StreamName.isValid("e\u{301}") && !StreamName.isValid("😀") && !StreamName.isValid(".."))
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
