#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One request line of `malten stdio`: an operation and the HTTP API's parameters, by name.
struct StdioRequest: Decodable {
    var rid: JSONValue?
    var op: String?
    var stream: String?
    var text: String?
    var message: String?
    var limit: Int?
    var direction: Int?
    var last: Position?
    var since: Position?
    var id: String?
    var `private`: Bool?
    var ttl: Int?
    var pipe: Bool?
    var sub: Int?

    /// `last` and `since`: decimal Unix nanoseconds, as a JSON string or an integer.
    struct Position: Decodable {
        var value: Int64

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let number = try? container.decode(Int64.self) {
                value = number
            } else if let text = try? container.decode(String.self), let number = Int64(text) {
                value = number
            } else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected decimal nanoseconds")
            }
        }
    }
}

/// Just the `rid` of a line, read first, so that even a malformed request gets its own rid back.
struct RequestID: Decodable {
    var rid: JSONValue?
}

/// Any JSON value, kept to be written back as it came (`rid` is echoed as given).
enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }
}
