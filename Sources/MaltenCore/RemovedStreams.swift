/// Remembers, for streams a shard has removed (expired or evicted), the newest `Created` each one
/// held, so a stream made again under the same name keeps its positions moving forward and still
/// sends a `gap` to a client resuming from before the removal.
///
/// A fixed table of `capacity` entries keyed by the name's hash: memory never grows, whatever the
/// flood of streams. When two removed names share a slot the newer one wins, and the older one is
/// forgotten (a later resume from it gets no `gap`); a hash is 64 bits, so a false match is negligible.
struct RemovedStreams {
    private var hashes: [Int]
    private var marks: [Int64]

    init(capacity: Int = 512) {
        precondition(capacity > 0 && capacity & (capacity - 1) == 0, "capacity is a power of two")
        hashes = Array(repeating: 0, count: capacity)
        marks = Array(repeating: 0, count: capacity)
    }

    mutating func remember(_ name: String, newestCreated: Int64) {
        guard newestCreated > 0 else { return }
        let hash = name.hashValue
        let slot = hash & (hashes.count - 1)
        hashes[slot] = hash
        marks[slot] = newestCreated
    }

    /// The newest `Created` of a removed stream of this name, or 0 when none is remembered.
    func newestCreated(of name: String) -> Int64 {
        let hash = name.hashValue
        let slot = hash & (hashes.count - 1)
        return hashes[slot] == hash ? marks[slot] : 0
    }
}
