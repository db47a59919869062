// SPDX-License-Identifier: MIT
/*
 * gen-sysfs - write a synthetic fake sysfs tree of N PCI functions for the benchmarks,
 * in the layout of tests/fakesys/fakesys.sh (so early-vfio, libpci and fakekernel.so see
 * what they see in the tests), plus ROOT/early-vfio.conf selecting a few percent of them.
 *
 *   gen-sysfs ROOT N      ROOT must not exist yet; it is created.
 *
 * fakesys.sh spends ~40 forks per device; this writes the same files directly, so 50,000
 * functions take seconds, not hours.  Output is deterministic (fixed seed): the same N
 * always gives the same tree.
 *
 * Topology: per PCI domain, bus 00 holds the chipset (host bridge, root ports, xHCI, AHCI,
 * LPC, SMBus); every other bus holds one card, picked by weight from:
 *   NVMe SSD (nvme), SATA HBA (ahci), USB 3 card (xhci_hcd), GPU + HDMI audio (amdgpu /
 *   snd_hda_intel, one IOMMU group) or compute GPU (nouveau), quad-port NIC (igb, one group), PCIe switch port
 *   (pcieport), and SR-IOV NICs: 2 PFs (ixgbe / i40e / mlx5_core, sriov_numvfs set) and
 *   their VFs (ixgbevf / iavf / mlx5_core; 4 to 32 per PF) in slots 01-1f of the same bus.
 * The function count stops at exactly N (the last card may be cut short).
 *
 * Devices live flat in sys/devices/pciDDDD:00/BDF (like fakesys.sh's pci0000:00), with
 * relative links sys/bus/pci/devices/BDF, BDF/driver, BDF/iommu_group, BDF/subsystem,
 * sys/bus/pci/drivers/DRV/BDF and sys/kernel/iommu_groups/G/devices/BDF; the host driver of
 * each function is recorded in ROOT/.fakesys/host/BDF for fakekernel.so.
 *
 * The config selects (documented in tests/bench/README.md):
 *   [nvme-samsung]  ids = 144d:a80a                 (about a quarter of the NVMe drives)
 *   [gpu]           ids = 1002:73bf 1002:ab28       (every AMD GPU and its audio function;
 *                                                    the other half are NVIDIA compute cards)
 *   [usb-card]      class = 0c0330 + address of every 4th USB card's bus (BB:00.*)
 *   [vf-guests]     address = explicit VF addresses, one per 50 VFs
 * ROOT/.bench/meta holds N, per-kind counts and the number of selected functions, for the
 * runner's sanity check against early-vfio's "N selected" summary.
 *
 * Build: cc -O2 -o gen-sysfs gen-sysfs.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[4096];
static FILE *conf_addr_vf, *conf_addr_usb;
static unsigned long n_sel, n_vf_sel_addr, n_usb_sel_addr;
static unsigned long kind_count[16];
static int next_group = 1;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "gen-sysfs: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	va_end(ap);
	exit(1);
}

static void mkd(const char *fmt, ...)
{
	char p[8200], rel[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (mkdir(p, 0755) && errno != EEXIST)
		die("mkdir %s", p);
}

static void put(const void *data, size_t len, const char *fmt, ...)
{
	char p[8200], rel[4096];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || (len && write(fd, data, len) != (ssize_t)len) || close(fd))
		die("write %s", p);
}

static void puts_(const char *s, const char *fmt, ...)
{
	char rel[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	put(s, strlen(s), "%s", rel);
}

static void lnk(const char *target, const char *fmt, ...)
{
	char p[8200], rel[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	if (symlink(target, p))
		die("symlink %s", p);
}

static void driver(const char *d)
{
	char p[4400];

	snprintf(p, sizeof(p), "%s/sys/bus/pci/drivers/%s", root, d);
	if (!access(p, F_OK))
		return;
	mkd("sys/bus/pci/drivers/%s", d);
	put("", 0, "sys/bus/pci/drivers/%s/bind", d);
	put("", 0, "sys/bus/pci/drivers/%s/unbind", d);
	put("", 0, "sys/bus/pci/drivers/%s/new_id", d);
	put("", 0, "sys/bus/pci/drivers/%s/remove_id", d);
	put("", 0, "sys/bus/pci/drivers/%s/uevent", d);
}

struct fn {
	unsigned int dom, bus, slot, func;
	unsigned int ven, dev, sven, sdev, cls, rev;
	const char *drv;	/* host driver, NULL = none */
	int group;		/* 0 = a new group */
	int sriov_total, sriov_num;	/* PF when sriov_total > 0 */
	int selected;
};

static int add_fn(const struct fn *f)
{
	char bdf[16], d[64], buf[1024], cfg[256];
	int group = f->group ? f->group : next_group++;
	size_t o = 0;

	snprintf(bdf, sizeof(bdf), "%04x:%02x:%02x.%u", f->dom, f->bus, f->slot, f->func);
	snprintf(d, sizeof(d), "sys/devices/pci%04x:00/%s", f->dom, bdf);
	mkd("sys/devices/pci%04x:00", f->dom);
	mkd("%s", d);
#define ATTR(name, ...) do { snprintf(buf, sizeof(buf), __VA_ARGS__); \
		puts_(buf, "%s/" name, d); } while (0)
	ATTR("vendor", "0x%04x\n", f->ven);
	ATTR("device", "0x%04x\n", f->dev);
	ATTR("subsystem_vendor", "0x%04x\n", f->sven);
	ATTR("subsystem_device", "0x%04x\n", f->sdev);
	ATTR("class", "0x%06x\n", f->cls);
	ATTR("revision", "0x%02x\n", f->rev);
	ATTR("modalias", "pci:v0000%04Xd0000%04Xsv0000%04Xsd0000%04Xbc%02Xsc%02Xi%02X\n",
	     f->ven, f->dev, f->sven, f->sdev, f->cls >> 16, (f->cls >> 8) & 0xff, f->cls & 0xff);
	ATTR("driver_override", "(null)\n");
	ATTR("irq", "%d\n", 16 + (int)(f->slot % 16));
	ATTR("enable", "1\n");
	ATTR("numa_node", "-1\n");
	/* as the kernel's dev_uevent() + pci_uevent() print it: DRIVER= when bound,
	 * PCI_CLASS with %04X (a class 01xxxx has 5 digits), MODALIAS last */
	o = f->drv ? (size_t)snprintf(buf, sizeof(buf), "DRIVER=%s\n", f->drv) : 0;
	snprintf(buf + o, sizeof(buf) - o,
		 "PCI_CLASS=%04X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\n"
		 "MODALIAS=pci:v0000%04Xd0000%04Xsv0000%04Xsd0000%04Xbc%02Xsc%02Xi%02X\n",
		 f->cls, f->ven, f->dev, f->sven, f->sdev, bdf, f->ven, f->dev, f->sven, f->sdev,
		 f->cls >> 16, (f->cls >> 8) & 0xff, f->cls & 0xff);
	puts_(buf, "%s/uevent", d);
	o = 0;
	for (int i = 0; i < 13; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o,
				      "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
	put(buf, o, "%s/resource", d);
	memset(cfg, 0, sizeof(cfg));
	cfg[0] = (char)(f->ven & 0xff); cfg[1] = (char)(f->ven >> 8);
	cfg[2] = (char)(f->dev & 0xff); cfg[3] = (char)(f->dev >> 8);
	cfg[4] = 0x07; cfg[5] = 0x04; cfg[6] = 0x10;
	cfg[8] = (char)f->rev;
	cfg[9] = (char)(f->cls & 0xff); cfg[10] = (char)((f->cls >> 8) & 0xff);
	cfg[11] = (char)(f->cls >> 16);
	cfg[14] = (f->cls >> 8) == 0x0604 ? 1 : (f->func == 0 ? 0x80 : 0);
	cfg[44] = (char)(f->sven & 0xff); cfg[45] = (char)(f->sven >> 8);
	cfg[46] = (char)(f->sdev & 0xff); cfg[47] = (char)(f->sdev >> 8);
	put(cfg, 256, "%s/config", d);
	lnk("../../../bus/pci", "%s/subsystem", d);
	snprintf(buf, sizeof(buf), "../../../devices/pci%04x:00/%s", f->dom, bdf);
	lnk(buf, "sys/bus/pci/devices/%s", bdf);
	if (f->sriov_total) {
		ATTR("sriov_totalvfs", "%d\n", f->sriov_total);
		ATTR("sriov_numvfs", "%d\n", f->sriov_num);
		ATTR("sriov_drivers_autoprobe", "1\n");
	}
	mkd("sys/kernel/iommu_groups/%d", group);
	mkd("sys/kernel/iommu_groups/%d/devices", group);
	put("", 0, "sys/kernel/iommu_groups/%d/reserved_regions", group);
	puts_("DMA\n", "sys/kernel/iommu_groups/%d/type", group);
	snprintf(buf, sizeof(buf), "../../../../devices/pci%04x:00/%s", f->dom, bdf);
	lnk(buf, "sys/kernel/iommu_groups/%d/devices/%s", group, bdf);
	snprintf(buf, sizeof(buf), "../../../kernel/iommu_groups/%d", group);
	lnk(buf, "%s/iommu_group", d);
	if (f->drv) {
		driver(f->drv);
		snprintf(buf, sizeof(buf), "%s\n", f->drv);
		puts_(buf, ".fakesys/host/%s", bdf);
		snprintf(buf, sizeof(buf), "../../../bus/pci/drivers/%s", f->drv);
		lnk(buf, "%s/driver", d);
		snprintf(buf, sizeof(buf), "../../../../devices/pci%04x:00/%s", f->dom, bdf);
		lnk(buf, "sys/bus/pci/drivers/%s/%s", f->drv, bdf);
	}
#undef ATTR
	if (f->selected)
		n_sel++;
	return group;
}

/* xorshift32, fixed seed: the same N gives the same tree */
static uint32_t rng = 2463534242u;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

enum kind { K_CHIPSET, K_NVME, K_SATA, K_USB, K_GPU, K_NIC4, K_SWITCH, K_SRIOV_PF, K_VF, K_NKIND };
static const char *kind_name[K_NKIND] = {
	"chipset", "nvme", "sata", "usb", "gpu+audio", "nic-quad", "switch-port", "sriov-pf", "sriov-vf",
};

static unsigned long left;	/* functions still to write */
static unsigned long usb_cards, vf_total;

static int emit(struct fn *f, enum kind k)
{
	if (!left)
		return -1;
	left--;
	kind_count[k]++;
	return add_fn(f);
}

int main(int argc, char **argv)
{
	/* card weights, out of 100 */
	static const struct { enum kind k; int w; } card[] = {
		{ K_NVME, 30 }, { K_SATA, 8 }, { K_USB, 9 }, { K_GPU, 8 },
		{ K_NIC4, 16 }, { K_SWITCH, 14 }, { K_SRIOV_PF, 15 },
	};
	char *end;
	FILE *meta;

	if (argc != 3) {
		fprintf(stderr, "usage: gen-sysfs ROOT N\n");
		return 1;
	}
	snprintf(root, sizeof(root), "%s", argv[1]);
	left = strtoul(argv[2], &end, 10);
	if (*end || !left || left > 1000000) {
		fprintf(stderr, "gen-sysfs: N must be 1..1000000\n");
		return 1;
	}
	unsigned long n = left;
	if (mkdir(root, 0755))
		die("mkdir %s", root);
	mkd("sys"); mkd("sys/devices"); mkd("sys/bus"); mkd("sys/bus/pci");
	mkd("sys/bus/pci/devices"); mkd("sys/bus/pci/drivers"); mkd("sys/kernel");
	mkd("sys/kernel/iommu_groups"); mkd("sys/module"); mkd("proc"); mkd("dev");
	mkd(".fakesys"); mkd(".fakesys/host"); mkd(".bench");
	puts_("1\n", "sys/bus/pci/drivers_autoprobe");
	put("", 0, "sys/bus/pci/drivers_probe");
	put("", 0, "sys/bus/pci/rescan");
	put("", 0, "sys/bus/pci/uevent");
	puts_("BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n", "proc/cmdline");
	driver("vfio-pci");

	char tmp_vf[4400], tmp_usb[4400];
	snprintf(tmp_vf, sizeof(tmp_vf), "%s/.bench/addr-vf", root);
	snprintf(tmp_usb, sizeof(tmp_usb), "%s/.bench/addr-usb", root);
	conf_addr_vf = fopen(tmp_vf, "w+");
	conf_addr_usb = fopen(tmp_usb, "w+");
	if (!conf_addr_vf || !conf_addr_usb)
		die("open %s/.bench", root);

	for (unsigned int dom = 0; left; dom++) {
		struct fn f;
		/* bus 00: the chipset */
		static const struct { unsigned int slot, func, ven, dev, cls; const char *drv; } cs[] = {
			{ 0x00, 0, 0x8086, 0x3e30, 0x060000, NULL },
			{ 0x01, 0, 0x8086, 0x1901, 0x060400, "pcieport" },
			{ 0x01, 1, 0x8086, 0x1905, 0x060400, "pcieport" },
			{ 0x14, 0, 0x8086, 0xa36d, 0x0c0330, "xhci_hcd" },
			{ 0x16, 0, 0x8086, 0xa360, 0x078000, "mei_me" },
			{ 0x17, 0, 0x8086, 0xa352, 0x010601, "ahci" },
			{ 0x1c, 0, 0x8086, 0xa338, 0x060400, "pcieport" },
			{ 0x1f, 0, 0x8086, 0xa306, 0x060100, "lpc_ich" },
			{ 0x1f, 4, 0x8086, 0xa323, 0x0c0500, "i801_smbus" },
		};
		for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++) {
			f = (struct fn){ dom, 0, cs[i].slot, cs[i].func, cs[i].ven, cs[i].dev,
					 0x1028, 0x0869, cs[i].cls, 0x10, cs[i].drv, 0, 0, 0, 0 };
			if (emit(&f, K_CHIPSET) < 0)
				break;
		}
		for (unsigned int bus = 1; bus <= 0xff && left; bus++) {
			int r = (int)(rnd() % 100), k = 0;
			while (r >= card[k].w) {
				r -= card[k].w;
				k++;
			}
			f = (struct fn){ .dom = dom, .bus = bus, .rev = 0x01 };
			switch (card[k].k) {
			case K_NVME:
				if (rnd() % 4 == 0) {
					f.ven = 0x144d; f.dev = 0xa80a; f.sven = 0x144d; f.sdev = 0xa801;
					f.selected = 1;
				} else {
					f.ven = 0x8086; f.dev = 0x0a54; f.sven = 0x1028; f.sdev = 0x2003;
				}
				f.cls = 0x010802; f.drv = "nvme";
				emit(&f, K_NVME);
				break;
			case K_SATA:
				f.ven = 0x1b21; f.dev = 0x0612; f.sven = 0x1b21; f.sdev = 0x1060;
				f.cls = 0x010601; f.drv = "ahci";
				emit(&f, K_SATA);
				break;
			case K_USB:
				f.ven = 0x1912; f.dev = 0x0014; f.sven = 0x1912; f.sdev = 0x0014;
				f.cls = 0x0c0330; f.drv = "xhci_hcd";
				if (usb_cards++ % 4 == 0) {
					f.selected = 1;
					fprintf(conf_addr_usb, "%s%04x:%02x:00.*",
						n_usb_sel_addr % 6 || !n_usb_sel_addr ? " " : "\n  ",
						dom, bus);
					n_usb_sel_addr++;
				}
				emit(&f, K_USB);
				break;
			case K_GPU: {
				if (rnd() % 2) {	/* a compute card, no audio, not selected */
					f.ven = 0x10de; f.dev = 0x1eb8; f.sven = 0x10de; f.sdev = 0x12a2;
					f.cls = 0x030200; f.drv = "nouveau";
					emit(&f, K_GPU);
					break;
				}
				f.ven = 0x1002; f.dev = 0x73bf; f.sven = 0x1da2; f.sdev = 0xe437;
				f.cls = 0x030000; f.drv = "amdgpu"; f.selected = 1;
				int g = emit(&f, K_GPU);
				if (g < 0)
					break;
				f.func = 1; f.dev = 0xab28; f.cls = 0x040300; f.drv = "snd_hda_intel";
				f.group = g;
				emit(&f, K_GPU);
				break;
			}
			case K_NIC4: {
				f.ven = 0x8086; f.dev = 0x1521; f.sven = 0x8086; f.sdev = 0x0001;
				f.cls = 0x020000; f.drv = "igb";
				int g = 0;
				for (unsigned int fn = 0; fn < 4 && g >= 0; fn++) {
					f.func = fn;
					f.group = g;
					g = emit(&f, K_NIC4);
				}
				break;
			}
			case K_SWITCH:
				f.ven = 0x10b5; f.dev = 0x8747; f.sven = 0x10b5; f.sdev = 0x8747;
				f.cls = 0x060400; f.drv = "pcieport";
				for (unsigned int s = 0; s < 4; s++) {
					f.slot = s * 8;
					if (emit(&f, K_SWITCH) < 0)
						break;
				}
				break;
			case K_SRIOV_PF: {
				static const struct { unsigned int ven, pf, vf; const char *pfd, *vfd; } nic[] = {
					{ 0x8086, 0x10fb, 0x10ed, "ixgbe", "ixgbevf" },
					{ 0x8086, 0x1572, 0x154c, "i40e", "iavf" },
					{ 0x15b3, 0x1017, 0x1018, "mlx5_core", "mlx5_core" },
				};
				unsigned int m = rnd() % 3, per_pf = 4u << (rnd() % 4); /* 4..32 */
				f.ven = nic[m].ven; f.sven = nic[m].ven; f.sdev = 0x0001;
				f.cls = 0x020000;
				for (unsigned int pf = 0; pf < 2; pf++) {
					f.slot = 0; f.func = pf; f.dev = nic[m].pf; f.drv = nic[m].pfd;
					f.sriov_total = 124; f.sriov_num = (int)per_pf;
					if (emit(&f, K_SRIOV_PF) < 0)
						break;
				}
				f.sriov_total = f.sriov_num = 0;
				f.dev = nic[m].vf; f.drv = nic[m].vfd;
				for (unsigned int v = 0; v < 2 * per_pf && left; v++) {
					f.slot = 1 + v / 8; f.func = v % 8;
					f.selected = vf_total++ % 50 == 25;
					if (f.selected) {
						fprintf(conf_addr_vf, "%s%04x:%02x:%02x.%u",
							n_vf_sel_addr % 6 || !n_vf_sel_addr ? " " : "\n  ",
							dom, bus, f.slot, f.func);
						n_vf_sel_addr++;
					}
					emit(&f, K_VF);
				}
				break;
			}
			default:
				break;
			}
		}
	}

	/* the config */
	char cpath[4400];
	snprintf(cpath, sizeof(cpath), "%s/early-vfio.conf", root);
	FILE *c = fopen(cpath, "w");
	if (!c)
		die("open %s", cpath);
	fprintf(c, "# generated by tests/bench/gen-sysfs for N=%lu\n[options]\ndriver = vfio-pci\n\n", n);
	fprintf(c, "[nvme-samsung]\nids = 144d:a80a\n\n");
	fprintf(c, "[gpu]\nids = 1002:73bf 1002:ab28\n\n");
	fprintf(c, "[usb-card]\nclass = 0c0330\naddress =");
	if (!usb_cards)
		fprintf(c, " ffff:ff:1f.7");
	rewind(conf_addr_usb);
	for (int ch; (ch = fgetc(conf_addr_usb)) != EOF;)
		fputc(ch, c);
	fprintf(c, "\n\n[vf-guests]\naddress =");
	if (!n_vf_sel_addr)
		fprintf(c, " ffff:ff:1f.7");
	rewind(conf_addr_vf);
	for (int ch; (ch = fgetc(conf_addr_vf)) != EOF;)
		fputc(ch, c);
	fprintf(c, "\n");
	if (fclose(c))
		die("write %s", cpath);
	chmod(cpath, 0644);
	fclose(conf_addr_usb);
	fclose(conf_addr_vf);
	unlink(tmp_vf);
	unlink(tmp_usb);

	snprintf(cpath, sizeof(cpath), "%s/.bench/meta", root);
	meta = fopen(cpath, "w");
	if (!meta)
		die("open %s", cpath);
	fprintf(meta, "n=%lu\nselected=%lu\ngroups=%d\n", n, n_sel, next_group - 1);
	for (int k = 0; k < K_NKIND; k++)
		fprintf(meta, "kind.%s=%lu\n", kind_name[k], kind_count[k]);
	fclose(meta);
	return 0;
}
