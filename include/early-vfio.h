/* SPDX-License-Identifier: MIT */
/*
 * early-vfio: bind selected PCI devices to vfio-pci before their host
 * drivers can take them.  One internal header; one source file per concern:
 *
 *   sysfs.c     every file access under the root dirfd (/sys, /proc, /dev,
 *               /run); names that are safe in a path.  Depends on nothing.
 *   clock.c     monotonic milliseconds; the run's one deadline and its alarm
 *   log.c       messages to stderr and /dev/kmsg
 *   selector.c  ids / address / class / serial / dsn selectors: parse, match
 *   config.c    /etc/early-vfio.conf (inih) -> struct evfio_config
 *   pci.c       libpci scan -> struct evfio_dev array; a device's live state
 *   modules.c   libkmod: load a driver's module, modules for an alias
 *   protect.c   the PCI devices that hold the running system
 *   record.c    what the machine looked like when the image was built
 *   safety.c    the review: refusals, protection, the record, IOMMU groups
 *   vfio.c      VFIO container, group and device: regions, DMA, reset
 *   nvme.c      NVMe Identify Controller through VFIO (a state machine, so
 *               several controllers are asked side by side); nvme's sysfs
 *   identify.c  reads the serial and model of NVMe candidates; never moves
 *               a device
 *   bind.c      the one module that moves devices: driver_override, unbind,
 *               bind, drivers_probe, each after re-reading the device
 *   commands.c  the pipeline scan -> select -> review -> identify -> bind,
 *               and status, check, protected, release
 *   boot.c      the boot entry: the kernel command line, a bounded child
 *   output.c    status (lspci -knn style, JSON); device names as lspci -nn
 *   initramfs.c check --initramfs: is a built image ready
 *   inventory.c what sits behind each PCI device (disks, their mounts,
 *               network interfaces); which functions a DEVICE argument names
 *   list.c      list: devices by IOMMU group, with a verdict per group
 *   confedit.c  the config as text: lock, read, append or remove a section
 *               keeping every other byte, replace atomically
 *   add.c       add and remove: the selector a device allows, the review
 *   apply.c     apply: check, rebuild every image, verify, IOMMU, the plan
 *   pve.c       Proxmox VE: the VMs' hostpciN devices, onboot, PCI mappings
 *   esp.c       the ESPs proxmox-boot-tool keeps: what the firmware loads
 *   main.c      options, the command table, usage, exit codes
 *
 * The way of "serial = X" from the config to the bind: config.c parses it
 * into the section; commands.c selects the NVMe controllers (class 010802)
 * that match the section's other keys as candidates, safety.c reviews them,
 * commands.c moves the unrefused ones to vfio-pci with bind.c, identify.c
 * reads their serials (nothing else), commands.c re-matches, gives back
 * what is not selected with bind.c, reviews again and binds the rest.
 *
 * Internal functions return 0 (or a positive count) on success and -errno
 * on failure, as libkmod does.
 */
#ifndef EARLY_VFIO_H
#define EARLY_VFIO_H

#include <dirent.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#ifndef EVFIO_VERSION
#define EVFIO_VERSION "0.1.0"
#endif

#define EVFIO_DEFAULT_CONFIG "/etc/early-vfio.conf"
#define EVFIO_DEFAULT_DRIVER "vfio-pci"
#define EVFIO_DEFAULT_TIMEOUT 60	/* seconds for a whole bind */
#define EVFIO_MAX_TIMEOUT 3600
#define EVFIO_BOOT_GRACE 10		/* boot waits timeout + this for bind */

/* Exit codes, documented in early-vfio(8). */
enum {
	EVFIO_EXIT_OK = 0,
	EVFIO_EXIT_FAILURE = 1,
	EVFIO_EXIT_CONFIG = 2,
	EVFIO_EXIT_EMPTY = 3,	/* check: valid, but no device section */
	EVFIO_EXIT_PARTIAL = 64,
};

#define EVFIO_NAME_MAX 64	/* section, driver and module names */
#define EVFIO_BDF_LEN 13	/* "dddd:bb:dd.f" + NUL */
#define EVFIO_LINE_MAX 198	/* longest config line inih keeps whole */

/* ---- sysfs.c -------------------------------------------------------- */

struct evfio_sysfs {
	int rootfd;		/* the system root: "/" or --sysroot */
	char root[4096];	/* its path, for libpci and messages */
};

/* A name safe as one path component: 1-63 of [A-Za-z0-9._-]. */
bool evfio_valid_name(const char *s);
int evfio_sysfs_open(struct evfio_sysfs *fs, const char *root);
void evfio_sysfs_close(struct evfio_sysfs *fs);
/* Paths are relative to the root ("sys/bus/pci/drivers_probe").  Reads
 * strip one trailing newline and fail with -EOVERFLOW on a short buffer and
 * -EILSEQ on a NUL byte. */
int evfio_sysfs_read(const struct evfio_sysfs *fs, const char *path,
		     char *buf, size_t size);
int evfio_sysfs_write(const struct evfio_sysfs *fs, const char *path,
		      const char *value);
/* Basename of a symlink's target ("driver" -> "ahci"); -ENOENT if absent. */
int evfio_sysfs_link_name(const struct evfio_sysfs *fs, const char *path,
			  char *buf, size_t size);
/* A symlink's target as it is ("../../devices/..."); -errno. */
int evfio_sysfs_readlink(const struct evfio_sysfs *fs, const char *path,
			 char *buf, size_t size);
bool evfio_sysfs_exists(const struct evfio_sysfs *fs, const char *path);
/* opendir() of a root-relative directory; NULL with errno set. */
DIR *evfio_sysfs_opendir(const struct evfio_sysfs *fs, const char *path);
/* open(2) / fopen(3) of a root-relative path: fd or -errno; FILE or NULL
 * with errno set. */
int evfio_sysfs_openat(const struct evfio_sysfs *fs, const char *path,
		       int flags, unsigned int mode);
FILE *evfio_sysfs_fopen(const struct evfio_sysfs *fs, const char *path);
/* the first line of a file under the root, without its newline ("" when
 * empty); false when it cannot be opened */
bool evfio_sysfs_first_line(const struct evfio_sysfs *fs, const char *path, char *buf,
			    size_t size);
/* Replace a regular file (not in sysfs: /run) with text, atomically: a
 * temporary file renamed over it; its directory is made when missing. */
int evfio_file_replace(const struct evfio_sysfs *fs, const char *dir,
		       const char *name, const char *text);
/* Device attributes: "sys/bus/pci/devices/<bdf>/<attr>". */
int evfio_dev_path(char *buf, size_t size, const char *bdf, const char *attr);

/* ---- clock.c -------------------------------------------------------- */

uint64_t evfio_now_ms(void);

/* The one deadline of a run (--timeout): every wait takes its share of it,
 * and no move starts without the time to finish it. */
struct evfio_deadline {
	uint64_t end_ms;	/* evfio_now_ms() at the end; 0: no limit */
	unsigned int seconds;	/* as given, for messages */
};

void evfio_deadline_set(struct evfio_deadline *dl, unsigned int seconds);
/* Milliseconds left (UINT64_MAX without a limit, 0 once passed). */
uint64_t evfio_deadline_left(const struct evfio_deadline *dl);
bool evfio_deadline_passed(const struct evfio_deadline *dl);
/* The end of a wait of at most cap_ms that must leave reserve_ms of the
 * deadline for what follows (giving devices back): an absolute time in
 * evfio_now_ms() terms, never later than the deadline minus reserve_ms. */
uint64_t evfio_deadline_until(const struct evfio_deadline *dl, uint64_t cap_ms,
			      uint64_t reserve_ms);
/* SIGALRM at the deadline interrupts a blocking system call (no SA_RESTART)
 * and marks the deadline passed; what was moved is then given back by the
 * code that moved it, outside the signal handler. */
void evfio_deadline_arm(const struct evfio_deadline *dl);
/* Sleep up to ms, less if the deadline passes first. */
void evfio_pause_ms(const struct evfio_deadline *dl, unsigned int ms);
/* SIGINT, SIGTERM, SIGHUP: the deadline passes at once (every wait ends,
 * no move starts, moved devices are given back); SIGPIPE ignored. */
void evfio_signals_arm(void);
/* The stop signal seen, or 0. */
int evfio_stop_signal(void);

/* ---- log.c ---------------------------------------------------------- */

struct evfio_log {
	int level;		/* messages up to this syslog priority are shown */
	int kmsg_fd;		/* -1 when /dev/kmsg is not writable */
	const struct evfio_sysfs *kmsg_root;	/* where it was opened */
	int kmsg_count;		/* records written through kmsg_fd */
	FILE *out;		/* stderr, or a test's stream */
};

void evfio_log_init(struct evfio_log *log, int level);
void evfio_log_open_kmsg(struct evfio_log *log, const struct evfio_sysfs *fs);
void evfio_log_close(struct evfio_log *log);
void evfio_logv(struct evfio_log *log, int prio, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4)))
void evfio_log(struct evfio_log *log, int prio, const char *fmt, ...);

#define ev_err(l, ...) evfio_log((l), LOG_ERR, __VA_ARGS__)
#define ev_warn(l, ...) evfio_log((l), LOG_WARNING, __VA_ARGS__)
#define ev_info(l, ...) evfio_log((l), LOG_INFO, __VA_ARGS__)
#define ev_dbg(l, ...) evfio_log((l), LOG_DEBUG, __VA_ARGS__)

/* ---- selector.c ----------------------------------------------------- */

struct evfio_id {
	uint16_t vendor, device;
	bool has_subsys;
	uint16_t subvendor, subdevice;
};

struct evfio_addr {
	int domain, bus, slot, func;	/* -1 = any */
};

struct evfio_class {
	uint32_t value;		/* the prefix, right-aligned */
	unsigned int digits;	/* 2, 4 or 6 hex digits */
};

#define EVFIO_SERIAL_MAX 20	/* NVMe Identify Controller SN, bytes 4-23 */
#define EVFIO_MODEL_MAX 40	/* MN, bytes 24-63 */

/* What the matcher needs to know about a device. */
struct evfio_ident {
	unsigned int domain, bus, slot, func;
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class;		/* 24 bits: base, sub, prog-if */
	bool has_dsn;		/* PCIe Device Serial Number capability */
	uint64_t dsn;
	bool nvme_known;	/* serial and model below are read */
	char serial[EVFIO_SERIAL_MAX + 1];	/* trimmed */
	char model[EVFIO_MODEL_MAX + 1];
};

/* Mass storage, non-volatile memory, NVM Express: the only class that
 * speaks the NVMe register interface (010801 is NVMHCI, 010800 vendor). */
#define EVFIO_CLASS_NVME 0x010802

/* Exactly n (1 to 8) hex digits at s, nothing else read: *out (may be NULL)
 * gets the value. The one strict reader of fixed-width hex fields. */
bool evfio_hex(const char *s, size_t n, uint32_t *out);
/* Parse one token; on error return a static message and leave *out alone. */
const char *evfio_id_parse(const char *s, struct evfio_id *out);
const char *evfio_addr_parse(const char *s, struct evfio_addr *out);
const char *evfio_class_parse(const char *s, struct evfio_class *out);
/* serial: 1-20 printable ASCII, no blanks; model: 1-40 printable ASCII;
 * dsn: 8 hex bytes as lspci -vv prints them, "00-11-22-33-44-55-66-77". */
const char *evfio_serial_parse(const char *s, char *out, size_t max);
const char *evfio_dsn_parse(const char *s, uint64_t *out);
void evfio_dsn_format(uint64_t dsn, char buf[24]);
/* Copy a space-padded identify field, trimmed; bytes outside printable
 * ASCII become '?'. */
void evfio_trim_field(char *out, const void *field, size_t len);
bool evfio_is_nvme(const struct evfio_ident *d);

bool evfio_id_match(const struct evfio_id *id, const struct evfio_ident *d);
bool evfio_addr_match(const struct evfio_addr *a, const struct evfio_ident *d);
bool evfio_class_match(const struct evfio_class *c, const struct evfio_ident *d);

/* Split a value on spaces and commas; call fn for each token.  Returns the
 * first nonzero fn result, or 0. */
int evfio_for_each_token(const char *value,
			 int (*fn)(const char *tok, void *data), void *data);

/* ---- config.c ------------------------------------------------------- */

#define EVFIO_SRIOV_MAX 256	/* VFs a section can create (sriov-vfs) */

struct evfio_section {
	char name[EVFIO_NAME_MAX];
	int line;
	struct evfio_id *ids;
	size_t n_ids;
	struct evfio_addr *addrs;
	size_t n_addrs;
	struct evfio_class *classes;
	size_t n_classes;
	char (*serials)[EVFIO_SERIAL_MAX + 1];
	size_t n_serials;
	char model[EVFIO_MODEL_MAX + 1];	/* "": any */
	uint64_t *dsns;
	size_t n_dsns;
	unsigned int keys;	/* bitmask of EVFIO_KEY_* seen */
	bool allow_system;	/* allow-system-device = yes */
	bool allow_unrecorded;	/* allow-unrecorded = yes */
	bool skipped;		/* early-vfio.skip= on the command line */
	/* sriov-vfs, sriov-vfio (sriov.c): the selectors name a PF */
	unsigned int sriov_vfs;		/* VFs to create; 0: not an SR-IOV section */
	uint64_t sriov_vfio[EVFIO_SRIOV_MAX / 64];	/* VF indexes for the target */
	int sriov_vfs_line, sriov_vfio_line;
};

enum evfio_group_policy {
	EVFIO_GROUP_WARN,	/* bind, and warn about the rest of the group */
	EVFIO_GROUP_REFUSE,	/* bind only when the group is complete */
	EVFIO_GROUP_WHOLE,	/* take every endpoint of the group */
};

struct evfio_config {
	const char *path;
	char driver[EVFIO_NAME_MAX];
	bool unbind;
	enum evfio_group_policy group;
	unsigned int need;	/* EVFIO_SCAN_* the selectors need */
	struct evfio_section *sections;
	size_t n_sections;
	int n_errors;
	struct evfio_log *log;
};

/* An empty config with the defaults: no section, driver vfio-pci, unbind. */
void evfio_config_init(struct evfio_config *cfg, const char *path,
		       struct evfio_log *log);
/* Returns 0, -ENOENT when the file does not exist, -EINVAL when it has
 * errors (each one already reported as "path:line: message"), or another
 * -errno. */
int evfio_config_load(struct evfio_config *cfg, const char *path,
		      struct evfio_log *log);
int evfio_config_load_string(struct evfio_config *cfg, const char *name,
			     const char *text, struct evfio_log *log);
/* The same from size bytes that may hold NUL bytes (an error). */
int evfio_config_load_mem(struct evfio_config *cfg, const char *name,
			  const void *data, size_t size, struct evfio_log *log);
void evfio_config_free(struct evfio_config *cfg);
/* Mark sections named in a comma list as skipped; unknown names are
 * reported and ignored.  Returns the number of sections skipped. */
int evfio_config_skip(struct evfio_config *cfg, const char *list);
const struct evfio_section *
evfio_config_match(const struct evfio_config *cfg, const struct evfio_ident *d);
bool evfio_section_match(const struct evfio_section *s,
			 const struct evfio_ident *d);
/* The same without leaving out SR-IOV sections: does s select d (a PF)? */
bool evfio_section_selects(const struct evfio_section *s,
			   const struct evfio_ident *d);
/* The section selects by serial or model, which d does not show yet: it
 * matched on everything else and must be identified (identify.c). */
bool evfio_section_needs_nvme_id(const struct evfio_section *s,
				 const struct evfio_ident *d);

/* ---- pci.c ---------------------------------------------------------- */

/* Where a drive's serial number came from. */
enum evfio_id_src {
	EVFIO_ID_NONE,		/* not known */
	EVFIO_ID_VFIO,		/* Identify Controller through VFIO, now */
	EVFIO_ID_DRIVER,	/* the nvme driver's sysfs */
	EVFIO_ID_RECORD,	/* read at boot through VFIO (the record) */
};
const char *evfio_id_src_text(enum evfio_id_src src);

struct evfio_dev {
	char bdf[EVFIO_BDF_LEN];
	struct evfio_ident id;
	int iommu_group;			/* -1: none */
	char driver[EVFIO_NAME_MAX];		/* "" : none */
	char override[EVFIO_NAME_MAX];		/* "" : not set */
	uint8_t rev;
	char modalias[128];
	char class_name[64];			/* "SATA controller" */
	char dev_name[160];			/* vendor and device names */
	int sriov_numvfs;			/* -1: not an SR-IOV PF */
	uint8_t hdr_type;			/* config space header type (1: bridge) */
	bool boot_vga;				/* the firmware's console (boot_vga) */
	bool garbled;				/* ids in sysfs unreadable */
	bool group_only;			/* kept only as a group member */
	bool detailed;				/* pass 2 done */
	enum evfio_id_src id_src;		/* how id.serial was learnt */
	char id_error[192];			/* why it could not be */
	/* the review's verdict (safety.c) */
	const struct evfio_section *section;	/* NULL: not selected */
	bool via_group;				/* taken for iommu-group = whole */
	char refusal[512];			/* why it is not taken */
};

struct evfio_devlist {
	struct evfio_dev *devs;
	size_t n;
};

/* What a command wants from a scan. */
enum {
	EVFIO_SCAN_SUBSYS = 1 << 0,	/* selectors use subsystem ids */
	EVFIO_SCAN_PROGIF = 1 << 1,	/* selectors use 6-digit classes */
	EVFIO_SCAN_DSN = 1 << 2,	/* selectors use Device Serial Numbers */
	EVFIO_SCAN_NVME_ID = 1 << 3,	/* selectors use NVMe serial or model */
};

struct evfio_scan {
	unsigned int need;	/* EVFIO_SCAN_* for the keep() decision */
	bool names;		/* look up class and device names */
	bool groups;		/* also keep the rest of kept devices' groups */
	/* keep a device (ident and bdf filled)?  NULL keeps every device. */
	bool (*keep)(const struct evfio_sysfs *fs, struct evfio_dev *d,
		     void *data);
	void *data;
};

/* Scan every PCI function under the root with libpci (linux-sysfs method
 * forced); return the kept ones, sorted by address, fully filled.  Returns
 * 0 or -errno; on error nothing is returned. */
int evfio_pci_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		   const struct evfio_scan *how, struct evfio_devlist *out);
void evfio_devlist_free(struct evfio_devlist *l);
/* Re-read driver and driver_override of one device; -ENODEV when gone. */
int evfio_dev_refresh(const struct evfio_sysfs *fs, struct evfio_dev *d);
/* "0000:03:00.0 [8086:2922]" */
void evfio_dev_label(const struct evfio_dev *d, char *buf, size_t size);

/* ---- modules.c ------------------------------------------------------ */

struct evfio_modules;
/* root: "/" on the running system; otherwise modules are looked up under
 * root/lib/modules/<release> and never inserted. */
int evfio_modules_new(struct evfio_modules **m, const char *root,
		      struct evfio_log *log);
void evfio_modules_free(struct evfio_modules *m);
/* Make sure the PCI driver is registered, loading its module (with its
 * dependencies and modprobe.d options) when it is not. */
int evfio_modules_load_driver(struct evfio_modules *m,
			      const struct evfio_sysfs *fs, const char *driver,
			      bool dry_run);
/* Comma-separated module names that claim a modalias, as lspci -k. */
/* The device's host driver is built into the kernel (modules.builtin of
 * the running release under the root): it probes the device before the
 * initramfs runs.  warn says so and returns true. */
bool evfio_driver_builtin(const struct evfio_sysfs *fs, const char *driver,
			  char *release, size_t size);
bool evfio_builtin_warn(const struct evfio_sysfs *fs, struct evfio_log *log,
			const struct evfio_dev *d, const char *target);
int evfio_modules_for_alias(struct evfio_modules *m, const char *alias,
			    char *buf, size_t size);

/* ---- protect.c ------------------------------------------------------ */

struct evfio_protected {
	char bdf[EVFIO_BDF_LEN];
	char why[240];		/* "/ (root) (/dev/sda1)", control characters
				 * escaped (\012): one line in the record */
};

struct evfio_protlist {
	struct evfio_protected *v;
	size_t n;
	bool known;		/* what / is on was told apart (or recorded) */
	char unknown_why[160];	/* why not */
	bool doubt;		/* a source could not be read: what it would
				 * have protected is not known (fail closed) */
	char doubt_why[160];	/* the first such source */
};

#define EVFIO_PROTECTED_FILE "etc/early-vfio.protected"

/* From the running system under the root: every device-backed or network
 * mount, active swap, and /etc/fstab's entries the next boot mounts.
 * -errno when the mounts cannot be read: then nothing can be told. */
int evfio_protect_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
		       struct evfio_protlist *l);
/* From /etc/fstab alone: an image built in a chroot, where the mounts are
 * another system's.  l->known only when / and every entry were found. */
int evfio_protect_scan_fstab(const struct evfio_sysfs *fs, struct evfio_log *log,
			     struct evfio_protlist *l);
int evfio_protect_add(struct evfio_protlist *l, const char *bdf, const char *why);

/* One line of /proc/self/mountinfo, its fields unescaped. */
struct evfio_mount {
	char point[256];
	char devnum[32];	/* "8:1"; "0:N" for btrfs, ZFS, the network */
	char fstype[32];
	char source[256];
};
bool evfio_mountinfo_line(char *line, struct evfio_mount *m);
/* Undo the octal escapes of mountinfo and /proc/swaps (\040 a space). */
void evfio_unescape_octal(char *s);
/* Add the entries of a recorded list (root-relative path). */
int evfio_protect_load(const struct evfio_sysfs *fs, const char *path,
		       struct evfio_protlist *l);
void evfio_protect_print(FILE *f, const struct evfio_protlist *l);
const char *evfio_protect_why(const struct evfio_protlist *l, const char *bdf);
void evfio_protect_free(struct evfio_protlist *l);
/* The walk protect uses, for list and add: a /dev path ("/dev/nvme1n1",
 * "/dev/mapper/vg-root", a /dev/disk/by-id link) to its kernel name; the
 * PCI devices under a block device (through partitions, md, dm, NVMe
 * multipath; bridges on the way included), added to l with why. */
bool evfio_block_name(const struct evfio_sysfs *fs, const char *dev, char *name,
		      size_t size);
int evfio_block_pci(const struct evfio_sysfs *fs, struct evfio_log *log,
		    const char *name, const char *why, struct evfio_protlist *l);

/* ---- record.c ------------------------------------------------------- */

#define EVFIO_RECORD_FILE "etc/early-vfio.record"	/* in the image */
#define EVFIO_RECORD_HOST "var/lib/early-vfio/record"	/* the last one built */
#define EVFIO_RECORD_STAGED "var/lib/early-vfio/record.new"	/* the hook's, before the build ends */

/* Who a device is, as far as sysfs and its config space tell. */
struct evfio_identity {
	char bdf[EVFIO_BDF_LEN];
	bool selected;			/* else protected */
	bool has_ids;			/* false: only the address is known */
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class;
	uint8_t rev;
	bool has_dsn;
	uint64_t dsn;
	char serial[EVFIO_SERIAL_MAX + 1];	/* NVMe; "" unknown */
	char note[240];			/* why protected, or "[section]" */
};

struct evfio_record {
	struct evfio_identity *v;
	size_t n;
	bool present;		/* a record was read */
	bool chroot;		/* built in a chroot: no device identities */
	bool known;		/* what the system runs from was found */
	char unknown_why[160];
};

/* How a selected device compares with the record. */
enum evfio_match {
	EVFIO_MATCH_UNRECORDED,	/* no record, or one without identities */
	EVFIO_MATCH_SAME,	/* the recorded device (maybe moved, if unique) */
	EVFIO_MATCH_CHANGED,	/* another device at the recorded address */
	EVFIO_MATCH_NEW,	/* not selected when the image was built */
	EVFIO_MATCH_PROTECTED,	/* a device the system needed, moved here */
	EVFIO_MATCH_UNREAD,	/* recorded with a serial not read yet */
};

void evfio_identity_of(const struct evfio_dev *d, struct evfio_identity *id);
/* "[1b36:0010] subsystem 1af4:1100 class 010802 rev 02 serial X" */
void evfio_identity_text(const struct evfio_identity *id, char *buf, size_t size);
int evfio_record_add(struct evfio_record *rec, const struct evfio_identity *id);
void evfio_record_print(FILE *f, const struct evfio_record *rec);
/* -ENOENT when there is none; lines that are not ours are ignored. */
int evfio_record_load(const struct evfio_sysfs *fs, const char *path,
		      struct evfio_record *rec);
int evfio_record_load_mem(const void *data, size_t size, struct evfio_record *rec);
void evfio_record_free(struct evfio_record *rec);
const struct evfio_identity *evfio_record_at(const struct evfio_record *rec,
					     const char *bdf, bool selected);
/* unique_selector: d was selected by its serial or DSN, which is then its
 * identity wherever it sits.  *which: the record's entry compared with. */
enum evfio_match evfio_record_match(const struct evfio_record *rec,
				    const struct evfio_dev *d, bool unique_selector,
				    const struct evfio_identity **which);

/* ---- safety.c ------------------------------------------------------- */

/* Why the target driver cannot take this device, or NULL when it can. */
const char *evfio_safety_refusal(const struct evfio_dev *d);
/* check: a warning for each device behind an Intel VMD controller (PCI
 * domain above ffff) that a section selects: such devices are never
 * scanned or bound one by one.  Returns how many. */
int evfio_vmd_review(const struct evfio_sysfs *fs, struct evfio_log *log,
		     const struct evfio_config *cfg);
bool evfio_iommu_present(const struct evfio_sysfs *fs);
bool evfio_is_bridge(const struct evfio_dev *d);
struct evfio_ctx;
/* The review, before anything moves: refuse what must not be taken, apply
 * the IOMMU group policy (which may select more devices).  It can run
 * again after identification: the verdicts of a previous run are reset
 * first.  NVMe candidates (serial not read yet) count as selected, but
 * pull no group member in until they are identified.  Only the final
 * review logs (warnings, joined group members).  Returns the number
 * of problems an admin must fix (protected devices selected without
 * allow-system-device). */
int evfio_safety_review(struct evfio_ctx *c, struct evfio_devlist *l, bool final);
/* d is to be identified (its NVMe serial read) before it can be bound: a
 * serial or model section's candidate, or, at boot, a drive the record
 * names with a serial. */
bool evfio_needs_identity(const struct evfio_ctx *c, const struct evfio_dev *d);
/* What a member means for its IOMMU group, by the review's rule (shared
 * with list): a PCI bridge on pcieport or no driver leaves it usable, a
 * chipset function (bridge class, header type 0, or on a host driver)
 * keeps it from a VM, anything else is an endpoint to pass with it. */
enum evfio_member {
	EVFIO_MEMBER_BRIDGE,
	EVFIO_MEMBER_ENDPOINT,
	EVFIO_MEMBER_CHIPSET,
};
enum evfio_member evfio_group_member(const struct evfio_dev *o);

/* ---- bind.c --------------------------------------------------------- */

struct evfio_ctx {
	struct evfio_log log;
	struct evfio_sysfs fs;
	struct evfio_config cfg;
	struct evfio_modules *mods;
	struct evfio_protlist prot;
	struct evfio_record rec;	/* what the image was built for */
	struct evfio_deadline deadline;
	bool dry_run;
	bool enforce_record;		/* bind: refuse what the record does not say */
	const struct evfio_pve *pve;	/* list: Proxmox VE's VMs, or NULL */
};

enum evfio_result {
	EVFIO_BOUND,		/* now on the target driver */
	EVFIO_ALREADY,		/* was already on it: nothing written */
	EVFIO_PLANNED,		/* dry run */
	EVFIO_REFUSED,		/* not touched, reason logged */
	EVFIO_RETURNED,		/* bind failed, back on its host driver */
	EVFIO_LOST,		/* bind failed and no driver took it back */
};

/* Which step of a move failed. */
enum evfio_stage {
	EVFIO_STAGE_NONE,	/* it did not fail */
	EVFIO_STAGE_TIME,	/* not started: too little time left */
	EVFIO_STAGE_GONE,	/* the device is gone */
	EVFIO_STAGE_READ,	/* its driver or override cannot be read */
	EVFIO_STAGE_OVERRIDE,	/* writing driver_override */
	EVFIO_STAGE_UNBIND,	/* unbinding its driver */
	EVFIO_STAGE_PROBE,	/* drivers_probe */
	EVFIO_STAGE_TARGET,	/* the target driver did not take it */
};

struct evfio_move {
	enum evfio_result result;
	enum evfio_stage stage;
	int err;			/* -errno of the failed step */
	char from[EVFIO_NAME_MAX];	/* its driver when the move began */
};

/* The least time a move needs; a move is not started with less left. */
#define EVFIO_MOVE_RESERVE_MS 1000

/* Move d to the target driver: re-read its driver and override, write the
 * override, unbind what holds it, probe.  On failure it is given back to
 * the driver it was on.  Quiet: the caller logs (see evfio_bind_device). */
enum evfio_result evfio_move_to_target(struct evfio_ctx *c, struct evfio_dev *d,
				       struct evfio_move *m);
/* Give d back: clear our override, unbind it from the target, probe; if
 * nothing took it and to is a driver, bind it there.  Runs whatever the
 * deadline says (it restores).  0, or -errno of the step that failed. */
int evfio_move_back(struct evfio_ctx *c, struct evfio_dev *d, const char *to);
/* Set driver_override to the target on a device no driver holds, without
 * probing it: no other driver may take it (nvme's driver_attach when its
 * module is loaded).  -EBUSY when a driver holds it. */
int evfio_hold_for_target(struct evfio_ctx *c, struct evfio_dev *d);
/* Bind one selected device and log the outcome.  moved_from: the device
 * was moved to the target before (to read its serial) from that driver
 * ("" for none); NULL otherwise. */
enum evfio_result evfio_bind_device(struct evfio_ctx *c, struct evfio_dev *d,
				    const char *moved_from);
/* A refused device is left as it is; an override of ours is cleared. */
void evfio_leave_refused(struct evfio_ctx *c, struct evfio_dev *d);
int evfio_release_device(struct evfio_ctx *c, struct evfio_dev *d);
const char *evfio_stage_text(enum evfio_stage stage);

/* SR-IOV writes for sriov.c: a PF's sriov_drivers_autoprobe and
 * sriov_numvfs (-errno as the kernel returns it: -ERANGE above
 * sriov_totalvfs, -ENOENT without a driver, -EBUSY with VFs enabled).  A VF
 * with no driver to the target: driver_override, drivers_probe, checked
 * (else cleared again; a VF on another driver is never unbound: -EBUSY); a
 * VF left to the host probed without override; a VF's override of ours
 * cleared and the target unbound. */
int evfio_sriov_set_autoprobe(struct evfio_ctx *c, const char *pf, bool on);
int evfio_sriov_set_numvfs(struct evfio_ctx *c, const char *pf, unsigned int n);
int evfio_vf_to_target(struct evfio_ctx *c, struct evfio_dev *vf);
int evfio_vf_to_host(struct evfio_ctx *c, struct evfio_dev *vf);
void evfio_vf_clear(struct evfio_ctx *c, struct evfio_dev *vf);

/* ---- sriov.c -------------------------------------------------------- */

struct evfio_opts;

/* config.c hands over the values of sriov-vfs (vfs) and sriov-vfio: NULL,
 * or what is wrong with the value. */
const char *evfio_sriov_parse_key(struct evfio_section *s, bool vfs,
				  const char *value, int line);
/* The section's SR-IOV keys agree; else a message and its *line. */
const char *evfio_sriov_check_section(const struct evfio_section *s, int *line);
bool evfio_sriov_wants_vfio(const struct evfio_section *s, unsigned int idx);
/* bdf is a VF: its PF and index (-1 when not found among the PF's
 * virtfnN); -ENOENT when it is not a VF. */
int evfio_vf_of(const struct evfio_sysfs *fs, const char *bdf,
		char pf[EVFIO_BDF_LEN], int *index);
/* "VF 0 of 0000:00:06.0", or "PF, 3 of 4 VFs enabled, [nvme-vfs] asks for
 * 3: 00:06.1, 00:06.2, 00:06.3" (status, list); false when d is neither. */
bool evfio_sriov_text(const struct evfio_ctx *c, const struct evfio_dev *d,
		      char *buf, size_t size);
/* add of a VF (l: the full scan): 0 when vf is no VF; 2 with the keys of
 * an SR-IOV section for its PF in keys (its VFs as many as now, this one
 * for the target) and why in how; 1 when a section takes it already, a
 * -errno when it cannot be added (how says why). */
int evfio_sriov_add_keys(const struct evfio_ctx *c, const struct evfio_devlist *l,
			 const struct evfio_dev *vf, char *keys, size_t ksize,
			 char *how, size_t hsize);
/* check: the PFs an SR-IOV section selects, each with its VFs and what
 * would keep vfs from making them (a warning each); how many PFs. */
size_t evfio_sriov_check_print(struct evfio_ctx *c, const struct evfio_section *sec,
			       int *warnings);
/* The config has an SR-IOV section that is not skipped. */
bool evfio_config_has_sriov(const struct evfio_config *cfg);
/* vfs [ADDRESS...]: make the VFs of every PF an SR-IOV section selects (or
 * of those at ADDRESS, as the udev rule passes it).  An EVFIO_EXIT_* code. */
int evfio_cmd_vfs(struct evfio_ctx *c, struct evfio_opts *o);
/* boot, after the bind (same config, same deadline): the PFs of SR-IOV
 * sections, their driver loaded when the image has it, get their VFs.
 * A PF without its driver is left to the udev rule.  0 or -errno. */
int evfio_sriov_boot(struct evfio_ctx *c);

/* ---- vfio.c --------------------------------------------------------- */

struct evfio_vfio_region {
	uint64_t offset, size;
};

struct evfio_iova_range {
	uint64_t start, end;	/* inclusive, as VFIO reports them */
};

#define EVFIO_IOVA_RANGES 8

struct evfio_vfio {
	int container, group, device;
	struct evfio_vfio_region config, bar0;
	size_t page_size;	/* the host's (4 KiB, 64 KiB on some arm64) */
	struct evfio_iova_range ranges[EVFIO_IOVA_RANGES];
	size_t n_ranges;	/* 0: the IOMMU did not say (before 5.4) */
};

void evfio_vfio_init(struct evfio_vfio *v);
/* Open d (bound to vfio-pci) through its IOMMU group; on failure *why says
 * what is missing. */
int evfio_vfio_open(struct evfio_vfio *v, const struct evfio_sysfs *fs,
		    const struct evfio_dev *d, const char **why);
void evfio_vfio_close(struct evfio_vfio *v);
int evfio_vfio_bar_read32(struct evfio_vfio *v, uint64_t off, uint32_t *val);
int evfio_vfio_bar_write32(struct evfio_vfio *v, uint64_t off, uint32_t val);
int evfio_vfio_cfg_read16(struct evfio_vfio *v, uint64_t off, uint16_t *val);
int evfio_vfio_cfg_write16(struct evfio_vfio *v, uint64_t off, uint16_t val);
/* Function reset through VFIO (VFIO_DEVICE_RESET). */
int evfio_vfio_reset(struct evfio_vfio *v);
/* Anonymous memory of size bytes (a multiple of the page size) mapped for
 * the device at an iova the IOMMU allows (*iova). */
int evfio_vfio_dma_alloc(struct evfio_vfio *v, size_t size, uint64_t *iova,
			 void **mem);
void evfio_vfio_dma_free(struct evfio_vfio *v, void *mem, size_t size,
			 uint64_t iova);
/* The lowest iova, a multiple of align and not 0, with size bytes free in
 * one of the ranges; -ENOSPC when none has room. */
int evfio_vfio_pick_iova(const struct evfio_iova_range *r, size_t n,
			 uint64_t size, uint64_t align, uint64_t *iova);

/* ---- nvme.c --------------------------------------------------------- */

/* One Identify Controller through VFIO, as a state machine: begin, poll
 * until it is not -EAGAIN, end.  Several controllers are polled side by
 * side, so N drives take about as long as one. */
struct evfio_nvme_job {
	struct evfio_vfio *v;
	int state;
	int err;			/* 0, or -errno once it failed */
	const char *why;		/* and why */
	uint64_t deadline;		/* of the current step (evfio_now_ms) */
	uint64_t limit_ms;		/* CAP.TO bound for one state change */
	uint64_t end;			/* of the whole job */
	size_t page;
	uint64_t iova;
	void *mem;
	uint16_t command;		/* PCI command register as found */
	uint32_t stride;		/* doorbell stride */
	bool enabled;			/* CC.EN written since begin */
	struct evfio_ident *id;		/* filled on success */
};

/* Start: bus mastering on, DMA mapped, the controller disabled. */
int evfio_nvme_job_begin(struct evfio_nvme_job *j, struct evfio_vfio *v,
			 uint64_t end, struct evfio_ident *id);
/* One step: -EAGAIN while in progress, then 0 or the error (j->why). */
int evfio_nvme_job_poll(struct evfio_nvme_job *j);
/* Teardown, whatever happened: bus mastering off first; a controller that
 * did not stop is reset through VFIO; then the DMA is unmapped and the
 * command register restored. */
void evfio_nvme_job_end(struct evfio_nvme_job *j);
/* One controller, start to end (status' live query, the unit tests). */
int evfio_nvme_identify_vfio(struct evfio_vfio *v, unsigned int timeout_ms,
			     struct evfio_ident *id, const char **why);
/* From the nvme driver's sysfs; -EAGAIN while the controller is not live,
 * -ENOENT when the nvme driver does not hold it. */
int evfio_nvme_identify_sysfs(const struct evfio_sysfs *fs, const char *bdf,
			      struct evfio_ident *id);

/* ---- moving.c: the moves in progress (a killed run's, given back) ---- */

#define EVFIO_MOVING_FILE "run/early-vfio/moving"
/* Replace the list with text ("BDF\tDRIVER\n" lines); "" removes it. */
int evfio_moving_save(struct evfio_ctx *c, const char *text);
/* Give back what an earlier, killed run listed and l does not select
 * (l NULL: everything listed); then the list is removed. */
void evfio_moving_recover(struct evfio_ctx *c, struct evfio_devlist *l);

/* ---- identify.c ----------------------------------------------------- */

#define EVFIO_ID_RECORD_DIR "run/early-vfio"
#define EVFIO_ID_RECORD_FILE "run/early-vfio/nvme-ids"

#define EVFIO_ID_PARALLEL 8	/* controllers asked at once */

/* Read the serial and model of NVMe controllers that vfio-pci holds,
 * through VFIO, side by side, each within its share of the deadline (and
 * leaving reserve_ms of it).  Fills d->id and d->id_src, or d->id_error.
 * Returns how many were identified.  Writes nothing to sysfs. */
size_t evfio_identify_vfio(struct evfio_ctx *c, struct evfio_dev **devs,
			   size_t n, uint64_t reserve_ms);
/* The same from the nvme driver's sysfs, waiting (bounded) for each
 * controller to become live, side by side. */
size_t evfio_identify_driver(struct evfio_ctx *c, struct evfio_dev **devs,
			     size_t n, uint64_t reserve_ms);
/* status, check, bind -n: what can be known without moving a device: the
 * nvme driver's sysfs, the boot's record, and with live a VFIO query of a
 * controller idle on vfio-pci.  Re-matches identified devices. */
void evfio_identify_known(struct evfio_ctx *c, struct evfio_devlist *l,
			  bool live, bool warn);
/* After identification: the section that really takes d, if any. */
void evfio_identify_rematch(struct evfio_ctx *c, struct evfio_dev *d);
/* /run/early-vfio/nvme-ids: the serials read at boot, for status. */
void evfio_identify_record(struct evfio_ctx *c, const struct evfio_devlist *l);
/* A section's serials (and model) that no identified controller has. */
void evfio_identify_warn_unmatched(struct evfio_ctx *c,
				   const struct evfio_devlist *l, size_t unread);

/* ---- initramfs.c --------------------------------------------------- */

/* Unpack image and report whether early-vfio will run from it. */
int evfio_initramfs_check(const char *image, const char *config,
			  struct evfio_log *log);

/* ---- output.c ------------------------------------------------------- */

void evfio_print_status(FILE *f, struct evfio_ctx *c,
			const struct evfio_devlist *l, bool all);
void evfio_print_status_json(FILE *f, struct evfio_ctx *c,
			     const struct evfio_devlist *l, bool all);
/* The line lspci -nn prints for d: "00:1f.2 SATA controller [0106]: Intel
 * Corporation 82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI
 * mode] [8086:2922] (rev 02)"; with domain, the slot as lspci -D prints it.
 * class_name and dev_name hold libpci's names without numbers; libpci's
 * fallbacks ("Class 0106", "Intel Corporation Device 0d57", "Unassigned
 * class [ffff]") become lspci -nn's. */
void evfio_dev_lspci(const struct evfio_dev *d, bool domain, char *buf,
		     size_t size);
/* "00:1f.2", or "0000:00:1f.2" with domain */
void evfio_dev_slot(const struct evfio_dev *d, bool domain, char *buf,
		    size_t size);
/* A JSON string (null for NULL or ""). */
void evfio_json_str(FILE *f, const char *s);

/* ---- commands.c ----------------------------------------------------- */

struct evfio_opts {
	const char *config;
	const char *sysroot;
	const char *skip;
	const char *initramfs;
	int level;
	bool dry_run, json, all, offline, chroot;
	unsigned int timeout;
	char **args;		/* after the command (release: addresses) */
	int nargs;
	const char *name;	/* add --name */
	const char *vm;		/* add --vm VMID */
	bool yes;		/* apply --yes: write the boot loader's command line */
};

/* Each returns an EVFIO_EXIT_* code. */
int evfio_cmd_bind(struct evfio_ctx *c, struct evfio_opts *o);
/* boot.c: the kernel command line, then bind in a child bounded in time;
 * always EVFIO_EXIT_OK (the boot goes on). */
int evfio_cmd_boot(struct evfio_ctx *c, struct evfio_opts *o);
int evfio_cmd_status(struct evfio_ctx *c, struct evfio_opts *o);
int evfio_cmd_check(struct evfio_ctx *c, struct evfio_opts *o);
int evfio_cmd_protected(struct evfio_ctx *c, struct evfio_opts *o);
int evfio_cmd_record(struct evfio_ctx *c, struct evfio_opts *o);
int evfio_cmd_release(struct evfio_ctx *c, struct evfio_opts *o);
/* For list, add, remove and apply: the config (*missing: there is none,
 * the defaults are used), every PCI device with its names, the
 * protections, what is known of NVMe serials without moving anything
 * (live: also asking a drive idle on vfio-pci), and the review's verdicts
 * (quiet), as status -a sees them.  An EVFIO_EXIT_* code; as for check, a
 * failure when the mounts cannot be read (nothing could be said). */
int evfio_cmd_survey(struct evfio_ctx *c, struct evfio_opts *o,
		     struct evfio_devlist *l, bool *missing, bool live);

/* ---- inventory.c ---------------------------------------------------- */

struct evfio_disk {
	char name[EVFIO_NAME_MAX];	/* "nvme1n1" */
	char bdf[EVFIO_BDF_LEN];	/* the PCI function it is behind */
	uint64_t bytes;
	char model[EVFIO_MODEL_MAX + 1];	/* "" : unknown */
	char serial[EVFIO_SERIAL_MAX + 1];	/* NVMe; "" : unknown */
	char mounts[320];		/* "/ (sda1)\n/boot (sda2)" */
};

struct evfio_netif {
	char name[EVFIO_NAME_MAX];	/* "enp5s0" */
	char bdf[EVFIO_BDF_LEN];
};

struct evfio_inventory {
	struct evfio_disk *disks;
	size_t n_disks;
	struct evfio_netif *nets;
	size_t n_nets;
};

/* Disks (with what is mounted from them and swap) and network interfaces,
 * each with the endpoint of l it sits behind (a disk behind a USB
 * controller is listed under it).  Reads only. */
int evfio_inventory_scan(const struct evfio_sysfs *fs, struct evfio_log *log,
			 const struct evfio_devlist *l, struct evfio_inventory *inv);
void evfio_inventory_free(struct evfio_inventory *inv);
/* The device is in a slot behind a bridge (a card), not integrated in the
 * root complex, whose functions are separate devices (00:1f.x). */
bool evfio_dev_on_card(const struct evfio_sysfs *fs, const struct evfio_dev *d);

/* What a DEVICE argument of add or remove names. */
enum evfio_arg_kind {
	EVFIO_ARG_ADDRESS,	/* "03:00.0", "0000:03:00.*" */
	EVFIO_ARG_BLOCK,	/* "/dev/nvme1n1", "/dev/sdc1", "/dev/mapper/x" */
	EVFIO_ARG_NETIF,	/* "enp5s0" */
};

struct evfio_target {
	enum evfio_arg_kind kind;
	char what[160];		/* "disk nvme1n1", "interface enp5s0" */
	size_t *idx;		/* the endpoints of l it names */
	size_t n;
};

/* Resolve arg against l (a full scan).  -ENODEV when it names no PCI
 * device, -EINVAL when it is no address, block device or interface: then
 * t->what says why.  Bridges on the way to a disk are not in the result. */
int evfio_resolve(const struct evfio_sysfs *fs, struct evfio_log *log,
		  const struct evfio_devlist *l, const char *arg,
		  struct evfio_target *t);
void evfio_target_free(struct evfio_target *t);

/* ---- list.c --------------------------------------------------------- */

int evfio_cmd_list(struct evfio_ctx *c, struct evfio_opts *o);
/* Why d keeps its IOMMU group from a VM, with what to do (it holds the
 * running system; a platform bridge on a host driver, which VFIO counts;
 * vfio-pci refuses it), or NULL when it does not. */
const char *evfio_group_blocker(const struct evfio_ctx *c, const struct evfio_dev *d,
				char *buf, size_t size);

/* ---- confedit.c ----------------------------------------------------- */

/* The config file as bytes, and what it was (owner, mode, whether it
 * existed) so that it is replaced as it was. */
struct evfio_conftext {
	char *text;		/* NUL-terminated; "" when the file is absent */
	size_t len;
	bool exists;
	unsigned int uid, gid, mode;
};

/* An exclusive flock(2) on the config's directory, held while a command
 * reads, checks and replaces the file: concurrent adds and removes take
 * turns.  Waits up to timeout_s.  Returns the lock's fd or -errno. */
int evfio_conf_lock(const char *path, unsigned int timeout_s);
void evfio_conf_unlock(int fd);
int evfio_conf_read(const char *path, struct evfio_conftext *t);
void evfio_conf_free(struct evfio_conftext *t);
/* Device section names in the text, as the parser reads headers. */
bool evfio_conf_has_section(const char *text, const char *name);
/* A new text: text, one blank line, block (malloc'd; NULL on ENOMEM). */
char *evfio_conf_append(const char *text, const char *block);
/* A new text without section name: its header, its lines, the comment
 * block right above its header; the rest byte for byte.  *removed (may be
 * NULL) gets the removed lines.  NULL when there is no such section (or
 * on ENOMEM: errno). */
char *evfio_conf_remove(const char *text, const char *name, char **removed);
/* Replace the file with text: a temporary file in its directory with the
 * old owner and mode (a new file: the caller's, 0644), fsync, rename over
 * it, fsync the directory.  A symlink is followed: its target is replaced.
 * -errno. */
int evfio_conf_write(const char *path, const struct evfio_conftext *old,
		     const char *text);

/* ---- add.c ---------------------------------------------------------- */

/* DEVICE... (or SECTION...) in o->args */
int evfio_cmd_add(struct evfio_ctx *c, struct evfio_opts *o);
int evfio_cmd_remove(struct evfio_ctx *c, struct evfio_opts *o);

/* ---- apply.c -------------------------------------------------------- */

int evfio_cmd_apply(struct evfio_ctx *c, struct evfio_opts *o);

/* ---- pve.c ---------------------------------------------------------- */

/* One device of a VM's hostpciN line (by address, or one path of a
 * mapping on this node). */
struct evfio_pve_use {
	unsigned int vmid;
	unsigned int slot;		/* N of hostpciN */
	bool onboot;			/* onboot: 1 */
	bool mdev;			/* mdev=: the host driver keeps the parent */
	bool unresolved;		/* mapping without an entry for this node */
	char mapping[EVFIO_NAME_MAX];	/* "": by address */
	struct evfio_addr addr;		/* func -1: every function of the slot */
	char path[16];			/* as written: "0a:00", "0000:0a:00.0" */
};

/* One path of a mapping's map entry for this node (pci.cfg). */
struct evfio_pve_map {
	char name[EVFIO_NAME_MAX];
	int line;
	struct evfio_addr addr;
	char path[16];
	bool first;			/* first path: PVE checks its iommugroup */
	bool has_id, has_subsys;
	uint16_t vendor, device, subvendor, subdevice;
	int iommugroup;			/* -1: not given */
};

struct evfio_pve {
	bool present;			/* /etc/pve/qemu-server exists */
	char node[64];
	struct evfio_pve_use *uses;	/* by vmid, then N */
	size_t n_uses;
	struct evfio_pve_map *maps;
	size_t n_maps;
};

/* Read the VMs' configs and this node's mappings under the root; p->present
 * false (and 0) on a host without /etc/pve.  Lines it cannot use are
 * warned about (file:line) and skipped.  -errno. */
int evfio_pve_load(const struct evfio_sysfs *fs, struct evfio_log *log,
		   struct evfio_pve *p);
void evfio_pve_free(struct evfio_pve *p);
/* The next use of d from *it (start at 0), or NULL. */
const struct evfio_pve_use *evfio_pve_next_use(const struct evfio_pve *p,
					       const struct evfio_dev *d, size_t *it);
/* "VM 100 (hostpci0, mapping gpu), starts on boot (onboot: 1)" */
void evfio_pve_use_text(const struct evfio_pve_use *u, char *buf, size_t size);
/* check: each mapping's id, subsystem-id and IOMMU group against the
 * hardware; VMs that start on boot with a device early-vfio leaves to its
 * host driver.  Returns the number of warnings. */
int evfio_pve_check(struct evfio_ctx *c);

/* ---- esp.c ---------------------------------------------------------- */

enum evfio_loader {
	EVFIO_LOADER_UNKNOWN,
	EVFIO_LOADER_GRUB,		/* GRUB from /boot, update-grub */
	EVFIO_LOADER_PBT_SDBOOT,	/* proxmox-boot-tool, systemd-boot */
	EVFIO_LOADER_PBT_GRUB,		/* proxmox-boot-tool, GRUB on the ESPs */
};

/* Every ESP of /etc/kernel/proxmox-boot-uuids, mounted read-only in turn:
 * each kernel's initrd there against /boot's (missing, older), loader
 * entries with more than one initrd, and with config each image through
 * evfio_initramfs_check.  *loader (may be NULL): the layout the ESPs use
 * (UNKNOWN without the file).  Returns the number of problems (warned). */
int evfio_esp_check(struct evfio_ctx *c, const char *config, enum evfio_loader *loader);
/* /etc/kernel/cmdline differs from /proc/cmdline (the loader's own words
 * aside): 1, warned; else 0. */
int evfio_cmdline_drift(struct evfio_ctx *c);

#endif
