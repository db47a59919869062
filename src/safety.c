// SPDX-License-Identifier: MIT
/* Devices the target driver must not be given.  vfio-pci's probe refuses
 * bridges, SR-IOV PFs with VFs enabled and devices without an IOMMU group;
 * with driver_override set, such a device would end with no driver at all,
 * so we refuse first and say why. */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "early-vfio.h"

const char *evfio_safety_refusal(const struct evfio_dev *d)
{
	uint32_t cls = d->id.class >> 8;

	if (d->garbled)
		return "its sysfs attributes are unreadable or malformed";
	if ((cls >> 8) == 0x06 && cls != 0x0680)
		return "it is a bridge (class 06xx): bridges and root ports are "
		       "never bound";
	if (d->sriov_numvfs > 0)
		return "it is an SR-IOV physical function with virtual functions "
		       "enabled (vfio-pci refuses it; set sriov_numvfs to 0 or "
		       "select the VFs)";
	if (d->iommu_group < 0)
		return "it has no IOMMU group: the IOMMU is off or absent (add "
		       "intel_iommu=on to the kernel command line on Intel; AMD-Vi "
		       "is on by default; check with: dmesg | grep -e DMAR -e IOMMU)";
	return NULL;
}

bool evfio_iommu_present(const struct evfio_sysfs *fs)
{
	struct dirent *e;
	bool found = false;
	DIR *dir;
	int fd;

	fd = openat(fs->rootfd, "sys/kernel/iommu_groups",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return false;
	}
	while (!found && (e = readdir(dir)))
		found = e->d_name[0] != '.';
	closedir(dir);
	return found;
}
