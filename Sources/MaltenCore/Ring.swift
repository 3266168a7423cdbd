/// One stored message in a stream's ring: 32 bytes (8 `created` + 16 id + 8 text pointer).
///
/// The stream's name is not repeated per slot; the text lives in one exact-size heap block
/// (`StoredText`) that the ring frees when the slot leaves it.
struct Slot {
    var created: Int64
    var id: MessageID
    var text: StoredText
}

/// What left the ring: its position and the heap bytes its text gave back.
struct DroppedSlot: Equatable {
    var created: Int64
    var textHeapBytes: Int
}

/// A fixed-capacity FIFO ring of slots, allocated once and never grown: from its shard's
/// `RingPool` when it has one of the ring's size, else from the allocator.
///
/// Logical index 0 is the oldest slot. Appending to a full ring pushes out the oldest.
/// `created` increases with the logical index, so positions are found by binary search.
/// Not thread-safe: it belongs to one stream, which belongs to one shard.
struct Ring: ~Copyable {
    private let storage: UnsafeMutablePointer<Slot>
    private let pool: RingPool?
    // Four 32-bit fields in two words, so the ring stays 32 bytes inside its stream's object.
    private let slots: UInt32
    private var headIndex: UInt32 = 0
    private var stored: UInt32 = 0
    /// Slots ever stored to: the n-th append goes to position n mod `capacity`, so they are the
    /// first `written` positions.
    private var written: UInt32 = 0

    var capacity: Int { Int(slots) }
    var count: Int { Int(stored) }
    private var head: Int { Int(headIndex) }

    /// Allocates `capacity` slots at once: `capacity × 32` bytes.
    init(capacity: Int, pool: RingPool? = nil) {
        precondition(capacity > 0 && capacity <= Int(UInt32.max))
        self.slots = UInt32(capacity)
        if let pool, pool.blockCapacity == capacity, let block = pool.allocate() {
            self.storage = block
            self.pool = pool
        } else {
            self.storage = .allocate(capacity: capacity)
            self.pool = nil
        }
    }

    deinit {
        for index in 0..<count { storage[physical(index)].text.free() }
        if let pool { pool.release(storage, written: Int(written)) } else { storage.deallocate() }
    }

    var isEmpty: Bool { count == 0 }

    /// The bytes this ring's storage takes, its slots' text excluded.
    static func storageBytes(capacity: Int) -> Int { capacity * MemoryLayout<Slot>.stride }

    @inline(__always)
    private func physical(_ index: Int) -> Int {
        let p = head + index
        return p >= capacity ? p - capacity : p
    }

    /// The slot at logical `index` (0 is the oldest).
    /// - Complexity: O(1)
    subscript(index: Int) -> Slot {
        precondition(index >= 0 && index < count, "ring index out of range")
        return storage[physical(index)]
    }

    var first: Slot? { count == 0 ? nil : storage[head] }
    var last: Slot? { count == 0 ? nil : storage[physical(count - 1)] }

    /// Appends `slot` (the ring now owns its text) as the newest; when full, pushes out the oldest,
    /// frees its text and says what it was.
    /// - Complexity: O(1)
    @discardableResult
    mutating func append(_ slot: Slot) -> DroppedSlot? {
        if written < slots { written += 1 }
        if stored == slots {
            let pushed = drop(storage[head])
            storage[head] = slot
            headIndex = UInt32(physical(1))
            return pushed
        }
        storage[physical(count)] = slot
        stored += 1
        return nil
    }

    /// Removes the oldest slot and frees its text.
    /// - Complexity: O(1)
    @discardableResult
    mutating func removeFirst() -> DroppedSlot {
        precondition(count > 0, "removeFirst on an empty ring")
        let dropped = drop(storage[head])
        headIndex = UInt32(physical(1))
        stored -= 1
        return dropped
    }

    private func drop(_ slot: Slot) -> DroppedSlot {
        let dropped = DroppedSlot(created: slot.created, textHeapBytes: StoredText.heapBytes(utf8Count: slot.text.byteCount))
        slot.text.free()
        return dropped
    }

    /// The first logical index whose `created` is greater than `created` (`count` if none).
    /// - Complexity: O(log count)
    func partition(createdAbove created: Int64) -> Int {
        var low = 0
        var high = count
        while low < high {
            let mid = (low + high) / 2
            if storage[physical(mid)].created > created { high = mid } else { low = mid + 1 }
        }
        return low
    }
}
