// SPDX-License-Identifier: MIT
/* NVMe Identify Controller through VFIO (nvme.c) against a simulated
 * controller: the evfio_vfio_* accessors are replaced here by a register
 * file and a DMA space that behave as the NVMe specification says, so the
 * protocol (disable, admin queues, enable, one command, completion phase,
 * disable again) is checked without a kernel.  tests/vm proves it on QEMU's
 * NVMe controller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "early-vfio.h"

/* ---- the simulated controller ---------------------------------------- */

static struct sim {
	uint64_t cap;
	uint32_t cc, csts, aqa;
	uint64_t asq, acq;
	uint16_t command;	/* PCI command register */
	/* DMA: one mapping */
	uint8_t *mem;
	uint64_t iova;
	size_t size;
	/* behaviour */
	const char *serial, *model;	/* 20 and 40 bytes, padded */
	bool never_ready;	/* CSTS.RDY never follows CC.EN */
	uint16_t status;	/* NVMe status of the command */
	bool no_completion;
	bool never_stops;	/* CSTS.RDY stays 1 after CC.EN is cleared */
	struct evfio_iova_range window;	/* where the IOMMU lets DMA go */
	/* what happened */
	int events;		/* a clock for the order of the events below */
	int master_off_at;	/* bus mastering cleared (0: never) */
	int dma_freed_at;	/* the DMA mapping removed */
	int reset_at;		/* function reset through VFIO */
	int identifies;
	bool enabled_once;
	uint32_t last_sq_tail;
	uint64_t prp1;
	uint32_t cc_enabled;	/* CC as written to enable */
} sim;

static void sim_reset(void)
{
	memset(&sim, 0, sizeof(sim));
	/* MQES 63, TO 2 (1 s), DSTRD 0, CSS NVM, MPSMIN 0 */
	sim.cap = 63 | (2ull << 24) | (1ull << 37);
	sim.window = (struct evfio_iova_range){ 0x100000, 0xffffffff };
	sim.serial = "SN-SIM-0001         ";
	sim.model = "Simulated NVMe Controller               ";
}

static void *dma(uint64_t iova, size_t len)
{
	if (!sim.mem || iova < sim.iova || iova + len > sim.iova + sim.size)
		return NULL;
	return sim.mem + (iova - sim.iova);
}

static void run_command(void)
{
	uint32_t *sqe = dma(sim.asq, 64);
	uint32_t *cqe = dma(sim.acq, 16);
	uint8_t *data;
	uint64_t prp1;

	if (!sqe || !cqe)
		return;
	memcpy(&prp1, sqe + 6, 8);
	sim.prp1 = prp1;
	if ((sqe[0] & 0xff) == 0x06 && sqe[10] == 1 && (data = dma(prp1, 4096))) {
		memset(data, 0, 4096);
		memcpy(data + 4, sim.serial, 20);
		memcpy(data + 24, sim.model, 40);
		sim.identifies++;
	}
	if (sim.no_completion)
		return;
	cqe[0] = 0;
	cqe[3] = (sqe[0] >> 16) | (1u << 16) | ((uint32_t)sim.status << 17);
}

int evfio_vfio_bar_read32(struct evfio_vfio *v, uint64_t off, uint32_t *val)
{
	(void)v;
	switch (off) {
	case 0x00: *val = (uint32_t)sim.cap; return 0;
	case 0x04: *val = (uint32_t)(sim.cap >> 32); return 0;
	case 0x14: *val = sim.cc; return 0;
	case 0x1c: *val = sim.csts; return 0;
	default: *val = 0; return 0;
	}
}

int evfio_vfio_bar_write32(struct evfio_vfio *v, uint64_t off, uint32_t val)
{
	(void)v;
	/* admin queue registers are read-only while the controller is enabled */
	if (off >= 0x24 && off < 0x38 && (sim.cc & 1))
		return 0;
	switch (off) {
	case 0x14:
		sim.cc = val;
		if ((val & 1) ? !sim.never_ready : !sim.never_stops)
			sim.csts = val & 1;
		if (val & 1) {
			sim.enabled_once = true;
			sim.cc_enabled = val;
		}
		return 0;
	case 0x24: sim.aqa = val; return 0;
	case 0x28: sim.asq = (sim.asq & ~0xffffffffull) | val; return 0;
	case 0x2c: sim.asq = (sim.asq & 0xffffffffull) | ((uint64_t)val << 32); return 0;
	case 0x30: sim.acq = (sim.acq & ~0xffffffffull) | val; return 0;
	case 0x34: sim.acq = (sim.acq & 0xffffffffull) | ((uint64_t)val << 32); return 0;
	case 0x1000:
		sim.last_sq_tail = val;
		if (sim.csts & 1)
			run_command();
		return 0;
	default:
		return 0;
	}
}

int evfio_vfio_cfg_read16(struct evfio_vfio *v, uint64_t off, uint16_t *val)
{
	(void)v;
	*val = off == 4 ? sim.command : 0;
	return 0;
}

int evfio_vfio_cfg_write16(struct evfio_vfio *v, uint64_t off, uint16_t val)
{
	(void)v;
	if (off == 4) {
		if ((sim.command & 4) && !(val & 4) && !sim.master_off_at)
			sim.master_off_at = ++sim.events;
		sim.command = val;
	}
	return 0;
}

/* The simulated IOMMU: mappings only inside sim.window, in v's pages. */
int evfio_vfio_dma_alloc(struct evfio_vfio *v, size_t size, uint64_t *iova,
			 void **mem)
{
	int r;

	assert_null(sim.mem);
	assert_int_equal(size % v->page_size, 0);
	r = evfio_vfio_pick_iova(&sim.window, 1, size, v->page_size, iova);
	if (r)
		return r;
	sim.mem = aligned_alloc(v->page_size, size);
	assert_non_null(sim.mem);
	memset(sim.mem, 0, size);
	sim.iova = *iova;
	sim.size = size;
	*mem = sim.mem;
	return 0;
}

int evfio_vfio_reset(struct evfio_vfio *v)
{
	(void)v;
	sim.reset_at = ++sim.events;
	sim.cc = 0;
	sim.csts = 0;
	return 0;
}

/* vfio.c's picker, which the DMA above uses as vfio.c does */
int evfio_vfio_pick_iova(const struct evfio_iova_range *r, size_t n,
			 uint64_t size, uint64_t align, uint64_t *iova)
{
	uint64_t start;

	assert_int_equal(n, 1);
	start = r->start < align ? align : r->start;
	start = (start + align - 1) & ~(align - 1);
	if (r->end < start || r->end - start < size - 1)
		return -ENOSPC;
	*iova = start;
	return 0;
}

void evfio_vfio_dma_free(struct evfio_vfio *v, void *mem, size_t size,
			 uint64_t iova)
{
	(void)v;
	(void)size;
	(void)iova;
	assert_ptr_equal(mem, sim.mem);
	free(sim.mem);
	sim.mem = NULL;
	sim.dma_freed_at = ++sim.events;
}

/* ---- tests ------------------------------------------------------------ */

static size_t page_size = 4096;

static int identify(struct evfio_ident *id, const char **why)
{
	struct evfio_vfio v = { .device = -1, .page_size = page_size };

	memset(id, 0, sizeof(*id));
	return evfio_nvme_identify_vfio(&v, 300, id, why);
}

static void identify_reads_trimmed_serial_and_model_and_leaves_it_disabled(void **state)
{
	struct evfio_ident id;
	const char *why = "unset";

	(void)state;
	sim_reset();
	sim.command = 0x0400;	/* INTx disabled, as vfio-pci leaves it */
	assert_int_equal(identify(&id, &why), 0);
	assert_null(why);
	assert_true(id.nvme_known);
	assert_string_equal(id.serial, "SN-SIM-0001");
	assert_string_equal(id.model, "Simulated NVMe Controller");
	assert_int_equal(sim.identifies, 1);
	/* the admin queues were two entries each, one doorbell ring */
	assert_int_equal(sim.aqa, 0x00010001);
	assert_int_equal(sim.last_sq_tail, 1);
	assert_true(sim.asq != sim.acq);
	/* disabled again, command register as found, DMA freed */
	assert_true(sim.enabled_once);
	assert_int_equal(sim.cc & 1, 0);
	assert_int_equal(sim.csts & 1, 0);
	assert_int_equal(sim.command, 0x0400);
	assert_null(sim.mem);
}

static void identify_disables_an_enabled_controller_first(void **state)
{
	struct evfio_ident id;
	const char *why;

	(void)state;
	sim_reset();
	sim.cc = 1;	/* left enabled by firmware or a previous driver */
	sim.csts = 1;
	assert_int_equal(identify(&id, &why), 0);
	assert_string_equal(id.serial, "SN-SIM-0001");
}

static void controller_that_never_becomes_ready_times_out(void **state)
{
	struct evfio_ident id;
	const char *why = NULL;

	(void)state;
	sim_reset();
	sim.never_ready = true;
	assert_int_equal(identify(&id, &why), -ETIMEDOUT);
	assert_non_null(why);
	assert_non_null(strstr(why, "did not become ready"));
	assert_false(id.nvme_known);
	assert_null(sim.mem);
}

static void command_without_completion_times_out(void **state)
{
	struct evfio_ident id;
	const char *why = NULL;

	(void)state;
	sim_reset();
	sim.no_completion = true;
	assert_int_equal(identify(&id, &why), -ETIMEDOUT);
	assert_non_null(strstr(why, "did not complete"));
	assert_false(id.nvme_known);
	assert_int_equal(sim.cc & 1, 0);
}

static void failed_command_status_is_an_error(void **state)
{
	struct evfio_ident id;
	const char *why = NULL;

	(void)state;
	sim_reset();
	sim.status = 0x0002;	/* Invalid Field in Command */
	assert_int_equal(identify(&id, &why), -EIO);
	assert_non_null(strstr(why, "Identify Controller failed"));
	assert_false(id.nvme_known);
}

static void controller_without_4k_pages_or_nvm_command_set_is_refused(void **state)
{
	struct evfio_ident id;
	const char *why = NULL;

	(void)state;
	sim_reset();
	sim.cap |= 1ull << 48;	/* MPSMIN 8 KiB */
	assert_int_equal(identify(&id, &why), -ENOTSUP);
	assert_int_equal(sim.identifies, 0);
	sim_reset();
	sim.cap &= ~(1ull << 37);
	assert_int_equal(identify(&id, &why), -ENOTSUP);
	sim_reset();
	sim.cap = ~0ull;	/* all ones: the device is gone */
	assert_int_equal(identify(&id, &why), -ENODEV);
}

/* A controller that does not stop may still write to memory: bus mastering
 * goes off, and the function is reset, before its DMA buffer is unmapped. */
static void controller_that_does_not_stop_loses_bus_mastering_before_unmap(void **state)
{
	struct evfio_ident id;
	const char *why = NULL;

	(void)state;
	sim_reset();
	sim.never_stops = true;
	assert_int_not_equal(identify(&id, &why), 0);
	assert_non_null(why);
	assert_true(sim.master_off_at > 0);
	assert_true(sim.dma_freed_at > 0);
	assert_true(sim.master_off_at < sim.dma_freed_at);
	assert_true(sim.reset_at > 0);
	assert_true(sim.reset_at < sim.dma_freed_at);
}

/* 64 KiB host pages (arm64): the queues and the data buffer are in such
 * pages, CC.MPS says so, and the DMA sits where the IOMMU allows it. */
static void host_pages_of_64k_and_an_iova_window(void **state)
{
	struct evfio_ident id;
	const char *why = NULL;

	(void)state;
	sim_reset();
	sim.cap |= 4ull << 52;	/* MPSMAX 64 KiB */
	sim.window = (struct evfio_iova_range){ 0x8000000, 0x8ffffff };
	page_size = 65536;
	assert_int_equal(identify(&id, &why), 0);
	assert_string_equal(id.serial, "SN-SIM-0001");
	assert_int_equal((sim.cc_enabled >> 7) & 0xf, 4);
	assert_int_equal(sim.iova, 0x8000000);
	assert_int_equal(sim.asq, sim.iova);
	assert_int_equal(sim.acq, sim.iova + 65536);
	assert_int_equal(sim.prp1, sim.iova + 2 * 65536);
	/* a controller whose pages stop at 4 KiB cannot use them */
	sim_reset();
	assert_int_equal(identify(&id, &why), -ENOTSUP);
	assert_non_null(strstr(why, "page size"));
	/* no room in the IOMMU's window: not mapped, said so */
	sim_reset();
	sim.cap |= 4ull << 52;
	sim.window = (struct evfio_iova_range){ 0x8000000, 0x8010000 };
	assert_int_equal(identify(&id, &why), -ENOSPC);
	assert_non_null(strstr(why, "DMA"));
	page_size = 4096;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identify_reads_trimmed_serial_and_model_and_leaves_it_disabled),
		cmocka_unit_test(identify_disables_an_enabled_controller_first),
		cmocka_unit_test(controller_that_never_becomes_ready_times_out),
		cmocka_unit_test(command_without_completion_times_out),
		cmocka_unit_test(failed_command_status_is_an_error),
		cmocka_unit_test(controller_without_4k_pages_or_nvm_command_set_is_refused),
		cmocka_unit_test(controller_that_does_not_stop_loses_bus_mastering_before_unmap),
		cmocka_unit_test(host_pages_of_64k_and_an_iova_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
