// SPDX-License-Identifier: MIT
/* NVMe Identify Controller: the serial number and model of a controller,
 * two ways.
 *
 * Through VFIO, with no host driver: the controller is disabled, given a
 * two-entry admin queue pair in DMA memory mapped through the IOMMU (in
 * host pages, at an iova the IOMMU allows), enabled, sent one Identify
 * Controller command (polled, no interrupts), and disabled again.  The nvme
 * driver never sees the controller, so none of its namespaces ever becomes
 * a block device.  It is a state machine, so identify.c asks several
 * controllers side by side: each waits for its own controller only.
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

#define QUEUE_ENTRIES 2u
/* Three host pages: submission queue, completion queue, identify data. */
#define DMA_PAGES 3

#define OPC_IDENTIFY 0x06
#define CNS_CONTROLLER 1

/* How long a controller may take to stop, when the run's time is up. */
#define STOP_MS 2000

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

enum {
	J_DISABLING,	/* CC.EN cleared, waiting for CSTS.RDY = 0 */
	J_ENABLING,	/* queues programmed, waiting for CSTS.RDY = 1 */
	J_WAITING,	/* Identify submitted, waiting for its completion */
	J_STOPPING,	/* done or failed: CC.EN cleared, waiting for RDY = 0 */
	J_DONE,
};

static int csts(struct evfio_nvme_job *j, uint32_t *val)
{
	int r = evfio_vfio_bar_read32(j->v, REG_CSTS, val);

	if (!r && *val == 0xffffffffu)
		r = -ENODEV;	/* all ones: the device is gone */
	return r;
}

static int write64(struct evfio_vfio *v, uint64_t reg, uint64_t val)
{
	int r = evfio_vfio_bar_write32(v, reg, (uint32_t)val);

	return r ? r : evfio_vfio_bar_write32(v, reg + 4, (uint32_t)(val >> 32));
}

static int clear_enable(struct evfio_vfio *v)
{
	uint32_t cc;
	int r = evfio_vfio_bar_read32(v, REG_CC, &cc);

	if (!r && (cc & CC_EN))
		r = evfio_vfio_bar_write32(v, REG_CC, cc & ~CC_EN);
	return r;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Fail: record the first error, and stop the controller if it runs. */
static int job_fail(struct evfio_nvme_job *j, int err, const char *why)
{
	if (!j->err) {
		j->err = err;
		j->why = why;
	}
	if (j->enabled && j->state != J_STOPPING) {
		clear_enable(j->v);
		j->state = J_STOPPING;
		j->deadline = evfio_now_ms() + min_u64(j->limit_ms, STOP_MS);
		return -EAGAIN;
	}
	j->state = J_DONE;
	return j->err;
}

static uint32_t log2_u64(uint64_t x)
{
	uint32_t n = 0;

	while (x > 1) {
		x >>= 1;
		n++;
	}
	return n;
}

int evfio_nvme_job_begin(struct evfio_nvme_job *j, struct evfio_vfio *v,
			 uint64_t end, struct evfio_ident *id)
{
	uint32_t lo, hi, mps_min, mps_max, mps;
	uint64_t cap, now = evfio_now_ms();
	int r;

	memset(j, 0, sizeof(*j));
	j->v = v;
	j->id = id;
	j->end = end;
	j->state = J_DONE;
	j->page = v->page_size ? v->page_size : 4096;

	j->why = "cannot enable its memory space and bus mastering";
	r = evfio_vfio_cfg_read16(v, PCI_COMMAND, &j->command);
	if (!r)
		r = evfio_vfio_cfg_write16(v, PCI_COMMAND, j->command |
					   PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (r)
		return j->err = r;

	j->why = "cannot read its registers";
	r = evfio_vfio_bar_read32(v, REG_CAP, &lo);
	if (!r)
		r = evfio_vfio_bar_read32(v, REG_CAP + 4, &hi);
	if (r)
		return j->err = r;
	cap = ((uint64_t)hi << 32) | lo;
	j->why = "its registers read all ones (gone, or not an NVMe controller)";
	if (cap == ~0ull)
		return j->err = -ENODEV;
	/* CAP.MPSMIN/MPSMAX: memory pages of 2^(12 + n) bytes */
	mps_min = (uint32_t)(cap >> 48) & 0xf;
	mps_max = (uint32_t)(cap >> 52) & 0xf;
	mps = log2_u64(j->page) - 12;
	j->why = "its memory page sizes do not include the host's page size, or it "
		 "lacks the NVM command set";
	if (j->page < 4096 || (j->page & (j->page - 1)) || mps < mps_min ||
	    mps > mps_max || !((cap >> 37) & 1))
		return j->err = -ENOTSUP;
	j->stride = 4u << ((cap >> 32) & 0xf);
	/* CAP.TO: worst case time to change CSTS.RDY, in 500 ms units */
	j->limit_ms = ((cap >> 24) & 0xff) * 500u;
	if (!j->limit_ms)
		j->limit_ms = 500;

	j->why = "cannot map a DMA buffer through the IOMMU";
	r = evfio_vfio_dma_alloc(v, DMA_PAGES * j->page, &j->iova, &j->mem);
	if (r) {
		j->mem = NULL;
		return j->err = r;
	}
	j->why = "cannot disable it";
	r = clear_enable(v);
	if (r)
		return j->err = r;
	j->enabled = true;	/* whatever firmware left, it is ours to stop */
	j->state = J_DISABLING;
	j->deadline = min_u64(now + j->limit_ms, end);
	j->why = NULL;
	j->err = 0;
	return 0;
}

static uint32_t cc_value(const struct evfio_nvme_job *j)
{
	return CC_EN | CC_IOSQES | CC_IOCQES | ((log2_u64(j->page) - 12) << 7);
}

int evfio_nvme_job_poll(struct evfio_nvme_job *j)
{
	volatile struct cqe *cq;
	struct sqe *sq;
	uint32_t st, dw3;
	uint64_t now = evfio_now_ms();
	int r;

	if (j->state == J_DONE)
		return j->err;
	r = csts(j, &st);
	if (r)
		return job_fail(j, r, r == -ENODEV ? "its registers read all ones (gone?)" :
				"cannot read its status register");
	switch (j->state) {
	case J_DISABLING:
		if (st & CSTS_RDY) {
			if (now > j->deadline)
				return job_fail(j, -ETIMEDOUT, "it did not stop (CSTS.RDY stayed 1)");
			return -EAGAIN;
		}
		r = evfio_vfio_bar_write32(j->v, REG_AQA, ((QUEUE_ENTRIES - 1) << 16) |
					   (QUEUE_ENTRIES - 1));
		if (!r)
			r = write64(j->v, REG_ASQ, j->iova);
		if (!r)
			r = write64(j->v, REG_ACQ, j->iova + j->page);
		if (!r)
			r = evfio_vfio_bar_write32(j->v, REG_CC, cc_value(j));
		if (r)
			return job_fail(j, r, "cannot program its admin queues");
		j->state = J_ENABLING;
		j->deadline = min_u64(now + j->limit_ms, j->end);
		return -EAGAIN;
	case J_ENABLING:
		if (st & CSTS_CFS)
			return job_fail(j, -EIO, "it reported a fatal status (CSTS.CFS)");
		if (!(st & CSTS_RDY)) {
			if (now > j->deadline)
				return job_fail(j, -ETIMEDOUT, "it did not become ready "
						"(CSTS.RDY stayed 0)");
			return -EAGAIN;
		}
		sq = (struct sqe *)j->mem;
		memset(sq, 0, sizeof(*sq));
		sq->cdw0 = OPC_IDENTIFY | (1u << 16);
		sq->prp1 = j->iova + 2 * j->page;
		sq->cdw10 = CNS_CONTROLLER;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		r = evfio_vfio_bar_write32(j->v, REG_DBS, 1);	/* SQ 0 tail = 1 */
		if (r)
			return job_fail(j, r, "cannot ring its doorbell");
		j->state = J_WAITING;
		j->deadline = min_u64(now + j->limit_ms, j->end);
		return -EAGAIN;
	case J_WAITING:
		cq = (volatile struct cqe *)((char *)j->mem + j->page);
		dw3 = cq[0].dw3;
		if (!(dw3 & (1u << 16))) {
			if (now > j->deadline)
				return job_fail(j, -ETIMEDOUT, "Identify Controller did not complete");
			return -EAGAIN;
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		evfio_vfio_bar_write32(j->v, REG_DBS + j->stride, 1);	/* CQ 0 head */
		if ((dw3 & 0xffff) != 1 || (dw3 >> 17) != 0)
			return job_fail(j, -EIO, "Identify Controller failed (NVMe status "
					"in the log)");
		evfio_trim_field(j->id->serial, (uint8_t *)j->mem + 2 * j->page + 4,
				 EVFIO_SERIAL_MAX);
		evfio_trim_field(j->id->model, (uint8_t *)j->mem + 2 * j->page + 24,
				 EVFIO_MODEL_MAX);
		j->id->nvme_known = true;
		/* leave it as found: disabled, then vfio-pci resets it */
		clear_enable(j->v);
		j->state = J_STOPPING;
		j->deadline = now + min_u64(j->limit_ms, STOP_MS);
		return -EAGAIN;
	case J_STOPPING:
		if (!(st & CSTS_RDY)) {
			j->enabled = false;
			j->state = J_DONE;
			return j->err;
		}
		if (now > j->deadline) {
			if (!j->err) {
				j->err = -ETIMEDOUT;
				j->why = "it did not stop after Identify";
			}
			j->state = J_DONE;
			return j->err;
		}
		return -EAGAIN;
	default:
		return j->err;
	}
}

void evfio_nvme_job_end(struct evfio_nvme_job *j)
{
	uint32_t st = 0;

	if (!j->v)
		return;
	/* no more DMA from the controller: bus mastering off first, and a
	 * controller that did not stop is reset before its memory goes */
	evfio_vfio_cfg_write16(j->v, PCI_COMMAND, j->command & ~PCI_COMMAND_MASTER);
	if (j->enabled && (csts(j, &st) || (st & CSTS_RDY)))
		evfio_vfio_reset(j->v);
	j->enabled = false;
	if (j->mem)
		evfio_vfio_dma_free(j->v, j->mem, DMA_PAGES * j->page, j->iova);
	j->mem = NULL;
	evfio_vfio_cfg_write16(j->v, PCI_COMMAND, j->command);
	j->v = NULL;
}

int evfio_nvme_identify_vfio(struct evfio_vfio *v, unsigned int timeout_ms,
			     struct evfio_ident *id, const char **why)
{
	struct evfio_nvme_job j;
	int r;

	r = evfio_nvme_job_begin(&j, v, evfio_now_ms() + timeout_ms, id);
	if (!r) {
		for (unsigned int us = 50; (r = evfio_nvme_job_poll(&j)) == -EAGAIN;
		     us = us < 2000 ? 2 * us : us)
			nanosleep(&(struct timespec){ .tv_nsec = us * 1000L }, NULL);
	}
	*why = r ? j.why : NULL;
	evfio_nvme_job_end(&j);
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
