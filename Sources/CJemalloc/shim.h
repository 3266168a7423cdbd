// Debian's libjemalloc-dev: jemalloc built without a symbol prefix, so linking it replaces
// malloc/free for the whole process, and mallctl reads its statistics.
#include <jemalloc/jemalloc.h>
