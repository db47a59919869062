// SPDX-License-Identifier: MIT
/* vfio.c's choice of an iova for Identify's DMA buffer: inside the ranges
 * the IOMMU reports (VFIO_IOMMU_GET_INFO), aligned to the host page, never
 * at 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>

#include <cmocka.h>

#include "early-vfio.h"

static void lowest_aligned_start_of_a_range_with_room(void **state)
{
	/* x86 with an MSI window carved out, as the kernel reports it */
	const struct evfio_iova_range r[] = {
		{ 0x0, 0xfedfffff },
		{ 0xfef00000, 0xffffffffffffull },
	};
	uint64_t iova = 1;

	(void)state;
	assert_int_equal(evfio_vfio_pick_iova(r, 2, 3 * 4096, 4096, &iova), 0);
	assert_int_equal(iova, 4096);	/* not 0 */
	assert_int_equal(evfio_vfio_pick_iova(r, 2, 3 * 65536, 65536, &iova), 0);
	assert_int_equal(iova, 65536);
}

static void a_range_too_small_is_skipped(void **state)
{
	const struct evfio_iova_range r[] = {
		{ 0x1000, 0x2fff },		/* 2 pages */
		{ 0x10000001, 0x1fffffff },	/* unaligned start */
	};
	uint64_t iova = 0;

	(void)state;
	assert_int_equal(evfio_vfio_pick_iova(r, 2, 3 * 4096, 4096, &iova), 0);
	assert_int_equal(iova, 0x10001000);
}

static void no_room_anywhere(void **state)
{
	const struct evfio_iova_range r[] = { { 0x1000, 0x3fff } };
	const struct evfio_iova_range top[] = { { 0xfffffffffffff000ull, UINT64_MAX } };
	uint64_t iova = 7;

	(void)state;
	assert_int_equal(evfio_vfio_pick_iova(r, 1, 4 * 4096, 4096, &iova), -ENOSPC);
	assert_int_equal(evfio_vfio_pick_iova(NULL, 0, 4096, 4096, &iova), -ENOSPC);
	assert_int_equal(evfio_vfio_pick_iova(top, 1, 2 * 4096, 4096, &iova), -ENOSPC);
	assert_int_equal(evfio_vfio_pick_iova(top, 1, 4096, 4096, &iova), 0);
	assert_int_equal(iova, 0xfffffffffffff000ull);
	assert_int_equal(evfio_vfio_pick_iova(r, 1, 4096, 3000, &iova), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lowest_aligned_start_of_a_range_with_room),
		cmocka_unit_test(a_range_too_small_is_skipped),
		cmocka_unit_test(no_room_anywhere),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
