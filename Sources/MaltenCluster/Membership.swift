/// The members one server sees, and which of them owns a stream: of the members that are ready
/// (caught up), the one with the highest rendezvous score for the stream's name. Touched only on
/// the cluster's state queue.
struct Membership {
    struct Member {
        var isReady: Bool
        /// When it was last heard, in this process's monotonic nanoseconds.
        var lastHeard: UInt64
        /// Its wall clock minus ours, as its last heartbeat showed (NATS's latency included).
        var clockOffset: Int64
    }

    let selfID: UInt64
    var isSelfReady = false {
        didSet { if isSelfReady != oldValue { epoch += 1 } }
    }
    private(set) var others: [UInt64: Member] = [:]
    /// Changes whenever the set of ready members does: an owner re-syncs its streams after it.
    private(set) var epoch = 0

    init(selfID: UInt64) { self.selfID = selfID }

    var count: Int { others.count + 1 }
    var readyOthers: [UInt64] { others.filter(\.value.isReady).map(\.key).sorted() }

    /// Records a heartbeat; returns the member as it was before (nil when it is new).
    @discardableResult
    mutating func heard(_ id: UInt64, isReady: Bool, clockOffset: Int64, at now: UInt64) -> Member? {
        let before = others[id]
        others[id] = Member(isReady: isReady, lastHeard: now, clockOffset: clockOffset)
        if before?.isReady != isReady && (isReady || before?.isReady == true) { epoch += 1 }
        return before
    }

    /// Forgets a member that left or went silent.
    mutating func remove(_ id: UInt64) {
        guard let member = others.removeValue(forKey: id) else { return }
        if member.isReady { epoch += 1 }
    }

    /// The members silent for longer than `timeout` nanoseconds.
    func silent(at now: UInt64, timeout: UInt64) -> [UInt64] {
        others.filter { now &- $0.value.lastHeard > timeout }.map(\.key)
    }

    func member(_ id: UInt64) -> Member? { others[id] }

    /// The ready member that orders `stream`, this one included; nil when none is ready.
    func owner(of stream: String) -> UInt64? {
        let key = Self.hash(stream)
        var best: (id: UInt64, score: UInt64)?
        func consider(_ id: UInt64) {
            let score = Self.mix(id ^ key)
            if best == nil || score > best!.score || (score == best!.score && id > best!.id) { best = (id, score) }
        }
        if isSelfReady { consider(selfID) }
        for (id, member) in others where member.isReady { consider(id) }
        return best?.id
    }

    /// FNV-1a over the name's UTF-8: the same on every member (Swift's `Hasher` is seeded per process).
    static func hash(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// SplitMix64's finaliser: spreads a member's id and a name's hash into a rendezvous score.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
