/* Files in the temporary directory of a Check suite. These assert with
 * Check, so they live apart from helpers.c, which mkmodel, mkdata and the
 * benchmarks link without it. */
#ifndef IOLAT_TEST_FILE_HELPERS_H
#define IOLAT_TEST_FILE_HELPERS_H

#include <stddef.h>

/* Writes len bytes of data to name in the test directory; returns its path (static). */
const char *test_write_file(const char *name, const void *data, size_t len);

/* The whole file at path in a malloc'd buffer, its size in *len; the caller frees it. */
void *test_read_file(const char *path, size_t *len);

/* How many entries directory dir holds, "." and ".." aside. */
int test_count_entries(const char *dir);

#endif
