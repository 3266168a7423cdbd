// Nothing to call: configuration.c defines `malloc_conf`, which jemalloc reads at start-up.
