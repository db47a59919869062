// SPDX-License-Identifier: MIT
/*
 * fakekernel.so - an LD_PRELOAD shim that plays the kernel's part for a fake sysfs tree
 * (built by tests/fakesys/fakesys.sh), so early-vfio can be run on it unchanged.
 *
 * Only paths under $FAKE_SYSROOT/sys are touched; everything else goes straight to libc.
 * Wrapped: open, open64, openat, openat64 (+ the _FORTIFY_SOURCE __open*_2 variants), write.
 * Not wrapped: fopen/fwrite, pwrite, writev (glibc calls its internal open/write for them),
 * so a program that writes sysfs through stdio is NOT emulated; the contract forbids that.
 *
 * What the kernel does and this shim mirrors (drivers/base/bus.c, dd.c, drivers/pci/pci-sysfs.c):
 * - open for write of a read-only attribute (vendor, class, ...) fails with EACCES, even for
 *   root; creating a file under sys/ fails with EACCES.  O_TRUNC/O_CREAT are ignored on
 *   attributes (a sysfs store always replaces the value).
 * - devices/BDF/driver_override: the value up to the first newline is stored; "" or "\n"
 *   clears it, and it reads back as "(null)\n".  >= 4095 bytes: EINVAL.
 * - bus/pci/drivers_probe BDF: unknown device -> ENODEV.  A bound device is left alone.
 *   An unbound one is offered to the driver named in driver_override when it is set (only
 *   that driver may match), else to its host driver (.fakesys/host/BDF, the id-table match).
 *   A driver whose directory does not exist is not registered and matches nothing.  A failing
 *   probe is ignored: the write still succeeds, no `driver` link appears
 *   (drivers_probe_store -> bus_rescan_devices_helper -> device_attach).
 * - bus/pci/drivers/DRV/bind BDF: unknown device or driver does not match (override set to
 *   another driver, or no override and DRV is not the host driver) -> ENODEV; already bound ->
 *   EBUSY; probe failure -> that error (device_driver_attach since 5.13).
 * - bus/pci/drivers/DRV/unbind BDF (also reached as devices/BDF/driver/unbind): device not
 *   bound to DRV -> ENODEV; else the `driver` link and drivers/DRV/BDF link are removed.
 * - vfio-pci probe refusals (vfio_pci_probe / vfio_pci_core_register_device):
 *   no iommu_group -> EINVAL; not a normal header (class 0604xx bridge) -> EINVAL;
 *   SR-IOV PF with sriov_numvfs > 0 -> EBUSY.
 * - nvme probe of a device with .fakesys/nvme/BDF/serial (fs_nvme) creates nvme/nvme0/ with
 *   state "live", serial and model; unbind from nvme removes it.
 * - SR-IOV (drivers/pci/iov.c, sriov_numvfs_store and pci_iov_add_virtfn): writing N to a PF's
 *   sriov_numvfs: N > sriov_totalvfs -> ERANGE; N equal to the current count -> nothing; the PF
 *   without a driver -> ENOENT; N > 0 while VFs are enabled -> EBUSY; 0 removes every VF (unbound
 *   from its driver first).  Otherwise N VFs are created: VF i at routing ID PF + sriov_offset +
 *   i * sriov_stride, a directory beside the PF's with ids (vendor, sriov_vf_device), the PF's
 *   class, driver_override "(null)", a new IOMMU group, physfn -> PF and PF/virtfnI -> VF links,
 *   its host driver from .fakesys/sriov/PF/vf_driver (fs_dev --vf-driver); then, when the PF's
 *   sriov_drivers_autoprobe is 1, each VF is offered to its driver as pci_bus_add_device does.
 *   A VF whose PF has sriov_drivers_autoprobe 0 can be probed only with driver_override set
 *   (pci_device_can_probe): drivers_probe and driver_attach pass it over, bind -> ENODEV.
 *   sriov_drivers_autoprobe takes 0 or 1 (kstrtobool), else EINVAL.
 * - other writable attributes (remove, rescan, reset, new_id, ...) are written
 *   through to the file, and logged.
 *
 * Fault injection (each variable may hold several items separated by spaces or commas):
 *   FAKE_UNBIND_EBUSY=BDF       unbind of BDF fails with EBUSY, the device stays bound
 *   FAKE_REFUSE=DRV:BDF         DRV's probe of BDF fails (ENODEV); e.g. vfio-pci:0000:03:00.0
 *   FAKE_RO=PATH                open for write of PATH fails with EACCES. PATH is relative to
 *                               $FAKE_SYSROOT, either as given to open() or with symlinks
 *                               resolved: sys/bus/pci/devices/0000:03:00.0/driver_override or
 *                               sys/devices/pci0000:00/0000:03:00.0/driver_override
 *   FAKE_HANG=DRV:BDF           DRV's probe of BDF never returns (sleeps FAKE_HANG_SECS, default
 *                               600, interruptible by signals) - a driver stuck in probe;
 *                               with FAKE_HANG_HARD=1 signals do not end it (a task in D state)
 *   FAKE_NVME_DEAD=BDF          the nvme driver takes BDF but its controller never becomes live
 *   FAKE_NVME_READY_MS=MS       a controller the nvme driver takes reads state "connecting" for
 *                               MS milliseconds, then "live" (a drive's ready delay); every
 *                               drive's clock starts when the driver takes it
 *   FAKE_VANISH=BDF             the device is hot-removed (its directory, bus link, driver and
 *                               iommu group links deleted) when its driver_override is first
 *                               opened for write, i.e. between scan and bind; open -> ENOENT
 *   FAKE_VFIO_SLOW=SECS         opening dev/vfio/vfio takes SECS seconds (interruptible by a
 *                               signal: then EINTR) before it is opened, or fails as usual
 *   FAKE_SRIOV_SLOW=SECS        a write to sriov_numvfs takes SECS seconds before it acts (as a
 *                               NIC's firmware does; interruptible: then EINTR, nothing changed)
 *
 * Modules (fs_module): a driver whose module is not loaded yet has no sys/bus/pci/drivers/DRV;
 * .fakesys/modules/MOD names the driver it registers.  libkmod's kmod_module_probe_insert_module
 * is interposed: for such a module it "loads" it as the kernel would, registering the driver
 * and then attaching it to every device it matches that has no driver (driver_register ->
 * bus_add_driver -> driver_attach: an unbound device whose driver_override is unset or names
 * the driver), e.g. nvme taking every unbound NVMe controller at once.  Logged as
 *   module nvme loaded: driver nvme registered
 *   driver_attach nvme 0000:05:00.0: bound
 *
 * Every emulated kernel action, refused open and injected fault is appended, one line each,
 * to $FAKE_SYSROOT/fakekernel.log, e.g.
 *   driver_override 0000:03:00.0 = vfio-pci
 *   unbind 0000:03:00.0 from ahci
 *   drivers_probe 0000:03:00.0: bound to vfio-pci
 *   drivers_probe 0000:03:00.0: vfio-pci probe failed: no iommu_group (EINVAL)
 *   bind ahci 0000:03:00.0: bound
 *   open-for-write sys/devices/pci0000:00/0000:03:00.0/vendor: EACCES (read-only attribute)
 *
 * Build: cc -Wall -Wextra -Werror -fPIC -shared -o fakekernel.so fakekernel.c -ldl
 * With an ASan-built program also set ASAN_OPTIONS=verify_asan_link_order=0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* paths here are far below PATH_MAX; a truncated one would just not exist */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#ifndef O_TMPFILE
#define O_TMPFILE 0
#endif

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef ssize_t (*write_fn)(int, const void *, size_t);

static open_fn real_open;
static open_fn real_open64;
static openat_fn real_openat;
static openat_fn real_openat64;
static write_fn real_write;

static bool active;		/* FAKE_SYSROOT set and resolvable */
static char top[PATH_MAX];	/* realpath($FAKE_SYSROOT) */
static char sys[PATH_MAX];	/* top + "/sys" */
static size_t toplen, syslen;
static char vanished[64][16];
static int nvanished;

static void fk_init(void)
{
	static bool done;
	const char *root;

	if (done)
		return;
	done = true;
	real_open = (open_fn)dlsym(RTLD_NEXT, "open");
	real_open64 = (open_fn)dlsym(RTLD_NEXT, "open64");
	real_openat = (openat_fn)dlsym(RTLD_NEXT, "openat");
	real_openat64 = (openat_fn)dlsym(RTLD_NEXT, "openat64");
	real_write = (write_fn)dlsym(RTLD_NEXT, "write");
	if (!real_open64)
		real_open64 = real_open;
	if (!real_openat64)
		real_openat64 = real_openat;
	root = getenv("FAKE_SYSROOT");
	if (!root || !*root || !realpath(root, top))
		return;
	toplen = strlen(top);
	if (snprintf(sys, sizeof(sys), "%s/sys", top) >= (int)sizeof(sys))
		return;
	syslen = strlen(sys);
	active = true;
}

__attribute__((format(printf, 1, 2))) static void fk_log(const char *fmt, ...);

static void fk_log(const char *fmt, ...)
{
	char path[PATH_MAX + 32], line[PATH_MAX + 256];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	snprintf(path, sizeof(path), "%s/fakekernel.log", top);
	fd = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (real_write(fd, line, n) < 0) {
		/* nothing sensible to do */
	}
	close(fd);
}

/* Is ITEM one of the space/comma separated words of env var NAME? */
static bool env_has(const char *name, const char *item)
{
	const char *v = getenv(name), *p;
	size_t len = strlen(item);

	if (!v)
		return false;
	for (p = v; *p;) {
		size_t w;

		p += strspn(p, " ,\t\n");
		w = strcspn(p, " ,\t\n");
		if (w == len && !strncmp(p, item, len))
			return true;
		p += w;
	}
	return false;
}

static int read_small(const char *path, char *buf, size_t size)
{
	int fd = real_open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = real_open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = real_write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* sys/bus/pci/devices/BDF -> canonical device dir; false when there is no such device */
static bool dev_dir(const char *bdf, char *out)
{
	char p[PATH_MAX];

	if (!*bdf || strchr(bdf, '/'))
		return false;
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", sys, bdf);
	return realpath(p, out) != NULL;
}

/* current driver of DEVDIR, "" when unbound (a dangling link counts as unbound, as in libpci) */
static void cur_driver(const char *devdir, char *out, size_t size)
{
	char p[PATH_MAX], t[PATH_MAX];
	const char *b;

	out[0] = '\0';
	snprintf(p, sizeof(p), "%s/driver", devdir);
	if (!realpath(p, t))
		return;
	b = strrchr(t, '/');
	snprintf(out, size, "%s", b ? b + 1 : t);
}

static void get_override(const char *devdir, char *out, size_t size)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/driver_override", devdir);
	if (read_small(p, out, size) < 0 || !strcmp(out, "(null)"))
		out[0] = '\0';
}

static void host_driver(const char *bdf, char *out, size_t size)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/.fakesys/host/%s", top, bdf);
	if (read_small(p, out, size) < 0)
		out[0] = '\0';
}

static bool driver_registered(const char *drv)
{
	char p[PATH_MAX];
	struct stat st;

	if (!*drv || strchr(drv, '/'))
		return false;
	snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s", sys, drv);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static unsigned long attr_ul(const char *devdir, const char *attr, int base)
{
	char p[PATH_MAX], v[64];

	snprintf(p, sizeof(p), "%s/%s", devdir, attr);
	if (read_small(p, v, sizeof(v)) < 0)
		return 0;
	return strtoul(v, NULL, base);
}

/* does DRV match the device (pci_match_device with driver_override)? */
static bool drv_matches(const char *devdir, const char *bdf, const char *drv)
{
	char ov[256], host[256];

	get_override(devdir, ov, sizeof(ov));
	if (*ov)
		return !strcmp(ov, drv);
	host_driver(bdf, host, sizeof(host));
	return *host && !strcmp(host, drv);
}

/* pci_device_can_probe: a VF whose PF has sriov_drivers_autoprobe 0 is probed only when its
 * driver_override is set */
static bool can_probe(const char *devdir)
{
	char p[PATH_MAX], ov[256], v[16];

	snprintf(p, sizeof(p), "%s/physfn/sriov_drivers_autoprobe", devdir);
	if (read_small(p, v, sizeof(v)) < 0 || strcmp(v, "0"))
		return true;
	get_override(devdir, ov, sizeof(ov));
	return *ov != '\0';
}

/* the driver's probe(): 0 or -errno, with a reason for the log */
static int probe(const char *devdir, const char *bdf, const char *drv, const char **why)
{
	char p[PATH_MAX];
	char tok[300];

	snprintf(tok, sizeof(tok), "%s:%s", drv, bdf);
	if (env_has("FAKE_HANG", tok)) {
		const char *secs = getenv("FAKE_HANG_SECS");
		unsigned int left = secs ? (unsigned int)strtoul(secs, NULL, 10) : 600;

		fk_log("probe %s %s: hanging (FAKE_HANG)", drv, bdf);
		if (getenv("FAKE_HANG_HARD")) {
			/* as in an uninterruptible sleep: signals do not end it */
			struct timespec ts = { (time_t)left, 0 };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		} else {
			sleep(left); /* a handled signal ends it early */
		}
		*why = "hung (FAKE_HANG)";
		return -EINTR;
	}
	if (env_has("FAKE_REFUSE", tok)) {
		*why = "refused (FAKE_REFUSE)";
		return -ENODEV;
	}
	if (strcmp(drv, "vfio-pci"))
		return 0;
	snprintf(p, sizeof(p), "%s/iommu_group", devdir);
	if (!exists(p)) {
		*why = "no iommu_group";
		return -EINVAL;
	}
	if ((attr_ul(devdir, "class", 16) >> 8) == 0x0604) {
		*why = "not a normal header device (bridge)";
		return -EINVAL;
	}
	if (attr_ul(devdir, "sriov_numvfs", 10) > 0) {
		*why = "PF with SR-IOV enabled";
		return -EBUSY;
	}
	return 0;
}

/* relative link from DEVDIR (under sys/) up to sys/ */
static void up_to_sys(const char *devdir, char *out, size_t size)
{
	const char *p;

	out[0] = '\0';
	for (p = devdir + syslen; *p; p++)
		if (*p == '/')
			strncat(out, "../", size - strlen(out) - 1);
}

/* The nvme driver's controller directory, devdir/nvme/nvme0/{state,serial,model}, from
 * .fakesys/nvme/BDF/{serial,model} (fs_nvme); its state is "live" unless FAKE_NVME_DEAD names
 * the device ("connecting": the controller never becomes live). */
static void put_line(const char *path, const char *s)
{
	int fd = real_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	if (real_write(fd, s, strlen(s)) < 0 || real_write(fd, "\n", 1) < 0)
		fk_log("nvme: cannot write %s", path);
	close(fd);
}

static unsigned long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

static void nvme_attach(const char *devdir, const char *bdf)
{
	char p[PATH_MAX], l[PATH_MAX], v[256];
	const char *ready;

	snprintf(p, sizeof(p), "%s/.fakesys/nvme/%s/serial", top, bdf);
	if (read_small(p, v, sizeof(v)) < 0)
		return;
	snprintf(p, sizeof(p), "%s/nvme", devdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/nvme/nvme0", devdir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/nvme/nvme0/serial", devdir);
	put_line(p, v);
	snprintf(p, sizeof(p), "%s/.fakesys/nvme/%s/model", top, bdf);
	if (read_small(p, v, sizeof(v)) < 0)
		snprintf(v, sizeof(v), "Fake NVMe");
	snprintf(p, sizeof(p), "%s/nvme/nvme0/model", devdir);
	put_line(p, v);
	snprintf(p, sizeof(p), "%s/nvme/nvme0/state", devdir);
	ready = getenv("FAKE_NVME_READY_MS");
	if (ready && !env_has("FAKE_NVME_DEAD", bdf)) {
		snprintf(v, sizeof(v), "%llu",
			 (unsigned long long)(mono_ms() + strtoull(ready, NULL, 10)));
		snprintf(l, sizeof(l), "%s/.fakesys/nvme/%s/live_at", top, bdf);
		put_line(l, v);
		put_line(p, "connecting");
		fk_log("nvme %s: controller nvme0 created, live in %s ms (FAKE_NVME_READY_MS)",
		       bdf, ready);
		return;
	}
	put_line(p, env_has("FAKE_NVME_DEAD", bdf) ? "connecting" : "live");
	fk_log("nvme %s: controller nvme0 created", bdf);
}

/* FAKE_NVME_READY_MS: an open of BDF/nvme/nvme0/state after the drive's time has come finds it
 * "live" (the time is in .fakesys/nvme/BDF/live_at until then) */
static void fk_nvme_ready(const char *abs)
{
	static const char tail[] = "/nvme/nvme0/state";
	size_t n = strlen(abs), k = sizeof(tail) - 1;
	char bdf[64], p[PATH_MAX], v[64];
	const char *b;

	if (n <= k + 12 || strcmp(abs + n - k, tail))
		return;
	b = abs + n - k - 12;
	if (b[-1] != '/')
		return;
	snprintf(bdf, sizeof(bdf), "%.12s", b);
	snprintf(p, sizeof(p), "%s/.fakesys/nvme/%s/live_at", top, bdf);
	if (read_small(p, v, sizeof(v)) < 0 || mono_ms() < strtoull(v, NULL, 10))
		return;
	unlink(p);
	put_line(abs, "live");
	fk_log("nvme %s: controller nvme0 live", bdf);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw);

static int do_bind(const char *devdir, const char *bdf, const char *drv)
{
	char link[PATH_MAX], target[PATH_MAX], up[PATH_MAX];

	up_to_sys(devdir, up, sizeof(up));
	snprintf(link, sizeof(link), "%s/driver", devdir);
	unlink(link); /* a dangling one */
	snprintf(target, sizeof(target), "%sbus/pci/drivers/%s", up, drv);
	if (symlink(target, link) < 0)
		return -errno;
	snprintf(link, sizeof(link), "%s/bus/pci/drivers/%s/%s", sys, drv, bdf);
	snprintf(target, sizeof(target), "../../../..%s", devdir + syslen);
	unlink(link);
	if (symlink(target, link) < 0)
		return -errno;
	if (!strcmp(drv, "nvme"))
		nvme_attach(devdir, bdf);
	return 0;
}

static void do_unbind(const char *devdir, const char *bdf, const char *drv)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/driver", devdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s/%s", sys, drv, bdf);
	unlink(p);
	snprintf(p, sizeof(p), "%s/nvme", devdir);
	if (!strcmp(drv, "nvme") && exists(p))
		nftw(p, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static const char *errname(int e)
{
	switch (e) {
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case EBUSY: return "EBUSY";
	case EACCES: return "EACCES";
	case ENOENT: return "ENOENT";
	case EINTR: return "EINTR";
	default: return "error";
	}
}

/* the store methods; return count or -errno */
static ssize_t store_drivers_probe(const char *bdf, size_t count)
{
	char devdir[PATH_MAX], drv[256], ov[256];
	const char *why = "";
	int err;

	if (!dev_dir(bdf, devdir)) {
		fk_log("drivers_probe %s: no such device (ENODEV)", bdf);
		return -ENODEV;
	}
	cur_driver(devdir, drv, sizeof(drv));
	if (*drv) {
		fk_log("drivers_probe %s: already bound to %s", bdf, drv);
		return count;
	}
	get_override(devdir, ov, sizeof(ov));
	if (*ov)
		snprintf(drv, sizeof(drv), "%s", ov);
	else
		host_driver(bdf, drv, sizeof(drv));
	if (!driver_registered(drv)) {
		fk_log("drivers_probe %s: no matching driver", bdf);
		return count;
	}
	if (!can_probe(devdir)) {
		fk_log("drivers_probe %s: not probed (VF, PF sriov_drivers_autoprobe 0, no driver_override)",
		       bdf);
		return count;
	}
	err = probe(devdir, bdf, drv, &why);
	if (err) {
		fk_log("drivers_probe %s: %s probe failed: %s (%s)", bdf, drv, why, errname(-err));
		return count;
	}
	err = do_bind(devdir, bdf, drv);
	if (err)
		return err;
	fk_log("drivers_probe %s: bound to %s", bdf, drv);
	return count;
}

static ssize_t store_bind(const char *drv, const char *bdf, size_t count)
{
	char devdir[PATH_MAX], cur[256];
	const char *why = "";
	int err;

	if (!dev_dir(bdf, devdir) || !drv_matches(devdir, bdf, drv) || !can_probe(devdir)) {
		fk_log("bind %s %s: no such device or driver does not match (ENODEV)", drv, bdf);
		return -ENODEV;
	}
	cur_driver(devdir, cur, sizeof(cur));
	if (*cur) {
		fk_log("bind %s %s: already bound to %s (EBUSY)", drv, bdf, cur);
		return -EBUSY;
	}
	err = probe(devdir, bdf, drv, &why);
	if (err) {
		fk_log("bind %s %s: probe failed: %s (%s)", drv, bdf, why, errname(-err));
		return err;
	}
	err = do_bind(devdir, bdf, drv);
	if (err)
		return err;
	fk_log("bind %s %s: bound", drv, bdf);
	return count;
}

static ssize_t store_unbind(const char *drv, const char *bdf, size_t count)
{
	char devdir[PATH_MAX], cur[256];

	if (!dev_dir(bdf, devdir)) {
		fk_log("unbind %s from %s: no such device (ENODEV)", bdf, drv);
		return -ENODEV;
	}
	cur_driver(devdir, cur, sizeof(cur));
	if (strcmp(cur, drv)) {
		fk_log("unbind %s from %s: not bound to it (ENODEV)", bdf, drv);
		return -ENODEV;
	}
	if (env_has("FAKE_UNBIND_EBUSY", bdf)) {
		fk_log("unbind %s from %s: EBUSY (FAKE_UNBIND_EBUSY)", bdf, drv);
		return -EBUSY;
	}
	do_unbind(devdir, bdf, drv);
	fk_log("unbind %s from %s", bdf, drv);
	return count;
}

static ssize_t store_override(const char *path, const char *bdf, const char *buf, size_t count)
{
	char val[4100];
	int err;

	if (count >= 4095) {
		fk_log("driver_override %s: too long (EINVAL)", bdf);
		return -EINVAL;
	}
	memcpy(val, buf, count);
	val[count] = '\0';
	val[strcspn(val, "\n")] = '\0';
	if (!*val)
		strcpy(val, "(null)");
	fk_log("driver_override %s = %s", bdf, val);
	strcat(val, "\n");
	err = write_file(path, val);
	return err ? err : (ssize_t)count;
}

/* ---- SR-IOV: sriov_numvfs creates and removes VFs, sriov_drivers_autoprobe ---- */

static int copy_attr(const char *from, const char *to, const char *attr)
{
	char a[PATH_MAX], b[PATH_MAX], buf[4096];
	int in, out;
	ssize_t n;

	snprintf(a, sizeof(a), "%s/%s", from, attr);
	snprintf(b, sizeof(b), "%s/%s", to, attr);
	in = real_open(a, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = real_open(b, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -errno;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (real_write(out, buf, (size_t)n) != n)
			break;
	close(in);
	close(out);
	return 0;
}

static void put_fmt(const char *dir, const char *attr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put_fmt(const char *dir, const char *attr, const char *fmt, ...)
{
	char p[PATH_MAX], v[1024];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/%s", dir, attr);
	fd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (real_write(fd, v, strlen(v)) < 0)
		fk_log("sriov: cannot write %s", p);
	close(fd);
}

/* the relative link from directory FROM to path TO (both absolute, canonical) */
static void rel_link(const char *from, const char *to, char *out, size_t size)
{
	size_t i = 0, common = 0;
	const char *p;

	while (from[i] && from[i] == to[i]) {
		if (from[i] == '/')
			common = i;
		i++;
	}
	if (!from[i] && (to[i] == '/' || !to[i]))
		common = i;
	out[0] = '\0';
	for (p = from + common; *p; p++)
		if (*p == '/')
			strncat(out, "../", size - strlen(out) - 1);
	strncat(out, to[common] == '/' ? to + common + 1 : to + common, size - strlen(out) - 1);
}

static int next_group(void)
{
	char p[PATH_MAX];
	struct dirent *e;
	int max = 0;
	DIR *d;

	snprintf(p, sizeof(p), "%s/kernel/iommu_groups", sys);
	d = opendir(p);
	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (atoi(e->d_name) > max)
			max = atoi(e->d_name);
	closedir(d);
	return max + 1;
}

static void make_link(const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		fk_log("sriov: cannot make the link %s: %s", path, strerror(errno));
}

static void vf_bdf(const char *pf, unsigned long offset, unsigned long stride, int i, char *out,
		   size_t size)
{
	unsigned int dom = 0, bus = 0, slot = 0, fn = 0, rid;

	sscanf(pf, "%x:%x:%x.%x", &dom, &bus, &slot, &fn);
	rid = (bus << 8 | slot << 3 | fn) + (unsigned int)(offset + stride * (unsigned long)i);
	snprintf(out, size, "%04x:%02x:%02x.%x", dom, (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7);
}

static void vf_create(const char *pfdir, const char *pf, int i, bool autoprobe)
{
	static const char *const copied[] = { "vendor", "subsystem_vendor", "subsystem_device",
					      "class", "revision", "irq", "numa_node", "enable",
					      "resource", "broken_parity_status", NULL };
	char vf[32], dir[PATH_MAX], p[PATH_MAX], l[PATH_MAX], t[PATH_MAX], drv[256], ov[8];
	char ven[16], dev[16], cls[16], sven[16], sdev[16];
	unsigned long offset = attr_ul(pfdir, "sriov_offset", 10);
	unsigned long stride = attr_ul(pfdir, "sriov_stride", 10);
	const char *why = "";
	unsigned long c;
	int k, g, fd;

	vf_bdf(pf, offset ? offset : 1, stride ? stride : 1, i, vf, sizeof(vf));
	snprintf(dir, sizeof(dir), "%s", pfdir);
	*strrchr(dir, '/') = '\0';
	strncat(dir, "/", sizeof(dir) - strlen(dir) - 1);
	strncat(dir, vf, sizeof(dir) - strlen(dir) - 1);
	mkdir(dir, 0755);
	snprintf(p, sizeof(p), "%s/power", dir);
	mkdir(p, 0755);
	for (k = 0; copied[k]; k++)
		copy_attr(pfdir, dir, copied[k]);
	snprintf(p, sizeof(p), "%s/sriov_vf_device", pfdir);
	if (read_small(p, dev, sizeof(dev)) < 0 || !*dev) {
		snprintf(p, sizeof(p), "%s/device", pfdir);
		if (read_small(p, dev, sizeof(dev)) < 0)
			snprintf(dev, sizeof(dev), "0x0000");
	}
	if (strncmp(dev, "0x", 2)) {	/* sriov_vf_device is printed as %x */
		snprintf(t, sizeof(t), "0x%.4s", dev);
		snprintf(dev, sizeof(dev), "%s", t);
	}
	put_fmt(dir, "device", "%s\n", dev);
	put_fmt(dir, "driver_override", "(null)\n");
	for (k = 0; k < 3; k++) {
		static const char *const f[] = { "remove", "rescan", "reset" };

		put_fmt(dir, f[k], "%s", "");
	}
	snprintf(p, sizeof(p), "%s/vendor", dir);
	read_small(p, ven, sizeof(ven));
	snprintf(p, sizeof(p), "%s/class", dir);
	read_small(p, cls, sizeof(cls));
	snprintf(p, sizeof(p), "%s/subsystem_vendor", dir);
	read_small(p, sven, sizeof(sven));
	snprintf(p, sizeof(p), "%s/subsystem_device", dir);
	read_small(p, sdev, sizeof(sdev));
	c = strtoul(cls, NULL, 16);
	put_fmt(dir, "modalias", "pci:v0000%04lXd0000%04lXsv0000%04lXsd0000%04lXbc%02lXsc%02lXi%02lX\n",
		strtoul(ven, NULL, 16), strtoul(dev, NULL, 16), strtoul(sven, NULL, 16),
		strtoul(sdev, NULL, 16), c >> 16, (c >> 8) & 0xff, c & 0xff);
	put_fmt(dir, "uevent", "PCI_CLASS=%lX\nPCI_ID=%04lX:%04lX\nPCI_SUBSYS_ID=%04lX:%04lX\n"
		"PCI_SLOT_NAME=%s\n", c, strtoul(ven, NULL, 16), strtoul(dev, NULL, 16),
		strtoul(sven, NULL, 16), strtoul(sdev, NULL, 16), vf);
	/* config space: ids, class, header type 0 (a VF reads vendor 0xffff in hardware; the
	 * scan takes ids from sysfs) */
	snprintf(p, sizeof(p), "%s/config", dir);
	fd = real_open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		unsigned char cfg[256] = { 0 };
		unsigned long v = strtoul(ven, NULL, 16), d = strtoul(dev, NULL, 16);

		cfg[0] = v & 0xff; cfg[1] = v >> 8; cfg[2] = d & 0xff; cfg[3] = d >> 8;
		cfg[9] = c & 0xff; cfg[10] = (c >> 8) & 0xff; cfg[11] = (c >> 16) & 0xff;
		cfg[0x2c] = strtoul(sven, NULL, 16) & 0xff; cfg[0x2d] = strtoul(sven, NULL, 16) >> 8;
		cfg[0x2e] = strtoul(sdev, NULL, 16) & 0xff; cfg[0x2f] = strtoul(sdev, NULL, 16) >> 8;
		if (real_write(fd, cfg, sizeof(cfg)) < 0)
			fk_log("sriov: cannot write %s", p);
		close(fd);
	}
	/* links: subsystem, bus, physfn, virtfnI, IOMMU group */
	snprintf(t, sizeof(t), "%s/bus/pci", sys);
	rel_link(dir, t, l, sizeof(l));
	snprintf(p, sizeof(p), "%s/subsystem", dir);
	make_link(l, p);
	snprintf(t, sizeof(t), "%s/bus/pci/devices", sys);
	rel_link(t, dir, l, sizeof(l));
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", sys, vf);
	make_link(l, p);
	snprintf(p, sizeof(p), "%s/physfn", dir);
	snprintf(l, sizeof(l), "../%s", pf);
	make_link(l, p);
	snprintf(p, sizeof(p), "%s/virtfn%d", pfdir, i);
	snprintf(l, sizeof(l), "../%s", vf);
	make_link(l, p);
	g = next_group();
	snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%d/devices", sys, g);
	snprintf(t, sizeof(t), "%s/kernel/iommu_groups/%d", sys, g);
	mkdir(t, 0755);
	mkdir(p, 0755);
	put_fmt(t, "type", "DMA\n");
	put_fmt(t, "reserved_regions", "%s", "");
	rel_link(p, dir, l, sizeof(l));
	strncat(p, "/", sizeof(p) - strlen(p) - 1);
	strncat(p, vf, sizeof(p) - strlen(p) - 1);
	make_link(l, p);
	rel_link(dir, t, l, sizeof(l));
	snprintf(p, sizeof(p), "%s/iommu_group", dir);
	make_link(l, p);
	/* its driver's id table: .fakesys/sriov/PF/vf_driver */
	snprintf(p, sizeof(p), "%s/.fakesys/sriov/%s/vf_driver", top, pf);
	drv[0] = '\0';
	if (read_small(p, drv, sizeof(drv)) == 0 && *drv) {
		snprintf(p, sizeof(p), "%s/.fakesys/host/%s", top, vf);
		put_line(p, drv);
	}
	fk_log("sriov %s: VF %d created: %s", pf, i, vf);
	(void)ov;
	if (!autoprobe || !*drv || !driver_registered(drv))
		return;
	if (probe(dir, vf, drv, &why)) {
		fk_log("sriov %s: VF %s: %s probe failed: %s", pf, vf, drv, why);
		return;
	}
	if (do_bind(dir, vf, drv) == 0)
		fk_log("sriov %s: VF %s: bound to %s", pf, vf, drv);
}

static void vf_remove(const char *pfdir, const char *pf, int i)
{
	char p[PATH_MAX], dir[PATH_MAX], grp[PATH_MAX], drv[256];
	const char *vf, *g;

	snprintf(p, sizeof(p), "%s/virtfn%d", pfdir, i);
	if (!realpath(p, dir)) {
		unlink(p);
		return;
	}
	vf = strrchr(dir, '/') + 1;
	cur_driver(dir, drv, sizeof(drv));
	if (*drv) {
		do_unbind(dir, vf, drv);
		fk_log("sriov %s: VF %s unbound from %s", pf, vf, drv);
	}
	snprintf(p, sizeof(p), "%s/iommu_group", dir);
	if (realpath(p, grp)) {
		g = strrchr(grp, '/');
		snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%s/devices/%s", sys, g + 1, vf);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", sys, vf);
	unlink(p);
	snprintf(p, sizeof(p), "%s/.fakesys/host/%s", top, vf);
	unlink(p);
	fk_log("sriov %s: VF %d removed: %s", pf, i, vf);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(p, sizeof(p), "%s/virtfn%d", pfdir, i);
	unlink(p);
}

static ssize_t store_numvfs(const char *pfdir, const char *pf, const char *val, size_t count)
{
	const char *slow = getenv("FAKE_SRIOV_SLOW");
	unsigned long n, total, cur;
	char p[PATH_MAX], drv[256], v[16], *end;
	bool autoprobe;
	int i;

	errno = 0;
	n = strtoul(val, &end, 0);
	if (!*val || *end || errno) {
		fk_log("sriov_numvfs %s = %s: EINVAL", pf, val);
		return -EINVAL;
	}
	total = attr_ul(pfdir, "sriov_totalvfs", 10);
	cur = attr_ul(pfdir, "sriov_numvfs", 10);
	if (n > total) {
		fk_log("sriov_numvfs %s = %lu: more than sriov_totalvfs %lu (ERANGE)", pf, n, total);
		return -ERANGE;
	}
	if (n == cur) {
		fk_log("sriov_numvfs %s = %lu: unchanged", pf, n);
		return count;
	}
	cur_driver(pfdir, drv, sizeof(drv));
	if (!*drv) {
		fk_log("sriov_numvfs %s = %lu: no driver bound (ENOENT)", pf, n);
		return -ENOENT;
	}
	if (n && cur) {
		fk_log("sriov_numvfs %s = %lu: %lu VFs already enabled (EBUSY)", pf, n, cur);
		return -EBUSY;
	}
	if (slow) {
		struct timespec ts = { (time_t)strtoul(slow, NULL, 10), 0 };

		fk_log("sriov_numvfs %s: slow, %s s (FAKE_SRIOV_SLOW)", pf, slow);
		if (nanosleep(&ts, NULL) < 0) {
			fk_log("sriov_numvfs %s: interrupted (EINTR)", pf);
			return -EINTR;
		}
	}
	snprintf(p, sizeof(p), "%s/sriov_drivers_autoprobe", pfdir);
	autoprobe = read_small(p, v, sizeof(v)) < 0 || strcmp(v, "0");
	if (!n) {
		for (i = (int)cur - 1; i >= 0; i--)
			vf_remove(pfdir, pf, i);
	}
	snprintf(p, sizeof(p), "%s/sriov_numvfs", pfdir);
	snprintf(v, sizeof(v), "%lu\n", n);
	write_file(p, v);
	fk_log("sriov_numvfs %s = %lu (%s)", pf, n, n ? "enabling" : "VFs removed");
	for (i = 0; i < (int)n; i++)
		vf_create(pfdir, pf, i, autoprobe);
	return count;
}

static ssize_t store_autoprobe(const char *pfdir, const char *pf, const char *val, size_t count)
{
	char p[PATH_MAX];
	bool on;

	if (!strcmp(val, "1") || !strcmp(val, "y") || !strcmp(val, "Y"))
		on = true;
	else if (!strcmp(val, "0") || !strcmp(val, "n") || !strcmp(val, "N"))
		on = false;
	else {
		fk_log("sriov_drivers_autoprobe %s = %s: EINVAL", pf, val);
		return -EINVAL;
	}
	snprintf(p, sizeof(p), "%s/sriov_drivers_autoprobe", pfdir);
	write_file(p, on ? "1\n" : "0\n");
	fk_log("sriov_drivers_autoprobe %s = %d", pf, on);
	return count;
}

/* ---- modules: "loading" a module registers its driver, which takes every device it matches ---- */

static void make_driver_dir(const char *drv)
{
	static const char *const files[] = { "bind", "unbind", "new_id", "remove_id", "uevent", NULL };
	char p[PATH_MAX];
	int i, fd;

	snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s", sys, drv);
	mkdir(p, 0755);
	for (i = 0; files[i]; i++) {
		snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s/%s", sys, drv, files[i]);
		fd = real_open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0200);
		if (fd >= 0)
			close(fd);
	}
}

/* driver_attach(): offer every unbound device to DRV */
static void driver_attach(const char *drv)
{
	char p[PATH_MAX], devdir[PATH_MAX], cur[256];
	const char *why = "";
	struct dirent *e;
	DIR *dir;
	int err;

	snprintf(p, sizeof(p), "%s/bus/pci/devices", sys);
	dir = opendir(p);
	if (!dir)
		return;
	while ((e = readdir(dir))) {
		if (e->d_name[0] == '.' || !dev_dir(e->d_name, devdir))
			continue;
		cur_driver(devdir, cur, sizeof(cur));
		if (*cur || !drv_matches(devdir, e->d_name, drv) || !can_probe(devdir))
			continue;
		err = probe(devdir, e->d_name, drv, &why);
		if (err) {
			fk_log("driver_attach %s %s: probe failed: %s (%s)", drv, e->d_name, why,
			       errname(-err));
			continue;
		}
		if (do_bind(devdir, e->d_name, drv) == 0)
			fk_log("driver_attach %s %s: bound", drv, e->d_name);
	}
	closedir(dir);
}

/* 0 after a fake load, 1 when MOD is not a fake module */
static int fake_modprobe(const char *mod)
{
	char p[PATH_MAX], drv[256];

	if (!*mod || strchr(mod, '/'))
		return 1;
	snprintf(p, sizeof(p), "%s/.fakesys/modules/%s", top, mod);
	if (read_small(p, drv, sizeof(drv)) < 0 || !*drv || strchr(drv, '/'))
		return 1;
	if (driver_registered(drv)) {
		fk_log("module %s: already loaded", mod);
		return 0;
	}
	make_driver_dir(drv);
	fk_log("module %s loaded: driver %s registered", mod, drv);
	driver_attach(drv);
	return 0;
}

struct kmod_module;
typedef int (*kmod_run_install_fn)(struct kmod_module *, const char *, void *);
typedef void (*kmod_print_action_fn)(struct kmod_module *, bool, const char *);
typedef int (*kmod_probe_fn)(struct kmod_module *, unsigned int, const char *, kmod_run_install_fn,
			     const void *, kmod_print_action_fn);
typedef const char *(*kmod_name_fn)(const struct kmod_module *);
int kmod_module_probe_insert_module(struct kmod_module *mod, unsigned int flags,
				    const char *extra_options, kmod_run_install_fn run_install,
				    const void *data, kmod_print_action_fn print_action);

int kmod_module_probe_insert_module(struct kmod_module *mod, unsigned int flags,
				    const char *extra_options, kmod_run_install_fn run_install,
				    const void *data, kmod_print_action_fn print_action)
{
	kmod_probe_fn real = (kmod_probe_fn)dlsym(RTLD_NEXT, "kmod_module_probe_insert_module");
	kmod_name_fn name = (kmod_name_fn)dlsym(RTLD_NEXT, "kmod_module_get_name");

	fk_init();
	if (active && name && fake_modprobe(name(mod)) == 0)
		return 0;
	if (!real)
		return -ENOSYS;
	return real(mod, flags, extra_options, run_install, data, print_action);
}

enum kind { K_NONE, K_RO, K_OVERRIDE, K_PROBE, K_BIND, K_UNBIND, K_PASS, K_NUMVFS, K_AUTOPROBE };

/*
 * Classify canonical path P (under sys/).  Sets *dev to the device/driver name part.
 */
static enum kind classify(const char *p, char *name, size_t size)
{
	const char *rel = p + syslen, *base = strrchr(p, '/') + 1;
	char dir[PATH_MAX], *b;
	static const char *const pass[] = { "remove",
					    "rescan", "reset", "enable", "new_id", "remove_id",
					    "uevent", "drivers_autoprobe", "power/control", NULL };
	int i;

	name[0] = '\0';
	snprintf(dir, sizeof(dir), "%.*s", (int)(base - 1 - p), p);
	b = strrchr(dir, '/');
	snprintf(name, size, "%s", b ? b + 1 : dir);
	if (!strcmp(rel, "/bus/pci/drivers_probe"))
		return K_PROBE;
	if (!strncmp(rel, "/bus/pci/drivers/", 17) && strchr(rel + 17, '/') &&
	    !strchr(strchr(rel + 17, '/') + 1, '/')) {
		if (!strcmp(base, "bind"))
			return K_BIND;
		if (!strcmp(base, "unbind"))
			return K_UNBIND;
	}
	if (!strncmp(rel, "/devices/", 9) && !strcmp(base, "driver_override"))
		return K_OVERRIDE;
	if (!strncmp(rel, "/devices/", 9) && !strcmp(base, "sriov_numvfs"))
		return K_NUMVFS;
	if (!strncmp(rel, "/devices/", 9) && !strcmp(base, "sriov_drivers_autoprobe"))
		return K_AUTOPROBE;
	for (i = 0; pass[i]; i++)
		if (!strcmp(base, pass[i]))
			return K_PASS;
	return K_RO;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* hot-remove BDF: its directory and every link to it */
static void vanish(const char *devdir, const char *bdf)
{
	char p[PATH_MAX], drv[256];
	char grp[PATH_MAX];
	const char *g;

	cur_driver(devdir, drv, sizeof(drv));
	if (*drv) {
		snprintf(p, sizeof(p), "%s/bus/pci/drivers/%s/%s", sys, drv, bdf);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/iommu_group", devdir);
	if (realpath(p, grp)) {
		g = strrchr(grp, '/');
		snprintf(p, sizeof(p), "%s/kernel/iommu_groups/%s/devices/%s", sys, g + 1, bdf);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", sys, bdf);
	unlink(p);
	nftw(devdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (nvanished < 64)
		snprintf(vanished[nvanished++], sizeof(vanished[0]), "%s", bdf);
	fk_log("vanish %s (FAKE_VANISH)", bdf);
}

/*
 * Decide about an open() of ABS (absolute, not yet resolved) with FLAGS.
 * Returns -errno to fail it, 0 to pass it on, 1 to pass it on without O_TRUNC/O_CREAT.
 */
static int fk_open_check(const char *abs, int flags)
{
	char canon[PATH_MAX], name[256], parent[PATH_MAX], *slash;
	enum kind k;

	if ((flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC)))
		return 0;
	if (!realpath(abs, canon)) {
		/* a file that does not exist: creating it under sys/ is EACCES */
		snprintf(parent, sizeof(parent), "%s", abs);
		slash = strrchr(parent, '/');
		if (!slash || slash == parent)
			return 0;
		*slash = '\0';
		if (!realpath(parent, canon))
			return 0;
		if ((flags & O_CREAT) && (!strncmp(canon, sys, syslen) &&
					  (canon[syslen] == '/' || !canon[syslen]))) {
			fk_log("open-for-write %s/%s: EACCES (cannot create files in sysfs)",
			       canon + toplen + 1, slash + 1);
			return -EACCES;
		}
		return 0;
	}
	if (strncmp(canon, sys, syslen) || canon[syslen] != '/')
		return 0;
	if (!strncmp(abs, top, toplen) && abs[toplen] == '/' && env_has("FAKE_RO", abs + toplen + 1)) {
		fk_log("open-for-write %s: EACCES (FAKE_RO)", abs + toplen + 1);
		return -EACCES;
	}
	if (env_has("FAKE_RO", canon + toplen + 1)) {
		fk_log("open-for-write %s: EACCES (FAKE_RO)", canon + toplen + 1);
		return -EACCES;
	}
	k = classify(canon, name, sizeof(name));
	if (k == K_RO) {
		fk_log("open-for-write %s: EACCES (read-only attribute)", canon + toplen + 1);
		return -EACCES;
	}
	if (k == K_OVERRIDE && env_has("FAKE_VANISH", name)) {
		int i;

		for (i = 0; i < nvanished; i++)
			if (!strcmp(vanished[i], name))
				return 0;
		snprintf(parent, sizeof(parent), "%s", canon);
		*strrchr(parent, '/') = '\0';
		vanish(parent, name);
		return -ENOENT;
	}
	return 1;
}

static void abs_path(int dirfd, const char *path, char *out, size_t size)
{
	char base[PATH_MAX], link[64];
	ssize_t n;

	if (path[0] == '/') {
		snprintf(out, size, "%s", path);
		return;
	}
	if (dirfd == AT_FDCWD) {
		if (!getcwd(base, sizeof(base)))
			base[0] = '\0';
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		base[n < 0 ? 0 : n] = '\0';
	}
	snprintf(out, size, "%s/%s", base, path);
}

/* FAKE_VFIO_SLOW: the VFIO container node takes its time to open */
static int fk_slow_vfio(const char *abs)
{
	const char *secs = getenv("FAKE_VFIO_SLOW");
	struct timespec ts = { 0, 0 };

	if (!secs || strncmp(abs, top, toplen) || strcmp(abs + toplen, "/dev/vfio/vfio"))
		return 0;
	ts.tv_sec = (time_t)strtoul(secs, NULL, 10);
	fk_log("open dev/vfio/vfio: slow, %s s (FAKE_VFIO_SLOW)", secs);
	if (nanosleep(&ts, NULL) < 0) {
		fk_log("open dev/vfio/vfio: interrupted (EINTR)");
		return -EINTR;
	}
	return 0;
}

static int fk_openat(openat_fn fn, int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	int r;

	fk_init();
	if (!active || !path)
		return fn(dirfd, path, flags, mode);
	abs_path(dirfd, path, abs, sizeof(abs));
	fk_nvme_ready(abs);
	r = fk_slow_vfio(abs);
	if (!r)
		r = fk_open_check(abs, flags);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	if (r == 1)
		flags &= ~(O_TRUNC | O_CREAT);
	return fn(dirfd, path, flags, mode);
}

static int fk_open(open_fn fn, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	int r;

	fk_init();
	if (!active || !path)
		return fn(path, flags, mode);
	abs_path(AT_FDCWD, path, abs, sizeof(abs));
	fk_nvme_ready(abs);
	r = fk_slow_vfio(abs);
	if (!r)
		r = fk_open_check(abs, flags);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	if (r == 1)
		flags &= ~(O_TRUNC | O_CREAT);
	return fn(path, flags, mode);
}

#define MODE_ARG(flags, mode)                                          \
	do {                                                           \
		if ((flags) & (O_CREAT | O_TMPFILE)) {                 \
			va_list ap;                                    \
			va_start(ap, flags);                           \
			mode = va_arg(ap, mode_t);                     \
			va_end(ap);                                    \
		}                                                      \
	} while (0)

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	fk_init();
	return fk_open(real_open, path, flags, mode);
}

int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	fk_init();
	return fk_open(real_open64, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	fk_init();
	return fk_openat(real_openat, dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;

	MODE_ARG(flags, mode);
	fk_init();
	return fk_openat(real_openat64, dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

int __open_2(const char *path, int flags)
{
	fk_init();
	return fk_open(real_open, path, flags, 0);
}

int __open64_2(const char *path, int flags)
{
	fk_init();
	return fk_open(real_open64, path, flags, 0);
}

int __openat_2(int dirfd, const char *path, int flags)
{
	fk_init();
	return fk_openat(real_openat, dirfd, path, flags, 0);
}

int __openat64_2(int dirfd, const char *path, int flags)
{
	fk_init();
	return fk_openat(real_openat64, dirfd, path, flags, 0);
}

ssize_t write(int fd, const void *buf, size_t count)
{
	char link[64], p[PATH_MAX], name[256], arg[256];
	struct stat st;
	ssize_t n, r;
	enum kind k;

	fk_init();
	if (!active || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return real_write(fd, buf, count);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, p, sizeof(p) - 1);
	if (n < 0)
		return real_write(fd, buf, count);
	p[n] = '\0';
	if (strncmp(p, sys, syslen) || p[syslen] != '/')
		return real_write(fd, buf, count);
	k = classify(p, name, sizeof(name));
	if (k == K_PASS || k == K_RO || k == K_NONE) {
		const char *nl = memchr(buf, '\n', count);

		fk_log("write %s: %.*s", p + toplen + 1,
		       (int)(nl ? nl - (const char *)buf : (ssize_t)count), (const char *)buf);
		return real_write(fd, buf, count);
	}
	if (k == K_OVERRIDE) {
		r = store_override(p, name, buf, count);
	} else if (k == K_NUMVFS || k == K_AUTOPROBE) {
		char val[32];
		size_t len = count < sizeof(val) - 1 ? count : sizeof(val) - 1;

		memcpy(val, buf, len);
		val[len] = '\0';
		val[strcspn(val, "\n")] = '\0';
		*strrchr(p, '/') = '\0';
		r = k == K_NUMVFS ? store_numvfs(p, name, val, count) :
				    store_autoprobe(p, name, val, count);
	} else {
		/* sysfs_streq: the name, optionally followed by one newline */
		size_t len = count < sizeof(arg) - 1 ? count : sizeof(arg) - 1;

		memcpy(arg, buf, len);
		arg[len] = '\0';
		if (len && arg[len - 1] == '\n')
			arg[len - 1] = '\0';
		if (k == K_PROBE)
			r = store_drivers_probe(arg, count);
		else if (k == K_BIND)
			r = store_bind(name, arg, count);
		else
			r = store_unbind(name, arg, count);
	}
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}
