import Foundation
import MaltenTestClients
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Nothing reaches a disk: under `strace -f`, a run of posts, reads, subscriptions and private
/// streams opens no file for writing, changes nothing in the file system, and writes the marker
/// only to sockets (and, for `malten stdio`, to its standard output). The trace goes to /dev/shm,
/// which is memory too.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace"), "no strace (make test installs it)"))
struct NoDiskWritesTests {
    static func trace(into path: String) -> [String] {
        ["/usr/bin/strace", "-f", "-qq", "-yy", "-s", "4096", "-e", "signal=none", "-o", path]
    }

    static func tracePath() -> String {
        let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        return folder + "/malten-strace-\(UUID().uuidString)"
    }

    @Test func servingWritesTheMarkerOnlyToSockets() async throws {
        let path = Self.tracePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let served = try await ServedProcess(wrapper: Self.trace(into: path))
        let (name, hidden, text) = (NothingLeftBehindTests.marker("name"), NothingLeftBehindTests.marker("hidden"), NothingLeftBehindTests.marker("text"))
        let api = HTTPDriver(port: served.port, stop: {})
        #expect(try await api.call(Call("create", [("stream", name)])).status == 200)
        #expect(try await api.call(Call("create", [("stream", hidden), ("private", "true")])).status == 200)
        let events = try await EventStreamClient.connect(port: served.port, path: "/events?stream=\(name)")
        let socket = try #require(try await WebSocketClient.connect(port: served.port, path: "/events?stream=\(hidden)"))
        for stream in [name, hidden] {
            #expect(try await api.call(Call("post", [("stream", stream), ("text", text)])).status == 200)
            #expect(try await api.call(Call("get", [("stream", stream)])).array.first?["Text"] as? String == text)
        }
        try await socket.send(text + "-frame")
        while try await events.next().data["Text"] as? String != text {}
        while try await socket.next()["Text"] as? String != text + "-frame" {}
        #expect(try await api.call(Call("streams")).object.keys.sorted() == [name])  // listed, the private one not
        events.close()
        socket.close()
        // strace only detaches on SIGTERM: the server, its child, is the one to stop.
        try await stopTracee(of: served.process)
        served.stop()
        let log = try String(contentsOfFile: path, encoding: .utf8)
        #expect(log.contains(text), "the trace shows the marker (it can see what it checks)")
        #expect(StraceLog(log).violations(markers: [name, hidden, text], outputs: Self.isSocket).isEmpty)
    }

    @Test func stdioWritesTheMarkerOnlyToItsOutput() async throws {
        let path = Self.tracePath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stdio = try StdioDriver.start(wrapper: Self.trace(into: path))
        let (name, text) = (NothingLeftBehindTests.marker("name"), NothingLeftBehindTests.marker("text"))
        #expect(try await stdio.call(Call("create", [("stream", name), ("private", true)])).status == 200)
        let feed = try await stdio.subscribe(name, since: nil, webSocket: false)
        #expect(try await stdio.call(Call("post", [("stream", name), ("text", text)])).status == 200)
        #expect(try await stdio.call(Call("get", [("stream", name)])).array.first?["Text"] as? String == text)
        while try await feed.next()["Text"] as? String != text {}
        try await stdio.close()
        let log = try String(contentsOfFile: path, encoding: .utf8)
        #expect(log.contains(text), "the trace shows the marker (it can see what it checks)")
        let violations = StraceLog(log).violations(markers: [name, text]) { fd, target in fd == 1 && target.hasPrefix("pipe:") }
        #expect(violations.isEmpty)
    }

    /// The check itself: it passes a trace of reads and socket writes and catches a file opened for
    /// writing, a rename, a marker written to a file, and a marker in a call split by another thread.
    @Test func theTraceCheckCatchesWhatWouldReachADisk() {
        let marker = NothingLeftBehindTests.marker("text")
        let clean = """
            101  openat(AT_FDCWD</>, "/proc/self/status", O_RDONLY|O_CLOEXEC) = 5</proc/101/status>
            101  read(7<TCP:[127.0.0.1:9090->127.0.0.1:5000]>, "POST /messages HTTP/1.1\\r\\n\\r\\ntext=\(marker)", 4096) = 120
            102  writev(7<TCP:[127.0.0.1:9090->127.0.0.1:5000]>, [{iov_base="{\\"Text\\":\\"\(marker)\\"}", iov_len=80}], 1) = 80
            """
        #expect(StraceLog(clean).violations(markers: [marker], outputs: Self.isSocket).isEmpty)
        let bad = [
            "101  openat(AT_FDCWD</>, \"/var/tmp/x\", O_WRONLY|O_CREAT|O_TRUNC, 0600) = 8</var/tmp/x>",
            "101  rename(\"/var/tmp/x\", \"/var/tmp/y\") = 0",
            "101  write(8</var/tmp/x>, \"\(marker)\", 70) = 70",
            "102  pwrite64(9</dev/sda1>, <unfinished ...>\n101  read(3<pipe:[1]>, \"\", 1) = 0\n102  <... pwrite64 resumed>\"\(marker)\", 70, 0) = 70",
        ]
        for line in bad {
            #expect(StraceLog(clean + "\n" + line).violations(markers: [marker], outputs: Self.isSocket).count == 1, "\(line)")
        }
    }

    static func isSocket(_ fd: Int, _ target: String) -> Bool {
        ["TCP", "UDP", "UNIX", "socket:"].contains { target.hasPrefix($0) }
    }

    /// SIGTERM to the traced server (strace's child) and a wait for strace to end with it.
    private func stopTracee(of tracer: Process) async throws {
        let pid = tracer.processIdentifier
        let children = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
        for child in children.split(separator: " ").compactMap({ Int32($0) }) { kill(child, SIGTERM) }
        for _ in 0..<300 where tracer.isRunning { try await Task.sleep(for: .milliseconds(100)) }
    }
}

/// An `strace -f -yy` log, one system call a line (calls that another thread interrupted are
/// joined again), and what in it breaks "nothing reaches a disk".
struct StraceLog {
    struct Call {
        var name: String
        var text: String
        /// The first argument's descriptor and what `-yy` says it is (`TCP:[…]`, `pipe:[…]`, a path).
        var descriptor: (fd: Int, target: String)?
    }

    let calls: [Call]

    init(_ log: String) {
        var unfinished: [Substring: String] = [:]
        var calls: [Call] = []
        for line in log.split(separator: "\n") {
            guard let space = line.firstIndex(of: " ") else { continue }
            let pid = line[..<space]
            var text = String(line[space...].drop { $0 == " " })
            if text.hasSuffix("<unfinished ...>") {
                unfinished[pid] = String(text.dropLast("<unfinished ...>".count))
                continue
            }
            if text.hasPrefix("<... "), let start = unfinished.removeValue(forKey: pid), let resumed = text.range(of: " resumed>") {
                text = start + text[resumed.upperBound...]
            }
            guard let open = text.firstIndex(of: "(") else { continue }
            let name = String(text[..<open])
            let arguments = text[text.index(after: open)...]
            var descriptor: (Int, String)?
            if let angle = arguments.firstIndex(of: "<"), let fd = Int(arguments[..<angle]), let close = arguments.firstIndex(of: ">") {
                descriptor = (fd, String(arguments[arguments.index(after: angle)..<close]))
            }
            calls.append(Call(name: name, text: text, descriptor: descriptor))
        }
        self.calls = calls
    }

    static let outputs: Set = ["write", "writev", "pwrite64", "pwritev", "pwritev2", "send", "sendto", "sendmsg", "sendmmsg", "sendfile", "splice", "vmsplice", "copy_file_range"]
    static let inputs: Set = ["read", "readv", "pread64", "preadv", "preadv2", "recv", "recvfrom", "recvmsg", "recvmmsg"]
    static let opens: Set = ["open", "openat", "openat2", "creat"]
    static let fileSystemChanges: Set = [
        "unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "link", "linkat", "symlink",
        "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown", "lchown", "fchownat", "truncate", "ftruncate", "mknod",
        "mknodat", "utime", "utimes", "utimensat", "futimesat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
        "lremovexattr", "fremovexattr", "fallocate", "mount", "umount2", "name_to_handle_at",
    ]

    /// Calls that open a file for writing, change the file system, or carry a marker anywhere but
    /// in a read or in a write to a descriptor that `outputs` allows.
    func violations(markers: [String], outputs allowed: (Int, String) -> Bool) -> [String] {
        calls.filter { call in
            if Self.fileSystemChanges.contains(call.name) { return true }
            if call.name == "creat" { return true }
            if Self.opens.contains(call.name), ["O_WRONLY", "O_RDWR", "O_CREAT", "O_TRUNC", "O_APPEND"].contains(where: call.text.contains) {
                return true
            }
            guard markers.contains(where: call.text.contains), !Self.inputs.contains(call.name) else { return false }
            guard Self.outputs.contains(call.name), let (fd, target) = call.descriptor else { return true }
            return !allowed(fd, target)
        }.map { String($0.text.prefix(300)) }
    }
}
