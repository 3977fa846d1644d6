/* JSON strings. */
#include <stdio.h>

#include "json.h"

size_t
json_quote(char *dst, size_t cap, const char *s)
{
	size_t n = 0;
	char esc[8];

#define PUT(c) do { if (n + 1 < cap) dst[n] = (c); n++; } while (0)
	PUT('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", c);
			for (const char *e = esc; *e; e++)
				PUT(*e);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	if (cap > 0)
		dst[n < cap ? n : cap - 1] = '\0';
	return n;
}
