#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How many bytes of streams the store may hold: a fixed size, or a share of the memory this
/// process may use (physical memory or the cgroup limit, whichever is smaller).
///
///     try MemoryBudget("64MiB").bytes   // 67_108_864
///     try MemoryBudget("25%").bytes     // a quarter of physical memory or the cgroup limit
public enum MemoryBudget: Sendable, Equatable {
    case bytes(Int)
    case share(percent: Double)

    /// The default: a quarter of the memory available.
    public static let `default` = MemoryBudget.share(percent: 25)

    /// Why a budget could not be read.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        public var description: String
    }

    /// Parses `500000`, `64KiB`, `64MiB`, `1GiB` (also `KB`/`MB`/`GB`, `K`/`M`/`G`, as powers of 1024)
    /// or `25%`.
    public init(_ text: String) throws(ParseError) {
        let trimmed = text.filter { !$0.isWhitespace }
        if trimmed.hasSuffix("%") {
            guard let percent = Double(trimmed.dropLast()), percent > 0, percent <= 100 else {
                throw ParseError(description: "memory budget: a share must be in (0, 100]%")
            }
            self = .share(percent: percent)
            return
        }
        let digits = trimmed.prefix { $0.isNumber }
        let unit = trimmed.dropFirst(digits.count).lowercased()
        let multiplier: Int
        switch unit {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        default: throw ParseError(description: "memory budget: unknown unit '\(unit)' (use bytes, KiB, MiB, GiB or %)")
        }
        guard let value = Int(digits), value > 0, value <= Int.max / multiplier else {
            throw ParseError(description: "memory budget: expected a positive size such as 64MiB or a share such as 25%")
        }
        self = .bytes(value * multiplier)
    }

    /// The budget in bytes on this machine.
    public var bytes: Int {
        switch self {
        case .bytes(let bytes): bytes
        case .share(let percent): Int(Double(Self.availableMemory()) * percent / 100)
        }
    }

    /// Physical memory, or the cgroup's memory limit when that is smaller.
    public static func availableMemory() -> Int {
        let physical = Int(sysconf(Int32(_SC_PHYS_PAGES))) * Int(sysconf(Int32(_SC_PAGESIZE)))
        let limits = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"].compactMap(readInteger)
        return ([physical] + limits).filter { $0 > 0 }.min() ?? physical
    }

    /// The first line of a small file as an integer (nil for "max", a missing file, or anything else).
    private static func readInteger(_ path: String) -> Int? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 64)
        guard fgets(&line, Int32(line.count), file) != nil else { return nil }
        let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return Int(text)
    }
}
