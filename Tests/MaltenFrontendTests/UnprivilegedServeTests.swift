import Foundation
import MaltenTestClients
import Testing

/// `malten serve` needs no privilege: run as an unprivileged user it serves (the behaviour suite
/// runs through it as the `served` frontend), and what it cannot have it does without, saying so once.
@Suite struct UnprivilegedServeTests {
    @Test func startsWithoutAWarning() async throws {
        let served = try ServedProcess()
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("post", [("stream", "nobody"), ("text", "hi")])).status == 200)
        #expect(!served.logText.contains("warning"), "\(served.logText)")
    }

    /// A hard open-files limit that only the service's settings could lift: one warning, then it
    /// serves within it.
    @Test func aLowOpenFilesLimitWarnsOnceAndStillServes() async throws {
        let served = try ServedProcess(wrapper: ["/usr/bin/prlimit", "--nofile=256:256"])
        defer { served.stop() }
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("post", [("stream", "low"), ("text", "hi")])).status == 200)
        #expect(try await api.call(Call("get", [("stream", "low")])).array.count == 1)
        let warnings = served.logText.split(separator: "\n").filter { $0.contains("warning") }
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("open-files limit 256") == true, "\(warnings)")
    }
}
