// SPDX-License-Identifier: MIT
/* Time: a monotonic clock in milliseconds, and the one deadline of a run.
 *
 * A bind has one time limit (--timeout, early-vfio.timeout=).  Each wait
 * (a controller becoming ready, the nvme driver going live) takes its share
 * of what is left and leaves a reserve for giving moved devices back; a
 * move is not started without the time to finish it.  SIGALRM at the
 * deadline only marks it passed and interrupts a blocking system call (no
 * SA_RESTART): the code that moved a device gives it back, outside the
 * handler, on its way out. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "early-vfio.h"

static volatile sig_atomic_t alarm_fired;

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
