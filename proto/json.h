/* JSON strings, as the protocol's JSON bodies (INFO) and the programs'
 * reports (iolatd compare --json, kv_stats_json) carry file paths and
 * names in them. */
#ifndef IOLAT_JSON_H
#define IOLAT_JSON_H

#include <stddef.h>

/* Writes s as a JSON string, quotes included: '"' and '\' escaped with a
 * backslash, control characters as \u00XX, other bytes as they are. Like
 * snprintf: at most cap bytes, NUL-terminated when cap > 0, and returns
 * the length of the whole quoted string (dst may be NULL when cap is 0). */
size_t json_quote(char *dst, size_t cap, const char *s);

#endif
