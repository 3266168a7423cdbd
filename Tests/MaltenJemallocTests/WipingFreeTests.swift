import MaltenJemalloc
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The process's `free` and `realloc` (CJemallocConfiguration's wiping_free.c): a block given back
/// holds zeros, a block that `realloc` moved left zeros behind, and a large block is zeroed where it
/// was touched. Freed memory is read at once, in place (any allocation might be handed the block
/// just freed), on the thread that freed it: jemalloc keeps a freed block in that thread's cache
/// and writes nothing into it.
@Suite(.serialized) struct WipingFreeTests {
    static func filled(_ count: Int, with value: UInt8 = 0x41) -> UnsafeMutablePointer<UInt8> {
        let block = malloc(count)!.assumingMemoryBound(to: UInt8.self)
        block.initialize(repeating: value, count: count)
        return block
    }

    /// How many of the block's first `count` bytes are `value`, read in place.
    static func count(of value: UInt8, _ block: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
        var found = 0
        for index in 0..<count where block[index] == value { found += 1 }
        return found
    }

    @Test(arguments: [24, 1000, 14_000, 40_000])
    func aFreedBlockHoldsZeros(size: Int) {
        #expect(Jemalloc.wipesFreedMemory)
        let block = Self.filled(size)
        free(block)
        let zeros = Self.count(of: 0, block, size)
        #expect(zeros == size)
    }

    /// A large block goes back to the arena, not to the thread's cache, and another test's thread
    /// may be handed it at once and write its own bytes: none of the freed ones may be left.
    @Test func aFreedLargeBlockKeepsNoneOfItsBytes() {
        let size = 3 << 20
        let block = Self.filled(size, with: 0xA5)  // not ASCII: no test's plain text
        free(block)
        let kept = Self.count(of: 0xA5, block, size)
        #expect(kept == 0)
    }

    @Test func aMovedBlockLeavesZerosBehind() {
        let block = Self.filled(100)
        let moved = realloc(block, 100_000)!.assumingMemoryBound(to: UInt8.self)
        #expect(moved != block)
        #expect(Self.count(of: 0x41, moved, 100) == 100)  // the contents moved with it
        let zeros = Self.count(of: 0, block, 100)
        #expect(zeros == 100)
        free(moved)
    }

    @Test func withTheWipeOffAFreedBlockKeepsItsBytes() {
        Jemalloc.wipesFreedMemory = false
        defer { Jemalloc.wipesFreedMemory = true }
        let block = Self.filled(1000)
        free(block)
        let kept = Self.count(of: 0x41, block, 1000)
        #expect(kept > 900)  // what the wipe removes
    }
}
