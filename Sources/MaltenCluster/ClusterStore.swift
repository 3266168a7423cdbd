import Dispatch
import Glibc
import Logging
import MaltenCore

/// A Malten server as one member of many joined through NATS; to the frontends, a `StreamStore`
/// like any other.
///
/// Every member keeps a replica of every stream in its own `Store`, so reads, subscriptions and
/// resumes are answered locally. Each stream has one owner (see `Membership.owner`) that orders
/// its writes: a post on any member goes to the owner, which stamps `Id` and `Created` in its own
/// store, publishes the stored message to every member, then answers. A member that finds a hole
/// (a message whose predecessor it lacks) pages the missing range from the owner; a member that
/// joins, or comes back after NATS was unreachable, pages every stream before it takes posts.
/// Presence is counted per member and summed. Without NATS, posts are refused with
/// `StoreError.unavailable` rather than ordered alone; reads and subscriptions go on.
public final class ClusterStore: StreamStore, @unchecked Sendable {
    /// This member's replica of every stream.
    public let store: Store
    public var limits: Limits { store.limits }
    /// This member's random id.
    public let memberID: UInt64

    /// How long a member may be silent before it counts as dead.
    static let deathTimeout: UInt64 = 3_000_000_000
    /// How long a forwarded write waits for the owner.
    static let writeTimeout = DispatchTimeInterval.seconds(2)
    static let pageSize = 128
    /// The most subscribers one member may claim on a stream, or items one page may claim to hold.
    static let maxCount: Int64 = 1 << 20

    private let clock: any WallClock
    private let logger: Logger
    private var connection: NATSConnection!
    private let subjects: Subjects
    /// Membership, presence and connection state: touched only on this queue.
    private let state = DispatchQueue(label: "malten.cluster.state")
    private var membership: Membership
    private var isConnected = false
    /// Caught up and taking posts (the membership's own flag, which also moves the epoch).
    private var isReady: Bool { membership.isSelfReady }
    private var generation = 0
    private var presence = PresenceTable()
    /// Writes of one stream are ordered on one of these (by the name's hash), on its owner.
    private let sequencers: [Sequencer]
    private let catchUpQueue = DispatchQueue(label: "malten.cluster.catch-up")
    private var timers: [DispatchSourceTimer] = []

    /// Connects to NATS (`urls`, `nats://` or `tls://`) and starts taking part; call `join` before
    /// serving, and `leave` at the end.
    public init(store: Store, urls: [String], caFile: String? = nil, clock: any WallClock = SystemClock(), logger: Logger) throws {
        self.store = store
        self.clock = clock
        self.logger = logger
        var random = SystemRandomNumberGenerator()
        memberID = random.next()
        membership = Membership(selfID: memberID)
        subjects = Subjects(member: memberID)
        sequencers = (0..<16).map { Sequencer(index: $0) }
        // nats.c may report a connection before this returns: its reports wait for the state queue.
        try state.sync {
            connection = try NATSConnection(
                urls: urls, name: "malten-\(subjects.memberHex)", inbox: subjects.inbox, caFile: caFile
            ) { [weak self] up in self?.connectionChanged(up: up) }
            try subscribe()
        }
        if connection.isConnected { connectionChanged(up: true) }
        startTimers()
    }

    /// Waits until this member has caught up with the others and takes posts, at most `timeout`
    /// seconds; false when it has not (NATS unreachable, say: it keeps trying).
    public func join(timeout: Double) -> Bool {
        let deadline = DispatchTime.now() + timeout
        while DispatchTime.now() < deadline {
            if state.sync(execute: { isReady }) { return true }
            usleep(50_000)
        }
        return false
    }

    /// Tells the others this member is going, so they need not wait for its silence.
    public func leave() {
        state.sync {
            for timer in timers { timer.cancel() }
            membership.isSelfReady = false
        }
        var hello = WireWriter(Kind.leaving)
        hello.word(memberID)
        connection.publish(subjects.heartbeat, hello.bytes)
        connection.close()
    }

    // MARK: StreamStore

    public func post(stream: String, text: String, done: @escaping @Sendable (Result<Message, StoreError>) -> Void) {
        var request = WireWriter(Kind.post)
        request.word(memberID)
        request.int(clock.now())
        request.string(stream)
        request.string(text)
        write(stream: stream, request: request.bytes, attempts: 3) { [store] reply in
            var reader = reply
            switch reader.byte() {
            case Reply.ok:
                guard let message = reader.message(), let previous = reader.int() else { return done(.failure(.unavailable)) }
                // So that this member's next read holds it, unless an earlier one is still on its way.
                _ = store.replicate(message, after: previous)
                done(.success(message))
            case Reply.refused: done(.failure(reader.error() ?? .unavailable))
            default: done(.failure(.unavailable))
            }
        } local: { [self] in
            switch sequence(stream: stream, text: text) {
            case .success(let (message, _)): done(.success(message))
            case .failure(.store(let error)): done(.failure(error))
            case .failure(.notOwner): done(.failure(.unavailable))  // the views differ for a moment
            }
        }
    }

    public func create(
        stream: String?, isPrivate: Bool, ttl: Int?, pipe: Bool, done: @escaping @Sendable (Result<CreatedStream, StoreError>) -> Void
    ) {
        // The owner depends on the name, so a random one is drawn here; it collides practically never.
        let name = stream ?? (pipe ? StreamName.randomPipeName() : StreamName.random())
        var request = WireWriter(Kind.create)
        request.word(memberID)
        request.int(clock.now())
        request.string(name)
        request.bool(isPrivate)
        request.int(ttl.map(Int64.init) ?? -1)
        request.bool(pipe)
        write(stream: name, request: request.bytes, attempts: 3) { [store] reply in
            var reader = reply
            switch reader.byte() {
            case Reply.ok:
                guard let info = reader.stream() else { return done(.failure(.unavailable)) }
                store.replicate(info)
                done(.success(CreatedStream(name: info.name, isPrivate: info.isPrivate, ttl: info.ttl, isPipe: info.isPipe)))
            case Reply.refused: done(.failure(reader.error() ?? .unavailable))
            default: done(.failure(.unavailable))
            }
        } local: { [self] in
            switch createOwned(stream: name, isPrivate: isPrivate, ttl: ttl, pipe: pipe) {
            case .success(let created): done(.success(created))
            case .failure(.store(let error)): done(.failure(error))
            case .failure(.notOwner): done(.failure(.unavailable))
            }
        }
    }

    public func read(stream: String, _ query: ReadQuery, _ body: (StoredMessage) -> Void) {
        store.read(stream: stream, query, body)
    }

    public func subscribe(stream: String, since: Int64?, subscriber: any StreamSubscriber) throws(StoreError) -> Subscription {
        let subscription = try store.subscribe(stream: stream, since: since, subscriber: subscriber)
        state.async { [self] in
            if let change = presence.subscribed(subscription) { publish(change) }
        }
        return subscription
    }

    public func unsubscribe(_ subscription: Subscription) {
        store.unsubscribe(subscription)
        state.async { [self] in
            if let change = presence.unsubscribed(subscription) { publish(change) }
        }
    }

    public func isClosedPipe(stream: String) -> Bool { store.isClosedPipe(stream: stream) }
    public func pipeRefusal(forSubscribingTo stream: String) -> StoreError? { store.pipeRefusal(forSubscribingTo: stream) }
    public func info(stream: String) -> StreamInfo? { store.info(stream: stream) }
    public func listedStreams(limit: Int) -> [StreamInfo] { store.listedStreams(limit: limit) }

    public func stats() -> StoreStats {
        var stats = store.stats()
        stats.members = state.sync { membership.count }
        return stats
    }

    // MARK: Writes

    /// Sends a write to the stream's owner, or runs it here (`local`, on the stream's sequencer)
    /// when this member is the owner. `answer` gets the owner's reply; an empty one when the owner
    /// did not answer in time or NATS is unreachable.
    private func write(
        stream: String, request: [UInt8], attempts: Int,
        answer: @escaping @Sendable (WireReader) -> Void, local: @escaping @Sendable () -> Void
    ) {
        let owner: UInt64? = state.sync { isReady && isConnected ? membership.owner(of: stream) : nil }
        guard let owner else { return answer(WireReader([])) }
        if owner == memberID { return sequencer(for: stream).queue.async(execute: local) }
        connection.request(subjects.owner(owner), request, timeout: Self.writeTimeout) { [self] replies in
            let reply = replies.first ?? []
            // The owner saw another owner (views differ for a moment after a change): ask again.
            if reply.first == Reply.notOwner, attempts > 1 {
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) {
                    self.write(stream: stream, request: request, attempts: attempts - 1, answer: answer, local: local)
                }
                return
            }
            answer(WireReader(reply))
        }
    }

    /// Why an owner did not order a write.
    private enum Refusal: Error {
        /// Another member owns the stream now: the sender asks again.
        case notOwner
        case store(StoreError)
    }

    /// Orders a post as the stream's owner: on its sequencer, after making sure no member holds a
    /// newer message of it (a previous owner's), then published to all before it is answered.
    /// `fresh` says, just before the post is stamped, whether its sender still waits for it.
    private func sequence(stream: String, text: String, fresh: () -> Bool = { true }) -> Result<(Message, previous: Int64), Refusal> {
        if let refusal = catchUpAsOwner(stream) { return .failure(refusal) }
        guard fresh() else { return .failure(.store(.unavailable)) }
        let (message, previous): (Message, Int64)
        do {
            (message, previous) = try store.sequence(stream: stream, text: text)
        } catch {
            return .failure(.store(error))
        }
        var stored = WireWriter(Kind.stored)
        stored.word(memberID)
        stored.int(previous)
        stored.message(message)
        // Not published, not acknowledged: the other members learn of it by paging, later.
        guard connection.publish(subjects.stored, stored.bytes) else { return .failure(.store(.unavailable)) }
        return .success((message, previous))
    }

    private func createOwned(stream: String, isPrivate: Bool, ttl: Int?, pipe: Bool, fresh: () -> Bool = { true }) -> Result<CreatedStream, Refusal> {
        if let refusal = catchUpAsOwner(stream) { return .failure(refusal) }
        guard fresh() else { return .failure(.store(.unavailable)) }
        let created: CreatedStream
        do {
            created = try store.create(stream: stream, isPrivate: isPrivate, ttl: ttl, pipe: pipe)
        } catch {
            return .failure(.store(error))
        }
        var stored = WireWriter(Kind.created)
        stored.word(memberID)
        stored.stream(Self.info(created))
        guard connection.publish(subjects.stored, stored.bytes) else { return .failure(.store(.unavailable)) }
        return .success(created)
    }

    /// On the stream's sequencer, just before a write is ordered: whether this member still owns
    /// the stream and, once per membership epoch, asks every other member for the newest `Created`
    /// it holds of the stream and pages what this one lacks from the one with the most. A member
    /// that does not answer leaves the stream uncaught-up and the write refused.
    private func catchUpAsOwner(_ stream: String) -> Refusal? {
        let (epoch, others, ready, owns) = state.sync {
            (membership.epoch, membership.count - 1, isReady && isConnected, membership.owner(of: stream) == memberID)
        }
        guard ready else { return .store(.unavailable) }
        guard owns else { return .notOwner }
        let sequencer = sequencer(for: stream)
        // A new epoch, or so many streams that the set should start over (each is caught up again).
        if sequencer.epoch != epoch || sequencer.synced.count >= Sequencer.syncedLimit {
            sequencer.epoch = epoch
            sequencer.synced.removeAll()
        }
        guard !sequencer.synced.contains(stream) else { return nil }
        if others > 0 {
            var ask = WireWriter(Kind.newest)
            ask.string(stream)
            let mine = store.newestCreated(stream: stream)
            var newest: (member: UInt64, created: Int64)?
            let replies = connection.requestAndWait(subjects.newest, ask.bytes, timeout: .seconds(1), expected: others)
            guard replies.count >= others else { return .store(.unavailable) }
            for reply in replies {
                var reader = WireReader(reply)
                guard let member = reader.word(), let created = reader.int() else { continue }
                if created > mine && created > (newest?.created ?? 0) { newest = (member, created) }
            }
            if let newest {
                page(stream, from: newest.member, since: mine)
                guard store.newestCreated(stream: stream) >= newest.created else { return .store(.unavailable) }
            }
        }
        sequencer.synced.insert(stream)
        return nil
    }

    private func sequencer(for stream: String) -> Sequencer {
        sequencers[Int(Membership.hash(stream) % UInt64(sequencers.count))]
    }

    // MARK: Serving the other members

    private func subscribe() throws {
        try connection.subscribe(subjects.owner(memberID)) { [weak self] in self?.ownerRequest($0) }
        try connection.subscribe(subjects.stored) { [weak self] in self?.stored($0.payload) }
        try connection.subscribe(subjects.page(memberID)) { [weak self] in self?.pageRequest($0) }
        try connection.subscribe(subjects.newest) { [weak self] in self?.newestRequest($0) }
        try connection.subscribe(subjects.heartbeat) { [weak self] in self?.heartbeat($0.payload) }
        try connection.subscribe(subjects.presence) { [weak self] in self?.presenceChange($0.payload) }
        try connection.subscribe(subjects.presenceSnapshot(memberID)) { [weak self] in self?.presenceSnapshotRequest($0) }
    }

    /// A write another member sent to this one as the stream's owner.
    private func ownerRequest(_ message: NATSConnection.Message) {
        guard let reply = message.reply else { return }
        var reader = WireReader(message.payload)
        guard let kind = reader.byte(), let origin = reader.word(), let sentAt = reader.int(), let stream = reader.string() else { return }
        // Checked as it arrives and again just before it is ordered (catching up can take a while).
        let fresh: @Sendable () -> Bool = { [self] in state.sync { isFresh(sentAt: sentAt, from: origin) } }
        guard fresh() else { return }
        switch kind {
        case Kind.post:
            guard let text = reader.string() else { return }
            sequencer(for: stream).queue.async { [self] in
                var answer = WireWriter(Reply.ok)
                switch sequence(stream: stream, text: text, fresh: fresh) {
                case .success(let (message, previous)):
                    answer.message(message)
                    answer.int(previous)
                case .failure(let refusal):
                    answer = Self.refusal(refusal)
                }
                connection.publish(reply, answer.bytes)
            }
        case Kind.create:
            guard let isPrivate = reader.bool(), let ttl = reader.int(), let pipe = reader.bool() else { return }
            sequencer(for: stream).queue.async { [self] in
                var answer = WireWriter(Reply.ok)
                switch createOwned(stream: stream, isPrivate: isPrivate, ttl: ttl < 0 ? nil : Int(clamping: ttl), pipe: pipe, fresh: fresh) {
                case .success(let created): answer.stream(Self.info(created))
                case .failure(let refusal): answer = Self.refusal(refusal)
                }
                connection.publish(reply, answer.bytes)
            }
        default:
            return
        }
    }

    /// On the state queue: whether a forwarded write's sender, whose clock said `sentAt`, still
    /// waits for its answer. One that NATS held through a reconnect, or that waited behind a
    /// catch-up, is older than that: its sender answered 503, so it must not be stored now. A sender
    /// not heard from (this member just reconnected) counts as having given up.
    private func isFresh(sentAt: Int64, from origin: UInt64) -> Bool {
        guard let sender = membership.member(origin) else { return false }
        return clock.now() &+ sender.clockOffset &- sentAt < 1_500_000_000
    }

    private static func refusal(_ refusal: Refusal) -> WireWriter {
        switch refusal {
        case .notOwner:
            return WireWriter(Reply.notOwner)
        case .store(let error):
            var answer = WireWriter(Reply.refused)
            answer.error(error)
            return answer
        }
    }

    /// An owner's publication: a stored message or a made stream.
    private func stored(_ payload: [UInt8]) {
        var reader = WireReader(payload)
        switch reader.byte() {
        case Kind.stored:
            guard let owner = reader.word(), let previous = reader.int(), let message = reader.message() else { return }
            if case .missing(let after) = store.replicate(message, after: previous) {
                page(message.stream, from: owner, since: after)
                // Still missing when paging failed: the owner's next message finds the hole again.
                _ = store.replicate(message, after: previous)
            }
        case Kind.created:
            guard reader.word() != nil, let info = reader.stream() else { return }
            store.replicate(info)
        default:
            return
        }
    }

    /// Pages `stream` after `since` from `member` into the replica, in order, until it has all.
    private func page(_ stream: String, from member: UInt64, since: Int64) {
        var since = since
        while true {
            var ask = WireWriter(Kind.pageMessages)
            ask.string(stream)
            ask.int(since)
            var reader = WireReader(connection.requestAndWait(subjects.page(member), ask.bytes, timeout: .seconds(2)).first ?? [])
            guard let more = reader.bool(), let hasInfo = reader.bool() else { return }
            if hasInfo, let info = reader.stream() { store.replicate(info) }
            guard let count = reader.int(), (0...Self.maxCount).contains(count) else { return }
            for _ in 0..<count {
                guard let message = reader.message() else { return }
                _ = store.replicate(message, after: nil)
                since = message.created
            }
            if !more || count == 0 { return }
        }
    }

    /// A member pages a stream's messages, or the list of streams, from this one.
    private func pageRequest(_ message: NATSConnection.Message) {
        guard let reply = message.reply else { return }
        var reader = WireReader(message.payload)
        switch reader.byte() {
        case Kind.pageMessages:
            guard let stream = reader.string(), let since = reader.int() else { return }
            var messages: [Message] = []
            store.read(stream: stream, .since(since, limit: Self.pageSize)) { messages.append(Message($0, stream: stream)) }
            var answer = WireWriter(messages.count == Self.pageSize ? 1 : 0)
            let info = store.info(stream: stream)
            answer.bool(info != nil)
            if let info { answer.stream(info) }
            answer.int(Int64(messages.count))
            for message in messages { answer.message(message) }
            connection.publish(reply, answer.bytes)
        case Kind.pageStreams:
            guard let offset = reader.int(), offset >= 0 else { return }
            let all = store.allStreams().sorted { $0.name < $1.name }
            let page = all.dropFirst(Int(offset)).prefix(512)
            var answer = WireWriter(Int(offset) + page.count < all.count ? 1 : 0)
            answer.int(Int64(page.count))
            for info in page { answer.stream(info) }
            connection.publish(reply, answer.bytes)
        default:
            return
        }
    }

    /// A new owner asks what this member holds of a stream. Answered from the store at once (a
    /// write this member stamped as the previous owner is in it); writes still queued here meet
    /// the ownership check before they are ordered.
    private func newestRequest(_ message: NATSConnection.Message) {
        guard let reply = message.reply else { return }
        var reader = WireReader(message.payload)
        guard reader.byte() == Kind.newest, let stream = reader.string() else { return }
        var answer = WireWriter()
        answer.word(memberID)
        answer.int(store.newestCreated(stream: stream))
        connection.publish(reply, answer.bytes)
    }

    // MARK: Membership

    private func startTimers() {
        let heartbeat = DispatchSource.makeTimerSource(queue: state)
        heartbeat.schedule(deadline: .now(), repeating: .seconds(1), leeway: .milliseconds(50))
        heartbeat.setEventHandler { [weak self] in self?.sendHeartbeat() }
        let sweep = DispatchSource.makeTimerSource(queue: state)
        sweep.schedule(deadline: .now() + .milliseconds(250), repeating: .milliseconds(250), leeway: .milliseconds(50))
        sweep.setEventHandler { [weak self] in self?.sweepSilent() }
        timers = [heartbeat, sweep]
        heartbeat.resume()
        sweep.resume()
    }

    /// On the state queue.
    private func sendHeartbeat() {
        var beat = WireWriter(Kind.heartbeat)
        beat.word(memberID)
        beat.bool(isReady)
        beat.int(clock.now())
        beat.word(presence.version)
        connection.publish(subjects.heartbeat, beat.bytes)
    }

    private func heartbeat(_ payload: [UInt8]) {
        var reader = WireReader(payload)
        let kind = reader.byte()
        guard let id = reader.word(), id != memberID else { return }
        let now = clock.now()
        if kind == Kind.leaving {
            state.async { [self] in forget(id, why: "left") }
            return
        }
        guard kind == Kind.heartbeat, let isReady = reader.bool(), let sentAt = reader.int(), let version = reader.word() else { return }
        state.async { [self] in
            let before = membership.heard(
                id, isReady: isReady, clockOffset: sentAt &- now, at: DispatchTime.now().uptimeNanoseconds)
            if before == nil { logger.info("Cluster member joined", metadata: ["members": "\(membership.count)"]) }
            if presence.version(of: id) != version { askPresence(of: id) }
        }
    }

    /// On the state queue.
    private func sweepSilent() {
        for id in membership.silent(at: DispatchTime.now().uptimeNanoseconds, timeout: Self.deathTimeout) {
            forget(id, why: "went silent")
        }
    }

    /// On the state queue: a member that left or died; its subscribers leave every count.
    private func forget(_ id: UInt64, why: String) {
        guard membership.member(id) != nil else { return }
        membership.remove(id)
        logger.info("Cluster member \(why)", metadata: ["members": "\(membership.count)"])
        for (stream, count, total) in presence.forget(id) {
            for left in 1...count { store.remotePresence(.close, stream: stream, remoteObservers: total + count - left) }
        }
    }

    private func connectionChanged(up: Bool) {
        if !up { connection?.abandonRequests() }
        state.async { [self] in
            isConnected = up
            generation += 1
            if up {
                logger.info("Connected to NATS")
                let generation = generation
                catchUpQueue.async { self.catchUp(generation: generation) }
            } else {
                logger.warning("NATS unreachable: refusing posts until it is back")
                membership.isSelfReady = false
            }
        }
    }

    /// After connecting: hears who is there, pages every stream from a ready member, then takes
    /// posts. Runs again after every reconnect.
    private func catchUp(generation: Int) {
        state.sync {
            membership.isSelfReady = false
            sendHeartbeat()
        }
        usleep(1_200_000)  // a heartbeat from every live member
        guard let peer = state.sync(execute: { self.generation == generation ? membership.readyOthers.first : 0 }) else {
            return finishCatchUp(generation: generation)
        }
        if peer == 0 { return }  // a newer connection runs its own
        var offset: Int64 = 0
        var streams: [StreamInfo] = []
        while true {
            var ask = WireWriter(Kind.pageStreams)
            ask.int(offset)
            var reader = WireReader(connection.requestAndWait(subjects.page(peer), ask.bytes, timeout: .seconds(2)).first ?? [])
            guard let more = reader.bool(), let count = reader.int(), (0...Self.maxCount).contains(count) else { break }
            var read: Int64 = 0
            while read < count, let info = reader.stream() {
                streams.append(info)
                read += 1
            }
            offset += read
            if !more || read < count || count == 0 { break }
        }
        for info in streams {
            store.replicate(info)
            page(info.name, from: peer, since: store.newestCreated(stream: info.name))
        }
        finishCatchUp(generation: generation)
    }

    private func finishCatchUp(generation: Int) {
        state.sync {
            guard self.generation == generation, isConnected else { return }
            membership.isSelfReady = true
            sendHeartbeat()
            logger.info("Cluster member ready", metadata: ["member": "\(subjects.memberHex)", "members": "\(membership.count)"])
        }
    }

    // MARK: Presence

    /// On the state queue.
    private func publish(_ change: PresenceTable.Change) {
        var message = WireWriter(Kind.presence)
        message.word(memberID)
        message.word(change.version)
        message.string(change.stream)
        message.bool(change.isConnect)
        message.int(Int64(change.count))
        connection.publish(subjects.presence, message.bytes)
    }

    private func presenceChange(_ payload: [UInt8]) {
        var reader = WireReader(payload)
        guard reader.byte() == Kind.presence, let member = reader.word(), let version = reader.word(),
            let stream = reader.string(), let isConnect = reader.bool(), let count = reader.int(), (0...Self.maxCount).contains(count)
        else { return }
        state.async { [self] in
            guard membership.member(member) != nil else { return }  // heard before its first heartbeat: the snapshot brings it
            if version == 0 || presence.version(of: member) != version - 1 { return askPresence(of: member) }
            let total = presence.set(member, stream: stream, count: Int(count), version: version)
            store.remotePresence(isConnect ? .connect : .close, stream: stream, remoteObservers: total)
        }
    }

    /// On the state queue: asks a member for all its counts (it is new, or a change went missing).
    private func askPresence(of member: UInt64) {
        connection.request(subjects.presenceSnapshot(member), [], timeout: .seconds(2)) { [self] replies in
            var reader = WireReader(replies.first ?? [])
            guard let version = reader.word(), let count = reader.int(), (0...Self.maxCount).contains(count) else { return }
            var counts: [String: Int] = [:]
            for _ in 0..<count {
                guard let stream = reader.string(), let observers = reader.int(), (0...Self.maxCount).contains(observers) else { return }
                counts[stream] = Int(observers)
            }
            let snapshot = counts
            state.async { [self] in
                guard membership.member(member) != nil else { return }
                for (stream, total) in presence.replace(member, counts: snapshot, version: version) {
                    store.remotePresence(nil, stream: stream, remoteObservers: total)
                }
            }
        }
    }

    private func presenceSnapshotRequest(_ message: NATSConnection.Message) {
        guard let reply = message.reply else { return }
        state.async { [self] in
            var answer = WireWriter()
            answer.word(presence.version)
            let counts = presence.localCounts
            answer.int(Int64(counts.count))
            for (stream, count) in counts {
                answer.string(stream)
                answer.int(Int64(count))
            }
            connection.publish(reply, answer.bytes)
        }
    }

    private static func info(_ created: CreatedStream) -> StreamInfo {
        StreamInfo(name: created.name, updated: 0, ttl: created.ttl, observers: 0, isPrivate: created.isPrivate, isPipe: created.isPipe)
    }
}

/// One queue that orders the writes of the streams hashed to it, and the streams it has caught up
/// as their owner in the current membership epoch. Its fields are touched only on its queue.
private final class Sequencer: @unchecked Sendable {
    let queue: DispatchQueue
    var epoch = -1
    var synced: Set<String> = []
    static let syncedLimit = 1 << 16

    init(index: Int) { queue = DispatchQueue(label: "malten.cluster.sequencer.\(index)") }
}

/// What goes in a payload's first byte.
private enum Kind {
    static let heartbeat: UInt8 = 1
    static let leaving: UInt8 = 2
    static let post: UInt8 = 3
    static let create: UInt8 = 4
    static let stored: UInt8 = 5
    static let created: UInt8 = 6
    static let pageMessages: UInt8 = 7
    static let pageStreams: UInt8 = 8
    static let newest: UInt8 = 9
    static let presence: UInt8 = 10
}

/// An owner's answer to a write, by its first byte.
private enum Reply {
    static let ok: UInt8 = 0
    static let refused: UInt8 = 1
    static let notOwner: UInt8 = 2
}

/// The NATS subjects: they name members by their random ids and never carry a stream's name.
struct Subjects {
    let memberHex: String
    static let prefix = "malten"

    init(member: UInt64) {
        let hex = String(member, radix: 16)
        memberHex = String(repeating: "0", count: 16 - hex.count) + hex
    }

    var heartbeat: String { "\(Self.prefix).members" }
    var stored: String { "\(Self.prefix).stored" }
    var newest: String { "\(Self.prefix).newest" }
    var presence: String { "\(Self.prefix).presence" }
    var inbox: String { "\(Self.prefix).inbox.\(memberHex)" }
    func owner(_ member: UInt64) -> String { "\(Self.prefix).owner.\(Subjects(member: member).memberHex)" }
    func page(_ member: UInt64) -> String { "\(Self.prefix).page.\(Subjects(member: member).memberHex)" }
    func presenceSnapshot(_ member: UInt64) -> String { "\(Self.prefix).presence.\(Subjects(member: member).memberHex)" }
}
