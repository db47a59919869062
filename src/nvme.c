// SPDX-License-Identifier: MIT
/* NVMe Identify Controller: the serial number and model of a controller,
 * two ways.
 *
 * Through VFIO, with no host driver: the controller is disabled, given a
 * two-entry admin queue pair in DMA memory mapped through the IOMMU,
 * enabled, sent one Identify Controller command (polled, no interrupts),
 * and disabled again.  The nvme driver never sees the controller, so none
 * of its namespaces ever becomes a block device.
 *
 * From the nvme driver, when it holds the controller: its sysfs attributes
 * nvme/nvmeN/{state,serial,model}, once the controller is "live". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "early-vfio.h"

/* Controller registers (NVMe base specification, section 3.1) */
#define REG_CAP 0x00
#define REG_CC 0x14
#define REG_CSTS 0x1c
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define REG_DBS 0x1000

#define CC_EN 1u
#define CC_IOSQES (6u << 16)	/* 64-byte submission entries */
#define CC_IOCQES (4u << 20)	/* 16-byte completion entries */
#define CSTS_RDY 1u
#define CSTS_CFS 2u

#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4

#define PAGE 4096u
#define QUEUE_ENTRIES 2u
/* One page each: submission queue, completion queue, identify data.  The
 * iova is an arbitrary page-aligned address in the group's empty space. */
#define DMA_SIZE (3 * PAGE)
#define DMA_IOVA 0x100000u

#define OPC_IDENTIFY 0x06
#define CNS_CONTROLLER 1

struct sqe {
	uint32_t cdw0;		/* opcode, command id << 16 */
	uint32_t nsid;
	uint32_t rsvd[2];
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct cqe {
	uint32_t dw0, dw1, dw2;
	uint32_t dw3;		/* command id, phase (bit 16), status */
};

uint64_t evfio_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pause_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	nanosleep(&ts, NULL);
}

/* Wait for CSTS.RDY to become want; CSTS all ones means the device is gone. */
static int wait_ready(struct evfio_vfio *v, bool want, uint64_t deadline)
{
	uint32_t csts;
	int r;

	for (;;) {
		r = evfio_vfio_bar_read32(v, REG_CSTS, &csts);
		if (r)
			return r;
		if (csts == 0xffffffffu)
			return -ENODEV;
		if (want && (csts & CSTS_CFS))
			return -EIO;
		if (!!(csts & CSTS_RDY) == want)
			return 0;
		if (evfio_now_ms() > deadline)
			return -ETIMEDOUT;
		pause_us(1000);
	}
}

static int write64(struct evfio_vfio *v, uint64_t reg, uint64_t val)
{
	int r = evfio_vfio_bar_write32(v, reg, (uint32_t)val);

	return r ? r : evfio_vfio_bar_write32(v, reg + 4, (uint32_t)(val >> 32));
}

static int disable(struct evfio_vfio *v, uint64_t deadline)
{
	uint32_t cc;
	int r = evfio_vfio_bar_read32(v, REG_CC, &cc);

	if (!r && (cc & CC_EN))
		r = evfio_vfio_bar_write32(v, REG_CC, cc & ~CC_EN);
	return r ? r : wait_ready(v, false, deadline);
}

static int identify(struct evfio_vfio *v, uint8_t *mem, unsigned int timeout_ms,
		    struct evfio_ident *id, const char **why)
{
	volatile struct cqe *cq = (volatile struct cqe *)(mem + PAGE);
	struct sqe *sq = (struct sqe *)mem;
	const uint8_t *data = mem + 2 * PAGE;
	uint32_t lo, hi, dw3, stride;
	uint64_t cap, deadline, limit;
	int r;

	*why = "cannot read its registers";
	r = evfio_vfio_bar_read32(v, REG_CAP, &lo);
	if (!r)
		r = evfio_vfio_bar_read32(v, REG_CAP + 4, &hi);
	if (r)
		return r;
	cap = ((uint64_t)hi << 32) | lo;
	*why = "its registers read all ones (gone, or not an NVMe controller)";
	if (cap == ~0ull)
		return -ENODEV;
	*why = "it does not support 4 KiB memory pages or the NVM command set";
	if (((cap >> 48) & 0xf) != 0 || !((cap >> 37) & 1))
		return -ENOTSUP;
	stride = 4u << ((cap >> 32) & 0xf);
	/* CAP.TO: worst case time to become ready, in 500 ms units */
	limit = ((cap >> 24) & 0xff) * 500u;
	if (!limit || limit > timeout_ms)
		limit = timeout_ms;

	*why = "it did not stop (CSTS.RDY stayed 1)";
	r = disable(v, evfio_now_ms() + limit);
	if (r)
		return r;
	*why = "cannot program its admin queues";
	r = evfio_vfio_bar_write32(v, REG_AQA, ((QUEUE_ENTRIES - 1) << 16) |
				   (QUEUE_ENTRIES - 1));
	if (!r)
		r = write64(v, REG_ASQ, DMA_IOVA);
	if (!r)
		r = write64(v, REG_ACQ, DMA_IOVA + PAGE);
	if (!r)
		r = evfio_vfio_bar_write32(v, REG_CC, CC_EN | CC_IOSQES | CC_IOCQES);
	if (r)
		return r;
	*why = "it did not become ready (CSTS.RDY stayed 0, or CSTS.CFS)";
	r = wait_ready(v, true, evfio_now_ms() + limit);
	if (r)
		return r;

	memset(sq, 0, sizeof(*sq));
	sq->cdw0 = OPC_IDENTIFY | (1u << 16);
	sq->prp1 = DMA_IOVA + 2 * PAGE;
	sq->cdw10 = CNS_CONTROLLER;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	*why = "cannot ring its doorbell";
	r = evfio_vfio_bar_write32(v, REG_DBS, 1);	/* SQ 0 tail = 1 */
	if (r)
		return r;
	deadline = evfio_now_ms() + limit;
	*why = "Identify Controller did not complete";
	for (long us = 50;; us = us < 2000 ? 2 * us : us) {
		dw3 = cq[0].dw3;
		if (dw3 & (1u << 16))
			break;
		if (evfio_now_ms() > deadline)
			return -ETIMEDOUT;
		pause_us(us);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	evfio_vfio_bar_write32(v, REG_DBS + stride, 1);	/* CQ 0 head = 1 */
	*why = "Identify Controller failed (NVMe status in the log)";
	if ((dw3 & 0xffff) != 1 || (dw3 >> 17) != 0)
		return -EIO;
	evfio_trim_field(id->serial, data + 4, EVFIO_SERIAL_MAX);
	evfio_trim_field(id->model, data + 24, EVFIO_MODEL_MAX);
	id->nvme_known = true;
	*why = NULL;
	return 0;
}

int evfio_nvme_identify_vfio(struct evfio_vfio *v, unsigned int timeout_ms,
			     struct evfio_ident *id, const char **why)
{
	uint16_t cmd = 0;
	void *mem = NULL;
	int r, r2;

	*why = "cannot enable its memory space and bus mastering";
	r = evfio_vfio_cfg_read16(v, PCI_COMMAND, &cmd);
	if (!r)
		r = evfio_vfio_cfg_write16(v, PCI_COMMAND, cmd | PCI_COMMAND_MEMORY |
					   PCI_COMMAND_MASTER);
	if (r)
		return r;
	r = evfio_vfio_dma_alloc(v, DMA_SIZE, DMA_IOVA, &mem);
	if (r) {
		*why = "cannot map a DMA buffer through the IOMMU";
	} else {
		r = identify(v, mem, timeout_ms, id, why);
		/* leave it as found: disabled, then vfio-pci resets it */
		r2 = disable(v, evfio_now_ms() + timeout_ms);
		if (!r && r2) {
			r = r2;
			*why = "it did not stop after Identify";
		}
	}
	evfio_vfio_dma_free(v, mem, DMA_SIZE, DMA_IOVA);
	evfio_vfio_cfg_write16(v, PCI_COMMAND, cmd);
	return r;
}

/* "nvme3": the controller directory the nvme driver made for the device. */
static int ctrl_dir(const struct evfio_sysfs *fs, const char *bdf, char *out,
		    size_t size)
{
	char path[128];
	struct dirent *e;
	DIR *dir;
	int r = -ENOENT;

	r = evfio_dev_path(path, sizeof(path), bdf, "nvme");
	if (r)
		return r;
	dir = evfio_sysfs_opendir(fs, path);
	if (!dir)
		return -errno;
	r = -ENOENT;
	while ((e = readdir(dir))) {
		size_t n = strlen(e->d_name);

		if (n > 4 && n < 16 && !strncmp(e->d_name, "nvme", 4) &&
		    strspn(e->d_name + 4, "0123456789") == n - 4) {
			snprintf(out, size, "%s/%.15s", path, e->d_name);
			r = 0;
			break;
		}
	}
	closedir(dir);
	return r;
}

static int ctrl_attr(const struct evfio_sysfs *fs, const char *dir,
		     const char *attr, char *buf, size_t size)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/%s", dir, attr);
	return evfio_sysfs_read(fs, path, buf, size);
}

int evfio_nvme_identify_sysfs(const struct evfio_sysfs *fs, const char *bdf,
			      struct evfio_ident *id)
{
	char dir[160], buf[128];
	int r = ctrl_dir(fs, bdf, dir, sizeof(dir));

	if (r)
		return r;
	r = ctrl_attr(fs, dir, "state", buf, sizeof(buf));
	if (r < 0)
		return r;
	if (strcmp(buf, "live"))
		return -EAGAIN;
	r = ctrl_attr(fs, dir, "serial", buf, sizeof(buf));
	if (r < 0)
		return r;
	evfio_trim_field(id->serial, buf, strnlen(buf, EVFIO_SERIAL_MAX));
	r = ctrl_attr(fs, dir, "model", buf, sizeof(buf));
	if (r < 0)
		return r;
	evfio_trim_field(id->model, buf, strnlen(buf, EVFIO_MODEL_MAX));
	id->nvme_known = true;
	return 0;
}
