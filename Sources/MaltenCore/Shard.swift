import Dispatch
import Synchronization

/// One slice of the store: the streams whose names hash to it, owned by one serial queue.
///
/// Every field is read and written only on `queue`; a caller reaches the shard with one
/// `queue.sync` hop per operation. That is the whole concurrency story: no locks, and one atomic
/// off the hot path (`hasListedStreams`, written when a listed stream comes or goes).
final class Shard: @unchecked Sendable {
    let queue: DispatchQueue
    private let limits: Limits
    private let clock: any WallClock
    private var streams: [String: StreamState] = [:]
    private var listed: [String: StreamState] = [:]
    /// `listed.count`, readable from any thread: a listing skips the shards that have none
    /// instead of hopping onto each of their queues.
    private let listedCount = Atomic<Int>(0)
    private var wheel: TimingWheel<StreamState>
    /// The streams' rings (pipes' are small enough for the allocator).
    private let rings: RingPool?
    private var byAge = StreamList()
    private var messageCount = 0
    private var expiredCount = 0
    private var evictedCount = 0
    private var observerCount = 0
    /// Subscribers other cluster members hold, over this shard's streams.
    private var remoteObserverCount = 0
    /// The bytes the streams hold, as `MemoryCost` counts them; never above `budget` after an operation.
    private var bytes = 0
    /// This shard's share of the store's memory budget.
    private let budget: Int
    private var random = SecureRandomPool()
    private var nextSubscriptionID: UInt64 = 0
    private var removed = RemovedStreams()
    /// Pipes that ended, and until when (Unix nanoseconds) their names answer `pipeClosed`.
    private var closedPipes: [String: Int64] = [:]
    /// At most this many closed pipes are remembered; past it, the soonest to lapse goes first.
    static let closedPipeLimit = 4096

    init(index: Int, limits: Limits, budget: Int, clock: any WallClock) {
        self.queue = DispatchQueue(label: "malten.shard.\(index)")
        self.limits = limits
        self.budget = budget
        self.clock = clock
        self.wheel = TimingWheel(startTick: Self.tick(containing: clock.now()))
        self.rings = RingPool(capacity: limits.streamCapacity)
    }

    // MARK: Operations (each one hop onto the queue)

    /// Appends `text`, already copied into its block by the caller (off the queue); the shard owns
    /// the block from here on. Also says the `Created` of the message before it (0 for none).
    func post(stream name: String, text: String, stored: StoredText) -> Result<(Message, previous: Int64), StoreError> {
        onQueue {
            // What this message needs even after every other stream and older message made room.
            guard fits(stored, in: name) else {
                stored.free()
                return .failure(.overBudget)
            }
            let now = clock.now()
            if isClosedPipe(name, at: now) {
                stored.free()
                return .failure(.pipeClosed)
            }
            let stream = liveStream(name, at: now)
                ?? insertStream(nil, name: name, at: now)
            let previous = stream.lastCreated
            let slot = Slot(created: max(now, previous + 1), id: .random(using: &random), text: stored)
            return .success((append(slot, text: text, to: stream), previous))
        }
    }

    /// Applies a message that a cluster's owner of the stream stored: it takes the owner's `Id` and
    /// `Created`, and is refused as a duplicate when it is not newer than what the stream holds, or
    /// as `missing` when `previous` (the owner's message before it) has not arrived here.
    func replicate(_ message: Message, after previous: Int64?, settings: StreamInfo?, stored: StoredText) -> ReplicaOutcome {
        onQueue {
            let name = message.stream
            let now = clock.now()
            guard fits(stored, in: name), !isClosedPipe(name, at: now) else {
                stored.free()
                return .duplicate
            }
            let stream = liveStream(name, at: now) ?? insertStream(settings, name: name, at: now)
            if message.created <= stream.lastCreated {
                stored.free()
                return .duplicate
            }
            if let previous, stream.lastCreated < previous {
                stored.free()
                return .missing(after: stream.lastCreated)
            }
            _ = append(Slot(created: message.created, id: message.id, text: stored), text: message.text, to: stream)
            return .applied
        }
    }

    /// Makes a stream a cluster's owner made, with its settings; a no-op when it exists.
    func replicate(_ info: StreamInfo) {
        onQueue {
            let now = clock.now()
            guard !isClosedPipe(info.name, at: now), liveStream(info.name, at: now) == nil, fitsEmpty(info.name) else { return }
            enforceBudget(keeping: insertStream(info, name: info.name, at: now))
        }
    }

    /// Sets how many subscribers other members hold on `name` and, for a `change`, tells the local
    /// subscribers as if it had happened here (a paired pipe whose other party left ends).
    func remotePresence(_ change: Presence.Change?, stream name: String, remoteObservers: Int) {
        onQueue {
            let now = clock.now()
            guard !isClosedPipe(name, at: now) else { return }
            let existing = liveStream(name, at: now)
            guard existing != nil || remoteObservers > 0, fitsEmpty(name) else { return }
            let stream = existing ?? insertStream(nil, name: name, at: now)
            remoteObserverCount += remoteObservers - stream.remoteObservers
            stream.remoteObservers = remoteObservers
            if existing == nil { enforceBudget(keeping: stream) }
            if let change {
                if change == .close && stream.isPaired { return close(pipe: stream) }
                if change == .connect && stream.isPipe && stream.allObservers == 2 { stream.isPaired = true }
                announce(change, on: stream, at: now)
            }
            if stream.allObservers == 0 { schedule(stream, deadline: max(stream.nextDeadline, now + 1)) }
        }
    }

    /// The newest `Created` the stream has handed out, remembered past its removal (0 for none).
    func newestCreated(stream name: String) -> Int64 {
        onQueue {
            liveStream(name, at: clock.now())?.lastCreated ?? removed.newestCreated(of: name)
        }
    }

    /// Every live stream's entry, listed or not.
    func allStreams() -> [StreamInfo] {
        onQueue {
            let now = clock.now()
            return streams.values.filter { !$0.isIdle(at: now) }.map { $0.info() }
        }
    }

    /// Makes a stream, or a pipe (private, `pipeCapacity` messages).
    func create(stream name: String, isPrivate: Bool, ttl: Int, pipe: Bool) -> Result<CreatedStream, StoreError> {
        onQueue {
            let now = clock.now()
            if isClosedPipe(name, at: now) { return .failure(.pipeClosed) }
            if liveStream(name, at: now) != nil { return .failure(.streamExists) }
            guard MemoryCost.stream(name: name, capacity: pipe ? limits.pipeCapacity : limits.streamCapacity) <= budget else {
                return .failure(.overBudget)
            }
            let stream = insertStream(name: name, isListed: !isPrivate && !pipe, ttl: ttl, at: now, isPipe: pipe)
            enforceBudget(keeping: stream)
            return .success(CreatedStream(name: name, isPrivate: isPrivate || pipe, ttl: ttl, isPipe: pipe))
        }
    }

    /// Replays what `since` asks for (after a `gap` event when something after it was dropped), adds
    /// the subscriber, and tells every subscriber of the stream, the new one included, that it
    /// connected: all in one hop, so nothing is missed or repeated between replay and live.
    func subscribe(
        stream name: String, since: Int64?, subscriber: any StreamSubscriber
    ) -> Result<Subscription, StoreError> {
        onQueue {
            guard fitsEmpty(name) else {
                return .failure(.overBudget)
            }
            let now = clock.now()
            if isClosedPipe(name, at: now) { return .failure(.pipeClosed) }
            let stream = liveStream(name, at: now)
                ?? insertStream(nil, name: name, at: now)
            if stream.isPipe && stream.allObservers >= 2 { return .failure(.pipeFull) }
            enforceBudget(keeping: stream)
            if let since {
                var replay: [StreamEvent] = []
                if stream.droppedMark > since {
                    replay.append(.gap(stream: name, from: since, oldest: stream.ring.first?.created ?? 0))
                }
                stream.visit(.since(since, limit: limits.streamCapacity)) { stored in
                    replay.append(.message(Message(stored, stream: name)))
                }
                if !replay.isEmpty { subscriber.courier.deliver(replay, to: [subscriber]) }
            }
            nextSubscriptionID += 1
            stream.subscribers.add(subscriber, id: nextSubscriptionID)
            observerCount += 1
            if stream.isPipe && stream.allObservers == 2 { stream.isPaired = true }
            announce(.connect, on: stream, at: now)
            return .success(Subscription(stream: name, id: nextSubscriptionID))
        }
    }

    /// Ends a subscription and tells the stream's remaining subscribers; a no-op when it has ended.
    func unsubscribe(_ subscription: Subscription) {
        onQueue {
            guard let stream = streams[subscription.stream], stream.subscribers.remove(id: subscription.id)
            else { return }
            observerCount -= 1
            let now = clock.now()
            if stream.isPaired { return close(pipe: stream) }
            announce(.close, on: stream, at: now)
            // Without subscribers the stream may expire again: make sure the wheel will look.
            if stream.allObservers == 0 { schedule(stream, deadline: max(stream.nextDeadline, now + 1)) }
        }
    }

    /// Whether `name` is a pipe that ended and still answers `pipeClosed`.
    func isClosedPipe(_ name: String) -> Bool {
        onQueue { isClosedPipe(name, at: clock.now()) }
    }

    /// What subscribing to `name` now would be refused for, as far as pipes go.
    func pipeRefusal(forSubscribingTo name: String) -> StoreError? {
        onQueue {
            let now = clock.now()
            if isClosedPipe(name, at: now) { return .pipeClosed }
            if let stream = liveStream(name, at: now), stream.isPipe, stream.allObservers >= 2 { return .pipeFull }
            return nil
        }
    }

    /// Ends a pipe whose party left after both had joined: the other party gets `closed` and is let
    /// go, the stream is removed (its texts overwritten as they are freed), and the name answers
    /// `pipeClosed` for the pipe's TTL, so nobody can open it again as an ordinary stream.
    private func close(pipe stream: StreamState) {
        stream.subscribers.send([.closed(stream: stream.name)])
        observerCount -= stream.observers
        stream.subscribers.removeAll()
        remove(stream)  // which remembers the closed name
    }

    /// A pipe that paired stays closed however it goes (its end, the budget, its TTL).
    private func rememberClosed(pipe stream: StreamState, at now: Int64) {
        if closedPipes.count >= Self.closedPipeLimit {
            closedPipes = closedPipes.filter { $0.value > now }
            if closedPipes.count >= Self.closedPipeLimit, let soonest = closedPipes.min(by: { $0.value < $1.value }) {
                closedPipes[soonest.key] = nil
            }
        }
        closedPipes[stream.name] = now + stream.ttlNanos
    }

    private func isClosedPipe(_ name: String, at now: Int64) -> Bool {
        guard let until = closedPipes[name] else { return false }
        if until > now { return true }
        closedPipes[name] = nil
        return false
    }

    private func announce(_ change: Presence.Change, on stream: StreamState, at now: Int64) {
        let presence = Presence(id: .random(using: &random), change: change, created: now, stream: stream.name)
        stream.subscribers.send([.presence(presence)])
    }

    func read(stream name: String, _ query: ReadQuery, _ body: (StoredMessage) -> Void) {
        onQueue {
            liveStream(name, at: clock.now())?.visit(query, body)
        }
    }

    func info(stream name: String) -> StreamInfo? {
        onQueue {
            liveStream(name, at: clock.now())?.info()
        }
    }

    /// Whether the shard holds a listed stream; from any thread, without a hop.
    var hasListedStreams: Bool { listedCount.load(ordering: .acquiring) > 0 }

    /// This shard's listed streams, the `limit` most recently updated, newest first.
    func listedStreams(limit: Int) -> [StreamInfo] {
        onQueue {
            let now = clock.now()
            var infos: [StreamInfo] = []
            infos.reserveCapacity(listed.count)
            for stream in listed.values where !stream.isIdle(at: now) {
                infos.append(stream.info())
            }
            infos.sort { $0.updated > $1.updated }
            return Array(infos.prefix(limit))
        }
    }

    func stats() -> StoreStats {
        onQueue {
            var stats = StoreStats()
            stats.bytes = bytes
            stats.streams = streams.count
            stats.listedStreams = listed.count
            stats.messages = messageCount
            stats.observers = observerCount + remoteObserverCount
            stats.expired = expiredCount
            stats.evicted = evictedCount
            stats.ringPoolBytes = rings?.bytesInUse ?? 0
            return stats
        }
    }

    /// Delivers the timing wheel's due entries up to `now`: idle streams are removed, aged
    /// messages dropped. Work is proportional to what comes due.
    /// Returns whether anything came due (and was removed or had messages dropped).
    @discardableResult
    func expireDue(at now: Int64) -> Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        let due = wheel.advance(to: Self.tick(containing: now))
        for stream in due {
            if stream.isIdle(at: now) {
                expiredCount += 1
                remove(stream)
            } else {
                dropExpiredMessages(of: stream, at: now)
                // A stream kept alive only by its subscribers needs the wheel again once it holds a
                // message (posting files it) or loses its last subscriber (unsubscribing files it).
                if stream.allObservers == 0 || !stream.ring.isEmpty {
                    schedule(stream, deadline: max(stream.nextDeadline, now + 1))
                }
            }
        }
        return !due.isEmpty
    }

    /// Runs the wheel up to the clock's now, on the queue (the store's timer, and tests with a
    /// manual clock through the store).
    func expireDueNow() -> Bool {
        queue.sync { expireDue(at: clock.now()) }
    }

    /// The bytes counted from scratch over every stream, for tests of the running count.
    func recount() -> (counted: Int, recounted: Int, streamsByAge: [String]) {
        onQueue {
            var recounted = 0
            for stream in streams.values {
                recounted += MemoryCost.stream(name: stream.name, capacity: stream.ring.capacity)
                for index in 0..<stream.ring.count {
                    recounted += StoredText.heapBytes(utf8Count: stream.ring[index].text.byteCount)
                }
            }
            var names: [String] = []
            var cursor = byAge.oldest
            while let stream = cursor {
                names.append(stream.name)
                cursor = stream.newer
            }
            return (bytes, recounted, names)
        }
    }

    // MARK: Internals (on the queue)

    /// The hop: runs `body` on the queue (on the calling thread when the queue is free) and hands
    /// back its result. Dispatch's own `sync<T>` is generic across modules and looks up the
    /// result type's metadata on every call; the plain `sync` below does not.
    @inline(__always)
    private func onQueue<T>(_ body: () -> T) -> T {
        var result: T?
        queue.sync { result = body() }
        return result.unsafelyUnwrapped
    }

    /// The stream of that name if it is still alive, with its aged messages dropped; an idle
    /// stream found here is removed at once, so no reader sees what the wheel has yet to reach.
    private func liveStream(_ name: String, at now: Int64) -> StreamState? {
        guard let stream = streams[name] else { return nil }
        if stream.isIdle(at: now) {
            expiredCount += 1
            remove(stream)
            return nil
        }
        dropExpiredMessages(of: stream, at: now)
        return stream
    }

    private func dropExpiredMessages(of stream: StreamState, at now: Int64) {
        let before = stream.bytes
        messageCount -= stream.dropExpiredMessages(at: now)
        bytes += stream.bytes - before
    }

    /// Past the budget, removes the least recently updated streams, never `keeping` (the one just
    /// written); if `keeping` alone is still over, drops its own oldest messages.
    private func enforceBudget(keeping: StreamState) {
        while bytes > budget {
            if let oldest = byAge.oldest, oldest !== keeping {
                evictedCount += 1
                remove(oldest)
            } else if !keeping.ring.isEmpty {
                let before = keeping.bytes
                keeping.removeOldest()
                messageCount -= 1
                bytes += keeping.bytes - before
            } else {
                preconditionFailure("a stream that cannot fit was let in")
            }
        }
    }

    /// Whether an empty stream of this name could fit in the budget, everything else evicted.
    private func fitsEmpty(_ name: String) -> Bool {
        MemoryCost.stream(name: name, capacity: limits.streamCapacity) <= budget
    }

    /// Whether a stream holding only this text could fit in the budget.
    private func fits(_ stored: StoredText, in name: String) -> Bool {
        MemoryCost.stream(name: name, capacity: limits.streamCapacity) + StoredText.heapBytes(utf8Count: stored.byteCount) <= budget
    }

    /// Appends a slot, keeps the books and the budget, and hands the message to the subscribers.
    private func append(_ slot: Slot, text: String, to stream: StreamState) -> Message {
        let before = stream.bytes
        if !stream.append(slot) { messageCount += 1 }
        bytes += stream.bytes - before
        byAge.touch(stream)
        if stream.wheelPosition == nil { schedule(stream, deadline: stream.nextDeadline) }
        enforceBudget(keeping: stream)
        let message = Message(id: slot.id, text: text, created: slot.created, stream: stream.name)
        if !stream.subscribers.isEmpty { stream.subscribers.send([.message(message)]) }
        return message
    }

    /// A stream with an owner's settings, or the defaults (unlisted, the default TTL) when there are none.
    private func insertStream(_ settings: StreamInfo?, name: String, at now: Int64) -> StreamState {
        guard let settings else { return insertStream(name: name, isListed: false, ttl: limits.defaultTTL, at: now) }
        return insertStream(name: name, isListed: !settings.isPrivate && !settings.isPipe, ttl: settings.ttl, at: now, isPipe: settings.isPipe)
    }

    @discardableResult
    private func insertStream(name: String, isListed: Bool, ttl: Int, at now: Int64, isPipe: Bool = false) -> StreamState {
        let stream = StreamState(
            name: name, isListed: isListed, ttlSeconds: ttl, capacity: isPipe ? limits.pipeCapacity : limits.streamCapacity,
            now: now, removedMark: removed.newestCreated(of: name), isPipe: isPipe, pool: rings)
        streams[name] = stream
        if isListed {
            listed[name] = stream
            listedCount.add(1, ordering: .releasing)
        }
        byAge.touch(stream)
        bytes += stream.bytes
        schedule(stream, deadline: stream.nextDeadline)
        return stream
    }

    private func schedule(_ stream: StreamState, deadline: Int64) {
        // Round up: the entry fires at the first tick at or after the deadline.
        wheel.schedule(stream, at: (deadline + 999_999_999) / 1_000_000_000)
    }

    private func remove(_ stream: StreamState) {
        streams[stream.name] = nil
        if stream.isListed {
            listed[stream.name] = nil
            listedCount.subtract(1, ordering: .releasing)
        }
        // Dictionaries keep their capacity; once a shard is empty, give it back.
        if streams.isEmpty { streams = [:] }
        if listed.isEmpty { listed = [:] }
        byAge.unlink(stream)
        messageCount -= stream.ring.count
        observerCount -= stream.observers
        remoteObserverCount -= stream.remoteObservers
        removed.remember(stream.name, newestCreated: stream.lastCreated)
        if stream.isPaired { rememberClosed(pipe: stream, at: clock.now()) }
        // Only the budget removes a stream that has subscribers: tell them, and let them go.
        stream.subscribers.send([.evicted(stream: stream.name)])
        stream.subscribers.removeAll()
        bytes -= stream.bytes
        wheel.cancel(stream)  // the last reference: the stream, its ring and its texts are freed now
    }

    private static func tick(containing nanos: Int64) -> Int64 {
        nanos / 1_000_000_000
    }
}
