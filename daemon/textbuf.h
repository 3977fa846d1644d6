/* Text built into a fixed buffer (the STATS and INFO replies): each append
 * is whole or not at all, and the first that does not fit marks the
 * buffer full, so a reply is either complete or refused. */
#ifndef IOLAT_TEXTBUF_H
#define IOLAT_TEXTBUF_H

#include <stddef.h>

struct textbuf {
	char *buf;
	size_t cap, len;
	int full;
};

__attribute__((format(printf, 2, 3)))
void textbuf_put(struct textbuf *t, const char *fmt, ...);

/* s as a JSON string (json_quote). */
void textbuf_put_json_string(struct textbuf *t, const char *s);

#endif
