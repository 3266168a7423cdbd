import Foundation
import MaltenWeb
import Testing

/// The page's scripts, as embedded in the binary, parse (`node --check`); and what is embedded is
/// what `Sources/MaltenWeb/Resources/` holds.
@Suite struct WebScriptCheckTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/MaltenWeb/Resources").standardized

    @Test(arguments: ["/e2e.js", "/app.js"])
    func scriptParses(_ path: String) throws {
        let asset = try #require(WebAsset.all[path])
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("malten-check-\(UUID().uuidString).js")
        try Data(asset.bytes).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let node = Process()
        node.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        node.arguments = ["node", "--check", file.path]
        let errors = Pipe()
        node.standardError = errors
        try node.run()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        node.waitUntilExit()
        #expect(node.terminationStatus == 0, "\(message)")
    }

    @Test func theEmbeddedFilesAreTheResources() throws {
        for (path, asset) in WebAsset.all {
            let file = Self.resources.appendingPathComponent(path == "/" ? "index.html" : String(path.dropFirst()))
            #expect(try Data(contentsOf: file) == Data(asset.bytes), "\(path)")
        }
    }
}
