/// The limits one store enforces, passed in once at start-up.
public struct Limits: Sendable, Equatable {
    /// Messages a stream holds; the next post pushes out the oldest (FIFO).
    public var streamCapacity: Int
    /// Unicode scalar values a message may hold; longer text is rejected, never cut.
    public var maxCharacters: Int
    /// The idle TTL, in seconds, of a stream created without one.
    public var defaultTTL: Int
    /// The TTLs, in seconds, that a stream may ask for.
    public var ttlBounds: ClosedRange<Int>
    /// Bytes the streams may hold in all (nil: no bound). Each shard holds its share and, past it,
    /// evicts its own least recently updated streams.
    public var memoryBudget: Int?
    /// Messages a pipe holds (FIFO, as any stream).
    public var pipeCapacity: Int
    /// The idle TTL, in seconds, of a pipe created without one; a closed pipe's name answers
    /// `pipeClosed` for its TTL.
    public var pipeTTL: Int

    public init(
        streamCapacity: Int = 1024,
        maxCharacters: Int = 1024,
        defaultTTL: Int = 1024,
        ttlBounds: ClosedRange<Int> = 1...86_400,
        memoryBudget: Int? = nil,
        pipeCapacity: Int = 64,
        pipeTTL: Int = 600
    ) {
        precondition(streamCapacity >= 1, "a stream holds at least one message")
        precondition(maxCharacters >= 1, "a message holds at least one character")
        precondition(ttlBounds.contains(defaultTTL), "the default TTL lies within the TTL bounds")
        precondition(pipeCapacity >= 1 && ttlBounds.contains(pipeTTL), "a pipe holds a message and has a TTL within the bounds")
        self.streamCapacity = streamCapacity
        self.maxCharacters = maxCharacters
        self.defaultTTL = defaultTTL
        self.ttlBounds = ttlBounds
        self.memoryBudget = memoryBudget
        self.pipeCapacity = pipeCapacity
        self.pipeTTL = pipeTTL
    }
}
