// SPDX-License-Identifier: MIT
/* A device opened through VFIO from userspace: the container and IOMMU
 * group, the device's regions (config space and BARs, read and written
 * with pread/pwrite on the device fd) and DMA buffers mapped through the
 * IOMMU.  Only what identify.c needs to talk to an NVMe controller that
 * vfio-pci holds, without any host driver.
 *
 * The device nodes are opened under the root (dev/vfio/vfio,
 * dev/vfio/<group>); the group number comes from evfio_dev, which
 * pci.c read as a plain decimal number.  DMA goes to an iova inside the
 * ranges the IOMMU reports, in host pages (64 KiB on some arm64 hosts). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "early-vfio.h"

void evfio_vfio_init(struct evfio_vfio *v)
{
	long page = sysconf(_SC_PAGESIZE);

	memset(v, 0, sizeof(*v));
	v->container = v->group = v->device = -1;
	v->page_size = page > 0 ? (size_t)page : 4096;
}

/* The iova ranges the IOMMU lets this container map (the IOVA_RANGE
 * capability of VFIO_IOMMU_GET_INFO, Linux 5.4 and later): reserved
 * regions such as the MSI window or an RMRR are not in them. */
static void iova_ranges(struct evfio_vfio *v)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_info_cap_header *hdr;
	struct vfio_iommu_type1_info_cap_iova_range *cap;
	size_t size = sizeof(*info);
	uint32_t off;

	v->n_ranges = 0;
	/* asked twice: the first answer says how much room the caps need */
	for (int pass = 0; pass < 2; pass++) {
		info = calloc(1, size);
		if (!info)
			return;
		info->argsz = (uint32_t)size;
		if (ioctl(v->container, VFIO_IOMMU_GET_INFO, info) < 0)
			goto out;
		if (pass || info->argsz <= size || info->argsz >= 65536)
			break;
		size = info->argsz;
		free(info);
	}
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS))
		goto out;
	for (off = info->cap_offset; off && off + sizeof(*hdr) <= size; off = hdr->next) {
		hdr = (struct vfio_info_cap_header *)((char *)info + off);
		if (hdr->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
			continue;
		cap = (struct vfio_iommu_type1_info_cap_iova_range *)hdr;
		if (off + sizeof(*cap) + (size_t)cap->nr_iovas * sizeof(cap->iova_ranges[0]) > size)
			break;
		for (uint32_t i = 0; i < cap->nr_iovas && v->n_ranges < EVFIO_IOVA_RANGES; i++) {
			v->ranges[v->n_ranges].start = cap->iova_ranges[i].start;
			v->ranges[v->n_ranges].end = cap->iova_ranges[i].end;
			v->n_ranges++;
		}
		break;
	}
out:
	free(info);
}

int evfio_vfio_pick_iova(const struct evfio_iova_range *r, size_t n,
			 uint64_t size, uint64_t align, uint64_t *iova)
{
	uint64_t best = UINT64_MAX;

	if (!size || !align || (align & (align - 1)))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		uint64_t start = r[i].start < align ? align : r[i].start;
		uint64_t rem = start & (align - 1);

		if (rem && start > UINT64_MAX - (align - rem))
			continue;
		if (rem)
			start += align - rem;
		if (r[i].end < start || r[i].end - start < size - 1)
			continue;
		if (start < best)
			best = start;
	}
	if (best == UINT64_MAX)
		return -ENOSPC;
	*iova = best;
	return 0;
}

static int region(struct evfio_vfio *v, unsigned int index,
		  struct evfio_vfio_region *out)
{
	struct vfio_region_info info = { .argsz = sizeof(info), .index = index };

	if (ioctl(v->device, VFIO_DEVICE_GET_REGION_INFO, &info) < 0)
		return -errno;
	if (!(info.flags & VFIO_REGION_INFO_FLAG_READ) ||
	    !(info.flags & VFIO_REGION_INFO_FLAG_WRITE) || !info.size)
		return -ENXIO;
	out->offset = info.offset;
	out->size = info.size;
	return 0;
}

int evfio_vfio_open(struct evfio_vfio *v, const struct evfio_sysfs *fs,
		    const struct evfio_dev *d, const char **why)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[32];
	int r;

	evfio_vfio_init(v);
	*why = "no IOMMU group";
	if (d->iommu_group < 0)
		return -ENODEV;
	*why = "cannot open /dev/vfio/vfio";
	v->container = evfio_sysfs_openat(fs, "dev/vfio/vfio", O_RDWR, 0);
	if (v->container < 0) {
		errno = -v->container;
		goto fail;
	}
	*why = "the kernel's VFIO API is not version 0";
	errno = ENOTSUP;
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		goto fail;
	*why = "no type 1 IOMMU for VFIO (vfio_iommu_type1)";
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		goto fail;

	snprintf(path, sizeof(path), "dev/vfio/%d", d->iommu_group);
	*why = "cannot open its IOMMU group's /dev/vfio node";
	v->group = evfio_sysfs_openat(fs, path, O_RDWR, 0);
	if (v->group == -EBUSY)
		*why = "its IOMMU group is in use (by a virtual machine?)";
	if (v->group < 0) {
		errno = -v->group;
		goto fail;
	}
	if (ioctl(v->group, VFIO_GROUP_GET_STATUS, &status) < 0)
		goto fail;
	*why = "its IOMMU group is not viable (another device in the group "
	       "is on a host driver)";
	errno = EBUSY;
	if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE))
		goto fail;
	*why = "cannot attach its IOMMU group to a VFIO container";
	if (ioctl(v->group, VFIO_GROUP_SET_CONTAINER, &v->container) < 0 ||
	    ioctl(v->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
		goto fail;
	iova_ranges(v);
	*why = "vfio-pci does not give the device out (in use?)";
	v->device = ioctl(v->group, VFIO_GROUP_GET_DEVICE_FD, d->bdf);
	if (v->device < 0)
		goto fail;
	*why = "it has no usable config space or BAR 0";
	r = region(v, VFIO_PCI_CONFIG_REGION_INDEX, &v->config);
	if (!r)
		r = region(v, VFIO_PCI_BAR0_REGION_INDEX, &v->bar0);
	if (r) {
		errno = -r;
		goto fail;
	}
	*why = NULL;
	return 0;
fail:
	r = errno ? -errno : -EIO;
	evfio_vfio_close(v);
	return r;
}

void evfio_vfio_close(struct evfio_vfio *v)
{
	if (v->device >= 0)
		close(v->device);
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	evfio_vfio_init(v);
}

static int rw(int fd, bool write, void *buf, size_t len,
	      const struct evfio_vfio_region *reg, uint64_t off)
{
	ssize_t n;

	if (off + len > reg->size)
		return -ERANGE;
	n = write ? pwrite(fd, buf, len, (off_t)(reg->offset + off)) :
		    pread(fd, buf, len, (off_t)(reg->offset + off));
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* BAR registers: 32-bit accesses only (8-byte VFIO accesses are recent). */
int evfio_vfio_bar_read32(struct evfio_vfio *v, uint64_t off, uint32_t *val)
{
	return rw(v->device, false, val, 4, &v->bar0, off);
}

int evfio_vfio_bar_write32(struct evfio_vfio *v, uint64_t off, uint32_t val)
{
	return rw(v->device, true, &val, 4, &v->bar0, off);
}

int evfio_vfio_cfg_read16(struct evfio_vfio *v, uint64_t off, uint16_t *val)
{
	return rw(v->device, false, val, 2, &v->config, off);
}

int evfio_vfio_cfg_write16(struct evfio_vfio *v, uint64_t off, uint16_t val)
{
	return rw(v->device, true, &val, 2, &v->config, off);
}

int evfio_vfio_reset(struct evfio_vfio *v)
{
	return ioctl(v->device, VFIO_DEVICE_RESET) < 0 ? -errno : 0;
}

/* Without the IOMMU's ranges (kernels before 5.4): low memory above the
 * first MiB, which x86 and arm64 IOMMUs map. */
static const struct evfio_iova_range default_range = { 0x100000, 0xfeffffff };

/* Anonymous, page-aligned memory the device may read and write at *iova. */
int evfio_vfio_dma_alloc(struct evfio_vfio *v, size_t size, uint64_t *iova,
			 void **mem)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.size = size,
	};
	void *p;
	int r;

	r = v->n_ranges ? evfio_vfio_pick_iova(v->ranges, v->n_ranges, size,
					       v->page_size, iova) :
			  evfio_vfio_pick_iova(&default_range, 1, size,
					       v->page_size, iova);
	if (r)
		return r;
	map.iova = *iova;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	map.vaddr = (uintptr_t)p;
	if (ioctl(v->container, VFIO_IOMMU_MAP_DMA, &map) < 0) {
		r = -errno;
		munmap(p, size);
		return r;
	}
	*mem = p;
	return 0;
}

void evfio_vfio_dma_free(struct evfio_vfio *v, void *mem, size_t size,
			 uint64_t iova)
{
	struct vfio_iommu_type1_dma_unmap unmap = {
		.argsz = sizeof(unmap),
		.iova = iova,
		.size = size,
	};

	if (!mem)
		return;
	ioctl(v->container, VFIO_IOMMU_UNMAP_DMA, &unmap);
	munmap(mem, size);
}
