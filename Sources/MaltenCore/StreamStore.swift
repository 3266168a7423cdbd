/// What every frontend speaks to: the local `Store`, or a cluster member that keeps one as its
/// replica. A frontend never learns which.
///
/// Writes answer through a callback because a clustered store orders them elsewhere: the local
/// store calls it before `post` or `create` returns, on the caller's thread; a cluster member calls
/// it from its own threads once the stream's owner has answered. Reads, subscriptions and lookups
/// are answered at once from local memory either way.
public protocol StreamStore: AnyObject, Sendable {
    var limits: Limits { get }

    /// Appends `text` to `stream` (see `Store.post`); `done` gets the stored message or the refusal.
    func post(stream: String, text: String, done: @escaping @Sendable (Result<Message, StoreError>) -> Void)

    /// Creates a stream or a pipe (see `Store.create`).
    func create(
        stream: String?, isPrivate: Bool, ttl: Int?, pipe: Bool,
        done: @escaping @Sendable (Result<CreatedStream, StoreError>) -> Void)

    /// Lends each selected message to `body` (see `Store.read`).
    func read(stream: String, _ query: ReadQuery, _ body: (StoredMessage) -> Void)

    func subscribe(stream: String, since: Int64?, subscriber: any StreamSubscriber) throws(StoreError) -> Subscription
    func unsubscribe(_ subscription: Subscription)
    func isClosedPipe(stream: String) -> Bool
    func pipeRefusal(forSubscribingTo stream: String) -> StoreError?
    func info(stream: String) -> StreamInfo?
    func listedStreams(limit: Int) -> [StreamInfo]
    func stats() -> StoreStats
}

extension StreamStore {
    /// The listed streams, at most 1024.
    public func listedStreams() -> [StreamInfo] { listedStreams(limit: 1024) }
}

extension Store: StreamStore {
    public func post(stream: String, text: String, done: @escaping @Sendable (Result<Message, StoreError>) -> Void) {
        done(Result { () throws(StoreError) in try post(stream: stream, text: text) })
    }

    public func create(
        stream: String?, isPrivate: Bool, ttl: Int?, pipe: Bool,
        done: @escaping @Sendable (Result<CreatedStream, StoreError>) -> Void
    ) {
        done(Result { () throws(StoreError) in try create(stream: stream, isPrivate: isPrivate, ttl: ttl, pipe: pipe) })
    }
}
