/* Service glue. */
#include <stdarg.h>
#include <stdio.h>

#include "config.h"
#include "svc.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

static int max_level = 6;

void
svc_log_level(int level)
{
	max_level = level;
}

void
svc_log(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority > max_level)
		return;
	fprintf(stderr, "<%d>", priority);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
svc_listen_fd(void)
{
#ifdef HAVE_LIBSYSTEMD
	int n = sd_listen_fds(1);
	if (n > 1)
		return -2;
	if (n == 1)
		return SD_LISTEN_FDS_START;
#endif
	return -1;
}

void
svc_notify(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	sd_notify(0, state);
#else
	(void)state;
#endif
}
