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
    /// The pipe ended: the other party left after both had joined. Nothing follows.
    case closed(stream: String)
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

/// One end of a subscription. The store never calls it: it hands a stream's events to the
/// subscriber's `courier`, once for all the subscribers that share it.
public protocol StreamSubscriber: AnyObject, Sendable {
    /// Carries this subscriber's events. Subscribers of one stream that share a courier (one
    /// frontend's connections on one event loop, say) get each event in one `deliver` call, so
    /// the frontend encodes it once for all of them.
    var courier: any EventCourier { get }
}

/// Takes events from a stream's shard to a group of subscribers.
public protocol EventCourier: AnyObject, Sendable {
    /// Called on the shard's queue, in order: `events` are for every one of `subscribers`. Hand them
    /// to your own queue or event loop and return at once. Never block, and never call the store
    /// from here (the shard is busy delivering). A subscriber may have unsubscribed by the time the
    /// events reach it.
    func deliver(_ events: [StreamEvent], to subscribers: [any StreamSubscriber])
}

/// A live subscription, to hand back to `Store.unsubscribe`.
public struct Subscription: Sendable, Hashable {
    public let stream: String
    let id: UInt64
}
