@testable import MaltenCore
import Testing

@Suite struct TimingWheelTests {
    final class Item: TimingWheelItem {
        let id: Int
        var wheelPosition: WheelPosition?
        init(_ id: Int) { self.id = id }
    }

    @Test func deliversEachItemAtItsTick() {
        var wheel = TimingWheel<Item>(startTick: 1000)
        // Near (level 0), far (level 1), beyond level 1's reach (clamped, refiled), and past.
        let ticks: [Int64] = [1001, 1005, 5095, 5096, 9000, 100_000, 87_400, 200_000, 10]
        for (i, tick) in ticks.enumerated() { wheel.schedule(Item(i), at: tick) }
        #expect(wheel.count == ticks.count)
        var delivered: [Int: Int64] = [:]
        var now: Int64 = 1000
        while now < 200_000 {
            now += 1
            for item in wheel.advance(to: now) {
                #expect(item.wheelPosition == nil)
                delivered[item.id] = now
            }
        }
        // The past item fires at the first advance; every other one exactly at its own tick.
        #expect(delivered.count == ticks.count)
        for (i, tick) in ticks.enumerated() { #expect(delivered[i] == max(tick, 1001), "item \(i)") }
        #expect(wheel.count == 0)
    }

    @Test func bigJumpsDeliverEverythingDue() {
        var wheel = TimingWheel<Item>(startTick: 0)
        for t in stride(from: 1, through: 86_400, by: 7) { wheel.schedule(Item(t), at: Int64(t)) }
        #expect(wheel.advance(to: 50_000).map(\.id) == Array(stride(from: 1, through: 50_000, by: 7)))
        #expect(wheel.advance(to: 90_000).map(\.id) == Array(stride(from: 50_002, through: 86_400, by: 7)))
    }

    @Test func cancelAndRescheduleLeaveOneEntryPerItem() {
        var wheel = TimingWheel<Item>(startTick: 0)
        let items = (0..<100).map(Item.init)
        for item in items { wheel.schedule(item, at: 10) }
        for item in items where item.id % 2 == 0 { wheel.cancel(item) }  // swap-removes from one slot
        for item in items where item.id % 3 == 0 { wheel.schedule(item, at: 20) }  // moves, never duplicates
        #expect(wheel.count == 50 + 17)
        let atTen = wheel.advance(to: 10).map(\.id).sorted()
        #expect(atTen == items.map(\.id).filter { $0 % 2 == 1 && $0 % 3 != 0 })
        let atTwenty = wheel.advance(to: 20).map(\.id).sorted()
        #expect(atTwenty == items.map(\.id).filter { $0 % 3 == 0 })
        #expect(wheel.count == 0)
    }
}

