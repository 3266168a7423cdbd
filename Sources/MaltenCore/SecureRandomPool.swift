#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Random words from the system's secure generator, fetched 1 KiB at a time: one call per 128
/// words (64 message ids) instead of one `getrandom` per word. Each shard owns one and uses it on its queue.
struct SecureRandomPool: RandomNumberGenerator {
    private static var words: Int { 128 }
    private var buffer: [UInt64]
    private var position = SecureRandomPool.words

    init() {
        buffer = Array(repeating: 0, count: Self.words)
    }

    mutating func next() -> UInt64 {
        if position == Self.words { refill() }
        defer { position += 1 }
        return buffer[position]
    }

    private mutating func refill() {
        // glibc ≥ 2.36 and Darwin: arc4random_buf reads the kernel's generator (getrandom) and
        // never fails.
        buffer.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, $0.count) }
        position = 0
    }
}
