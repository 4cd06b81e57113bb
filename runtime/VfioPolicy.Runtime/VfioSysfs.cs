using System;
using System.Collections.Generic;
using System.Globalization;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>What the runtime learns from sysfs and /dev before it opens anything: the device, its driver, group and cdev.</summary>
    internal static class VfioSysfs
    {
        /// <summary>Resolves <paramref name="device"/> (an address or sysfs path) to its normalized address and sysfs folder.</summary>
        public static (string Address, string SysfsPath) ResolveDevice(string device, VfioContainerOptions options, IVfioKernel kernel)
        {
            string trimmed = device.Trim().TrimEnd('/');
            string candidate = trimmed.Contains('/') ? trimmed.Substring(trimmed.LastIndexOf('/') + 1) : trimmed;
            if (!ConfigDumpReader.TryNormalizeSlot(candidate, out string address))
            {
                throw new VfioException(VfioErrorKind.DeviceNotFound, "resolving " + device, 0, "expected a PCI address (DDDD:BB:DD.F or BB:DD.F) or a sysfs device path");
            }

            string sysfsPath = trimmed.Contains('/') ? trimmed : options.SysfsDevices + "/" + address;
            if (!kernel.Exists(sysfsPath))
            {
                throw new VfioException(VfioErrorKind.DeviceNotFound, "resolving " + device, VfioConstants.ENOENT, "no PCI device at " + sysfsPath);
            }

            return (address, sysfsPath);
        }

        /// <summary>Checks the device is bound to vfio-pci and returns its IOMMU group.</summary>
        public static int ResolveGroup(string address, string sysfsPath, IVfioKernel kernel)
        {
            string? driver = kernel.ReadLink(sysfsPath + "/driver");
            string driverName = driver is null ? string.Empty : LastComponent(driver);
            if (driverName != "vfio-pci")
            {
                string now = driver is null ? "it is bound to no driver" : "it is bound to " + driverName;
                throw new VfioException(
                    VfioErrorKind.NotBoundToVfioPci,
                    "reading " + sysfsPath + "/driver",
                    0,
                    address + " is not bound to vfio-pci (" + now + "); bind it: echo vfio-pci > " + sysfsPath + "/driver_override; echo " + address + " > /sys/bus/pci/drivers_probe");
            }

            string? link = kernel.ReadLink(sysfsPath + "/iommu_group");
            if (link is null || !int.TryParse(LastComponent(link), NumberStyles.None, CultureInfo.InvariantCulture, out int group))
            {
                throw new VfioException(
                    VfioErrorKind.NoIommuGroup,
                    "reading " + sysfsPath + "/iommu_group",
                    VfioConstants.ENOENT,
                    address + " has no IOMMU group: the IOMMU is off or absent (boot with intel_iommu=on or amd_iommu=on)");
            }

            return group;
        }

        /// <summary>The device's VFIO character device name (vfioN) from <c>SYSFS/vfio-dev</c>, or null when the kernel offers none.</summary>
        public static string? CdevName(string sysfsPath, IVfioKernel kernel)
        {
            foreach (string name in kernel.ListDirectory(sysfsPath + "/vfio-dev"))
            {
                if (name.StartsWith("vfio", StringComparison.Ordinal) && name.Length > 4 && int.TryParse(name.Substring(4), NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return name;
                }
            }

            return null;
        }

        /// <summary>Why the group is not viable: which other members are bound to host drivers.</summary>
        public static string DescribeGroup(IVfioKernel kernel, VfioContainerOptions options, int group, string address)
        {
            string folder = options.IommuGroups + "/" + group.ToString(CultureInfo.InvariantCulture) + "/devices";
            var others = new List<string>();
            foreach (string member in kernel.ListDirectory(folder))
            {
                if (member == address)
                {
                    continue;
                }

                string? driver = DriverOf(kernel, options, member);
                if (driver is not null && driver != "vfio-pci" && driver != "pci-stub")
                {
                    others.Add(member + " (bound to " + driver + ")");
                }
            }

            string who = others.Count == 0 ? "another device of the group is bound to a host driver" : string.Join(", ", others) + (others.Count == 1 ? " is" : " are") + " bound to a host driver";
            return "IOMMU group " + group.ToString(CultureInfo.InvariantCulture) + " is not viable: " + who + "; bind every device of the group to vfio-pci (or unbind it) first";
        }

        /// <summary>The driver <paramref name="address"/> is bound to, or null.</summary>
        public static string? DriverOf(IVfioKernel kernel, VfioContainerOptions options, string address)
        {
            string? driver = kernel.ReadLink(options.SysfsDevices + "/" + address + "/driver");
            return driver is null ? null : LastComponent(driver);
        }

        /// <summary>Opens a VFIO file, turning the errors a user can fix into kinds that say how.</summary>
        public static int OpenFile(IVfioKernel kernel, string path, string what)
        {
            try
            {
                return kernel.Open(path);
            }
            catch (VfioException error) when (error.Errno == VfioConstants.EACCES || error.Errno == VfioConstants.EPERM)
            {
                throw new VfioException(VfioErrorKind.PermissionDenied, "open " + path, error.Errno, "no permission to open " + what + " (root-only by default: run as root or chown the file to this user)");
            }
            catch (VfioException error) when (error.Errno == VfioConstants.ENOENT)
            {
                throw new VfioException(VfioErrorKind.Kernel, "open " + path, error.Errno, what + " does not exist: is the vfio-pci module loaded?");
            }
            catch (VfioException error) when (error.Errno == VfioConstants.EBUSY)
            {
                throw new VfioException(VfioErrorKind.GroupInUse, "open " + path, error.Errno, what + " is already open, by another VfioContainer or another process: open every device of a group through one VfioContainer");
            }
        }

        private static string LastComponent(string path)
        {
            string trimmed = path.TrimEnd('/');
            int slash = trimmed.LastIndexOf('/');
            return slash < 0 ? trimmed : trimmed.Substring(slash + 1);
        }
    }
}
