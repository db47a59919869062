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
	/* what happened */
	int identifies;
	bool enabled_once;
	uint32_t last_sq_tail;
} sim;

static void sim_reset(void)
{
	memset(&sim, 0, sizeof(sim));
	/* MQES 63, TO 2 (1 s), DSTRD 0, CSS NVM, MPSMIN 0 */
	sim.cap = 63 | (2ull << 24) | (1ull << 37);
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
		if (!sim.never_ready || !(val & 1))
			sim.csts = val & 1;
		if (val & 1)
			sim.enabled_once = true;
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
	if (off == 4)
		sim.command = val;
	return 0;
}

int evfio_vfio_dma_alloc(struct evfio_vfio *v, size_t size, uint64_t iova,
			 void **mem)
{
	(void)v;
	assert_null(sim.mem);
	assert_int_equal(iova % 4096, 0);
	sim.mem = aligned_alloc(4096, size);
	assert_non_null(sim.mem);
	memset(sim.mem, 0, size);
	sim.iova = iova;
	sim.size = size;
	*mem = sim.mem;
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
}

/* ---- tests ------------------------------------------------------------ */

static int identify(struct evfio_ident *id, const char **why)
{
	struct evfio_vfio v = { .device = -1 };

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identify_reads_trimmed_serial_and_model_and_leaves_it_disabled),
		cmocka_unit_test(identify_disables_an_enabled_controller_first),
		cmocka_unit_test(controller_that_never_becomes_ready_times_out),
		cmocka_unit_test(command_without_completion_times_out),
		cmocka_unit_test(failed_command_status_is_an_error),
		cmocka_unit_test(controller_without_4k_pages_or_nvm_command_set_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
