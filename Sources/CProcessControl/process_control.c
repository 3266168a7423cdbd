#include "CProcessControl.h"
#ifdef __linux__
#include <sys/prctl.h>
#endif

int malten_forbid_dumping(void) {
#ifdef __linux__
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#else
    return 0;  // elsewhere the core limit alone
#endif
}
