/// One stream: its settings, its ring of messages and its bookkeeping. Owned by one shard and
/// touched only on that shard's queue.
final class StreamState: TimingWheelItem {
    let name: String
    /// Public streams are listed by `GET /streams`; private ones never.
    let isListed: Bool
    /// A pipe: two subscribers at most, and it ends when one leaves after both had joined.
    let isPipe: Bool
    /// Whether a pipe's two parties have been subscribed at once.
    var isPaired = false
    let ttlSeconds: Int
    let ttlNanos: Int64
    /// Unix nanoseconds of the newest message, or of creation.
    var updated: Int64
    /// The newest `created` this stream handed out, so the next one is strictly greater.
    var lastCreated: Int64 = 0
    /// The newest `created` ever dropped (FIFO or TTL); a reader positioned before it missed something.
    var droppedMark: Int64 = 0
    /// Live subscriptions; a stream with subscribers does not expire.
    var subscribers = SubscriberGroups()
    /// This process's subscribers.
    var observers: Int { subscribers.count }
    /// Subscribers that other cluster members hold (0 when alone): they count as observers too.
    var remoteObservers = 0
    var allObservers: Int { observers + remoteObservers }
    /// Where the shard's timing wheel holds this stream (one entry at most).
    var wheelPosition: WheelPosition?
    private(set) var ring: Ring
    /// The bytes this stream holds, as `MemoryCost` counts them: bookkeeping, ring, texts.
    private(set) var bytes: Int
    /// Neighbours in the shard's least-recently-updated order (see `StreamList`).
    var older: StreamState?
    var newer: StreamState?

    /// `removedMark` is the newest `Created` of an earlier stream of this name that was removed: the
    /// new one's positions start after it, and a resume from before it gets a `gap`.
    init(
        name: String, isListed: Bool, ttlSeconds: Int, capacity: Int, now: Int64, removedMark: Int64 = 0, isPipe: Bool = false,
        pool: RingPool? = nil
    ) {
        self.name = name
        self.isListed = isListed
        self.isPipe = isPipe
        self.ttlSeconds = ttlSeconds
        self.ttlNanos = Int64(ttlSeconds) * 1_000_000_000
        self.updated = now
        self.ring = Ring(capacity: capacity, pool: pool)
        self.bytes = MemoryCost.stream(name: name, capacity: capacity)
        self.lastCreated = removedMark
        self.droppedMark = removedMark
    }

    /// Appends a message; when the ring is full its oldest is pushed out (and marked dropped).
    /// Returns whether one was pushed out.
    func append(_ slot: Slot) -> Bool {
        lastCreated = slot.created
        updated = slot.created
        bytes += StoredText.heapBytes(utf8Count: slot.text.byteCount)
        guard let pushed = ring.append(slot) else { return false }
        dropped(pushed)
        return true
    }

    /// Drops the oldest message (FIFO), marking it dropped.
    func removeOldest() {
        dropped(ring.removeFirst())
    }

    private func dropped(_ slot: DroppedSlot) {
        droppedMark = max(droppedMark, slot.created)
        bytes -= slot.textHeapBytes
    }

    /// Whether the stream has gone `ttl` without a message and has no observers.
    func isIdle(at now: Int64) -> Bool {
        allObservers == 0 && updated + ttlNanos <= now
    }

    /// Drops messages older than the TTL from the head; returns how many it dropped.
    /// - Complexity: O(dropped)
    func dropExpiredMessages(at now: Int64) -> Int {
        var dropped = 0
        while let oldest = ring.first, oldest.created + ttlNanos <= now {
            removeOldest()
            dropped += 1
        }
        return dropped
    }

    /// When this stream next needs the wheel: its oldest message ages out, or the stream itself does.
    var nextDeadline: Int64 {
        (ring.first?.created ?? updated) + ttlNanos
    }

    func info() -> StreamInfo {
        StreamInfo(name: name, updated: updated, ttl: ttlSeconds, observers: allObservers, isPrivate: !isListed, isPipe: isPipe)
    }

    /// Visits the messages a query selects, in the order the query defines.
    func visit(_ query: ReadQuery, _ body: (StoredMessage) -> Void) {
        let count = ring.count
        func lend(_ index: Int) {
            let slot = ring[index]
            body(StoredMessage(id: slot.id, created: slot.created, text: slot.text.bytes))
        }
        switch query {
        case .newest(let limit, let after):
            for index in max(count - limit, ring.partition(createdAbove: after))..<count { lend(index) }
        case .older(let limit, let before):
            let end = before <= 0 ? count : ring.partition(createdAbove: before - 1)
            for index in (max(0, end - limit)..<end).reversed() { lend(index) }
        case .since(let since, let limit):
            let start = ring.partition(createdAbove: since)
            for index in start..<min(count, start + limit) { lend(index) }
        case .id(let id):
            for index in 0..<count where ring[index].id == id {
                lend(index)
                return
            }
        }
    }
}
