// Linux's epoll, which the Glibc module does not export; for malten-bench's fan-out client.
#include <sys/epoll.h>
