@testable import MaltenCore
import Testing

@Suite struct RingTests {
    private func slot(_ created: Int64) -> Slot {
        Slot(created: created, id: .random(), text: StoredText("m\(created)"))
    }

    @Test func slotsAreThirtyTwoBytes() {
        #expect(MemoryLayout<Slot>.stride == 32)
        #expect(Ring.storageBytes(capacity: 1024) == 32 * 1024)
    }

    @Test func storedTextKeepsItsBytes() {
        for text in ["", "x", "café 日本語 😀", String(repeating: "long text ", count: 300)] {
            let stored = StoredText(text)
            #expect(stored.string == text)
            #expect(stored.byteCount == text.utf8.count)
            stored.free()
        }
        #expect(StoredText.heapBytes(utf8Count: 100) == 112)
        #expect(StoredText.heapBytes(utf8Count: 12) == 16)
    }

    @Test func fifoCapAndWrapAround() {
        var ring = Ring(capacity: 4)
        for c in 1...4 { #expect(ring.append(slot(Int64(c))) == nil) }
        #expect(ring.count == 4)
        // Each further append pushes out the oldest, wrapping the head around the storage.
        for c in 5...11 {
            let pushed = ring.append(slot(Int64(c)))
            #expect(pushed?.created == Int64(c - 4))
            #expect(pushed?.textHeapBytes == 16)
        }
        #expect(ring.count == 4)
        #expect((0..<4).map { ring[$0].created } == [8, 9, 10, 11])
        #expect(ring.first?.text.string == "m8")
        #expect(ring.last?.text.string == "m11")
    }

    @Test func removeFirstThenAppendKeepsOrder() {
        var ring = Ring(capacity: 3)
        for c in 1...3 { ring.append(slot(Int64(c))) }
        #expect(ring.removeFirst().created == 1)
        #expect(ring.removeFirst().created == 2)
        ring.append(slot(4))
        ring.append(slot(5))
        #expect((0..<ring.count).map { ring[$0].created } == [3, 4, 5])
        #expect((0..<ring.count).map { ring[$0].text.string } == ["m3", "m4", "m5"])
        while !ring.isEmpty { ring.removeFirst() }
        let first = ring.first
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

