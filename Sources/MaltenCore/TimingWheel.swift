/// Where an item sits in a `TimingWheel`, so it can be taken out in O(1).
struct WheelPosition: Equatable {
    var tick: Int64
    var level: Int
    var slot: Int
    var index: Int
}

/// What a `TimingWheel` holds: an object that remembers its own position.
protocol TimingWheelItem: AnyObject {
    var wheelPosition: WheelPosition? { get set }
}

/// A two-level hierarchical timing wheel with one-second ticks.
///
/// Level 0 has 1024 one-tick slots, level 1 has 128 slots of 1024 ticks each, so any deadline up to
/// 131 072 s (36 h) ahead is filed in O(1), in 9 KiB of slot headers per wheel. Advancing visits only the slots of the ticks that passed
/// and the items filed in them: the work is proportional to elapsed ticks plus what comes due,
/// never to everything scheduled. An item in level 1 moves to level 0 once, when its block begins.
/// Each item is filed at most once and knows its position, so `cancel` is O(1) (swap-remove) and a
/// removed stream leaves nothing behind in the wheel.
struct TimingWheel<Item: TimingWheelItem> {
    private static var level0Bits: Int64 { 10 }
    private static var level0Size: Int { 1 << 10 }
    private static var level1Size: Int { 128 }

    private var levels: [[[Item]]]
    /// The last tick that was processed; items due at or before it have been delivered.
    private(set) var current: Int64
    private(set) var count = 0

    init(startTick: Int64) {
        current = startTick
        levels = [Array(repeating: [], count: Self.level0Size), Array(repeating: [], count: Self.level1Size)]
    }

    /// Files `item` to be delivered at `tick` (at the next advance if `tick` has passed), taking it
    /// out of its earlier position first.
    /// - Complexity: O(1) amortized
    mutating func schedule(_ item: Item, at tick: Int64) {
        cancel(item)
        count += 1
        file(item, tick: max(tick, current + 1))
    }

    /// Takes `item` out of the wheel, if it is in it.
    /// - Complexity: O(1)
    mutating func cancel(_ item: Item) {
        guard let position = item.wheelPosition else { return }
        let moved = levels[position.level][position.slot].removeLast()
        if moved !== item {
            levels[position.level][position.slot][position.index] = moved
            moved.wheelPosition!.index = position.index
        } else if levels[position.level][position.slot].isEmpty {
            levels[position.level][position.slot] = []  // give back the slot's storage
        }
        item.wheelPosition = nil
        count -= 1
    }

    private mutating func file(_ item: Item, tick: Int64) {
        let level: Int
        let slot: Int
        if tick - current < Int64(Self.level0Size) {
            level = 0
            slot = Int(tick & Int64(Self.level0Size - 1))
        } else {
            let blocksAhead = min(tick >> Self.level0Bits - current >> Self.level0Bits, Int64(Self.level1Size - 1))
            level = 1
            slot = Int((current >> Self.level0Bits + blocksAhead) & Int64(Self.level1Size - 1))
        }
        item.wheelPosition = WheelPosition(tick: tick, level: level, slot: slot, index: levels[level][slot].count)
        levels[level][slot].append(item)
    }

    /// Processes every tick up to and including `tick` and returns the items that came due, in tick
    /// order, no longer in the wheel. The caller may schedule them again.
    /// - Complexity: O(ticks passed + items due + items moved down from level 1)
    mutating func advance(to tick: Int64) -> [Item] {
        var due: [Item] = []
        while current < tick {
            current += 1
            if current & Int64(Self.level0Size - 1) == 0 {
                let slot = Int((current >> Self.level0Bits) & Int64(Self.level1Size - 1))
                let moving = levels[1][slot]
                levels[1][slot] = []
                for item in moving { file(item, tick: item.wheelPosition!.tick) }
            }
            let slot = Int(current & Int64(Self.level0Size - 1))
            if levels[0][slot].isEmpty { continue }
            for item in levels[0][slot] { item.wheelPosition = nil }
            count -= levels[0][slot].count
            due += levels[0][slot]
            levels[0][slot] = []
        }
        return due
    }
}
