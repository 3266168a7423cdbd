#define _GNU_SOURCE  // dl_iterate_phdr
#include "CProcessControl.h"
#include <errno.h>
#ifdef __linux__
#include <sys/mman.h>
#include <sys/prctl.h>
#endif

int malten_forbid_dumping(void) {
#ifdef __linux__
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#else
    return 0;  // elsewhere the core limit alone
#endif
}

int malten_lock_memory(void) {
#if defined(__linux__) && defined(MCL_ONFAULT)
    return mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0 ? 0 : errno;
#else
    return ENOSYS;  // no lock on fault: locking would make every mapping resident at once
#endif
}

#ifdef __linux__
#include <link.h>
#include <stdint.h>
#include <unistd.h>

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif

/// Whether the object's loader wrote into its read-only segments (text relocations): those pages
/// are private copies, and dropping them would bring back the unrelocated bytes.
static int has_text_relocations(struct dl_phdr_info *info) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_DYNAMIC) continue;
        for (const ElfW(Dyn) *entry = (const ElfW(Dyn) *)(info->dlpi_addr + segment->p_vaddr);
             entry->d_tag != DT_NULL; entry++) {
            if (entry->d_tag == DT_TEXTREL) return 1;
            if (entry->d_tag == DT_FLAGS && (entry->d_un.d_val & DF_TEXTREL)) return 1;
        }
    }
    return 0;
}

static int release_read_only(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    long *released = data;
    if (has_text_relocations(info)) return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || (segment->p_flags & PF_W)) continue;
        // Only whole pages of the file's bytes: a page shared with a writable segment, or a
        // zero-filled tail the loader wrote, stays as it is.
        uintptr_t first = info->dlpi_addr + segment->p_vaddr;
        uintptr_t start = (first + page - 1) & ~(page - 1);
        uintptr_t end = (first + segment->p_filesz) & ~(page - 1);
        if (end <= start) continue;
        if (madvise((void *)start, end - start, MADV_DONTNEED) == 0
            || madvise((void *)start, end - start, MADV_DONTNEED_LOCKED) == 0) {
            *released += (long)(end - start);
        }
    }
    return 0;  // every object: the executable first, then the shared libraries
}
#endif

long malten_release_read_only_pages(void) {
    long released = 0;
#ifdef __linux__
    dl_iterate_phdr(release_read_only, &released);
#endif
    return released;
}
