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
 *   cede N         one thread on CPU 1 (CPU 0 on a 1-CPU L2) sleeps
 *                  100 us N times: the CPU cedes and its decrementer
 *                  wakes it. Prints the median wake-up latency beyond
 *                  the 100 us asked for.
 *   disk DEV MIB   O_DIRECT on DEV: reads its first MIB MiB sequentially
 *                  (1 MiB requests), writes the MIB MiB after them with a
 *                  known pattern, then 4 KiB reads at random 4 KiB offsets
 *                  of the first MIB MiB for 2 s. Prints MiB/s and IOPS.
 *   badmmio        what a bad guest gets, through /dev/mem, each probe in
 *                  a child process: lwarx and dcbz (a load and a store no
 *                  MMIO emulator takes) on the first PCI BAR of
 *                  /proc/iomem, and a load and a store on the last page
 *                  of that PCI window, where no BAR is (QEMU's
 *                  unassigned memory). Prints how each child ended (ok or
 *                  its signal) and the value the unassigned load read.
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
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
	int cpu = sysconf(_SC_NPROCESSORS_ONLN) > 1;

	if (!late || n < 1)
		return 1;
	if (pin(cpu)) {
		fprintf(stderr, "rpn-l2-bench: cede: CPU %d: %s\n", cpu, strerror(errno));
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

enum probe { LOAD, STORE, LWARX, DCBZ };

/*
 * One access of kind k to the physical address phys, in a child: "ok" or
 * the signal that ended it (SIGBUS: the data storage interrupt a bad
 * MMIO access gets). *val: what a LOAD read.
 */
static const char *probe(uint64_t phys, enum probe k, uint32_t *val)
{
	uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	if (shared == MAP_FAILED)
		return "mmap-failed";
	pid = fork();
	if (pid == 0) {
		int fd = open("/dev/mem", O_RDWR | O_SYNC);
		volatile uint32_t *p;
		uint32_t v = 0;

		if (fd < 0)
			_exit(2);
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 phys & ~4095ull);
		if (p == MAP_FAILED)
			_exit(3);
		p += (phys & 4095) / 4;
		switch (k) {
		case LOAD:
			v = *p;
			break;
		case STORE:
			*p = 0;
			break;
		case LWARX:
			asm volatile("lwarx %0,0,%1" : "=r"(v) : "r"(p) : "memory");
			break;
		case DCBZ:
			asm volatile("dcbz 0,%0" : : "r"(p) : "memory");
			break;
		}
		*shared = v;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return "fork-failed";
	*val = *shared;
	munmap(shared, 4096);
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGBUS ? "SIGBUS" :
		       WTERMSIG(status) == SIGSEGV ? "SIGSEGV" :
		       WTERMSIG(status) == SIGILL ? "SIGILL" : "signal";
	return WEXITSTATUS(status) == 2 ? "no-devmem" :
	       WEXITSTATUS(status) ? "no-mapping" : "ok";
}

static int badmmio(void)
{
	unsigned long long ws = 0, we = 0, bs = 0, be = 0, top = 0, s, e;
	char line[256];
	FILE *f = fopen("/proc/iomem", "r");
	uint32_t v = 0, unassigned = 0;
	uint64_t page;
	const char *lwarx, *dcbz, *load, *store;

	if (!f) {
		perror("rpn-l2-bench: badmmio: /proc/iomem");
		return 1;
	}
	/* The first PCI window, its first BAR and where its BARs end. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && strstr(line, "pci@")) {
			if (ws)
				break;
			ws = s;
			we = e;
		} else if (ws && !strncmp(line, "  ", 2) && line[2] != ' ' &&
			   sscanf(line + 2, "%llx-%llx", &s, &e) == 2) {
			if (!bs) {
				bs = s;
				be = e;
			}
			if (e > top)
				top = e;
		}
	}
	fclose(f);
	page = (we + 1) - 4096;
	if (!bs || page <= top || be - bs < 4095) {
		fprintf(stderr, "rpn-l2-bench: badmmio: no PCI window with a BAR and a free last page\n");
		return 1;
	}
	lwarx = probe(bs, LWARX, &v);
	dcbz = probe(bs, DCBZ, &v);
	load = probe(page, LOAD, &unassigned);
	store = probe(page, STORE, &v);
	printf("RPN-L2-BENCH badmmio bar=%#llx lwarx=%s dcbz=%s unassigned=%#llx load=%s store=%s read=%#x\n",
	       bs, lwarx, dcbz, (unsigned long long)page, load, store, unassigned);
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
	if (argc == 2 && !strcmp(argv[1], "badmmio"))
		return badmmio();
	if (argc == 4 && !strcmp(argv[1], "pattern") &&
	    (!strcmp(argv[2], "D") || !strcmp(argv[2], "W")))
		return pattern(argv[2][0], atol(argv[3]));
	fprintf(stderr, "usage: rpn-l2-bench ipi N | cede N | disk DEV MIB | badmmio | pattern D|W MIB\n");
	return 1;
}
