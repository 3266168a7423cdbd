import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Malten's in-memory store: streams of text, sharded by name, each shard owned by one serial queue.
///
/// Every operation validates its input on the caller's thread, then makes one `queue.sync` hop to
/// the shard that owns the stream. Nothing is ever written anywhere but memory.
///
///     let store = Store()
///     let message = try store.post(stream: "foo", text: "hello")
///     store.read(stream: "foo", .newest(limit: 25, after: 0))   // [message]
public final class Store: Sendable {
    public let limits: Limits
    private let shards: [Shard]
    /// One timer for the whole store; each tick runs every shard's wheel on that shard's queue.
    /// (Dispatch sources are thread-safe; the type just does not say so.)
    nonisolated(unsafe) private let expiryTimer: DispatchSourceTimer?
    private let afterExpiry: (@Sendable () -> Void)?

    /// Sixteen per online core: threads that meet on one queue wait for each other (a futex round
    /// trip), so shards are many and cheap. Measured with two threads posting into 64 streams on
    /// this project's 2-core machine: 0.80 M appends/s with 4 shards, 1.10 M with 16, 1.21 M with 64.
    public static var defaultShardCount: Int {
        max(2, 16 * Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// - Parameters:
    ///   - expiryInterval: how often each shard runs its timing wheel; nil leaves it to
    ///     `expireDue()` (tests with a manual clock).
    ///   - afterExpiry: called on the expiring thread after a round that removed streams or
    ///     messages. The server flushes the allocator's cache of that thread there: an idle thread's
    ///     cache never empties on its own, and the freed blocks it holds keep their pages resident.
    public init(
        limits: Limits = Limits(),
        shardCount: Int = Store.defaultShardCount,
        clock: any WallClock = SystemClock(),
        expiryInterval: DispatchTimeInterval? = .seconds(1),
        afterExpiry: (@Sendable () -> Void)? = nil
    ) {
        precondition(shardCount >= 1)
        self.limits = limits
        // Each shard's share of the budget must hold a few streams; a small budget gets fewer shards.
        var shardCount = shardCount
        if let budget = limits.memoryBudget {
            let stream = MemoryCost.stream(name: "", capacity: limits.streamCapacity)
            shardCount = max(1, min(shardCount, budget / (4 * stream)))
        }
        let share = limits.memoryBudget.map { $0 / shardCount } ?? Int.max
        self.shards = (0..<shardCount).map { Shard(index: $0, limits: limits, budget: share, clock: clock) }
        if let expiryInterval {
            let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "malten.expiry"))
            timer.schedule(deadline: .now() + expiryInterval, repeating: expiryInterval, leeway: .milliseconds(100))
            // The timer's one thread visits the shards in turn: an `async` to each would wake a
            // thread per shard every second, and keep them all alive.
            timer.setEventHandler { [shards] in
                if Self.expire(shards) { afterExpiry?() }
            }
            timer.resume()
            expiryTimer = timer
        } else {
            expiryTimer = nil
        }
        self.afterExpiry = afterExpiry
    }

    deinit {
        expiryTimer?.cancel()
    }

    /// The index of the shard that owns `name`.
    public func shardIndex(for name: String) -> Int {
        Int(UInt(bitPattern: name.hashValue) % UInt(shards.count))
    }

    public var shardCount: Int { shards.count }

    private func shard(for name: String) -> Shard {
        shards[shardIndex(for: name)]
    }

    /// Appends `text` to `stream`, creating the stream (unlisted, default TTL) if it does not exist.
    /// - Throws: `StoreError` for a bad name, blank text, text over the limit, or a message that can
    ///   never fit in the memory budget; nothing is stored then. A message that fits may evict the
    ///   shard's least recently updated streams (see `Limits.memoryBudget`).
    public func post(stream: String, text: String) throws(StoreError) -> Message {
        try sequence(stream: stream, text: text).message
    }

    /// `post`, also saying the `Created` of the message before this one in the stream (0 for none):
    /// what a cluster's owner of the stream sends along, so that a replica sees whether it missed one.
    public func sequence(stream: String, text: String) throws(StoreError) -> (message: Message, previous: Int64) {
        guard StreamName.isValid(stream) else { throw .invalidStreamName }
        try validate(text: text)
        return try shard(for: stream).post(stream: stream, text: text, stored: StoredText(text)).get()
    }

    /// Creates a stream; a random unguessable name (128 bits) when `stream` is nil. A `pipe` is a
    /// private stream of `Limits.pipeCapacity` messages (TTL `Limits.pipeTTL` unless given) for two
    /// parties: a third subscriber gets `pipeFull`, and once both have joined, the first to leave
    /// ends it (the other gets `closed`); its name then answers `pipeClosed` for the pipe's TTL.
    /// - Throws: `StoreError.streamExists` when the name is taken, `pipeClosed`, or a bad name or TTL.
    public func create(stream: String?, isPrivate: Bool, ttl: Int?, pipe: Bool = false) throws(StoreError) -> CreatedStream {
        if let stream, !StreamName.isValid(stream) { throw .invalidStreamName }
        if let stream, pipe, !StreamName.isPipeName(stream) { throw .invalidPipeName }
        let ttl = ttl ?? (pipe ? limits.pipeTTL : limits.defaultTTL)
        guard limits.ttlBounds.contains(ttl) else { throw .invalidTTL(bounds: limits.ttlBounds) }
        if let stream {
            return try shard(for: stream).create(stream: stream, isPrivate: isPrivate, ttl: ttl, pipe: pipe).get()
        }
        while true {  // a 128-bit name collides practically never, but a collision must not fail
            let name = pipe ? StreamName.randomPipeName() : StreamName.random()
            switch shard(for: name).create(stream: name, isPrivate: isPrivate, ttl: ttl, pipe: pipe) {
            case .success(let created): return created
            case .failure(.streamExists): continue
            case .failure(let error): throw error
            }
        }
    }

    /// The messages of `stream` that `query` selects, as copies; `[]` for an unknown stream or name.
    /// A limit above the stream capacity counts as the capacity.
    public func read(stream: String, _ query: ReadQuery) -> [Message] {
        var messages: [Message] = []
        read(stream: stream, query) { messages.append(Message($0, stream: stream)) }
        return messages
    }

    /// Lends each message of `stream` that `query` selects to `body`, in the query's order, without
    /// copying it. `body` runs on the shard's queue and must be short (encoding, say): the shard
    /// waits for it.
    public func read(stream: String, _ query: ReadQuery, _ body: (StoredMessage) -> Void) {
        guard StreamName.isValid(stream) else { return }
        let capacity = limits.streamCapacity
        let clamped: ReadQuery =
            switch query {
            case .newest(let limit, let after): .newest(limit: min(max(limit, 1), capacity), after: after)
            case .older(let limit, let before): .older(limit: min(max(limit, 1), capacity), before: before)
            case .since(let since, let limit): .since(since, limit: min(max(limit, 1), capacity))
            case .id: query
            }
        shard(for: stream).read(stream: stream, clamped, body)
    }

    /// Subscribes to `stream`, creating it (unlisted, default TTL) if it does not exist. With `since`,
    /// first replays what the stream still holds after that position, in order, preceded by a
    /// `gap` event when something after it was dropped; then every subscriber, this one included,
    /// gets a `connect` presence event, and live messages follow as they are posted. Replay and
    /// hand-over happen in one hop on the stream's shard: nothing is missed or repeated.
    /// - Throws: `StoreError.invalidStreamName`, `overBudget` when even an empty stream cannot fit,
    ///   `pipeFull` on a pipe with two subscribers, `pipeClosed` on a pipe that ended.
    public func subscribe(
        stream: String, since: Int64? = nil, subscriber: any StreamSubscriber
    ) throws(StoreError) -> Subscription {
        guard StreamName.isValid(stream) else { throw .invalidStreamName }
        return try shard(for: stream).subscribe(stream: stream, since: since, subscriber: subscriber).get()
    }

    /// Ends a subscription: the stream's other subscribers get a `close` presence event; on a pipe
    /// whose two parties had joined, it ends the pipe instead (see `create`).
    public func unsubscribe(_ subscription: Subscription) {
        shard(for: subscription.stream).unsubscribe(subscription)
    }

    /// Whether `stream` is a pipe that ended and still answers `pipeClosed` (reads and lookups of
    /// it find nothing; a frontend asks this to tell "closed" from "none").
    public func isClosedPipe(stream: String) -> Bool {
        StreamName.isValid(stream) && shard(for: stream).isClosedPipe(stream)
    }

    /// `pipeFull` or `pipeClosed` when subscribing to `stream` now would be refused for it: a frontend
    /// that must answer before it can subscribe (a WebSocket upgrade) asks this first.
    public func pipeRefusal(forSubscribingTo stream: String) -> StoreError? {
        guard StreamName.isValid(stream) else { return nil }
        return shard(for: stream).pipeRefusal(forSubscribingTo: stream)
    }

    /// One stream's entry, listed or not; nil when there is none.
    public func info(stream: String) -> StreamInfo? {
        guard StreamName.isValid(stream) else { return nil }
        return shard(for: stream).info(stream: stream)
    }

    /// The listed (public) streams, the `limit` most recently updated, newest first.
    public func listedStreams(limit: Int) -> [StreamInfo] {
        var all: [StreamInfo] = []
        for shard in shards where shard.hasListedStreams { all += shard.listedStreams(limit: limit) }
        all.sort { $0.updated > $1.updated }
        return Array(all.prefix(limit))
    }

    /// Totals over every shard.
    public func stats() -> StoreStats {
        var stats = shards.reduce(into: StoreStats()) { total, shard in
            let s = shard.stats()
            total.streams += s.streams
            total.listedStreams += s.listedStreams
            total.messages += s.messages
            total.observers += s.observers
            total.bytes += s.bytes
            total.expired += s.expired
            total.evicted += s.evicted
            total.ringPoolBytes += s.ringPoolBytes
        }
        stats.budget = limits.memoryBudget ?? Int.max
        return stats
    }

    // MARK: Replication (a cluster member applies what each stream's owner decided)

    /// Applies `message` as the stream's owner stored it (its `Id` and `Created` kept), creating the
    /// stream with `settings` (the defaults when nil) if it does not exist here. With `previous`, the
    /// owner's message before it must be here already, or nothing is applied and the outcome says
    /// where this replica's copy of the stream ends. Not validated again: the owner did that.
    public func replicate(_ message: Message, after previous: Int64?, settings: StreamInfo? = nil) -> ReplicaOutcome {
        guard StreamName.isValid(message.stream) else { return .duplicate }
        return shard(for: message.stream).replicate(message, after: previous, settings: settings, stored: StoredText(message.text))
    }

    /// Makes a stream the owner made, with its settings; nothing when it exists here already.
    public func replicate(_ stream: StreamInfo) {
        guard StreamName.isValid(stream.name), limits.ttlBounds.contains(stream.ttl) else { return }
        shard(for: stream.name).replicate(stream)
    }

    /// The newest `Created` this store has for `stream`, remembered for a while after the stream is
    /// removed; 0 for none.
    public func newestCreated(stream: String) -> Int64 {
        guard StreamName.isValid(stream) else { return 0 }
        return shard(for: stream).newestCreated(stream: stream)
    }

    /// Records that other cluster members hold `remoteObservers` subscribers of `stream` in all; with
    /// a `change`, the local subscribers get that presence event (and a paired pipe whose other
    /// party left ends here too). Observer counts, expiry and pipes count these subscribers as well.
    public func remotePresence(_ change: Presence.Change?, stream: String, remoteObservers: Int) {
        guard StreamName.isValid(stream) else { return }
        shard(for: stream).remotePresence(change, stream: stream, remoteObservers: max(0, remoteObservers))
    }

    /// Every live stream's entry, listed or not (a joining cluster member pages them all).
    public func allStreams() -> [StreamInfo] {
        shards.flatMap { $0.allStreams() }
    }

    /// Runs every shard's timing wheel up to the clock's now. The expiry timer does this each
    /// interval; tests with a manual clock call it by hand.
    public func expireDue() {
        if Self.expire(shards) { afterExpiry?() }
    }

    /// Every shard's wheel, in turn; whether any of them had something due.
    private static func expire(_ shards: [Shard]) -> Bool {
        shards.reduce(false) { found, shard in shard.expireDueNow() || found }
    }

    /// Per shard: the running byte count, the same count made from scratch, and the stream names
    /// from least to most recently updated. For tests of the accounting.
    public func accounting() -> [(counted: Int, recounted: Int, streamsByAge: [String])] {
        shards.map { $0.recount() }
    }

    private func validate(text: String) throws(StoreError) {
        let scalars = text.unicodeScalars
        if Self.isBlank(text) { throw .blankMessage }
        // A scalar takes at least one UTF-8 byte: within the limit in bytes is within it in scalars.
        if text.utf8.count <= limits.maxCharacters { return }
        // Count no further than one past the limit.
        var count = 0
        for _ in scalars {
            count += 1
            if count > limits.maxCharacters { throw .messageTooLong(limit: limits.maxCharacters) }
        }
    }

    /// Empty, or only whitespace. An ASCII byte that is not a space settles it without decoding.
    private static func isBlank(_ text: String) -> Bool {
        for byte in text.utf8 {
            if byte >= 0x80 { break }
            if !(byte == 0x20 || (0x09...0x0D).contains(byte)) { return false }
        }
        return text.unicodeScalars.allSatisfy(\.properties.isWhitespace)
    }
}
