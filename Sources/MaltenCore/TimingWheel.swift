/// A two-level hierarchical timing wheel with one-second ticks.
///
/// Level 0 has 4096 one-tick slots, level 1 has 32 slots of 4096 ticks each, so any deadline up to
/// 131 072 s (36 h) ahead is filed in O(1). Advancing visits only the slots of the ticks that passed
/// and the entries filed in them: the work is proportional to elapsed ticks plus what comes due,
/// never to everything scheduled. An entry in level 1 moves to level 0 once, when its block begins.
///
/// Entries are not removed when plans change; the owner checks on delivery whether an entry is still
/// current (see `Shard`), which keeps scheduling and rescheduling O(1).
struct TimingWheel<Item: AnyObject> {
    struct Entry {
        var tick: Int64
        var item: Item
    }

    private static var level0Bits: Int64 { 12 }
    private static var level0Size: Int { 1 << 12 }
    private static var level1Size: Int { 32 }

    private var level0: [[Entry]]
    private var level1: [[Entry]]
    /// The last tick that was processed; entries due at or before it have been delivered.
    private(set) var current: Int64
    private(set) var count = 0

    init(startTick: Int64) {
        current = startTick
        level0 = Array(repeating: [], count: Self.level0Size)
        level1 = Array(repeating: [], count: Self.level1Size)
    }

    /// Files `item` to be delivered at `tick` (at the next advance if `tick` has passed).
    /// - Complexity: O(1) amortized
    mutating func schedule(_ item: Item, at tick: Int64) {
        count += 1
        file(Entry(tick: max(tick, current + 1), item: item))
    }

    private mutating func file(_ entry: Entry) {
        if entry.tick - current < Int64(Self.level0Size) {
            level0[Int(entry.tick & Int64(Self.level0Size - 1))].append(entry)
        } else {
            let blocksAhead = min(entry.tick >> Self.level0Bits - current >> Self.level0Bits, Int64(Self.level1Size - 1))
            let block = current >> Self.level0Bits + blocksAhead
            level1[Int(block & Int64(Self.level1Size - 1))].append(entry)
        }
    }

    /// Processes every tick up to and including `tick` and returns the entries that came due, in
    /// tick order. The caller may schedule again while handling them.
    /// - Complexity: O(ticks passed + entries due + entries moved down from level 1)
    mutating func advance(to tick: Int64) -> [Entry] {
        var due: [Entry] = []
        while current < tick {
            current += 1
            if current & Int64(Self.level0Size - 1) == 0 {
                let slot = Int((current >> Self.level0Bits) & Int64(Self.level1Size - 1))
                let moving = level1[slot]
                level1[slot].removeAll(keepingCapacity: false)
                for entry in moving { file(entry) }
            }
            let slot = Int(current & Int64(Self.level0Size - 1))
            if level0[slot].isEmpty { continue }
            count -= level0[slot].count
            due += level0[slot]
            level0[slot].removeAll(keepingCapacity: false)
        }
        return due
    }
}
