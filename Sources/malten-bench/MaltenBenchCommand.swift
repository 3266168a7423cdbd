import ArgumentParser
import MaltenBench
import MaltenCore

/// `malten-bench`: throughput and memory of the core and the HTTP frontend, checked against a
/// device profile. Exits non-zero when a check fails.
@main
struct MaltenBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "malten-bench",
        abstract: "Measure Malten's throughput and memory and check them against a device profile.")

    @Option(help: "pi-zero (512 MB), pi4 (2 GB) or server.")
    var profile = "pi-zero"

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Option(help: "Shrink every count by this factor (1 is the real run).")
    var scale = 1.0

    @Option(help: "Override the profile's memory budget (64MiB, 500000); for quick runs.")
    var budget: String?

    func run() async throws {
        guard var chosen = Profile.named(profile) else {
            throw ValidationError("unknown profile '\(profile)': \(Profile.all.map(\.name).joined(separator: ", "))")
        }
        if let budget {
            do {
                chosen.budget = try MemoryBudget(budget).bytes
            } catch {
                throw ValidationError(error.description)
            }
        }
        let quiet = json
        let report = try await Bench.run(profile: chosen, scale: scale) { step in
            if !quiet { print("… \(step)") }
        }
        print(json ? report.json : "\n" + report.table)
        if !report.passed { throw ExitCode(1) }
    }
}
