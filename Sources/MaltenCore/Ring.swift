/// One stored message in a stream's ring: 40 bytes (8 `created` + 16 id + 16 `String`).
///
/// The stream's name is not repeated per slot; text of up to 15 UTF-8 bytes lives inside the
/// `String` itself, longer text in one heap allocation that the slot owns.
struct Slot: Equatable {
    var created: Int64
    var id: MessageID
    var text: String
}

/// A fixed-capacity FIFO ring of slots, allocated once and never grown.
///
/// Logical index 0 is the oldest slot. Appending to a full ring pushes out the oldest.
/// `created` increases with the logical index, so positions are found by binary search.
/// Not thread-safe: it belongs to one stream, which belongs to one shard.
struct Ring: ~Copyable {
    private let storage: UnsafeMutablePointer<Slot>
    let capacity: Int
    private var head = 0
    private(set) var count = 0

    /// Allocates `capacity` slots at once: `capacity × 40` bytes.
    init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.storage = .allocate(capacity: capacity)
    }

    deinit {
        for index in 0..<count { (storage + physical(index)).deinitialize(count: 1) }
        storage.deallocate()
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

    /// Appends `slot` as the newest; when full, pushes out and returns the oldest.
    /// - Complexity: O(1)
    @discardableResult
    mutating func append(_ slot: Slot) -> Slot? {
        if count == capacity {
            let pushed = (storage + head).move()
            (storage + head).initialize(to: slot)
            head = physical(1)
            return pushed
        }
        (storage + physical(count)).initialize(to: slot)
        count += 1
        return nil
    }

    /// Removes and returns the oldest slot.
    /// - Complexity: O(1)
    mutating func removeFirst() -> Slot {
        precondition(count > 0, "removeFirst on an empty ring")
        let slot = (storage + head).move()
        head = physical(1)
        count -= 1
        return slot
    }

    mutating func removeAll() {
        while count > 0 { _ = removeFirst() }
        head = 0
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
