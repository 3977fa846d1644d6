/* Parses feature vectors given as CSV text: integers separated by commas
 * (spaces allowed around them), one vector a line. */
#ifndef IOLAT_CSV_FEATURES_H
#define IOLAT_CSV_FEATURES_H

#include <stddef.h>
#include <stdint.h>

/* Parses one line (without or with its trailing newline) into exactly n
 * int32 values. Returns 0, or -1 with a message in err naming the field
 * (1-based) and the problem: not an integer, out of int32 range, too few
 * or too many fields. A blank line or one starting with '#' returns 1. */
int csv_parse_features(const char *line, int32_t *out, uint32_t n, char *err,
		       size_t errlen);

#endif
