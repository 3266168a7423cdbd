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

static int release_read_only(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    long *released = data;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *segment = &info->dlpi_phdr[i];
        if (segment->p_type != PT_LOAD || (segment->p_flags & PF_W)) continue;
        uintptr_t start = (info->dlpi_addr + segment->p_vaddr) & ~(page - 1);
        uintptr_t end = (info->dlpi_addr + segment->p_vaddr + segment->p_memsz + page - 1) & ~(page - 1);
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
