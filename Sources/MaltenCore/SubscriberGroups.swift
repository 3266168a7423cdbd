/// A stream's live subscribers, grouped by courier, so that an event costs the shard one
/// `deliver` per courier however many subscribers there are.
struct SubscriberGroups {
    private struct Group {
        let courier: any EventCourier
        var members: [any StreamSubscriber]
        /// Subscription ids, parallel to `members`.
        var ids: [UInt64]
    }

    private var groups: [Group] = []

    /// Subscribers in all; a stream has a group per courier, so a handful at most to add up.
    var count: Int { groups.reduce(0) { $0 + $1.ids.count } }
    var isEmpty: Bool { groups.isEmpty }

    mutating func add(_ subscriber: any StreamSubscriber, id: UInt64) {
        let courier = subscriber.courier
        if let index = groups.firstIndex(where: { $0.courier === courier }) {
            groups[index].members.append(subscriber)
            groups[index].ids.append(id)
        } else {
            groups.append(Group(courier: courier, members: [subscriber], ids: [id]))
        }
    }

    /// Removes a subscription; returns whether it was there.
    /// - Complexity: O(subscribers of its courier); order within a group is not kept.
    mutating func remove(id: UInt64) -> Bool {
        for index in groups.indices {
            guard let position = groups[index].ids.firstIndex(of: id) else { continue }
            if groups[index].ids.count == 1 {
                groups.remove(at: index)
            } else {
                groups[index].ids.swapAt(position, groups[index].ids.count - 1)
                groups[index].ids.removeLast()
                groups[index].members.swapAt(position, groups[index].members.count - 1)
                groups[index].members.removeLast()
            }
            return true
        }
        return false
    }

    /// Hands `events` to every subscriber, one call per courier.
    func send(_ events: [StreamEvent]) {
        for group in groups { group.courier.deliver(events, to: group.members) }
    }

    mutating func removeAll() {
        groups = []
    }
}
