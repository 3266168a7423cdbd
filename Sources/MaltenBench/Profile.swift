/// A device the benchmark checks against: the memory budget it would run with and the load it sees.
public struct Profile: Sendable {
    public var name: String
    /// The `--memory-budget` such a device runs with: a quarter of its memory.
    public var budget: Int
    /// Stream counts for the throughput scenarios.
    public var streamCounts: [Int]
    /// Appends and reads per throughput scenario (before `scale`).
    public var operations: Int

    public init(name: String, budget: Int, streamCounts: [Int], operations: Int) {
        self.name = name
        self.budget = budget
        self.streamCounts = streamCounts
        self.operations = operations
    }

    /// A Raspberry Pi Zero class device: 512 MB.
    public static let piZero = Profile(name: "pi-zero", budget: 128 << 20, streamCounts: [64, 10_000], operations: 2_000_000)
    /// A Raspberry Pi 4 with 2 GB.
    public static let pi4 = Profile(name: "pi4", budget: 512 << 20, streamCounts: [64, 10_000], operations: 2_000_000)
    /// A server: a 2 GiB budget, 100 000 streams.
    public static let server = Profile(name: "server", budget: 2 << 30, streamCounts: [64, 100_000], operations: 4_000_000)

    public static let all = [piZero, pi4, server]

    public static func named(_ name: String) -> Profile? {
        all.first { $0.name == name }
    }
}
