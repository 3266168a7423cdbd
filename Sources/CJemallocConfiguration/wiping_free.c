// free and realloc for the whole process, in front of jemalloc's: a block is overwritten with
// zeros before jemalloc may hand it out again, so no message text, stream name or request outlives
// the object that held it in freed heap (Malten's "nothing left behind"; see README, Privacy).
//
// Defined here, in the executable, they take the place of jemalloc's for every caller: Swift's
// runtime, Foundation, SwiftNIO's buffers, BoringSSL, and glibc's own uses. jemalloc's `junk:free`
// option does not do: a realloc that moves or shrinks a block leaves the old bytes as they were,
// and SwiftNIO grows every ByteBuffer by realloc. malloc, calloc and the aligned allocations stay
// jemalloc's; the wipe is at the two places where memory is given back.
#include "CJemallocConfiguration.h"

#ifdef __linux__
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// Set at start-up, read on every free: a relaxed atomic is a plain load and store.
static atomic_bool wipes = true;

void malten_wipe_freed_memory(bool on) { atomic_store_explicit(&wipes, on, memory_order_relaxed); }

bool malten_wipes_freed_memory(void) { return atomic_load_explicit(&wipes, memory_order_relaxed); }

// Blocks from 16 KiB (jemalloc's large size classes, page-aligned) are often mostly untouched: a
// ring allocated for 1024 messages that held three, a buffer reserved for a peak. Writing zeros
// over their pages that were never touched would make them resident for nothing (idle RSS 14.3 to
// 17.8 MB, a flood's peak 50 to 165 MB, expiry 43% slower). So their whole pages are wiped only
// where mincore(2) says they are resident; a page that is not holds nothing to wipe (never
// touched, or given back) or is in swap, which only --lock-memory prevents.
enum { LARGE = 16 << 10, PAGES_PER_CALL = 256 };

static size_t page_size(void) {  // 4 KiB, or 16 KiB on a Raspberry Pi 5's kernel
    static atomic_size_t known;
    size_t size = atomic_load_explicit(&known, memory_order_relaxed);
    if (size == 0) {
        size = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&known, size, memory_order_relaxed);
    }
    return size;
}

static void wipe(char *block, size_t size) {
    if (size < LARGE) {
        explicit_bzero(block, size);
        return;
    }
    const size_t PAGE = page_size();
    char *end = block + size;
    char *first = (char *)(((uintptr_t)block + PAGE - 1) & ~(uintptr_t)(PAGE - 1));
    char *last = (char *)((uintptr_t)end & ~(uintptr_t)(PAGE - 1));
    explicit_bzero(block, (size_t)(first - block));
    explicit_bzero(last, (size_t)(end - last));
    unsigned char resident[PAGES_PER_CALL];
    for (char *page = first; page < last; page += PAGES_PER_CALL * PAGE) {
        size_t length = (size_t)(last - page) < PAGES_PER_CALL * PAGE ? (size_t)(last - page) : PAGES_PER_CALL * PAGE;
        if (mincore(page, length, resident) != 0) {
            explicit_bzero(page, length);
            continue;
        }
        for (size_t index = 0; index < length / PAGE; index++) {
            if (resident[index] & 1) explicit_bzero(page + index * PAGE, PAGE);
        }
    }
}

void free(void *pointer) {
    if (pointer == NULL) return;
    size_t size = sallocx(pointer, 0);
    if (malten_wipes_freed_memory()) wipe(pointer, size);
    sdallocx(pointer, size, 0);  // sized: jemalloc's fast path, as its own free takes
}

void *realloc(void *pointer, size_t size) {
    if (pointer == NULL) return malloc(size);
    if (size == 0) {  // glibc's meaning: free it
        free(pointer);
        return NULL;
    }
    void *moved;
    if (!malten_wipes_freed_memory()) {
        moved = rallocx(pointer, size, 0);
    } else {
        size_t held = sallocx(pointer, 0);
        if (nallocx(size, 0) == held) return pointer;  // the same size class: nothing moves or shrinks
        moved = mallocx(size, 0);
        if (moved != NULL) {
            memcpy(moved, pointer, held < size ? held : size);
            wipe(pointer, held);  // free's work, without its second size lookup
            sdallocx(pointer, held, 0);
        }
    }
    if (moved == NULL) errno = ENOMEM;
    return moved;
}
#else
void malten_wipe_freed_memory(bool on) { (void)on; }

bool malten_wipes_freed_memory(void) { return false; }
#endif
