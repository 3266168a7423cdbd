import CJemalloc
import CJemallocConfiguration

/// jemalloc, linked in place of glibc's malloc, and what it reports through `mallctl`. It starts
/// with the options of `CJemallocConfiguration` (two arenas; freed pages back to the system within
/// a second, by a background thread).
///
///     Jemalloc.statistics().resident   // bytes in physically resident data pages
public enum Jemalloc {
    /// jemalloc's figures, in bytes, after an epoch refresh.
    public struct Statistics: Sendable, Equatable {
        /// Bytes the application has allocated and not freed.
        public var allocated: Int
        /// Bytes in active pages (allocated, rounded up to pages).
        public var active: Int
        /// Bytes in resident data pages, jemalloc's metadata included.
        public var resident: Int
        /// Bytes in chunks mapped from the system.
        public var mapped: Int
        /// Bytes of jemalloc's own bookkeeping.
        public var metadata: Int
    }

    /// Whether `free` and `realloc` overwrite a block with zeros before jemalloc may reuse it (on
    /// at start; CJemallocConfiguration's wiping_free.c).
    public static var wipesFreedMemory: Bool {
        get { malten_wipes_freed_memory() }
        set { malten_wipe_freed_memory(newValue) }
    }

    /// Makes jemalloc give freed pages back in a way locked memory accepts (MADV_DONTNEED_LOCKED,
    /// Linux 5.18): call it once the process has locked its memory. False if an arena refused.
    public static func purgeLockedPages() -> Bool {
        malten_purge_locked_pages() == 0
    }

    /// The version string, e.g. `5.3.0-0-g54eaed1d…`.
    public static var version: String {
        var pointer: UnsafePointer<CChar>?
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &pointer, &size, nil, 0) == 0, let pointer else { return "unknown" }
        return String(cString: pointer)
    }

    /// Hands the calling thread's cached freed blocks back to their arenas, so that the pages they
    /// sit on can be purged (a Store's `afterExpiry`).
    @Sendable public static func flushThreadCache() {
        _ = mallctl("thread.tcache.flush", nil, nil, nil, 0)
    }

    /// Returns every arena's unused dirty pages to the system now (4096 is `MALLCTL_ARENAS_ALL`).
    public static func purge() {
        _ = mallctl("arena.4096.purge", nil, nil, nil, 0)
    }

    /// Fresh figures: the calling thread's cache is flushed first (its objects count as allocated
    /// until then), and the statistics are cached until the epoch is advanced.
    public static func statistics() -> Statistics {
        flushThreadCache()
        var epoch: UInt64 = 1
        _ = mallctl("epoch", nil, nil, &epoch, MemoryLayout<UInt64>.size)
        return Statistics(
            allocated: read("stats.allocated"), active: read("stats.active"),
            resident: read("stats.resident"), mapped: read("stats.mapped"), metadata: read("stats.metadata"))
    }

    private static func read(_ name: String) -> Int {
        var value = 0
        var size = MemoryLayout<Int>.size
        return mallctl(name, &value, &size, nil, 0) == 0 ? value : -1
    }
}
