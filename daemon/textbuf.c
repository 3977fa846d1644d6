/* Text into a fixed buffer. */
#include <stdarg.h>
#include <stdio.h>

#include "json.h"
#include "textbuf.h"

void
textbuf_put(struct textbuf *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->full = 1;
	else
		t->len += (size_t)n;
}

void
textbuf_put_json_string(struct textbuf *t, const char *s)
{
	size_t n;

	if (t->full)
		return;
	n = json_quote(t->buf + t->len, t->cap - t->len, s);
	if (n >= t->cap - t->len)
		t->full = 1;
	else
		t->len += n;
}
