// jemalloc reads this string at start-up (Debian builds it without a symbol prefix):
// - two arenas are enough for Malten's few threads and keep jemalloc's own bookkeeping small;
// - freed pages go back to the system within a second, straight away (no lazy MADV_FREE stage,
//   whose pages still count as resident), done by one background thread even when idle;
// - no third arena for allocations of 8 MiB and more: the two take them, so that the purge of
//   locked pages (locked_purge.c) covers every arena there is.
const char *malloc_conf =
    "narenas:2,background_thread:true,max_background_threads:1,dirty_decay_ms:1000,muzzy_decay_ms:0,"
    "oversize_threshold:0";
