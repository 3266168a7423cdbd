@testable import MaltenCore
import Testing

@Suite struct TimingWheelTests {
    final class Item {
        let id: Int
        init(_ id: Int) { self.id = id }
    }

    @Test func deliversEachEntryAtItsTick() {
        var wheel = TimingWheel<Item>(startTick: 1000)
        // Near (level 0), far (level 1), beyond level 1's reach (clamped, refiled), and past.
        let ticks: [Int64] = [1001, 1005, 5095, 5096, 9000, 100_000, 87_400, 200_000, 10]
        for (i, tick) in ticks.enumerated() { wheel.schedule(Item(i), at: tick) }
        #expect(wheel.count == ticks.count)
        var delivered: [(tick: Int64, at: Int64)] = []
        var now: Int64 = 1000
        while now < 200_000 {
            now += 1
            for entry in wheel.advance(to: now) { delivered.append((entry.tick, now)) }
        }
        // The past entry fires at the first advance; every other one exactly at its own tick.
        #expect(delivered.count == ticks.count)
        #expect(delivered.first?.at == 1001)
        for entry in delivered where entry.tick > 1000 { #expect(entry.tick == entry.at) }
        #expect(wheel.count == 0)
    }

    @Test func bigJumpsDeliverEverythingDue() {
        var wheel = TimingWheel<Item>(startTick: 0)
        for t in stride(from: Int64(1), through: 86_400, by: 7) { wheel.schedule(Item(Int(t)), at: t) }
        #expect(wheel.advance(to: 50_000).map(\.tick) == Array(stride(from: Int64(1), through: 50_000, by: 7)))
        #expect(wheel.advance(to: 90_000).map(\.tick) == Array(stride(from: Int64(50_002), through: 86_400, by: 7)))
    }
}
