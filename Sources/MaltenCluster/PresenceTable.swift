import MaltenCore

/// Who subscribes where: this member's own subscriptions, counted per stream and numbered by a
/// version that every change moves on, and the counts the other members last told. Touched only on
/// the cluster's state queue.
struct PresenceTable {
    /// A change of this member's count on one stream, to publish.
    struct Change {
        var version: UInt64
        var stream: String
        var isConnect: Bool
        var count: Int
    }

    private(set) var version: UInt64 = 0
    private var subscriptions: Set<Subscription> = []
    private(set) var localCounts: [String: Int] = [:]
    /// Per other member: its counts and the version they were at.
    private var remote: [UInt64: (version: UInt64, counts: [String: Int])] = [:]
    /// Per stream, the sum over the other members.
    private var remoteTotals: [String: Int] = [:]

    mutating func subscribed(_ subscription: Subscription) -> Change? {
        guard subscriptions.insert(subscription).inserted else { return nil }
        return count(subscription.stream, by: 1)
    }

    mutating func unsubscribed(_ subscription: Subscription) -> Change? {
        guard subscriptions.remove(subscription) != nil else { return nil }
        return count(subscription.stream, by: -1)
    }

    private mutating func count(_ stream: String, by delta: Int) -> Change {
        version += 1
        let count = (localCounts[stream] ?? 0) + delta
        localCounts[stream] = count > 0 ? count : nil
        return Change(version: version, stream: stream, isConnect: delta > 0, count: count)
    }

    /// The version of `member`'s counts that this table holds (0 for none).
    func version(of member: UInt64) -> UInt64 { remote[member]?.version ?? 0 }

    /// Records one change of `member`'s; returns the stream's new total over the other members.
    mutating func set(_ member: UInt64, stream: String, count: Int, version: UInt64) -> Int {
        var entry = remote[member] ?? (0, [:])
        let before = entry.counts[stream] ?? 0
        entry.counts[stream] = count > 0 ? count : nil
        entry.version = version
        remote[member] = entry
        return adjust(stream, by: count - before)
    }

    /// Replaces all of `member`'s counts; returns the streams whose totals changed, with the totals.
    mutating func replace(_ member: UInt64, counts: [String: Int], version: UInt64) -> [(String, Int)] {
        // A snapshot that crossed a newer change on the way is already out of date.
        if let held = remote[member]?.version, held > version { return [] }
        let before = remote[member]?.counts ?? [:]
        remote[member] = (version, counts.filter { $0.value > 0 })
        var changed: [(String, Int)] = []
        for stream in Set(before.keys).union(counts.keys) {
            let delta = (counts[stream] ?? 0) - (before[stream] ?? 0)
            if delta != 0 { changed.append((stream, adjust(stream, by: delta))) }
        }
        return changed
    }

    /// Drops a member that is gone: per stream it held subscribers on, how many and the new total.
    mutating func forget(_ member: UInt64) -> [(stream: String, count: Int, total: Int)] {
        guard let entry = remote.removeValue(forKey: member) else { return [] }
        return entry.counts.map { stream, count in (stream, count, adjust(stream, by: -count)) }
    }

    private mutating func adjust(_ stream: String, by delta: Int) -> Int {
        let total = max(0, (remoteTotals[stream] ?? 0) + delta)
        remoteTotals[stream] = total > 0 ? total : nil
        return total
    }
}
