// SPDX-License-Identifier: MIT
/* Time: a monotonic clock in milliseconds, and the one deadline of a run.
 *
 * A bind has one time limit (--timeout, early-vfio.timeout=).  Each wait
 * (a controller becoming ready, the nvme driver going live) takes its share
 * of what is left and leaves a reserve for giving moved devices back; a
 * move is not started without the time to finish it.  SIGALRM at the
 * deadline only marks it passed and interrupts a blocking system call (no
 * SA_RESTART): the code that moved a device gives it back, outside the
 * handler, on its way out.  SIGINT, SIGTERM and SIGHUP do the same for a
 * bind (evfio_signals_arm, from before its first move to after its last
 * give-back): the run stops as at its time limit; SIGPIPE is ignored. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "early-vfio.h"

static volatile sig_atomic_t alarm_fired;
static volatile sig_atomic_t stop_signal;	/* SIGINT, SIGTERM or SIGHUP seen */

uint64_t evfio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void evfio_deadline_set(struct evfio_deadline *dl, unsigned int seconds)
{
	dl->seconds = seconds;
	dl->end_ms = seconds ? evfio_now_ms() + (uint64_t)seconds * 1000 : 0;
}

uint64_t evfio_deadline_left(const struct evfio_deadline *dl)
{
	uint64_t now;

	if (stop_signal)
		return 0;	/* asked to stop: as at the time limit */
	if (!dl || !dl->end_ms)
		return UINT64_MAX;
	if (alarm_fired)
		return 0;
	now = evfio_now_ms();
	return now >= dl->end_ms ? 0 : dl->end_ms - now;
}

bool evfio_deadline_passed(const struct evfio_deadline *dl)
{
	return evfio_deadline_left(dl) == 0;
}

uint64_t evfio_deadline_until(const struct evfio_deadline *dl, uint64_t cap_ms,
			      uint64_t reserve_ms)
{
	uint64_t now = evfio_now_ms(), left = evfio_deadline_left(dl);

	if (left != UINT64_MAX)
		left = left > reserve_ms ? left - reserve_ms : 0;
	return now + (cap_ms < left ? cap_ms : left);
}

static void on_alarm(int sig)
{
	(void)sig;
	alarm_fired = 1;
}

void evfio_deadline_arm(const struct evfio_deadline *dl)
{
	struct sigaction sa;

	if (!dl->seconds)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: EINTR ends a blocked call */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(dl->seconds);
}

static void on_stop(int sig)
{
	stop_signal = sig;
}

void evfio_signals_arm(void)
{
	static const int stop[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;	/* no SA_RESTART, as for the alarm */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		sigaddset(&sa.sa_mask, stop[i]);
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		sigaction(stop[i], &sa, NULL);
	/* a closed stderr or stdout (a pipe to a pager or a logger that went
	 * away) is an EPIPE on that write, not the end of the run */
	signal(SIGPIPE, SIG_IGN);
}

int evfio_stop_signal(void)
{
	return stop_signal;
}

void evfio_pause_ms(const struct evfio_deadline *dl, unsigned int ms)
{
	uint64_t left = evfio_deadline_left(dl);
	struct timespec ts;

	if (left < ms)
		ms = (unsigned int)left;
	if (!ms)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);	/* EINTR: the alarm, seen by the caller */
}
