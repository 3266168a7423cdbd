/// What the store counts as held, in bytes, so that the budget matches what the allocator hands out.
///
/// A stream costs `streamOverhead` (its object, its dictionary and wheel entries, rounded to the
/// allocator's size classes) plus its name when that lives outside its `String`, plus its ring
/// (`capacity × 32`), plus each message's text block (`StoredText`: 4 + its UTF-8 bytes, rounded
/// up to jemalloc's size class).
enum MemoryCost {
    /// The stream object (about 150 bytes, a 160-byte size class), its slots in the shard's
    /// dictionaries (about 48) and its timing-wheel entry (16), rounded up.
    static let streamOverhead = 256

    static func stream(name: String, capacity: Int) -> Int {
        streamOverhead + Ring.storageBytes(capacity: capacity) + string(name)
    }

    /// Heap bytes a `String` of this text owns: 0 when it is stored inline.
    static func string(_ text: String) -> Int {
        let count = text.utf8.count
        return count <= 15 ? 0 : sizeClass(32 + count + 1)
    }

    /// jemalloc's size class for a request of `size` bytes: steps of 16 up to 128, then four
    /// classes per doubling.
    static func sizeClass(_ size: Int) -> Int {
        if size <= 16 { return 16 }
        if size <= 128 { return (size + 15) & ~15 }
        let group = Int.bitWidth - (size - 1).leadingZeroBitCount  // size ≤ 2^group
        let step = 1 << (group - 3)
        return (size + step - 1) & ~(step - 1)
    }
}
