import FoundationEssentials
import MaltenCrypto

/// The command-line client's operations on one server, over its HTTP API: make a stream, send to
/// it, read it, follow it. A sealed stream's texts are sealed before they leave and opened as they
/// come; what does not open is reported, never printed as text.
public struct StreamClient: Sendable {
    /// Where messages and warnings go: stdout and stderr for the commands.
    public struct Output: Sendable {
        public var message: @Sendable (String) -> Void
        public var warning: @Sendable (String) -> Void

        public init(message: @escaping @Sendable (String) -> Void, warning: @escaping @Sendable (String) -> Void) {
            self.message = message
            self.warning = warning
        }
    }

    /// The kinds of stream `new` makes.
    public enum Kind: String, Sendable, CaseIterable {
        case `public`, `private`, encrypted
    }

    let origin: ServerOrigin
    let caFile: String?

    public init(origin: ServerOrigin, caFile: String? = nil) {
        self.origin = origin
        self.caFile = caFile
    }

    var http: HTTPExchange { HTTPExchange(origin: origin, caFile: caFile) }

    /// Makes a stream and returns its link.
    public func create(_ kind: Kind, ttl: Int?) async throws(ClientError) -> StreamLink {
        var form: [(String, String)] = []
        var sealed: SealedStream?
        switch kind {
        case .public: break
        case .private: form.append(("private", "true"))
        case .encrypted:
            let stream = SealedStream.random()
            sealed = stream
            form += [("stream", stream.name), ("private", "true")]
        }
        if let ttl { form.append(("ttl", "\(ttl)")) }
        struct Created: Decodable { var stream: String }
        let created: Created = try decoded(await checked(http.collect(.POST, "/streams", form: form)))
        return StreamLink(origin: origin, sealed: sealed, name: created.stream)
    }

    /// Posts one message (sealed for a sealed stream) and returns what the server stored.
    @discardableResult
    public func send(_ text: String, to link: StreamLink) async throws(ClientError) -> ClientMessage {
        var body = text
        if let sealed = link.sealed {
            do {
                body = try sealed.seal(text, time: UInt32(clamping: Int64(Date().timeIntervalSince1970)))
            } catch {
                throw .tooLong(error.description)
            }
        }
        return try decoded(await checked(http.collect(.POST, "/messages", form: [("stream", link.name), ("text", body)])))
    }

    /// The newest `limit` stored messages, oldest first, opened.
    public func read(_ link: StreamLink, limit: Int, output: Output, json: Bool) async throws(ClientError) {
        let path = "/messages?stream=\(HTTPExchange.percentEncoded(link.name))&limit=\(limit)"
        let messages: [ClientMessage] = try decoded(await checked(http.collect(.GET, path)))
        if messages.isEmpty { output.warning("no messages: the stream is empty, or it has expired") }
        var opener = Opener(link: link)
        for message in messages { opener.emit(message, output: output, json: json) }
    }

    /// History after `since` (if given), then live messages over `/events`, until the stream ends
    /// (evicted) or the task is cancelled. A dropped connection is resumed with `Last-Event-ID`.
    public func tail(_ link: StreamLink, since: String?, output: Output, json: Bool) async throws(ClientError) {
        var opener = Opener(link: link)
        var last = since
        var connected = false
        while !Task.isCancelled {
            var parser = ServerSentEventParser()
            var ended = false
            let path = "/events?stream=\(HTTPExchange.percentEncoded(link.name))"
            do throws(ClientError) {
                var refusal: (status: Int, body: [UInt8])?
                try await http.run(.GET, path, headers: last.map { [("Last-Event-ID", $0)] } ?? [], idle: .seconds(90)) { status, chunk in
                    guard status == 200 else {
                        refusal = (status, (refusal?.body ?? []) + (chunk?.readableBytesView ?? []))
                        return chunk != nil && refusal!.body.count < 1 << 16
                    }
                    guard let chunk else { return false }
                    connected = true
                    for event in parser.feed(chunk.readableBytesView) {
                        switch event.name {
                        case nil:
                            guard let message = try? JSONDecoder().decode(ClientMessage.self, from: Data(event.data.utf8)) else { continue }
                            if let id = event.id { last = id }
                            if message.Type == "message" { opener.emit(message, output: output, json: json) }
                        case "gap": output.warning("gap: messages after the last one seen were dropped by the server (FIFO, TTL or memory)")
                        case "evicted":
                            output.warning("the stream was evicted by the server's memory budget")
                            ended = true
                            return false
                        default: break  // lagged: the connection ends and is resumed
                        }
                    }
                    return true
                }
                if let refusal { throw .refused(status: refusal.status, message: Self.errorMessage(refusal.body)) }
            } catch {
                if case .refused = error { throw error }
                guard connected else { throw error }  // never reached: say so
            }
            if ended { return }
            output.warning("connection lost; resuming\(last.map { " after \($0)" } ?? "")")
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// The body of a 200 answer; any other status is the server's refusal.
    func checked(_ answer: (status: Int, body: [UInt8])) throws(ClientError) -> [UInt8] {
        guard answer.status == 200 else { throw .refused(status: answer.status, message: Self.errorMessage(answer.body)) }
        return answer.body
    }

    /// A successful answer's JSON; anything else did not come from a Malten server.
    private func decoded<T: Decodable>(_ body: [UInt8]) throws(ClientError) -> T {
        guard let value = try? JSONDecoder().decode(T.self, from: Data(body)) else {
            throw .unreachable(origin: origin.description, reason: "the answer is not Malten's")
        }
        return value
    }

    static func errorMessage(_ body: [UInt8]) -> String {
        struct Refusal: Decodable { var error: String }
        return (try? JSONDecoder().decode(Refusal.self, from: Data(body)))?.error ?? "no message"
    }
}

/// Opens a sealed stream's messages for printing: drops a nonce seen before (a replay), warns on
/// what does not open; a plain stream's messages pass as they are.
struct Opener {
    let link: StreamLink
    private var nonces: Set<[UInt8]> = []

    init(link: StreamLink) { self.link = link }

    mutating func emit(_ message: ClientMessage, output: StreamClient.Output, json: Bool) {
        var message = message
        if let sealed = link.sealed {
            guard let opened = sealed.open(message.Text ?? "") else {
                output.warning("message \(message.Created ?? "?") does not open (tampered, another key, or not encrypted)")
                return
            }
            guard nonces.insert(opened.nonce).inserted else { return }
            message.Text = opened.text
        }
        output.message(json ? message.jsonLine() : message.Text ?? "")
    }
}
