#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The storage of one shard's stream rings: blocks of one ring's size, cut from chunks of 64 that
/// the pool maps itself and unmaps as soon as none of their blocks is in use.
///
/// Rings of 32 KiB from the allocator left its bookkeeping behind after a peak (about 200 bytes
/// of jemalloc metadata for each ring that was ever live at the same time, never given back). A
/// pool's chunk costs one dictionary entry while it is mapped and nothing once it is not, so memory
/// returns to idle when the streams are gone, and a freed block of more than one written page gives
/// its pages back at once. Untouched pages of a block are never resident: a ring of 1024 slots
/// that held three costs one page. A block is wiped (the slots it was written to)
/// before it is handed out again. Not thread-safe: it belongs to one shard, and is used on its queue.
final class RingPool {
    /// Slots in each block: the capacity of the rings the pool serves.
    let blockCapacity: Int
    private let blockBytes: Int
    private let page: Int
    private var dropAdvice = MADV_DONTNEED
    private let chunkBytes: Int
    /// Chunks are aligned to this power of two, so a block's chunk is its address, masked.
    private let alignment: Int
    /// One bit per block in a chunk's `free` word.
    private static let blocksPerChunk = UInt64.bitWidth
    private var chunks: [UnsafeMutableRawPointer: Chunk] = [:]
    /// Chunks with a free block, the most recently freed into last; an unmapped one is skipped.
    private var withRoom: [Chunk] = []
    /// Blocks handed out, times their size.
    private(set) var bytesInUse = 0
    /// Chunks mapped now: none once every ring is gone.
    var mappedChunks: Int { chunks.count }

    private final class Chunk {
        let base: UnsafeMutableRawPointer
        /// Bit n set: block n is free. 64 blocks, one word, no allocation.
        var free: UInt64 = ~0
        var inUse = 0
        var hasRoomListed = true
        var isMapped = true
        init(base: UnsafeMutableRawPointer) { self.base = base }
    }

    /// A pool for rings of `capacity` slots, or nil when they are small enough for the allocator's
    /// own size classes (below 16 KiB), where its bookkeeping is per slab, not per ring.
    init?(capacity: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let bytes = Ring.storageBytes(capacity: capacity)
        guard bytes >= 16 << 10 else { return nil }
        blockCapacity = capacity
        self.page = page
        blockBytes = Self.wholePages(bytes, page: page)
        chunkBytes = blockBytes * Self.blocksPerChunk
        alignment = 1 << (Int.bitWidth - (chunkBytes - 1).leadingZeroBitCount)
    }

    deinit {
        for chunk in chunks.values { munmap(chunk.base, chunkBytes) }
    }

    /// A block of `blockCapacity` slots, all zero bytes; nil when no memory could be mapped.
    func allocate() -> UnsafeMutablePointer<Slot>? {
        while let chunk = withRoom.last, !chunk.isMapped || chunk.free == 0 {
            chunk.hasRoomListed = false
            withRoom.removeLast()
        }
        guard let chunk = withRoom.last ?? mapChunk() else { return nil }
        let index = chunk.free.trailingZeroBitCount
        chunk.free &= ~(1 << UInt64(index))
        chunk.inUse += 1
        bytesInUse += blockBytes
        return (chunk.base + index * blockBytes).bindMemory(to: Slot.self, capacity: blockCapacity)
    }

    /// Takes back a block from `allocate`, whose first `written` slots were ever stored to: they are
    /// wiped, and the chunk is unmapped if no other block of it is in use. If it stays mapped and
    /// they span more than a page, their pages go back to the system, so a ring that stays does not
    /// keep its chunk's freed rings resident.
    func release(_ block: UnsafeMutablePointer<Slot>, written: Int) {
        let address = UnsafeMutableRawPointer(block)
        let base = UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: address) & ~UInt(alignment - 1))!
        guard let chunk = chunks[base] else { preconditionFailure("a block the pool did not hand out") }
        let writtenBytes = Ring.storageBytes(capacity: written)
        address.initializeMemory(as: UInt8.self, repeating: 0, count: writtenBytes)
        bytesInUse -= blockBytes
        chunk.inUse -= 1
        if chunk.inUse == 0 {
            munmap(chunk.base, chunkBytes)
            chunk.isMapped = false
            chunks[base] = nil
            if chunks.isEmpty { chunks = [:] }
            return
        }
        if writtenBytes > page { drop(address, bytes: Self.wholePages(writtenBytes, page: page)) }
        chunk.free |= 1 << UInt64((address - base) / blockBytes)
        if !chunk.hasRoomListed {
            chunk.hasRoomListed = true
            withRoom.append(chunk)
        }
    }

    /// `bytes` rounded up to whole pages.
    private static func wholePages(_ bytes: Int, page: Int) -> Int { (bytes + page - 1) / page * page }

    /// Gives the pages back to the system while their chunk stays mapped: they read as zeros again.
    /// Locked memory (`mlockall`) refuses MADV_DONTNEED and takes MADV_DONTNEED_LOCKED.
    private func drop(_ pages: UnsafeMutableRawPointer, bytes: Int) {
        if madvise(pages, bytes, dropAdvice) != 0, dropAdvice == MADV_DONTNEED {
            dropAdvice = 24  // MADV_DONTNEED_LOCKED, Linux 5.18
            _ = madvise(pages, bytes, dropAdvice)
        }
    }

    /// Maps an aligned chunk: twice its size, trimmed on both sides.
    private func mapChunk() -> Chunk? {
        let span = chunkBytes + alignment
        guard let mapped = mmap(nil, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED
        else { return nil }
        let start = UInt(bitPattern: mapped)
        let aligned = (start + UInt(alignment - 1)) & ~UInt(alignment - 1)
        let base = UnsafeMutableRawPointer(bitPattern: aligned)!
        if aligned > start { munmap(mapped, Int(aligned - start)) }
        let tail = Int(start) + span - (Int(aligned) + chunkBytes)
        if tail > 0 { munmap(base + chunkBytes, tail) }
        let chunk = Chunk(base: base)
        chunks[base] = chunk
        withRoom.append(chunk)
        return chunk
    }
}
