#ifndef C_PROCESS_CONTROL_H
#define C_PROCESS_CONTROL_H

/// prctl(2) is variadic, which Swift cannot call: the one use Malten has of it, as a plain function.
/// Makes the process not dumpable (no core file; /proc/PID/mem, maps and environ become root's; no
/// ptrace by other users). Returns prctl's result.
int malten_forbid_dumping(void);

#endif
