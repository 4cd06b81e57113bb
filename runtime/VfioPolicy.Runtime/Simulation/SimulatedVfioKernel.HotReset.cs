using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime.Simulation
{
    /// <summary>
    /// PCI hot reset, simulated as vfio-pci does it: a secondary bus reset resets every function on the device's bus
    /// (bus 00 is the root bus, which has no bridge to reset it), and the caller must own all of them.
    /// </summary>
    public sealed partial class SimulatedVfioKernel
    {
        /// <summary>How many hot resets (bus resets) the kernel performed.</summary>
        public int HotResetCount { get; private set; }

        /// <inheritdoc />
        public VfioHotResetInfo GetPciHotResetInfo(int deviceFd)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", out Descriptor caller);
                List<(string Address, int? Group)> affected = BusMembers(device, "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on " + caller.Path);
                var devices = new List<VfioDependentDevice>();
                bool allOwned = true;
                foreach ((string address, int? group) in affected)
                {
                    uint id = (uint)(group ?? -1);
                    if (caller.ViaCdev)
                    {
                        id = CdevOwnership(caller.BoundIommufd, address, group);
                        allOwned &= id != VfioDependentDevice.DeviceIdNotOwned;
                    }

                    devices.Add(Dependent(address, id));
                }

                return new VfioHotResetInfo(caller.ViaCdev, caller.ViaCdev && allOwned, devices);
            }
        }

        /// <inheritdoc />
        public void PciHotReset(int deviceFd, IReadOnlyList<int> groupFds)
        {
            if (groupFds is null)
            {
                throw new ArgumentNullException(nameof(groupFds));
            }

            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_PCI_HOT_RESET", out Descriptor caller);
                string operation = "VFIO_DEVICE_PCI_HOT_RESET on " + caller.Path;
                List<(string Address, int? Group)> affected = BusMembers(device, operation);

                // Proof of ownership: the group descriptors (group/container path, 1 to "affected" of them), or the
                // iommufd the cdev is bound to (an empty list).
                var groups = new HashSet<int>();
                if (caller.ViaCdev ? groupFds.Count != 0 : groupFds.Count == 0 || groupFds.Count > affected.Count)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                foreach (int fd in groupFds)
                {
                    if (!_descriptors.TryGetValue(fd, out Descriptor? group) || group.Kind != DescriptorKind.Group)
                    {
                        throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                    }

                    groups.Add(group.Group);
                }

                foreach ((string address, int? group) in affected)
                {
                    // Every function on the bus must be a vfio-pci device the caller owns.
                    bool vfio = _devices.TryGetValue(address, out SimulatedPciDevice? member) && member.Driver == "vfio-pci";
                    bool owned = caller.ViaCdev ? CdevOwnership(caller.BoundIommufd, address, group) != VfioDependentDevice.DeviceIdNotOwned : group is int g && groups.Contains(g);
                    if (!vfio || !owned)
                    {
                        throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                    }
                }

                foreach ((string address, _) in affected)
                {
                    _devices[address].Reset();
                }

                HotResetCount++;
            }
        }

        /// <summary>Every function a bus reset of <paramref name="device"/>'s bus reaches (ENODEV on the root bus), in address order.</summary>
        private List<(string Address, int? Group)> BusMembers(SimulatedPciDevice device, string operation)
        {
            string bus = BusOf(device.Address);
            if (bus.EndsWith(":00", StringComparison.Ordinal))
            {
                throw VfioException.FromErrno(operation, VfioConstants.ENODEV);
            }

            return _devices.Values.Select(d => (d.Address, d.IommuGroup))
                .Concat(_otherMembers.Select(m => (Address: m.Key, IommuGroup: (int?)m.Value.Group)))
                .Where(m => BusOf(m.Item1) == bus)
                .OrderBy(m => m.Item1, StringComparer.Ordinal)
                .Select(m => (m.Item1, m.Item2))
                .ToList();
        }

        /// <summary>The cdev path's ownership answer for one affected function: its device ID in the caller's iommufd, OWNED (same group as an owned one), or NOT_OWNED.</summary>
        private uint CdevOwnership(int iommufd, string address, int? group)
        {
            Descriptor? bound = _descriptors.Values.FirstOrDefault(d => d.Kind == DescriptorKind.Device && d.ViaCdev && d.BoundIommufd == iommufd && d.Device!.Address == address);
            if (bound is not null)
            {
                return bound.DeviceId;
            }

            bool sameGroupAsOwned = group is not null && _descriptors.Values.Any(d => d.Kind == DescriptorKind.Device && d.ViaCdev && d.BoundIommufd == iommufd && d.Device!.IommuGroup == group);
            return sameGroupAsOwned ? VfioDependentDevice.DeviceIdOwned : VfioDependentDevice.DeviceIdNotOwned;
        }

        private static string BusOf(string address) => address.Substring(0, 7);

        private static VfioDependentDevice Dependent(string address, uint id)
        {
            ushort segment = ushort.Parse(address.Substring(0, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            byte bus = byte.Parse(address.Substring(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            byte slot = byte.Parse(address.Substring(8, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            byte function = byte.Parse(address.Substring(11, 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return new VfioDependentDevice(id, segment, bus, (byte)((slot << 3) | function));
        }
    }
}
