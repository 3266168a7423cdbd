import MaltenCore
import MaltenJSON
import NIOCore

/// The handlers of Malten's API for one request: read parameters, make one store call, encode JSON.
struct Routes {
    let store: any StreamStore
    let parameters: Parameters
    let allocator: ByteBufferAllocator

    /// The `stream` parameter, `_` when absent; 400 for a name that breaks the rules.
    private func streamName() throws(HTTPError) -> String {
        let name = parameters["stream"] ?? StreamName.defaultName
        guard StreamName.isValid(name) else { throw HTTPError(StoreError.invalidStreamName) }
        return name
    }

    /// An integer parameter within `range`; nil when absent, 400 when it does not parse or lies outside.
    private func integer<T: FixedWidthInteger>(_ name: String, in range: ClosedRange<T>) throws(HTTPError) -> T? {
        guard let text = parameters[name] else { return nil }
        guard let value = T(text), range.contains(value) else {
            let expected = range.lowerBound == T.min ? "an integer" : "an integer of at least \(range.lowerBound)"
            throw HTTPError(.badRequest, "Invalid \(name): expected \(expected)")
        }
        return value
    }

    // MARK: /messages

    /// `GET /messages`: `id`, else `since`, else `direction` with `limit` and `last`.
    func getMessages() throws(HTTPError) -> Response {
        let stream = try streamName()
        let limit = try integer("limit", in: 1...Int.max) ?? 25
        let direction = try integer("direction", in: Int.min...Int.max) ?? 1
        let last = try integer("last", in: Int64(0)...Int64.max) ?? 0
        let since = try integer("since", in: Int64(0)...Int64.max)
        let query: ReadQuery
        if let id = parameters["id"] {
            guard let id = MessageID(id) else { return .json(ByteBuffer(staticString: "[]")) }
            query = .id(id)
        } else if let since {
            query = .since(since, limit: limit)
        } else if direction >= 0 {
            query = .newest(limit: limit, after: last)
        } else {
            query = .older(limit: limit, before: last)
        }
        // Room for 25 messages of 100 characters plus one message's worst-case reservation, so the
        // common read never reallocates (each reallocation copies, and wipes the old block); larger
        // answers grow as needed.
        var body = allocator.buffer(capacity: 2 + min(limit, 25) * 200 + 128 + JSONWriter.stringBound(100) + JSONWriter.stringBound(stream.utf8.count))
        // A closed pipe holds nothing: only an empty answer needs the second look.
        if body.writeMessages(of: stream, query, in: store) == 0, store.isClosedPipe(stream: stream) {
            throw HTTPError(StoreError.pipeClosed)
        }
        return .json(body)
    }

    /// `POST /messages`: `stream` and `text` (the 2023 client sends `message`).
    func postMessage(answer: @escaping @Sendable (Response) -> Void) throws(HTTPError) {
        let stream = try streamName()
        let text = parameters["text"] ?? parameters["message"] ?? ""
        let allocator = allocator
        store.post(stream: stream, text: text) { result in
            switch result {
            case .success(let message):
                var body = allocator.buffer(capacity: 160 + message.text.utf8.count + message.stream.utf8.count)
                body.writeMessage(message)
                answer(.json(body))
            case .failure(let error):
                answer(HTTPError(error).response(allocator: allocator))
            }
        }
    }

    // MARK: /streams

    /// `GET /streams`: the listed streams; with `stream=NAME`, that one stream, listed or not (404 if none).
    func getStreams() throws(HTTPError) -> Response {
        let streams: [StreamInfo]
        if parameters["stream"] != nil {
            let name = try streamName()
            guard let info = store.info(stream: name) else {
                if store.isClosedPipe(stream: name) { throw HTTPError(StoreError.pipeClosed) }
                throw HTTPError(.notFound, "Stream not found")
            }
            streams = [info]
        } else {
            streams = store.listedStreams()
        }
        var body = allocator.buffer(capacity: 2 + streams.count * 100)
        body.writeStreams(streams)
        return .json(body)
    }

    /// `POST /streams`: `stream` (random when absent), `private`, `ttl`, `pipe`.
    func postStream(answer: @escaping @Sendable (Response) -> Void) throws(HTTPError) {
        let name = parameters["stream"]
        if let name, !StreamName.isValid(name) { throw HTTPError(StoreError.invalidStreamName) }
        let isPrivate = try boolean("private") ?? false
        let isPipe = try boolean("pipe") ?? false
        let ttl = try integer("ttl", in: Int.min...Int.max)
        let allocator = allocator
        store.create(stream: name, isPrivate: isPrivate, ttl: ttl, pipe: isPipe) { result in
            switch result {
            case .success(let created):
                var body = allocator.buffer(capacity: 64 + created.name.utf8.count)
                body.writeCreatedStream(created)
                answer(.json(body))
            case .failure(let error):
                answer(HTTPError(error).response(allocator: allocator))
            }
        }
    }

    // MARK: /stats

    /// `GET /stats`: totals, no names and no text.
    func getStats() -> Response {
        var body = allocator.buffer(capacity: 160)
        body.writeStats(store.stats())
        return .json(body)
    }

    /// A boolean as Go's `strconv.ParseBool` reads it (`1`, `t`, `true`, `0`, `f`, `false`, any case), plus `on`/`off`.
    private func boolean(_ name: String) throws(HTTPError) -> Bool? {
        guard let text = parameters[name] else { return nil }
        switch text.lowercased() {
        case "1", "t", "true", "on", "yes": return true
        case "0", "f", "false", "off", "no": return false
        default: throw HTTPError(.badRequest, "Invalid \(name): true or false")
        }
    }
}
