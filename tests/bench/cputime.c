// SPDX-License-Identifier: MIT
/* cputime RUNS CMD [ARG...] - run CMD RUNS times (output to /dev/null) and print the CPU time
 * (user + system, from wait4's rusage: microseconds, the whole process tree that was waited
 * for) and the wall time of the runs, in ms: "cpu_median cpu_min cpu_max wall_median".
 * For tests/bench/run.sh: on a shared machine CPU time is far steadier than wall time. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	int runs = argc > 2 ? atoi(argv[1]) : 0;
	double *cpu, *wall;

	if (runs < 1) {
		fprintf(stderr, "usage: cputime RUNS CMD [ARG...]\n");
		return 2;
	}
	cpu = calloc((size_t)runs, sizeof(*cpu));
	wall = calloc((size_t)runs, sizeof(*wall));
	if (!cpu || !wall)
		return 1;
	for (int i = 0; i < runs; i++) {
		struct timespec t0, t1;
		struct rusage ru;
		int status;
		pid_t pid;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		pid = fork();
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		if (pid < 0 || wait4(pid, &status, 0, &ru) != pid) {
			perror("cputime");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!WIFEXITED(status) || WEXITSTATUS(status) == 127) {
			fprintf(stderr, "cputime: %s failed (status %d)\n", argv[2], status);
			return 1;
		}
		cpu[i] = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			 (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
		wall[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	{
		double m = median(cpu, runs);	/* sorts cpu */

		printf("%.3f %.3f %.3f %.3f\n", m, cpu[0], cpu[runs - 1], median(wall, runs));
	}
	return 0;
}
