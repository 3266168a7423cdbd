// Debian's nats.c (libnats-dev), the NATS project's own C client.
#include <nats/nats.h>
