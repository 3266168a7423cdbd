import CProcessControl
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// No core dump of a process that holds streams, secrets or keys: the core limit 0, soft and hard
/// (nothing in the process can raise it again), and not dumpable, which also closes
/// `/proc/PID/mem`, `maps` and `environ` to every user but root and forbids their ptrace. Any user
/// may do both. Every subcommand calls it first.
func forbidCoreDumps() {
    var none = rlimit(rlim_cur: 0, rlim_max: 0)
    _ = setrlimit(RLIMIT_CORE_VALUE, &none)
    _ = malten_forbid_dumping()
}

/// Lifts the soft open-files limit to the hard one (any user may): every connection and subscriber
/// is a socket. Warns once when the limit stays low, which only the service's settings can change.
func raiseOpenFilesLimit(logger: Logger) {
    var limit = rlimit()
    guard getrlimit(RLIMIT_NOFILE_VALUE, &limit) == 0 else { return }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(RLIMIT_NOFILE_VALUE, &raised) == 0 { limit = raised }
    }
    if limit.rlim_cur < 4096 {
        logger.warning(
            "open-files limit \(limit.rlim_cur): at most about that many connections at once; raise the hard limit (ulimit -Hn, systemd LimitNOFILE=)")
    }
}

/// `/proc/self/status`, the kernel's view of this process.
enum ProcessStatus {
    /// The value of one field (`VmSize`, `CapEff`, `Cpus_allowed`), without its name and leading
    /// blanks; nil where there is no such file or field.
    static func field(_ name: String) -> String? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 4096)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 && $0 != 10 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix(name + ":") else { continue }
            return String(text.dropFirst(name.count + 1).drop { $0 == " " || $0 == "\t" })
        }
        return nil
    }
}

#if canImport(Glibc)
private let RLIMIT_NOFILE_VALUE = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
private let RLIMIT_CORE_VALUE = __rlimit_resource_t(RLIMIT_CORE.rawValue)
#else
private let RLIMIT_NOFILE_VALUE = RLIMIT_NOFILE
private let RLIMIT_CORE_VALUE = RLIMIT_CORE
#endif

/// Gives back the pages of code and constants that only start-up touched (argument parsing, the
/// TLS and cluster set-up, the loader's relocation pass): the process stops mapping every read-only
/// page of its executable and libraries, and what serving runs is mapped again on first use, from
/// the page cache. Only whole pages of clean, file-backed segments are dropped, never one the
/// loader wrote (text relocations, a page shared with a writable segment), so nothing is lost.
/// About a third of the idle RSS (see README, Memory).
func releaseStartupPages() {
    _ = malten_release_read_only_pages()
}
