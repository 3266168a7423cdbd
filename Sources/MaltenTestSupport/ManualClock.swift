import MaltenCore
import Synchronization

/// A clock that moves only when a test says so.
public final class ManualClock: WallClock {
    private let nanos: Mutex<Int64>

    /// Starts at 2022-05-08 (Malten's first message), on a whole second.
    public init(_ start: Int64 = 1_652_035_113_000_000_000) {
        nanos = Mutex(start)
    }

    public func now() -> Int64 { nanos.withLock { $0 } }

    public func advance(seconds: Double) {
        advance(nanos: Int64(seconds * 1_000_000_000))
    }

    public func advance(nanos delta: Int64) {
        nanos.withLock { $0 += delta }
    }
}
