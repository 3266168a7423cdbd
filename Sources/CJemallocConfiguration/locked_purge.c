// jemalloc gives freed pages back with madvise(MADV_DONTNEED), which Linux refuses on locked
// memory (EINVAL): once `malten serve` has locked itself (mlockall), a peak would stay resident for
// good. These extent hooks are jemalloc's own with the purge done by MADV_DONTNEED_LOCKED (Linux
// 5.18), which drops locked pages as well.
#include "CJemallocConfiguration.h"

#ifdef __linux__
#include <jemalloc/jemalloc.h>
#include <stdio.h>
#include <sys/mman.h>

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

static extent_hooks_t locked_hooks;

static bool purge_locked(extent_hooks_t *hooks, void *address, size_t size, size_t offset, size_t length,
                         unsigned arena) {
    (void)hooks, (void)size, (void)arena;
    return madvise((char *)address + offset, length, MADV_DONTNEED_LOCKED) != 0;  // false: purged
}

int malten_purge_locked_pages(void) {
    unsigned arenas;
    size_t size = sizeof arenas;
    if (mallctl("opt.narenas", &arenas, &size, NULL, 0) != 0) return -1;
    for (unsigned arena = 0; arena < arenas; arena++) {
        char name[48];
        snprintf(name, sizeof name, "arena.%u.extent_hooks", arena);
        extent_hooks_t *current;
        size = sizeof current;
        if (mallctl(name, &current, &size, NULL, 0) != 0) return -1;
        if (arena == 0) {
            locked_hooks = *current;
            locked_hooks.purge_lazy = NULL;  // MADV_FREE is refused too: purge at once instead
            locked_hooks.purge_forced = purge_locked;
        }
        extent_hooks_t *replacement = &locked_hooks;
        if (mallctl(name, NULL, NULL, &replacement, sizeof replacement) != 0) return -1;
    }
    return 0;
}
#else
int malten_purge_locked_pages(void) { return 0; }
#endif
