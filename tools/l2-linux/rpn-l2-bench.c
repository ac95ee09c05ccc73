// SPDX-License-Identifier: GPL-2.0
/*
 * rpn-l2-bench: measurements taken inside the L2 Linux that QEMU boots in
 * the main job's L1 (static, in the L2's initramfs; testing/l2-init runs
 * it). Each mode prints one "RPN-L2-BENCH <mode> ..." line; times are the
 * L2's CLOCK_MONOTONIC, so they compare runs on the same L1, not machines.
 *
 *   ipi N          two threads pinned to CPUs 0 and 1 pass a token back
 *                  and forth N times through a futex; each waits in
 *                  FUTEX_WAIT, so its CPU goes idle (H_CEDE) and each hop
 *                  is a wake-up IPI to a ceded vCPU. Prints the median
 *                  and the mean round trip (two hops) in microseconds.
 *   cede N         one thread on CPU 1 sleeps 100 us N times: the CPU
 *                  cedes and its decrementer wakes it. Prints the median
 *                  wake-up latency beyond the 100 us asked for.
 *   disk DEV MIB   O_DIRECT on DEV: reads its first MIB MiB sequentially
 *                  (1 MiB requests), writes the MIB MiB after them with a
 *                  known pattern, then 4 KiB reads at random 4 KiB offsets
 *                  of the first MIB MiB for 2 s. Prints MiB/s and IOPS.
 *   pattern D|W MIB
 *                  writes to stdout MIB MiB of the disk's content (D: the
 *                  image the L1 makes) or of what disk writes (W), for the
 *                  L1 to make the image and check what came back.
 *
 * Exits 0 when the measurement ran, 1 (with a line on stderr) otherwise.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, long n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/* The token: 0 while CPU 0's thread holds it, 1 while CPU 1's does. */
static int token;
static long rounds;

static void futex_wait(int *addr, int val)
{
	while (__atomic_load_n(addr, __ATOMIC_ACQUIRE) == val)
		syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_pass(int *addr, int val)
{
	__atomic_store_n(addr, val, __ATOMIC_RELEASE);
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *ponger(void *arg)
{
	(void)arg;
	if (pin(1))
		return (void *)1;
	for (long i = 0; i < rounds; i++) {
		futex_wait(&token, 0);
		futex_pass(&token, 0);
	}
	return NULL;
}

static int ipi(long n)
{
	uint64_t *rtt = calloc(n, sizeof(*rtt)), sum = 0;
	pthread_t t;
	void *ret;

	if (!rtt || n < 1)
		return 1;
	rounds = n;
	if (pin(0) || pthread_create(&t, NULL, ponger, NULL)) {
		perror("rpn-l2-bench: ipi");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		futex_pass(&token, 1);
		futex_wait(&token, 1);
		rtt[i] = now_ns() - t0;
		sum += rtt[i];
	}
	pthread_join(t, &ret);
	if (ret) {
		fprintf(stderr, "rpn-l2-bench: ipi: cannot pin to CPU 1\n");
		return 1;
	}
	printf("RPN-L2-BENCH ipi rounds=%ld median_us=%.1f mean_us=%.1f\n", n,
	       median(rtt, n) / 1000.0, sum / 1000.0 / n);
	return 0;
}

static int cede(long n)
{
	const uint64_t ask = 100000;
	struct timespec ts = { 0, ask };
	uint64_t *late = calloc(n, sizeof(*late)), sum = 0;

	if (!late || n < 1)
		return 1;
	if (pin(1)) {
		perror("rpn-l2-bench: cede: CPU 1");
		return 1;
	}
	for (long i = 0; i < n; i++) {
		uint64_t t0 = now_ns(), d;

		nanosleep(&ts, NULL);
		d = now_ns() - t0;
		late[i] = d > ask ? d - ask : 0;
		sum += late[i];
	}
	printf("RPN-L2-BENCH cede rounds=%ld sleep_us=%lu median_late_us=%.1f mean_late_us=%.1f\n",
	       n, (unsigned long)(ask / 1000), median(late, n) / 1000.0,
	       sum / 1000.0 / n);
	return 0;
}

/* Block i of pattern kind ('D' or 'W'): "RPN-<kind> <i>", then a fill. */
static void block(char *buf, size_t len, char kind, long i)
{
	memset(buf, kind == 'W' ? 0xa5 : 0x5a, len);
	snprintf(buf, 32, "RPN-%c %ld", kind, i);
}

static int pattern(char kind, long mib)
{
	static char buf[1 << 20];

	for (long i = 0; i < mib; i++) {
		block(buf, sizeof(buf), kind, i);
		if (fwrite(buf, sizeof(buf), 1, stdout) != 1)
			return 1;
	}
	return fflush(stdout) ? 1 : 0;
}

static int disk(const char *dev, long mib)
{
	const size_t big = 1 << 20, small = 4096;
	uint64_t t0, t1, ops = 0, seed = 88172645463325252ull;
	double rd, wr, secs;
	char *buf;
	int fd;

	fd = open(dev, O_RDWR | O_DIRECT);
	if (fd < 0 || mib < 1 || posix_memalign((void **)&buf, 4096, big)) {
		perror("rpn-l2-bench: disk");
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < mib; i++) {
		if (pread(fd, buf, big, (off_t)i * big) != (ssize_t)big) {
			perror("rpn-l2-bench: disk: read");
			return 1;
		}
	}
	t1 = now_ns();
	rd = mib / ((t1 - t0) / 1e9);
	t0 = now_ns();
	for (long i = 0; i < mib; i++) {
		block(buf, big, 'W', i);
		if (pwrite(fd, buf, big, (off_t)(mib + i) * big) != (ssize_t)big) {
			perror("rpn-l2-bench: disk: write");
			return 1;
		}
	}
	if (fsync(fd)) {
		perror("rpn-l2-bench: disk: fsync");
		return 1;
	}
	t1 = now_ns();
	wr = mib / ((t1 - t0) / 1e9);
	t0 = now_ns();
	do {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		off_t at = (off_t)(seed % ((uint64_t)mib * (big / small))) * small;

		if (pread(fd, buf, small, at) != (ssize_t)small) {
			perror("rpn-l2-bench: disk: random read");
			return 1;
		}
		ops++;
		t1 = now_ns();
	} while (t1 - t0 < 2000000000ull);
	secs = (t1 - t0) / 1e9;
	printf("RPN-L2-BENCH disk mib=%ld read_mibs=%.1f write_mibs=%.1f randread_iops=%.0f\n",
	       mib, rd, wr, ops / secs);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "ipi"))
		return ipi(atol(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "cede"))
		return cede(atol(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "disk"))
		return disk(argv[2], atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "pattern") &&
	    (!strcmp(argv[2], "D") || !strcmp(argv[2], "W")))
		return pattern(argv[2][0], atol(argv[3]));
	fprintf(stderr, "usage: rpn-l2-bench ipi N | cede N | disk DEV MIB | pattern D|W MIB\n");
	return 1;
}
