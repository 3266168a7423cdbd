import NIOCore

/// Many HTTP/1.1 requests written at once on one kept-alive connection, as a script in a hurry
/// sends them: the server answers them as fast as it can, however slowly the test's tasks run.
public enum PipelinedClient {
    /// Sends `requests` (each a whole request, head and body) and returns each answer's status, in order.
    public static func statuses(of requests: [String], port: Int) async throws -> [Int] {
        var bytes = ByteBuffer()
        for request in requests { bytes.writeString(request) }
        return try await openConnection(port: port, writing: bytes).executeThenClose { inbound, _ in
            var received = ByteBuffer()
            var statuses: [Int] = []
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
                // Each answer: a head with Content-Length, then that many bytes.
                while let (status, length) = Self.answer(in: received) {
                    received.moveReaderIndex(forwardBy: length)
                    statuses.append(status)
                }
                received.discardReadBytes()
                if statuses.count == requests.count { break }
            }
            return statuses
        }
    }

    /// The status and whole length of the first complete answer in `buffer`, if it is all there.
    private static func answer(in buffer: ByteBuffer) -> (status: Int, length: Int)? {
        let view = buffer.readableBytesView
        guard let end = view.firstRange(of: Array("\r\n\r\n".utf8)) else { return nil }
        let headLength = view.distance(from: view.startIndex, to: end.upperBound)
        let head = String(decoding: view.prefix(headLength), as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        guard let status = lines.first.flatMap({ Int($0.split(separator: " ").dropFirst().first ?? "") }) else { return nil }
        let bodyLength = lines.lazy.compactMap { line -> Int? in
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "content-length" else { return nil }
            return Int(parts[1].filter { $0 != " " })
        }.first ?? 0
        guard buffer.readableBytes >= headLength + bodyLength else { return nil }
        return (status, headLength + bodyLength)
    }
}
