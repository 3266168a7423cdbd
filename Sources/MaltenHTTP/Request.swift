import NIOCore
import NIOHTTP1

/// A decoded request as routes see it: method, path, and the parameters of query and form body.
struct Request {
    var method: HTTPMethod
    var path: Substring
    var parameters: Parameters
    var headers: HTTPHeaders

    /// Splits the target into path and query and decodes the parameters, body first (Go's `ParseForm`).
    init(head: HTTPRequestHead, body: ByteBuffer?) throws(HTTPError) {
        method = head.method
        headers = head.headers
        let uri = head.uri.utf8
        let queryStart = uri.firstIndex(of: UInt8(ascii: "?"))
        path = Substring(head.uri[..<(queryStart ?? head.uri.endIndex)])
        var parameters = Parameters()
        do {
            if let body, body.readableBytes > 0, Self.isForm(head.headers) {
                try body.withUnsafeReadableBytes { bytes in try parameters.decode(bytes) }
            }
            if let queryStart {
                let offset = uri.distance(from: uri.startIndex, to: queryStart) + 1
                var target = head.uri
                try target.withUTF8 { bytes in try parameters.decode(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[offset...])) }
            }
        } catch Parameters.DecodingError.invalidUTF8 {
            throw HTTPError(.badRequest, "Parameters must be valid UTF-8")
        } catch {
            throw HTTPError(.badRequest, "Malformed percent-encoding in parameters")
        }
        self.parameters = parameters
    }

    /// A body counts as a form when it says so, or says nothing (curl's `--data` and most scripts).
    private static func isForm(_ headers: HTTPHeaders) -> Bool {
        guard var type = headers.first(name: "content-type") else { return true }
        let form: StaticString = "application/x-www-form-urlencoded"
        return type.withUTF8 { bytes in
            guard bytes.count >= form.utf8CodeUnitCount else { return false }
            for index in 0..<form.utf8CodeUnitCount where bytes[index] | 0x20 != form.utf8Start[index] | 0x20 { return false }
            return true
        }
    }
}
