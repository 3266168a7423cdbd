#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the store reads the time: Unix nanoseconds. Injected, so tests move time by hand.
public protocol WallClock: Sendable {
    /// The current time in nanoseconds since 1970-01-01 UTC.
    func now() -> Int64
}

/// The system's real-time clock (`CLOCK_REALTIME`).
public struct SystemClock: WallClock {
    public init() {}

    public func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) &* 1_000_000_000 &+ Int64(ts.tv_nsec)
    }
}
