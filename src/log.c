// SPDX-License-Identifier: MIT
/* Messages: "early-vfio: ..." on stderr, and the same line on /dev/kmsg
 * when it can be opened, so boot-time messages reach the kernel log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "early-vfio.h"

void evfio_log_init(struct evfio_log *log, int level)
{
	log->level = level;
	log->kmsg_fd = -1;
	log->out = stderr;
}

void evfio_log_open_kmsg(struct evfio_log *log, const struct evfio_sysfs *fs)
{
	evfio_log_close(log);
	log->kmsg_root = fs;
	log->kmsg_count = 0;
	log->kmsg_fd = evfio_sysfs_openat(fs, "dev/kmsg", O_WRONLY, 0);
	if (log->kmsg_fd < 0)
		log->kmsg_fd = -1;
}

void evfio_log_close(struct evfio_log *log)
{
	if (log->kmsg_fd >= 0)
		close(log->kmsg_fd);
	log->kmsg_fd = -1;
}

void evfio_logv(struct evfio_log *log, int prio, const char *fmt, va_list ap)
{
	char msg[1024];
	char line[1100];
	int n;

	if (prio > log->level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* one message, one line: drop a trailing newline, flatten others */
	n = (int)strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '\n' || (unsigned char)*p < 0x20)
			*p = ' ';

	if (log->out)
		fprintf(log->out, "early-vfio: %s\n", msg);
	if (log->kmsg_fd >= 0) {
		/* the kernel takes one record per write(); the <N> prefix is
		 * the syslog priority, facility user (1 << 3) */
		n = snprintf(line, sizeof(line), "<%d>early-vfio: %s\n",
			     (1 << 3) | prio, msg);
		if (n > 0 && write(log->kmsg_fd, line, (size_t)n) < 0) {
			/* the kernel log is a best effort */
		}
		/* /dev/kmsg rate-limits each open file to 10 records in 5 s
		 * (printk.devkmsg=ratelimit); a fresh open starts a new
		 * budget, so a host with many devices loses no line */
		if (++log->kmsg_count >= 8)
			evfio_log_open_kmsg(log, log->kmsg_root);
	}
}

void evfio_log(struct evfio_log *log, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	evfio_logv(log, prio, fmt, ap);
	va_end(ap);
}
