import FoundationEssentials
import MaltenCrypto

/// A pipe's link as the page shares it: `ORIGIN/#p=SECRET`.
public struct PipeLink: Sendable, CustomStringConvertible {
    public var origin: ServerOrigin
    public var pipe: PipeSecret

    public init(_ text: String) throws(ClientError) {
        origin = try ServerOrigin(text)
        guard let hash = text.firstIndex(of: "#"), text[text.index(after: hash)...].hasPrefix("p=") else {
            throw .badLink("the link is not a pipe's (no #p= after the server)")
        }
        do {
            pipe = try PipeSecret(secret: text[text.index(hash, offsetBy: 3)...])
        } catch {
            throw .badLink("the pipe's secret is not 32 bytes of base64url (43 characters after #p=)")
        }
    }

    init(origin: ServerOrigin, pipe: PipeSecret) {
        self.origin = origin
        self.pipe = pipe
    }

    public var description: String { "\(origin)/#p=\(pipe.secret)" }
}

/// `malten pipe`: one party of a pipe. It follows the pipe from its start, posts its hello, and once
/// the other party's hello verifies, says the safety code, sends what it is given and prints what the
/// other side sends, until either side leaves.
extension StreamClient {
    /// Makes a new pipe (private, 64 messages, `ttl` or the server's 600 s) and returns its link.
    public func createPipe(ttl: Int?) async throws(ClientError) -> PipeLink {
        let pipe = PipeSecret.random()
        var form = [("stream", pipe.name), ("pipe", "true")]
        if let ttl { form.append(("ttl", "\(ttl)")) }
        _ = try await checked(http.collect(.POST, "/streams", form: form))
        return PipeLink(origin: origin, pipe: pipe)
    }

    /// Joins the pipe of `link` and runs it: each of `lines` is sealed and sent once the other side
    /// is there (waiting at most `wait` for its hello); the end of `lines` leaves the pipe, which
    /// ends it for both. Returns when either side has left; `safetyCode` is called once, messages
    /// from the other side go to `output.message`, what does not open to `output.warning`.
    public func join(
        _ link: PipeLink, lines: AsyncStream<String>, wait: Duration, output: StreamClient.Output,
        safetyCode: @escaping @Sendable (String) -> Void
    ) async throws(ClientError) {
        let party = PipeParty(link.pipe)
        let state = PipeState()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await follow(party, state: state, output: output, safetyCode: safetyCode) }
                group.addTask { try await speak(lines, party: party, state: state, wait: wait) }
                try await group.next()  // the first to end, ends the pipe: leaving closes the subscription
                group.cancelAll()
            }
        } catch let error as ClientError {
            throw error
        } catch {
            throw .unreachable(origin: origin.description, reason: "\(error)")
        }
    }

    /// The subscription: the hello is posted on our own connect, and again whenever someone connects
    /// while the pipe is unpaired, so a late party finds a fresh one whatever the TTL took; hellos make the session,
    /// messages are opened and printed. It returns when the other side left (`closed`), and fails on
    /// a refusal (a full or closed pipe, before or as the stream starts) or a lost connection.
    private func follow(
        _ party: PipeParty, state: PipeState, output: StreamClient.Output, safetyCode: @escaping @Sendable (String) -> Void
    ) async throws(ClientError) {
        try await checkIsPipe(party.pipe.name)
        var parser = ServerSentEventParser()
        var refusal: (status: Int, body: [UInt8])?
        var closed = false
        var helloSent = false
        let path = "/events?since=0&stream=\(HTTPExchange.percentEncoded(party.pipe.name))"
        try await http.run(.GET, path, idle: .seconds(90)) { status, chunk in
            guard status == 200 else {
                refusal = (status, (refusal?.body ?? []) + (chunk?.readableBytesView ?? []))
                return chunk != nil && refusal!.body.count < 1 << 16
            }
            guard let chunk else { return false }
            for event in parser.feed(chunk.readableBytesView) {
                switch event.name {
                case "closed":
                    closed = true
                    return false
                case "error":  // refused just as the stream started: {"error":…,"status":N}
                    struct Refused: Decodable { var status: Int }
                    let status = (try? JSONDecoder().decode(Refused.self, from: Data(event.data.utf8)))?.status ?? 0
                    refusal = (status, Array(event.data.utf8))
                    return false
                case nil: break
                default: continue
                }
                guard let message = try? JSONDecoder().decode(ClientMessage.self, from: Data(event.data.utf8)) else { continue }
                // Our own connect comes first (after the replay, which may already have paired us).
                if message.Type == "event", message.Text == "connect" {
                    let paired = await state.session != nil
                    if !helloSent || !paired { try await post(party.hello, to: party.pipe.name) }
                    helloSent = true
                    continue
                }
                guard message.Type == "message", let text = message.Text else { continue }
                if text.hasPrefix("h1.") {
                    if await state.session == nil, let peer = party.peer(inHello: text) {
                        let session = party.session(with: peer)
                        await state.paired(session)
                        safetyCode(session.safetyCode)
                    }
                } else if let session = await state.session {
                    guard let opened = session.open(text) else {
                        output.warning("message \(message.Created ?? "?") does not open (tampered, or not from the other side)")
                        continue
                    }
                    if await state.isNew(opened.nonce) { output.message(opened.text) }
                }
            }
            return true
        }
        if let refusal { throw .refused(status: refusal.status, message: Self.errorMessage(refusal.body)) }
        if !closed { throw .unreachable(origin: origin.description, reason: "the pipe's connection ended") }
    }

    /// Refuses a link whose stream is gone or is no pipe, before subscribing would make a plain stream of it.
    private func checkIsPipe(_ name: String) async throws(ClientError) {
        let answer = try await http.collect(.GET, "/streams?stream=\(HTTPExchange.percentEncoded(name))")
        if answer.status == 404 { throw .refused(status: 404, message: "no such pipe: it expired, or the link is wrong") }
        let body = try checked(answer)
        struct Entry: Decodable { var Pipe: Bool? }
        guard (try? JSONDecoder().decode([String: Entry].self, from: Data(body)))?[name]?.Pipe == true else {
            throw .refused(status: 409, message: "the link's stream is not a pipe")
        }
    }

    private func post(_ text: String, to name: String) async throws(ClientError) {
        _ = try await checked(http.collect(.POST, "/messages", form: [("stream", name), ("text", text)]))
    }

    /// Waits for the session (at most `wait`), then seals and sends each line; returns at their end.
    private func speak(_ lines: AsyncStream<String>, party: PipeParty, state: PipeState, wait: Duration) async throws {
        let deadline = ContinuousClock.now + wait
        var session = await state.session
        while session == nil {
            guard ContinuousClock.now < deadline else {
                throw ClientError.refused(status: 0, message: "the other side did not join within \(wait.components.seconds) s")
            }
            try await Task.sleep(for: .milliseconds(50))
            session = await state.session
        }
        for await line in lines {
            let sealed: String
            do {
                sealed = try session!.seal(line, time: UInt32(clamping: Int64(Date().timeIntervalSince1970)))
            } catch {
                throw ClientError.tooLong(error.description)
            }
            if let combined = Base64URL.decode(sealed.dropFirst(3)) { await state.sent(Array(combined.prefix(12))) }  // its nonce
            try await post(sealed, to: party.pipe.name)
        }
    }
}

/// What the two halves of a party share: the session once paired, and the nonces of what it sent
/// or has seen (its own messages come back on the stream and are not the other side's; a nonce
/// seen twice is a replay).
private actor PipeState {
    private(set) var session: PipeSession?
    private var nonces: Set<[UInt8]> = []

    func paired(_ session: PipeSession) { self.session = session }

    func sent(_ nonce: [UInt8]) { nonces.insert(nonce) }

    func isNew(_ nonce: [UInt8]) -> Bool { nonces.insert(nonce).inserted }
}
