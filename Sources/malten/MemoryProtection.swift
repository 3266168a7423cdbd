import ArgumentParser
import CProcessControl
import MaltenJemalloc

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `--wipe-memory` and `--lock-memory`, shared by `serve` and `stdio`: freed memory overwritten,
/// and the process's pages kept out of swap (see README, Privacy).
struct MemoryOptions: ParsableArguments {
    @Option(help: "Overwrite freed memory with zeros: on or off (MALTEN_WIPE_MEMORY). Default on.")
    var wipeMemory: String?

    @Option(help: """
        Keep every page out of swap: auto locks when the process may, on refuses to start when it \
        cannot, off never locks (MALTEN_LOCK_MEMORY). Default auto.
        """)
    var lockMemory: String?

    /// Applies both settings. Returns the state for the start-up line and, when `auto` could not
    /// lock, the warning to write; `on` that cannot lock throws the reason.
    func apply(_ environment: Environment) throws -> (state: String, warning: String?) {
        let wipe = try choice(wipeMemory ?? environment["MALTEN_WIPE_MEMORY"] ?? "on", of: ["on", "off"], "wipe memory")
        Jemalloc.wipesFreedMemory = wipe == "on"
        let lock = try choice(lockMemory ?? environment["MALTEN_LOCK_MEMORY"] ?? "auto", of: ["auto", "on", "off"], "lock memory")
        let wiping = "freed memory \(wipe == "on" ? "wiped" : "not wiped")"
        if lock == "off" { return ("\(wiping); memory not locked (off)", nil) }
        if let refusal = MemoryLock.lockAll() {
            if lock == "on" { throw ValidationError("cannot lock memory: \(refusal)") }
            return ("\(wiping); memory not locked", "memory not locked, pages may reach swap: \(refusal)")
        }
        return ("\(wiping); memory locked (no swap)", nil)
    }
}

/// A setting that takes one of a few words (`on`, `off`, …): `value`, or an error naming `name`.
func choice(_ value: String, of choices: [String], _ name: String) throws -> String {
    guard choices.contains(value) else {
        throw ValidationError("\(name) must be \(choices.joined(separator: ", ")), not '\(value)'")
    }
    return value
}

/// Locking the whole process in memory, when it is safe to. The kernel counts the whole size of
/// every locked mapping against `RLIMIT_MEMLOCK`, not the pages in use: with `MCL_FUTURE` a new
/// mapping (a thread's stack, a jemalloc chunk) that would pass the limit fails, and with it an
/// allocation. The process's virtual size grows with threads, connections and the allocator's
/// reserves, so no finite limit can be shown to suffice: Malten locks only when the limit is
/// unlimited or the process holds `CAP_IPC_LOCK` (to which no limit applies).
enum MemoryLock {
    /// Locks every page, now and later, as it is touched; or says why it did not. (`RLIM_INFINITY`
    /// is the largest `rlim_t`.)
    static func lockAll() -> String? {
        var limit = rlimit()
        _ = getrlimit(RLIMIT_MEMLOCK_VALUE, &limit)
        guard limit.rlim_cur == rlim_t.max || holdsIPCLock() else {
            let size = ProcessStatus.field("VmSize") ?? "unknown"
            return """
                the memory-lock limit is \(limit.rlim_cur) bytes, and every mapping counts whole (VmSize \(size) now), \
                so a later allocation could fail; set LimitMEMLOCK=infinity (systemd) or ulimit -l unlimited, \
                or grant CAP_IPC_LOCK
                """
        }
        let error = malten_lock_memory()
        guard error == 0 else { return "mlockall failed: \(String(cString: strerror(error)))" }
        // Locked pages refuse jemalloc's usual purge: without this a peak would stay resident.
        _ = Jemalloc.purgeLockedPages()
        return nil
    }

    /// Whether the effective capabilities hold CAP_IPC_LOCK (bit 14).
    private static func holdsIPCLock() -> Bool {
        guard let mask = ProcessStatus.field("CapEff").flatMap({ UInt64($0, radix: 16) }) else { return false }
        return mask & (1 << 14) != 0
    }
}

#if canImport(Glibc)
private let RLIMIT_MEMLOCK_VALUE = __rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue)
#else
private let RLIMIT_MEMLOCK_VALUE = RLIMIT_MEMLOCK
#endif
