import Foundation
import MaltenTestClients
import Testing

/// `make install` (PREFIX, DESTDIR) puts the release binary and the hardened systemd unit in place,
/// and systemd's own checker finds nothing wrong with the unit. Needs the release binary that
/// `make test` builds before it runs the tests.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["MALTEN_BINARY"] != nil, "make test builds the release binary first"))
struct ServiceUnitTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func makeInstallPutsTheBinaryAndAHardenedUnitInPlace() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("malten-install-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let install = try await offThreadRun(["make", "-s", "-C", Self.repository.path, "install", "DESTDIR=\(root.path)", "PREFIX=/opt/malten"])
        #expect(install.status == 0, "\(install.output)")
        let binary = root.appendingPathComponent("opt/malten/bin/malten")
        #expect(FileManager.default.isExecutableFile(atPath: binary.path))
        #expect(FileManager.default.contentsEqual(atPath: binary.path, andPath: ServedProcess.builtBinary.path))
        let unitFile = root.appendingPathComponent("opt/malten/lib/systemd/system/malten.service")
        let unit = try String(contentsOf: unitFile, encoding: .utf8)
        let lines = Set(unit.split(separator: "\n").map(String.init))
        #expect(lines.contains("ExecStart=/opt/malten/bin/malten serve"))
        for directive in [
            "DynamicUser=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
            "MemoryDenyWriteExecute=yes", "LimitCORE=0", "LimitMEMLOCK=infinity", "Environment=MALTEN_LOCK_MEMORY=on",
        ] {
            #expect(lines.contains(directive), "\(directive)")
        }

        // systemd-analyze checks that ExecStart runs: the unit as installed, pointed at the binary under DESTDIR.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") else { return }
        let checked = root.appendingPathComponent("malten.service")
        try unit.replacingOccurrences(of: "ExecStart=/opt/malten/bin/malten", with: "ExecStart=\(binary.path)")
            .write(to: checked, atomically: true, encoding: .utf8)
        let verify = try await offThreadRun(["/usr/bin/systemd-analyze", "verify", checked.path])
        #expect(verify.status == 0 && verify.output.isEmpty, "\(verify.output)")
        let security = try await offThreadRun(["/usr/bin/systemd-analyze", "security", "--offline=true", checked.path])
        let overall = security.output.split(separator: "\n").first { $0.contains("Overall exposure level") } ?? ""
        let level = Double(overall.split(separator: ":").last?.split(separator: " ").first ?? "")
        #expect(level.map { $0 <= 2.0 } == true, "systemd-analyze security: \(overall)")
    }
}

/// Runs `command` to its end on a Dispatch thread: its status and its stdout and stderr together.
func offThreadRun(_ command: [String]) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result {
                let process = Process()
                let output = Pipe()
                process.executableURL = URL(fileURLWithPath: command[0].hasPrefix("/") ? command[0] : "/usr/bin/env")
                process.arguments = command[0].hasPrefix("/") ? Array(command.dropFirst()) : command
                process.standardOutput = output
                process.standardError = output
                try process.run()
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return (process.terminationStatus, String(decoding: data, as: UTF8.self))
            })
        }
    }
}
