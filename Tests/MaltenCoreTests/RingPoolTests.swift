@testable import MaltenCore
import MaltenTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The shard's own ring storage: blocks of one ring's size from chunks it maps itself, wiped before
/// they are handed out again, and every chunk given back once its last ring is gone.
@Suite struct RingPoolTests {
    @Test func smallRingsAreLeftToTheAllocator() {
        #expect(RingPool(capacity: 64) == nil)  // a pipe's 2 KiB ring
        #expect(RingPool(capacity: 1024)?.blockCapacity == 1024)
    }

    @Test func blocksComeZeroedAndChunksGoBackWhenEmpty() throws {
        let pool = try #require(RingPool(capacity: 1024))
        // More than one chunk's worth (64 blocks), all distinct.
        var blocks = (0..<150).compactMap { _ in pool.allocate() }
        #expect(blocks.count == 150)
        #expect(Set(blocks.map { UInt(bitPattern: $0) }).count == 150)
        #expect(pool.bytesInUse == 150 * 32 * 1024)
        #expect(pool.mappedChunks == 3)
        for block in blocks {
            let bytes = UnsafeRawBufferPointer(start: block, count: 32 * 1024)
            #expect(bytes.allSatisfy { $0 == 0 })
        }
        // Write into some slots, give the blocks back, take them again: the written bytes are gone.
        for block in blocks.prefix(70) {
            UnsafeMutableRawPointer(block).initializeMemory(as: UInt8.self, repeating: 0xAB, count: 10 * 32)
            pool.release(block, written: 10)
        }
        #expect(pool.bytesInUse == 80 * 32 * 1024)
        #expect(pool.mappedChunks == 2)  // the first chunk's 64 blocks were all given back: unmapped
        let again = (0..<70).compactMap { _ in pool.allocate() }
        for block in again {
            #expect(UnsafeRawBufferPointer(start: block, count: 10 * 32).allSatisfy { $0 == 0 })
        }
        blocks = Array(blocks.dropFirst(70)) + again
        for block in blocks { pool.release(block, written: 0) }
        #expect(pool.bytesInUse == 0)
        #expect(pool.mappedChunks == 0)
    }

    /// A block that held more than a page gives its pages back while its chunk stays mapped.
    @Test func aFreedBlockIsNoLongerResident() throws {
        let pool = try #require(RingPool(capacity: 1024))
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = 32 * 1024
        let kept = try #require(pool.allocate())  // keeps the chunk mapped
        let freed = try #require(pool.allocate())
        UnsafeMutableRawPointer(freed).initializeMemory(as: UInt8.self, repeating: 0xCD, count: bytes)
        #expect(residentPages(freed, bytes: bytes, page: page) == bytes / page)
        pool.release(freed, written: 1024)
        #expect(pool.mappedChunks == 1)
        #expect(residentPages(freed, bytes: bytes, page: page) == 0)
        let again = try #require(pool.allocate())
        #expect(again == freed)
        #expect(UnsafeRawBufferPointer(start: again, count: bytes).allSatisfy { $0 == 0 })
        pool.release(again, written: 0)
        pool.release(kept, written: 0)
        #expect(pool.mappedChunks == 0)
    }

    private func residentPages(_ block: UnsafeMutablePointer<Slot>, bytes: Int, page: Int) -> Int {
        var vector = [UInt8](repeating: 0, count: bytes / page)
        let status = mincore(UnsafeMutableRawPointer(block), bytes, &vector)
        #expect(status == 0)
        return vector.filter { $0 & 1 == 1 }.count
    }

    /// Through the store: streams' rings come from their shards' pools and are all given back
    /// when the streams expire.
    @Test func expiredStreamsGiveTheirRingsBack() {
        let clock = ManualClock()
        let store = Store(clock: clock, expiryInterval: nil)
        for index in 0..<500 { _ = try? store.post(stream: "pooled-\(index)", text: "m") }
        #expect(store.stats().ringPoolBytes == 500 * 32 * 1024)
        clock.advance(seconds: 1025)
        store.expireDue()
        #expect(store.stats().streams == 0)
        #expect(store.stats().ringPoolBytes == 0)
    }
}
