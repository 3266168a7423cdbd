// Debian's nats.c (libnats-dev at build time, libnats3.4 to run a cluster member), the NATS project's
// own C client. Its header gives the types and prototypes; nats_loader.c defines those prototypes as
// calls through pointers that malten_nats_load() fills from the shared library, so a server that
// runs alone never maps libnats, nor the OpenSSL it needs.
#include <nats/nats.h>

/// Opens libnats and resolves every function Malten calls: NULL when it could, else why not
/// (dlerror's text). Safe to call more than once and from any thread.
const char *malten_nats_load(void);
