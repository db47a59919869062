// SPDX-License-Identifier: MIT
/* A device opened through VFIO from userspace: the container and IOMMU
 * group, the device's regions (config space and BARs, read and written
 * with pread/pwrite on the device fd) and DMA buffers mapped through the
 * IOMMU.  Only what identify.c needs to talk to an NVMe controller that
 * vfio-pci holds, without any host driver.
 *
 * The device nodes are opened under the root (dev/vfio/vfio,
 * dev/vfio/<group>); the group number comes from evfio_dev, which
 * pci.c read as a plain decimal number. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "early-vfio.h"

void evfio_vfio_init(struct evfio_vfio *v)
{
	memset(v, 0, sizeof(*v));
	v->container = v->group = v->device = -1;
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
	v->container = openat(fs->rootfd, "dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0)
		goto fail;
	*why = "the kernel's VFIO API is not version 0";
	errno = ENOTSUP;
	if (ioctl(v->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		goto fail;
	*why = "no type 1 IOMMU for VFIO (vfio_iommu_type1)";
	if (ioctl(v->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) != 1)
		goto fail;

	snprintf(path, sizeof(path), "dev/vfio/%d", d->iommu_group);
	*why = "cannot open its IOMMU group's /dev/vfio node";
	v->group = openat(fs->rootfd, path, O_RDWR | O_CLOEXEC);
	if (v->group < 0 && errno == EBUSY)
		*why = "its IOMMU group is in use (by a virtual machine?)";
	if (v->group < 0)
		goto fail;
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

/* Anonymous, page-aligned memory the device may read and write at iova. */
int evfio_vfio_dma_alloc(struct evfio_vfio *v, size_t size, uint64_t iova,
			 void **mem)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.iova = iova,
		.size = size,
	};
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

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
