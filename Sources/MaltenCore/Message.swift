/// A stored message as a reader receives it.
public struct Message: Sendable, Equatable {
    public var id: MessageID
    public var text: String
    /// Unix nanoseconds; strictly increasing within a stream.
    public var created: Int64
    public var stream: String

    public init(id: MessageID, text: String, created: Int64, stream: String) {
        self.id = id
        self.text = text
        self.created = created
        self.stream = stream
    }

    /// A copy of a lent message.
    public init(_ stored: StoredMessage, stream: String) {
        self.init(id: stored.id, text: String(decoding: stored.text, as: UTF8.self), created: stored.created, stream: stream)
    }
}

/// A stored message lent to a reader for the length of one `Store.read` call: the text is the
/// ring's own bytes, so reading copies nothing.
public struct StoredMessage {
    public let id: MessageID
    /// Unix nanoseconds; strictly increasing within a stream.
    public let created: Int64
    /// The text as UTF-8 (always valid: it was checked when posted). Valid only inside the call.
    public let text: UnsafeRawBufferPointer

    public init(id: MessageID, created: Int64, text: UnsafeRawBufferPointer) {
        self.id = id
        self.created = created
        self.text = text
    }
}
