#ifndef C_PROCESS_CONTROL_H
#define C_PROCESS_CONTROL_H

/// prctl(2) is variadic, which Swift cannot call: the one use Malten has of it, as a plain function.
/// Makes the process not dumpable (no core file; /proc/PID/mem, maps and environ become root's; no
/// ptrace by other users). Returns prctl's result.
int malten_forbid_dumping(void);

/// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT): every page of the process, now and later,
/// kept out of swap once it is touched (none is made resident by locking). Returns 0 or the errno.
int malten_lock_memory(void);

/// Drops this process's mappings of the read-only pages of its executable and shared libraries
/// (code, constants, Swift's metadata): they stay in the page cache, and the pages that run again
/// are mapped again on their first touch. Called once start-up is over, it gives back what only
/// start-up touched. Returns the bytes of address space released.
long malten_release_read_only_pages(void);

#endif
