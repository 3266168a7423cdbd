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
