#ifndef C_JEMALLOC_CONFIGURATION_H
#define C_JEMALLOC_CONFIGURATION_H
#include <stdbool.h>

// configuration.c defines `malloc_conf`, which jemalloc reads at start-up; wiping_free.c defines
// free and realloc in front of jemalloc's; locked_purge.c gives pages back once memory is locked.

/// Whether free and realloc overwrite a block with zeros before giving it back (on at start).
void malten_wipe_freed_memory(bool on);

/// Whether freed blocks are overwritten.
bool malten_wipes_freed_memory(void);

/// After mlockall: every arena's freed pages given back by MADV_DONTNEED_LOCKED, which a locked
/// mapping accepts (plain MADV_DONTNEED is refused there). Returns 0, or -1 if an arena refused.
int malten_purge_locked_pages(void);

#endif
