@testable import MaltenCore
import Testing

@Suite struct RingTests {
    private func slot(_ created: Int64) -> Slot {
        Slot(created: created, id: .random(), text: "m\(created)")
    }

    @Test func slotsAreFortyBytes() {
        #expect(MemoryLayout<Slot>.stride == 40)
        #expect(Ring.storageBytes(capacity: 1024) == 40 * 1024)
    }

    @Test func fifoCapAndWrapAround() {
        var ring = Ring(capacity: 4)
        for c in 1...4 { #expect(ring.append(slot(Int64(c))) == nil) }
        #expect(ring.count == 4)
        // Each further append pushes out the oldest, wrapping the head around the storage.
        for c in 5...11 {
            let pushed = ring.append(slot(Int64(c)))
            #expect(pushed?.created == Int64(c - 4))
        }
        #expect(ring.count == 4)
        #expect((0..<4).map { ring[$0].created } == [8, 9, 10, 11])
        #expect(ring.first?.text == "m8")
        #expect(ring.last?.text == "m11")
    }

    @Test func removeFirstThenAppendKeepsOrder() {
        var ring = Ring(capacity: 3)
        for c in 1...3 { ring.append(slot(Int64(c))) }
        #expect(ring.removeFirst().created == 1)
        #expect(ring.removeFirst().created == 2)
        ring.append(slot(4))
        ring.append(slot(5))
        #expect((0..<ring.count).map { ring[$0].created } == [3, 4, 5])
        ring.removeAll()
        let isEmpty = ring.isEmpty
        let first = ring.first
        #expect(isEmpty)
        #expect(first == nil)
    }

    @Test func partitionFindsFirstGreater() {
        var ring = Ring(capacity: 5)
        for c in [10, 20, 30, 40, 50, 60, 70] { ring.append(slot(Int64(c))) }  // holds 30...70, wrapped
        #expect(ring.partition(createdAbove: 0) == 0)
        #expect(ring.partition(createdAbove: 30) == 1)
        #expect(ring.partition(createdAbove: 35) == 1)
        #expect(ring.partition(createdAbove: 69) == 4)
        #expect(ring.partition(createdAbove: 70) == 5)
    }
}
