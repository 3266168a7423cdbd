/// Why the store refused a request; nothing was changed.
public enum StoreError: Error, Equatable, Sendable {
    /// The text is empty or only whitespace.
    case blankMessage
    /// The text holds more Unicode scalars than the limit.
    case messageTooLong(limit: Int)
    /// The stream name breaks the naming rules.
    case invalidStreamName
    /// A stream of that name already exists.
    case streamExists
    /// The TTL lies outside the bounds.
    case invalidTTL(bounds: ClosedRange<Int>)
    /// What was asked can never fit in the memory budget, even with everything else evicted.
    case overBudget
    /// A pipe's name must have the format's shape (22 base64url characters).
    case invalidPipeName
    /// The pipe has its two parties subscribed already.
    case pipeFull
    /// The pipe ended (one party left after both had joined); its name stays taken for its TTL.
    case pipeClosed
    /// The store is one member of a cluster that cannot order writes now (NATS unreachable, or the
    /// stream's owner did not answer in time).
    case unavailable

    /// Malten's own wording, for frontends to send as is.
    public var message: String {
        switch self {
        case .blankMessage: "Message cannot be blank"
        case .messageTooLong(let limit): "Message exceeds \(limit) characters"
        case .invalidStreamName:
            "Invalid stream name: 1-256 letters, digits, '-', '_', '.' or '~'"
        case .streamExists: "Stream already exists"
        case .invalidTTL(let bounds): "ttl must be between \(bounds.lowerBound) and \(bounds.upperBound) seconds"
        case .overBudget: "Does not fit in the server's memory budget"
        case .invalidPipeName: "Invalid pipe name: 22 base64url characters"
        case .pipeFull: "Pipe is full"
        case .pipeClosed: "Pipe closed"
        case .unavailable: "Cluster unavailable"
        }
    }
}
