/// What a subscription receives, in order, on the shard that owns the stream.
public enum StreamEvent: Sendable, Equatable {
    /// A stored message: replayed after the position asked for, or live as it is posted.
    case message(Message)
    /// Someone opened or closed a subscription to the stream. Not stored; no position.
    case presence(Presence)
    /// Messages after the position asked for were dropped (FIFO, TTL or budget) before they could
    /// be replayed; `oldest` is the oldest `Created` the stream still holds (0 when it holds none).
    case gap(stream: String, from: Int64, oldest: Int64)
    /// The memory budget evicted the stream; nothing follows.
    case evicted(stream: String)
}

/// A presence event: `connect` or `close` on a stream, as Malten sends it (`"Type":"event"`).
public struct Presence: Sendable, Equatable {
    public enum Change: String, Sendable {
        case connect
        case close
    }

    public var id: MessageID
    public var change: Change
    /// When it happened, Unix nanoseconds. Presence events do not take a position in the stream.
    public var created: Int64
    public var stream: String
}

/// Receives a stream's events. `receive` is called on the shard's queue, in order: hand the event
/// to your own queue or event loop and return at once. Never block, and never call the store from
/// inside `receive` (the shard is busy delivering).
public protocol StreamSubscriber: AnyObject, Sendable {
    func receive(_ event: StreamEvent)
}

/// A live subscription, to hand back to `Store.unsubscribe`.
public struct Subscription: Sendable, Hashable {
    public let stream: String
    let id: UInt64
}
