import Foundation

/// Another process's memory as the kernel shows it through `/proc/PID/mem`: every readable mapping,
/// searched for byte strings. Malten's processes are not dumpable, so only root may read theirs.
public struct ProcessMemory {
    public let pid: Int32

    /// Whether this process may read a Malten process's memory (it runs as root).
    public static var readable: Bool { getuid() == 0 }

    public init(pid: Int32) { self.pid = pid }

    /// Which of `needles` occur anywhere in the process's readable memory (read on a Dispatch
    /// thread: a scan takes a while).
    public func contains(_ needles: [String]) async throws -> [String: Bool] {
        let pid = pid
        return try await offThread { try ProcessMemory.scan(pid: pid, needles) }
    }

    private static func scan(pid: Int32, _ needles: [String]) throws -> [String: Bool] {
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
        let memory = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/proc/\(pid)/mem"))
        defer { try? memory.close() }
        let patterns = needles.map { Data($0.utf8) }
        let overlap = (patterns.map(\.count).max() ?? 1) - 1
        var found = Dictionary(uniqueKeysWithValues: needles.map { ($0, false) })
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 2, fields[1].hasPrefix("r"), !line.hasSuffix("[vvar]"), !line.hasSuffix("[vsyscall]") else { continue }
            let bounds = fields[0].split(separator: "-").compactMap { UInt64($0, radix: 16) }
            guard bounds.count == 2 else { continue }
            var offset = bounds[0]
            var carried = Data()
            while offset < bounds[1] {
                let count = Int(min(1 << 20, bounds[1] - offset))
                guard (try? memory.seek(toOffset: offset)) != nil, let chunk = try? memory.read(upToCount: count), !chunk.isEmpty
                else { break }
                let window = carried + chunk
                for (needle, pattern) in zip(needles, patterns) where !found[needle]! {
                    if window.range(of: pattern) != nil { found[needle] = true }
                }
                carried = window.suffix(overlap)
                offset += UInt64(chunk.count)
            }
        }
        return found
    }
}
