#if canImport(Glibc)
import Glibc
#endif

/// A process's resident memory as the kernel counts it (`/proc/PID/status`); this one's by default.
enum ProcessMemory {
    /// Resident set size now, in bytes.
    static var resident: Int { field("VmRSS:") }

    /// Another process's resident set size now, in bytes; -1 when there is no such process.
    static func resident(of pid: Int32) -> Int { field("VmRSS:", process: String(pid)) }

    /// The peak resident set size since start or since `resetPeak()`, in bytes.
    static var peak: Int { field("VmHWM:") }

    /// Starts a new peak measurement (writes `5` to `/proc/self/clear_refs`).
    static func resetPeak() {
        guard let file = fopen("/proc/self/clear_refs", "w") else { return }
        fputs("5", file)
        fclose(file)
    }

    private static func field(_ name: String, process: String = "self") -> Int {
        guard let file = fopen("/proc/\(process)/status", "r") else { return -1 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(name) else { continue }
            let kilobytes = text.dropFirst(name.count).filter { $0.isNumber }
            return (Int(kilobytes) ?? -1) * 1024
        }
        return -1
    }
}

/// Monotonic time for measuring.
enum Stopwatch {
    static func seconds<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let start = now()
        let result = try body()
        return (result, Double(now() - start) / 1e9)
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
