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
}
