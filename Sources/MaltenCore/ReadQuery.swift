/// Which messages of a stream a read returns.
public enum ReadQuery: Sendable, Equatable {
    /// Of the newest `limit` messages, those with `created > last`, oldest first (Malten's `direction` ≥ 0).
    case newest(limit: Int, after: Int64)
    /// Walking back from the newest, up to `limit` messages with `created < before`
    /// (`before` ≤ 0: from the newest), newest first (Malten's `direction` < 0).
    case older(limit: Int, before: Int64)
    /// The oldest `limit` messages with `created > since`, oldest first: paging forward without gaps.
    case since(Int64, limit: Int)
    /// The one message with this id, if the stream still holds it.
    case id(MessageID)
}

/// A stream as listings show it.
public struct StreamInfo: Sendable, Equatable {
    public var name: String
    /// Unix nanoseconds of the last message (or of creation).
    public var updated: Int64
    /// Idle TTL in seconds.
    public var ttl: Int
    public var observers: Int
    public var isPrivate: Bool
    /// A pipe between two parties (always private).
    public var isPipe: Bool

    public init(name: String, updated: Int64, ttl: Int, observers: Int, isPrivate: Bool, isPipe: Bool = false) {
        self.name = name
        self.updated = updated
        self.ttl = ttl
        self.observers = observers
        self.isPrivate = isPrivate
        self.isPipe = isPipe
    }
}

/// What `create` made.
public struct CreatedStream: Sendable, Equatable {
    public var name: String
    public var isPrivate: Bool
    public var ttl: Int
    public var isPipe: Bool

    public init(name: String, isPrivate: Bool, ttl: Int, isPipe: Bool = false) {
        self.name = name
        self.isPrivate = isPrivate
        self.ttl = ttl
        self.isPipe = isPipe
    }
}

/// Totals over every shard: no names, no text.
public struct StoreStats: Sendable, Equatable {
    public var streams = 0
    public var listedStreams = 0
    public var messages = 0
    public var observers = 0
    /// Bytes held, as the memory budget counts them (see `MemoryCost`).
    public var bytes = 0
    /// The memory budget in bytes (`Int.max` when there is none).
    public var budget = 0
    /// Streams removed by their TTL since the start.
    public var expired = 0
    /// Streams removed by the memory budget since the start.
    public var evicted = 0
    /// The live cluster members this store's server sees, itself included (1 when alone).
    public var members = 1
    /// Bytes of ring storage handed out by the shards' own pools, which the allocator does not see.
    public var ringPoolBytes = 0

    public init() {}
}

/// What became of a message a replica was given (see `Store.replicate`).
public enum ReplicaOutcome: Sendable, Equatable {
    case applied
    /// Not newer than what the stream holds (or it cannot be held here): nothing changed.
    case duplicate
    /// The owner's message before it has not arrived; this replica's copy ends at `after`.
    case missing(after: Int64)
}
