/* Running as a service: logging to stderr with sd-daemon priority
 * prefixes (journald reads them), sd_notify states, and the socket systemd
 * passes when socket-activated. Without libsystemd the last two do
 * nothing, and the daemon binds its socket itself. */
#ifndef IOLAT_SVC_H
#define IOLAT_SVC_H

/* Lines of lower importance than level (syslog priorities, 3 err .. 7
 * debug) are not written. */
void svc_log_level(int level);

/* "<priority>message\n" on stderr. */
void svc_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The listening socket passed by systemd (LISTEN_FDS), or -1. More than
 * one passed socket is an error: -2. */
int svc_listen_fd(void);

/* sd_notify(0, state), e.g. "READY=1". */
void svc_notify(const char *state);

#endif
