// SPDX-License-Identifier: MIT
/* "early-vfio boot": the one entry point for boot scripts (the
 * initramfs-tools init-top script, the dracut pre-udev hook).
 *
 * The kernel command line is read here, and only here:
 *   early-vfio=off|0|no|false    bind nothing this boot
 *   early-vfio.skip=A[,B]        skip these sections this boot
 *   early-vfio.debug             log every sysfs write
 *   early-vfio.timeout=SECONDS   the bind's time limit, 1-3600 (default 60;
 *                                "08" is 8; anything else is reported and
 *                                the default used)
 * Then the bind runs in a child process under that one deadline, and the
 * parent waits for it without polling (sigtimedwait on SIGCHLD), at most
 * the time limit plus EVFIO_BOOT_GRACE seconds (after the bind, the same
 * child makes the VFs of SR-IOV sections, see sriov.c): a driver stuck in probe,
 * in an uninterruptible sysfs write, cannot hold the boot.  The parent
 * always returns success: the boot goes on, and every problem is in the
 * kernel log. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "early-vfio.h"

struct cmdline {
	bool off;
	bool debug;
	unsigned int timeout;
	char skip[1024];
};

static bool word_in(const char *v, const char *const *words)
{
	for (; *words; words++)
		if (!strcmp(v, *words))
			return true;
	return false;
}

static const char *const yes[] = { "1", "yes", "on", "true", NULL };
static const char *const no[] = { "0", "no", "off", "false", NULL };

static void parse_timeout(struct evfio_ctx *c, const char *v, struct cmdline *k)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(v, &end, 10);	/* base 10: "08" is 8 */
	if (!*v || *end || errno || v[0] == '-' || v[0] == '+') {
		ev_warn(&c->log, "early-vfio.timeout=%.32s: not a number of seconds; "
			"using %u", v, k->timeout);
		return;
	}
	if (n == 0) {
		ev_warn(&c->log, "early-vfio.timeout=0: a boot needs a limit; using %u",
			k->timeout);
		return;
	}
	if (n > EVFIO_MAX_TIMEOUT) {
		ev_warn(&c->log, "early-vfio.timeout=%.32s: more than %u s; using %u",
			v, EVFIO_MAX_TIMEOUT, EVFIO_MAX_TIMEOUT);
		n = EVFIO_MAX_TIMEOUT;
	}
	k->timeout = (unsigned int)n;
}

static void parse_cmdline(struct evfio_ctx *c, struct cmdline *k)
{
	char buf[4096], *p, *tok, *save = NULL;
	int r = evfio_sysfs_read(&c->fs, "proc/cmdline", buf, sizeof(buf));

	if (r < 0) {
		ev_warn(&c->log, "cannot read /proc/cmdline: %s", strerror(-r));
		return;
	}
	for (p = buf; (tok = strtok_r(p, " \t", &save)); p = NULL) {
		const char *v;

		if (!strncmp(tok, "early-vfio=", 11)) {
			v = tok + 11;
			if (word_in(v, no))
				k->off = true;
			else if (!word_in(v, yes))
				ev_warn(&c->log, "%.64s: use early-vfio=off to disable "
					"early-vfio; ignored", tok);
		} else if (!strcmp(tok, "early-vfio.debug")) {
			k->debug = true;
		} else if (!strncmp(tok, "early-vfio.debug=", 17)) {
			k->debug = !word_in(tok + 17, no);
		} else if (!strncmp(tok, "early-vfio.skip=", 16)) {
			snprintf(k->skip, sizeof(k->skip), "%s", tok + 16);
		} else if (!strncmp(tok, "early-vfio.timeout=", 19)) {
			parse_timeout(c, tok + 19, k);
		} else if (!strncmp(tok, "early-vfio.", 11)) {
			ev_warn(&c->log, "%.64s: unknown option on the kernel command "
				"line (known: early-vfio=off, early-vfio.skip=, "
				"early-vfio.debug, early-vfio.timeout=); ignored", tok);
		}
	}
}

/* Wait for the child up to ms; its wait status, or -ETIMEDOUT. */
static int wait_bounded(pid_t pid, const sigset_t *chld, uint64_t ms)
{
	uint64_t end = evfio_now_ms() + ms;
	int status;

	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		uint64_t now = evfio_now_ms();
		struct timespec ts;

		if (w == pid)
			return status;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (now >= end)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)((end - now) / 1000);
		ts.tv_nsec = (long)((end - now) % 1000) * 1000000L;
		sigtimedwait(chld, NULL, &ts);	/* SIGCHLD, the time, or EINTR */
	}
}

int evfio_cmd_boot(struct evfio_ctx *c, struct evfio_opts *o)
{
	static struct cmdline k;
	sigset_t chld, old;
	pid_t pid;
	int status;

	memset(&k, 0, sizeof(k));
	k.timeout = o->timeout ? o->timeout : EVFIO_DEFAULT_TIMEOUT;
	parse_cmdline(c, &k);
	if (k.off) {
		ev_info(&c->log, "disabled on the kernel command line (early-vfio=off)");
		return EVFIO_EXIT_OK;
	}
	if (k.debug)
		c->log.level = LOG_DEBUG;
	if (k.skip[0] && !o->skip)
		o->skip = k.skip;
	o->timeout = k.timeout;
	ev_dbg(&c->log, "boot: time limit %u s", k.timeout);

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		evfio_deadline_set(&c->deadline, k.timeout);
		evfio_deadline_arm(&c->deadline);
		int r = evfio_cmd_bind(c, o);

		/* then the VFs of SR-IOV sections (sriov.c), under the same limit */
		if (r != EVFIO_EXIT_CONFIG && evfio_sriov_boot(c) < 0 && r == EVFIO_EXIT_OK)
			r = EVFIO_EXIT_PARTIAL;
		return r;	/* main exits with it */
	}
	if (pid < 0) {
		ev_err(&c->log, "cannot start bind (fork: %s); continuing the boot "
		       "without it", strerror(errno));
		sigprocmask(SIG_SETMASK, &old, NULL);
		return EVFIO_EXIT_OK;
	}
	status = wait_bounded(pid, &chld, (uint64_t)(k.timeout + EVFIO_BOOT_GRACE) * 1000);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (status == -ETIMEDOUT)
		ev_err(&c->log, "bind still running after %u s, continuing the boot "
		       "without waiting (pid %d)", k.timeout + EVFIO_BOOT_GRACE, (int)pid);
	else if (status < 0)
		ev_err(&c->log, "cannot wait for bind: %s; continuing the boot",
		       strerror(-status));
	else if (WIFSIGNALED(status))
		ev_err(&c->log, "bind was killed by signal %d, continuing the boot "
		       "(devices not bound stay with their host drivers)",
		       WTERMSIG(status));
	else if (WEXITSTATUS(status))
		ev_err(&c->log, "bind exited with status %d, continuing the boot "
		       "(devices not bound stay with their host drivers)",
		       WEXITSTATUS(status));
	return EVFIO_EXIT_OK;
}
