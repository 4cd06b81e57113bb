using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime.Simulation
{
    /// <summary>
    /// A kernel with vfio-pci, simulated: sysfs links, the container/group/device API with the real kernel's rules
    /// (set the IOMMU before asking for a device; only one interrupt index enabled at a time; INTx auto-masked),
    /// regions at <c>index &lt;&lt; 40</c>, eventfds as in-memory counters, and fault injection per operation.
    /// </summary>
    /// <remarks>Thread-safe: one lock; <see cref="Poll"/> waits on it.</remarks>
    public sealed partial class SimulatedVfioKernel : IVfioKernel
    {
        private const string SysfsDevices = "/sys/bus/pci/devices/";
        private const string IommuGroups = "/sys/kernel/iommu_groups/";
        private const string VfioDirectory = "/dev/vfio/";
        private const string CdevDirectory = "/dev/vfio/devices/";
        private const string IommufdPath = "/dev/iommu";
        private readonly object _gate = new object();
        private readonly Dictionary<string, SimulatedPciDevice> _devices = new Dictionary<string, SimulatedPciDevice>(StringComparer.Ordinal);
        private readonly Dictionary<string, (int Group, string? Driver)> _otherMembers = new Dictionary<string, (int, string?)>(StringComparer.Ordinal);
        private readonly Dictionary<int, Descriptor> _descriptors = new Dictionary<int, Descriptor>();
        private readonly Dictionary<string, (int Errno, int Remaining)> _faults = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        private readonly Dictionary<string, (int Bytes, int Remaining)> _shortTransfers = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        private readonly IVfioKernel? _host;
        private int _nextFd = 3;

        /// <summary>Creates the kernel with <paramref name="devices"/> present.</summary>
        public SimulatedVfioKernel(params SimulatedPciDevice[] devices)
        {
            foreach (SimulatedPciDevice device in devices ?? Array.Empty<SimulatedPciDevice>())
            {
                device.Attach(this, _devices.Count);
                _devices.Add(device.Address, device);
            }
        }

        /// <summary>
        /// Creates the kernel with <paramref name="devices"/> present, among the real descriptors of <paramref name="host"/>:
        /// any descriptor the simulation did not hand out is the host's, so a real VMM's eventfds can be attached to
        /// simulated interrupts (signalled for real) and its memfds mapped for simulated DMA (<c>vfio-policy serve --device</c>).
        /// Simulated descriptors are numbered from 2^20 so they cannot be mistaken for the host's.
        /// </summary>
        public SimulatedVfioKernel(IVfioKernel host, params SimulatedPciDevice[] devices)
            : this(devices)
        {
            _host = host ?? throw new ArgumentNullException(nameof(host));
            _nextFd = 1 << 20;
        }

        /// <summary>When true, opening anything under /dev/vfio fails with EACCES (a non-root caller).</summary>
        public bool DenyAccess { get; set; }

        /// <summary>The VFIO API version the container reports.</summary>
        public int ApiVersion { get; set; } = VfioConstants.ApiVersion;

        /// <summary>Whether the container offers the type1 IOMMUs.</summary>
        public bool OffersType1 { get; set; } = true;

        /// <summary>How many descriptors are open (to check that nothing leaks).</summary>
        public int OpenDescriptorCount
        {
            get
            {
                lock (_gate)
                {
                    return _descriptors.Count;
                }
            }
        }

        /// <summary>Adds another device to IOMMU group <paramref name="group"/>, bound to <paramref name="driver"/> (for viability).</summary>
        public void AddGroupMember(string address, int group, string? driver)
        {
            lock (_gate)
            {
                _otherMembers[address] = (group, driver);
            }
        }

        /// <summary>
        /// Makes the next <paramref name="times"/> calls of <paramref name="operation"/> fail with <paramref name="errno"/>.
        /// Operations: open, pread, pwrite, mmap, eventfd, poll, and the ioctl names (VFIO_GROUP_GET_DEVICE_FD, …).
        /// </summary>
        public void InjectFault(string operation, int errno, int times = int.MaxValue)
        {
            lock (_gate)
            {
                _faults[operation] = (errno, times);
            }
        }

        /// <summary>
        /// Makes the next <paramref name="times"/> config-region calls of <paramref name="operation"/> ("pread" or
        /// "pwrite") transfer at most <paramref name="bytes"/> bytes (0: nothing) and return that count, as vfio-pci does
        /// when a later chunk of a config access fails. The bytes it reports are really transferred. BAR accesses are
        /// never short: vfio-pci performs an aligned 1/2/4/8-byte BAR access as one ioread/iowrite.
        /// </summary>
        public void InjectShortTransfer(string operation, int bytes, int times = 1)
        {
            if (bytes < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "A transfer cannot be shorter than 0 bytes.");
            }

            lock (_gate)
            {
                _shortTransfers[operation] = (bytes, times);
            }
        }

        /// <summary>Removes every injected fault and short transfer.</summary>
        public void ClearFaults()
        {
            lock (_gate)
            {
                _faults.Clear();
                _shortTransfers.Clear();
            }
        }

        /// <inheritdoc />
        public int Open(string path)
        {
            lock (_gate)
            {
                Fault("open", path);
                if (path == VfioDirectory + "vfio")
                {
                    ThrowIfDenied(path);
                    return Add(new Descriptor(DescriptorKind.Container, path));
                }

                if (path == IommufdPath && OffersIommufd)
                {
                    ThrowIfDenied(path);
                    return Add(new Descriptor(DescriptorKind.Iommufd, path));
                }

                if (path.StartsWith(CdevDirectory, StringComparison.Ordinal) && OffersIommufd
                    && _devices.Values.FirstOrDefault(d => d.Driver == "vfio-pci" && CdevName(d) == path.Substring(CdevDirectory.Length)) is { } cdevDevice)
                {
                    ThrowIfDenied(path);
                    if (_descriptors.Values.Any(d => d.Kind == DescriptorKind.Group && d.Group == cdevDevice.IommuGroup))
                    {
                        // vfio: a device whose group is open through the group/container API cannot also open as a cdev.
                        throw VfioException.FromErrno("open " + path, VfioConstants.EBUSY);
                    }

                    return Add(new Descriptor(DescriptorKind.Device, "VFIO device " + cdevDevice.Address + " (" + path + ")") { Device = cdevDevice, ViaCdev = true });
                }

                if (path.StartsWith(VfioDirectory, StringComparison.Ordinal) && int.TryParse(path.Substring(VfioDirectory.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int group)
                    && _devices.Values.Any(d => d.IommuGroup == group && d.Driver == "vfio-pci"))
                {
                    ThrowIfDenied(path);
                    if (_descriptors.Values.Any(d => (d.Kind == DescriptorKind.Group && d.Group == group) || (d.Kind == DescriptorKind.Device && d.ViaCdev && d.Device!.IommuGroup == group)))
                    {
                        throw VfioException.FromErrno("open " + path, VfioConstants.EBUSY);
                    }

                    return Add(new Descriptor(DescriptorKind.Group, path) { Group = group });
                }

                throw VfioException.FromErrno("open " + path, VfioConstants.ENOENT);
            }
        }

        /// <inheritdoc />
        public void Close(int fd)
        {
            lock (_gate)
            {
                if (!_descriptors.TryGetValue(fd, out Descriptor? descriptor))
                {
                    if (IsHostDescriptor(fd))
                    {
                        _host!.Close(fd);
                    }

                    return;
                }

                _descriptors.Remove(fd);
                if (descriptor.Kind == DescriptorKind.Memory && descriptor.Memory is { } memory)
                {
                    // An open memfd keeps its memory alive, as a mapping does (each descriptor holds a pin).
                    if (memory.Fd == fd)
                    {
                        memory.Fd = -1;
                    }

                    memory.Unpin();
                    return;
                }

                if (_descriptors.ContainsValue(descriptor))
                {
                    return; // a duplicate is still open: the file stays
                }

                switch (descriptor.Kind)
                {
                    case DescriptorKind.Device when descriptor.Device is { } device:
                        // Closing the device fd releases its interrupts, as vfio-pci's release does.
                        device.EnabledIrqIndex = null;
                        device.VectorEventFds = Array.Empty<int>();
                        device.IntxUnmaskFd = -1;
                        device.ErrEventFd = -1;
                        device.ReqEventFd = -1;
                        break;
                    case DescriptorKind.Group:
                        LeaveContainer(descriptor);
                        break;
                    case DescriptorKind.Container:
                        foreach (Descriptor group in _descriptors.Values.Where(d => d.Kind == DescriptorKind.Group && d.Container == fd).ToArray())
                        {
                            LeaveContainer(group);
                        }

                        ReleaseMappings(descriptor.Mappings);
                        break;
                    case DescriptorKind.Iommufd:
                        foreach (List<SimulatedDmaMapping> ioas in descriptor.AddressSpaces.Values)
                        {
                            ReleaseMappings(ioas);
                        }

                        descriptor.AddressSpaces.Clear();
                        break;
                }
            }
        }

        /// <inheritdoc />
        public bool Exists(string path)
        {
            lock (_gate)
            {
                if (OffersIommufd && (path == IommufdPath || (path.StartsWith(CdevDirectory, StringComparison.Ordinal) && _devices.Values.Any(d => d.Driver == "vfio-pci" && CdevName(d) == path.Substring(CdevDirectory.Length)))))
                {
                    return true;
                }

                return path.StartsWith(SysfsDevices, StringComparison.Ordinal) && _devices.ContainsKey(path.Substring(SysfsDevices.Length));
            }
        }

        /// <inheritdoc />
        public string? ReadLink(string path)
        {
            lock (_gate)
            {
                if (!path.StartsWith(SysfsDevices, StringComparison.Ordinal))
                {
                    return null;
                }

                string rest = path.Substring(SysfsDevices.Length);
                int slash = rest.IndexOf('/');
                if (slash < 0)
                {
                    return null;
                }

                string address = rest.Substring(0, slash);
                string link = rest.Substring(slash + 1);
                string? driver;
                int? group;
                if (_devices.TryGetValue(address, out SimulatedPciDevice? device))
                {
                    driver = device.Driver;
                    group = device.IommuGroup;
                }
                else if (_otherMembers.TryGetValue(address, out (int Group, string? Driver) other))
                {
                    driver = other.Driver;
                    group = other.Group;
                }
                else
                {
                    return null;
                }

                return link switch
                {
                    "driver" => driver is null ? null : "../../../bus/pci/drivers/" + driver,
                    "iommu_group" => group is null ? null : "../../../kernel/iommu_groups/" + group.Value.ToString(CultureInfo.InvariantCulture),
                    _ => null,
                };
            }
        }

        /// <inheritdoc />
        public IReadOnlyList<string> ListDirectory(string path)
        {
            lock (_gate)
            {
                // /sys/bus/pci/devices/ADDRESS/vfio-dev: the device's cdev, where the kernel has them.
                if (path.StartsWith(SysfsDevices, StringComparison.Ordinal) && path.EndsWith("/vfio-dev", StringComparison.Ordinal))
                {
                    string address = path.Substring(SysfsDevices.Length, path.Length - SysfsDevices.Length - "/vfio-dev".Length);
                    return OffersIommufd && _devices.TryGetValue(address, out SimulatedPciDevice? device) && device.Driver == "vfio-pci" ? new[] { CdevName(device) } : Array.Empty<string>();
                }

                if (!path.StartsWith(IommuGroups, StringComparison.Ordinal) || !path.EndsWith("/devices", StringComparison.Ordinal)
                    || !int.TryParse(path.Substring(IommuGroups.Length, path.Length - IommuGroups.Length - "/devices".Length), NumberStyles.None, CultureInfo.InvariantCulture, out int group))
                {
                    return Array.Empty<string>();
                }

                return _devices.Values.Where(d => d.IommuGroup == group).Select(d => d.Address)
                    .Concat(_otherMembers.Where(m => m.Value.Group == group).Select(m => m.Key))
                    .OrderBy(a => a, StringComparer.Ordinal).ToArray();
            }
        }

        /// <inheritdoc />
        public int GetApiVersion(int containerFd)
        {
            lock (_gate)
            {
                Get(containerFd, DescriptorKind.Container, "VFIO_GET_API_VERSION");
                return ApiVersion;
            }
        }

        /// <inheritdoc />
        public bool CheckExtension(int containerFd, uint extension)
        {
            lock (_gate)
            {
                Get(containerFd, DescriptorKind.Container, "VFIO_CHECK_EXTENSION");
                return OffersType1 && (extension == VfioConstants.Type1Iommu || extension == VfioConstants.Type1v2Iommu);
            }
        }

        /// <inheritdoc />
        public void SetIommu(int containerFd, uint iommuType)
        {
            lock (_gate)
            {
                Descriptor container = Get(containerFd, DescriptorKind.Container, "VFIO_SET_IOMMU");
                bool hasGroup = _descriptors.Values.Any(d => d.Kind == DescriptorKind.Group && d.Container == containerFd);
                if (container.IommuSet)
                {
                    throw VfioException.FromErrno("VFIO_SET_IOMMU on " + container.Path, VfioConstants.EBUSY);
                }

                if (!hasGroup || !OffersType1 || (iommuType != VfioConstants.Type1Iommu && iommuType != VfioConstants.Type1v2Iommu))
                {
                    throw VfioException.FromErrno("VFIO_SET_IOMMU on " + container.Path, VfioConstants.EINVAL);
                }

                container.IommuSet = true;
            }
        }

        /// <inheritdoc />
        public VfioGroupFlags GetGroupStatus(int groupFd)
        {
            lock (_gate)
            {
                Descriptor group = Get(groupFd, DescriptorKind.Group, "VFIO_GROUP_GET_STATUS");
                bool viable = _devices.Values.Where(d => d.IommuGroup == group.Group).All(d => d.Driver is null || d.Driver == "vfio-pci")
                    && _otherMembers.Values.Where(m => m.Group == group.Group).All(m => m.Driver is null || m.Driver == "vfio-pci");
                return (viable ? VfioGroupFlags.Viable : VfioGroupFlags.None) | (group.Container >= 0 ? VfioGroupFlags.ContainerSet : VfioGroupFlags.None);
            }
        }

        /// <inheritdoc />
        public void SetContainer(int groupFd, int containerFd)
        {
            lock (_gate)
            {
                Descriptor group = Get(groupFd, DescriptorKind.Group, "VFIO_GROUP_SET_CONTAINER");
                if (!_descriptors.TryGetValue(containerFd, out Descriptor? container) || container.Kind != DescriptorKind.Container)
                {
                    throw VfioException.FromErrno("VFIO_GROUP_SET_CONTAINER on " + group.Path, VfioConstants.EBADF);
                }

                if (group.Container >= 0)
                {
                    throw VfioException.FromErrno("VFIO_GROUP_SET_CONTAINER on " + group.Path, VfioConstants.EINVAL);
                }

                group.Container = containerFd;
            }
        }

        /// <inheritdoc />
        public int GetDeviceFd(int groupFd, string deviceName)
        {
            lock (_gate)
            {
                Descriptor group = Get(groupFd, DescriptorKind.Group, "VFIO_GROUP_GET_DEVICE_FD");
                string operation = "VFIO_GROUP_GET_DEVICE_FD (" + deviceName + ") on " + group.Path;
                if (group.Container < 0 || !_descriptors.TryGetValue(group.Container, out Descriptor? container) || !container.IommuSet)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (!_devices.TryGetValue(deviceName, out SimulatedPciDevice? device) || device.IommuGroup != group.Group || device.Driver != "vfio-pci")
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENODEV);
                }

                return Add(new Descriptor(DescriptorKind.Device, "VFIO device " + device.Address) { Device = device });
            }
        }

        /// <inheritdoc />
        public VfioDeviceInfo GetDeviceInfo(int deviceFd)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_GET_INFO");
                int regions = Math.Max(VfioConstants.VgaRegionIndex + 1, device.ExtraRegions.Count == 0 ? 0 : device.ExtraRegions.Keys.Max() + 1);
                return new VfioDeviceInfo(VfioDeviceFlags.Pci | (device.CanReset ? VfioDeviceFlags.Reset : VfioDeviceFlags.None), regions, 5);
            }
        }

        /// <inheritdoc />
        public VfioRegionInfo GetRegionInfo(int deviceFd, int index)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_GET_REGION_INFO");
                long offset = (long)index << 40;
                if (index == VfioConstants.ConfigRegionIndex)
                {
                    return new VfioRegionInfo(index, VfioRegionFlags.Read | VfioRegionFlags.Write, device.Config.Length, offset, null, false);
                }

                if (device.ExtraRegions.TryGetValue(index, out SimulatedRegion? extra))
                {
                    VfioRegionFlags extraFlags = (extra.Readable ? VfioRegionFlags.Read : VfioRegionFlags.None) | (extra.Writable ? VfioRegionFlags.Write : VfioRegionFlags.None) | (extra.Type is null ? VfioRegionFlags.None : VfioRegionFlags.Caps);
                    return new VfioRegionInfo(index, extraFlags, extra.Size, offset, null, false) { Type = extra.Type };
                }

                if (index < 0 || index > VfioConstants.RomRegionIndex)
                {
                    throw VfioException.FromErrno("VFIO_DEVICE_GET_REGION_INFO (index " + index.ToString(CultureInfo.InvariantCulture) + ") on VFIO device " + device.Address, VfioConstants.EINVAL);
                }

                if (device.Bars[index] is not { } bar)
                {
                    return new VfioRegionInfo(index, VfioRegionFlags.None, 0, offset, null, false);
                }

                VfioRegionFlags flags = VfioRegionFlags.Read | (index == VfioConstants.RomRegionIndex ? VfioRegionFlags.None : VfioRegionFlags.Write);
                if (bar.Mappable && index != VfioConstants.RomRegionIndex)
                {
                    flags |= VfioRegionFlags.Mmap;
                }

                if (bar.SparseAreas is not null || bar.MsixMappable)
                {
                    flags |= VfioRegionFlags.Caps;
                }

                return new VfioRegionInfo(index, flags, bar.Size, offset, bar.SparseAreas, bar.MsixMappable);
            }
        }

        /// <inheritdoc />
        public VfioIrqInfo GetIrqInfo(int deviceFd, int index)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_GET_IRQ_INFO");
                return index switch
                {
                    VfioConstants.IntxIrqIndex => new VfioIrqInfo(index, VfioIrqFlags.EventFd | VfioIrqFlags.Maskable | VfioIrqFlags.AutoMasked, device.IntxCount),
                    VfioConstants.MsiIrqIndex => new VfioIrqInfo(index, VfioIrqFlags.EventFd | VfioIrqFlags.NoResize, device.MsiCount),
                    VfioConstants.MsixIrqIndex => new VfioIrqInfo(index, VfioIrqFlags.EventFd | VfioIrqFlags.NoResize, device.MsixCount),
                    VfioConstants.ErrIrqIndex when device.HasErrorNotification => new VfioIrqInfo(index, VfioIrqFlags.EventFd, 1),
                    VfioConstants.ReqIrqIndex => new VfioIrqInfo(index, VfioIrqFlags.EventFd, 1),
                    _ => throw VfioException.FromErrno("VFIO_DEVICE_GET_IRQ_INFO (index " + index.ToString(CultureInfo.InvariantCulture) + ") on VFIO device " + device.Address, VfioConstants.EINVAL),
                };
            }
        }

        /// <inheritdoc />
        /// <remarks>
        /// vfio-pci's contract (<c>vfio_pci_set_irqs_ioctl</c>): one index enabled at a time; INTx masks and unmasks
        /// (DATA_NONE, DATA_BOOL, or an eventfd that unmasks when signalled: the resample fd); MSI and MSI-X are not
        /// maskable (ENOTTY) and an enabled block cannot grow; a trigger with DATA_NONE or DATA_BOOL and count &gt; 0 is
        /// the loopback test; DATA_NONE with count 0 disables the index.
        /// </remarks>
        public void SetIrqs(int deviceFd, VfioIrqSet request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_SET_IRQS");
                string operation = "VFIO_DEVICE_SET_IRQS (index " + request.Index.ToString(CultureInfo.InvariantCulture) + ") on VFIO device " + device.Address;
                device.IrqRequests.Add(request);
                int count = IrqCount(device, request.Index);
                bool disable = request.Action == VfioIrqAction.Trigger && request.DataType == VfioIrqDataType.None && request.Count == 0;
                if (request.Malformation() is not null || count == 0 || (!disable && (request.Count == 0 || request.Start + request.Count > count)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (request.Index >= VfioConstants.ErrIrqIndex)
                {
                    SetNotification(device, request, disable, operation);
                }
                else if (request.Action != VfioIrqAction.Trigger)
                {
                    SetIntxMask(device, request, operation);
                }
                else if (disable)
                {
                    // Disabling an index that is not the enabled one is refused, as vfio-pci does.
                    if (device.EnabledIrqIndex != request.Index)
                    {
                        throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                    }

                    device.EnabledIrqIndex = null;
                    device.VectorEventFds = Array.Empty<int>();
                    device.IntxMasked = false;
                    device.IntxUnmaskFd = -1;
                }
                else if (request.DataType != VfioIrqDataType.EventFd)
                {
                    // Loopback: signal the vectors as if the device had (only where set up, and for DATA_BOOL only the flagged ones).
                    if (device.EnabledIrqIndex != request.Index)
                    {
                        throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                    }

                    for (int i = 0; i < request.Count; i++)
                    {
                        if (request.Bools is null || request.Bools[i])
                        {
                            Deliver(device, request.Start + i);
                        }
                    }
                }
                else
                {
                    AttachTriggers(device, request, operation);
                }
            }
        }

        private static int IrqCount(SimulatedPciDevice device, int index) => index switch
        {
            VfioConstants.IntxIrqIndex => device.IntxCount,
            VfioConstants.MsiIrqIndex => device.MsiCount,
            VfioConstants.MsixIrqIndex => device.MsixCount,
            VfioConstants.ErrIrqIndex => device.HasErrorNotification ? 1 : 0,
            VfioConstants.ReqIrqIndex => 1,
            _ => 0,
        };

        private void SetNotification(SimulatedPciDevice device, VfioIrqSet request, bool disable, string operation)
        {
            if (request.Action != VfioIrqAction.Trigger || (!disable && request.DataType != VfioIrqDataType.EventFd))
            {
                throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
            }

            int fd = disable ? -1 : request.EventFds![0];
            CheckEventFd(fd, operation);
            if (request.Index == VfioConstants.ErrIrqIndex)
            {
                device.ErrEventFd = fd;
            }
            else
            {
                device.ReqEventFd = fd;
            }
        }

        private void SetIntxMask(SimulatedPciDevice device, VfioIrqSet request, string operation)
        {
            // The kernel masks and unmasks INTx only; MSI and MSI-X are not maskable through VFIO.
            if (request.Index != VfioConstants.IntxIrqIndex)
            {
                throw VfioException.FromErrno(operation, VfioConstants.ENOTTY);
            }

            if (device.EnabledIrqIndex != VfioConstants.IntxIrqIndex || request.Start != 0 || request.Count != 1)
            {
                throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
            }

            if (request.DataType == VfioIrqDataType.EventFd)
            {
                if (request.Action != VfioIrqAction.Unmask)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                int fd = request.EventFds![0];
                CheckEventFd(fd, operation);
                device.IntxUnmaskFd = fd; // signalling it unmasks the line (KVM's resampler does this for a VMM)
                return;
            }

            if (request.Bools is { } flags && !flags[0])
            {
                return;
            }

            device.IntxMasked = request.Action == VfioIrqAction.Mask;
            if (!device.IntxMasked && device.IntxAsserted)
            {
                Deliver(device, 0); // a level interrupt still asserted fires again at once
            }
        }

        private void AttachTriggers(SimulatedPciDevice device, VfioIrqSet request, string operation)
        {
            foreach (int fd in request.EventFds!)
            {
                CheckEventFd(fd, operation);
            }

            if (device.EnabledIrqIndex is null)
            {
                device.EnabledIrqIndex = request.Index;
                device.VectorEventFds = Enumerable.Repeat(-1, request.Start + request.Count).ToArray();
                device.IntxMasked = false;
            }
            else if (device.EnabledIrqIndex != request.Index || request.Start + request.Count > device.VectorEventFds.Length)
            {
                // vfio-pci: one index at a time, and an enabled MSI block cannot grow.
                throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
            }

            for (int i = 0; i < request.Count; i++)
            {
                device.VectorEventFds[request.Start + i] = request.EventFds![i];
            }

            if (request.Index == VfioConstants.IntxIrqIndex && device.IntxAsserted)
            {
                Deliver(device, 0);
            }
        }

        private void CheckEventFd(int fd, string operation)
        {
            if (fd != -1 && !IsHostDescriptor(fd) && (!_descriptors.TryGetValue(fd, out Descriptor? descriptor) || descriptor.Kind != DescriptorKind.EventFd))
            {
                throw VfioException.FromErrno(operation, VfioConstants.EBADF);
            }
        }

        /// <inheritdoc />
        public void ResetDevice(int deviceFd)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "VFIO_DEVICE_RESET");
                if (!device.CanReset)
                {
                    throw VfioException.FromErrno("VFIO_DEVICE_RESET on VFIO device " + device.Address, VfioConstants.EINVAL);
                }

                device.Reset();
            }
        }

        /// <inheritdoc />
        public int PRead(int fd, Span<byte> buffer, long offset)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(fd, "pread");
                (int index, long within) = Locate(device, offset, buffer.Length, "pread");
                if (index == VfioConstants.ConfigRegionIndex)
                {
                    int count = ShortLength("pread", buffer.Length);
                    device.Config.Slice((int)within, count).CopyTo(buffer);
                    return count;
                }

                if (device.ExtraRegions.TryGetValue(index, out SimulatedRegion? region))
                {
                    return region.Transfer(within, buffer, default, write: false, "pread on VFIO device " + device.Address);
                }

                SimulatedBar bar = device.Bars[index]!;
                bar.TrappedAccesses++;
                ReadBar(device, bar, within, buffer);
                return buffer.Length;
            }
        }

        /// <inheritdoc />
        public int PWrite(int fd, ReadOnlySpan<byte> buffer, long offset)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(fd, "pwrite");
                (int index, long within) = Locate(device, offset, buffer.Length, "pwrite");
                if (index == VfioConstants.ConfigRegionIndex)
                {
                    int count = ShortLength("pwrite", buffer.Length);
                    for (int b = 0; b < count; b++)
                    {
                        device.WriteConfig((int)within + b, buffer[b]);
                    }

                    return count;
                }

                if (index == VfioConstants.RomRegionIndex)
                {
                    throw VfioException.FromErrno("pwrite on VFIO device " + device.Address, VfioConstants.EINVAL);
                }

                if (device.ExtraRegions.TryGetValue(index, out SimulatedRegion? region))
                {
                    return region.Transfer(within, default, buffer, write: true, "pwrite on VFIO device " + device.Address);
                }

                SimulatedBar bar = device.Bars[index]!;
                bar.TrappedAccesses++;
                WriteBar(device, bar, within, buffer);
                return buffer.Length;
            }
        }

        /// <inheritdoc />
        public IMappedRange Map(int fd, long offset, long length, bool writable)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(fd, "mmap");
                string operation = "mmap on VFIO device " + device.Address;
                (int index, long within) = Locate(device, offset, length, "mmap");
                if (index >= VfioConstants.RomRegionIndex || device.Bars[index] is not { Mappable: true } bar || within % 4096 != 0)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (bar.SparseAreas is not null && !bar.SparseAreas.Any(a => within >= a.Offset && within + length <= a.Offset + a.Size))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                return new SimulatedMapping(this, device, bar, within, length);
            }
        }

        /// <inheritdoc />
        /// <remarks>
        /// A duplicate of the BAR's shareable backing (<see cref="SimulatedBar.Backing"/>): a BAR with private memory,
        /// or with a register model that a mapping would bypass, has none.
        /// </remarks>
        public int OpenBarFile(int deviceFd, int barIndex)
        {
            lock (_gate)
            {
                SimulatedPciDevice device = DeviceOf(deviceFd, "open a BAR file");
                string operation = "open the BAR " + barIndex.ToString(CultureInfo.InvariantCulture) + " file of " + device.Address;
                if (barIndex < 0 || barIndex > 5 || device.Bars[barIndex] is not { } bar)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (bar.Backing is not { } backing || bar.Model is not null || !bar.Mappable)
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, operation, VfioConstants.EINVAL, bar.Model is not null ? "its registers are modelled, and a mapping would bypass them" : "its memory is not shareable");
                }

                return Duplicate(backing.Fd);
            }
        }

        /// <inheritdoc />
        /// <remarks>Eventfds and memfds only: the copy shares the counter or the memory; closing one leaves the other working.</remarks>
        public int Duplicate(int fd)
        {
            lock (_gate)
            {
                if (IsHostDescriptor(fd))
                {
                    return _host!.Duplicate(fd);
                }

                if (!_descriptors.TryGetValue(fd, out Descriptor? descriptor) || (descriptor.Kind != DescriptorKind.EventFd && descriptor.Kind != DescriptorKind.Memory))
                {
                    throw VfioException.FromErrno("dup of fd " + fd.ToString(CultureInfo.InvariantCulture), VfioConstants.EBADF);
                }

                int copy = _nextFd++;
                _descriptors.Add(copy, descriptor);
                descriptor.Memory?.Pin();
                return copy;
            }
        }

        /// <inheritdoc />
        public int CreateEventFd()
        {
            lock (_gate)
            {
                Fault("eventfd", "eventfd");
                return Add(new Descriptor(DescriptorKind.EventFd, "eventfd"));
            }
        }

        /// <inheritdoc />
        public bool TryReadEventFd(int fd, out ulong count)
        {
            lock (_gate)
            {
                if (IsHostDescriptor(fd))
                {
                    return _host!.TryReadEventFd(fd, out count);
                }

                Descriptor eventFd = Get(fd, DescriptorKind.EventFd, "read");
                count = eventFd.Counter;
                eventFd.Counter = 0;
                return count != 0;
            }
        }

        /// <inheritdoc />
        public void WriteEventFd(int fd, ulong value)
        {
            lock (_gate)
            {
                if (IsHostDescriptor(fd))
                {
                    _host!.WriteEventFd(fd, value);
                    return;
                }

                Get(fd, DescriptorKind.EventFd, "write").Counter += value;
                foreach (SimulatedPciDevice device in _devices.Values)
                {
                    if (device.IntxUnmaskFd == fd && device.EnabledIrqIndex == VfioConstants.IntxIrqIndex && value > 0)
                    {
                        // The resample eventfd: the kernel unmasks INTx, and a line still asserted fires again.
                        device.IntxMasked = false;
                        if (device.IntxAsserted)
                        {
                            Deliver(device, 0);
                        }
                    }
                }

                Monitor.PulseAll(_gate);
            }
        }

        /// <inheritdoc />
        /// <remarks>With a host kernel, a set of host descriptors only is polled by the host; in a mixed set the host's never read as ready.</remarks>
        public int Poll(ReadOnlySpan<int> fds, int timeoutMilliseconds, Span<bool> ready)
        {
            if (_host is not null && fds.Length > 0)
            {
                bool allHost = true;
                lock (_gate)
                {
                    foreach (int fd in fds)
                    {
                        allHost &= IsHostDescriptor(fd);
                    }
                }

                if (allHost)
                {
                    return _host.Poll(fds, timeoutMilliseconds, ready);
                }
            }

            int[] wanted = fds.ToArray();
            bool[] result = new bool[wanted.Length];
            int count;
            lock (_gate)
            {
                Fault("poll", "poll");
                long deadline = Environment.TickCount64 + Math.Max(0, timeoutMilliseconds);
                while (true)
                {
                    count = 0;
                    for (int i = 0; i < wanted.Length; i++)
                    {
                        result[i] = _descriptors.TryGetValue(wanted[i], out Descriptor? d) && d.Kind == DescriptorKind.EventFd && d.Counter > 0;
                        count += result[i] ? 1 : 0;
                    }

                    long remaining = deadline - Environment.TickCount64;
                    if (count > 0 || timeoutMilliseconds == 0 || (timeoutMilliseconds > 0 && remaining <= 0))
                    {
                        break;
                    }

                    Monitor.Wait(_gate, timeoutMilliseconds < 0 ? 100 : (int)Math.Min(remaining, 100));
                }
            }

            result.AsSpan().CopyTo(ready);
            return count;
        }

        internal void Raise(SimulatedPciDevice device, int vector)
        {
            lock (_gate)
            {
                if (device.EnabledIrqIndex == VfioConstants.IntxIrqIndex || device.EnabledIrqIndex is null)
                {
                    device.IntxAsserted = true;
                }

                Deliver(device, vector);
            }
        }

        internal void SignalNotification(int fd)
        {
            lock (_gate)
            {
                Signal(fd);
            }
        }

        internal ulong MappedRead(SimulatedPciDevice device, SimulatedBar bar, long offset, int width)
        {
            lock (_gate)
            {
                bar.MappedAccesses++;
                Span<byte> buffer = stackalloc byte[width];
                ReadBar(device, bar, offset, buffer);
                ulong value = 0;
                for (int b = width - 1; b >= 0; b--)
                {
                    value = (value << 8) | buffer[b];
                }

                return value;
            }
        }

        internal void MappedWrite(SimulatedPciDevice device, SimulatedBar bar, long offset, int width, ulong value)
        {
            lock (_gate)
            {
                bar.MappedAccesses++;
                Span<byte> buffer = stackalloc byte[width];
                for (int b = 0; b < width; b++)
                {
                    buffer[b] = (byte)(value >> (8 * b));
                }

                WriteBar(device, bar, offset, buffer);
            }
        }

        private static void ReadBar(SimulatedPciDevice device, SimulatedBar bar, long offset, Span<byte> buffer)
        {
            ulong value = bar.Read(device, offset, buffer.Length);
            for (int b = 0; b < buffer.Length; b++)
            {
                buffer[b] = (byte)(value >> (8 * b));
            }
        }

        private static void WriteBar(SimulatedPciDevice device, SimulatedBar bar, long offset, ReadOnlySpan<byte> buffer)
        {
            ulong value = 0;
            for (int b = buffer.Length - 1; b >= 0; b--)
            {
                value = (value << 8) | buffer[b];
            }

            bar.Write(device, offset, buffer.Length, value);
        }

        private void Deliver(SimulatedPciDevice device, int vector)
        {
            if (device.EnabledIrqIndex is not { } index || vector >= device.VectorEventFds.Length)
            {
                return; // no interrupt set up: the device's message goes nowhere
            }

            if (index == VfioConstants.IntxIrqIndex)
            {
                if (device.IntxMasked)
                {
                    return;
                }

                device.IntxMasked = true; // vfio-pci auto-masks INTx until the consumer unmasks it
            }

            Signal(device.VectorEventFds[vector]);
        }

        /// <summary>One event on <paramref name="fd"/>: a simulated eventfd's counter, or a write to the host's eventfd.</summary>
        private void Signal(int fd)
        {
            if (fd >= 0 && _descriptors.TryGetValue(fd, out Descriptor? d))
            {
                if (d.Kind == DescriptorKind.EventFd)
                {
                    d.Counter++;
                    Monitor.PulseAll(_gate);
                }
            }
            else if (IsHostDescriptor(fd))
            {
                _host!.WriteEventFd(fd, 1);
            }
        }

        private bool IsHostDescriptor(int fd) => _host is not null && fd >= 0 && !_descriptors.ContainsKey(fd);

        private (int Index, long Within) Locate(SimulatedPciDevice device, long offset, long length, string operation)
        {
            int index = (int)(offset >> 40);
            long within = offset & ((1L << 40) - 1);
            long size = index == VfioConstants.ConfigRegionIndex ? device.Config.Length
                : index >= 0 && index <= VfioConstants.RomRegionIndex && device.Bars[index] is { } bar ? bar.Size
                : device.ExtraRegions.TryGetValue(index, out SimulatedRegion? region) ? region.Size : 0;
            if (length <= 0 || within + length > size)
            {
                throw VfioException.FromErrno(operation + " on VFIO device " + device.Address, VfioConstants.EINVAL);
            }

            return (index, within);
        }

        private SimulatedPciDevice DeviceOf(int fd, string operation) => DeviceOf(fd, operation, out _);

        private SimulatedPciDevice DeviceOf(int fd, string operation, out Descriptor descriptor)
        {
            descriptor = Get(fd, DescriptorKind.Device, operation);
            if (descriptor.ViaCdev && descriptor.BoundIommufd < 0)
            {
                // A cdev gives no access until VFIO_DEVICE_BIND_IOMMUFD has bound it.
                throw VfioException.FromErrno(operation + " on " + descriptor.Path, VfioConstants.EINVAL);
            }

            return descriptor.Device!;
        }

        private void ThrowIfDenied(string path)
        {
            if (DenyAccess)
            {
                throw VfioException.FromErrno("open " + path, VfioConstants.EACCES);
            }
        }

        private Descriptor Get(int fd, DescriptorKind kind, string operation)
        {
            if (!_descriptors.TryGetValue(fd, out Descriptor? descriptor) || descriptor.Kind != kind)
            {
                throw VfioException.FromErrno(operation + " on fd " + fd.ToString(CultureInfo.InvariantCulture), VfioConstants.EBADF);
            }

            Fault(operation, descriptor.Path);
            return descriptor;
        }

        private void Fault(string operation, string path)
        {
            if (_faults.TryGetValue(operation, out (int Errno, int Remaining) fault) && fault.Remaining > 0)
            {
                _faults[operation] = (fault.Errno, fault.Remaining - 1);
                throw VfioException.FromErrno(operation + " on " + path, fault.Errno);
            }
        }

        private int ShortLength(string operation, int length)
        {
            if (_shortTransfers.TryGetValue(operation, out (int Bytes, int Remaining) transfer) && transfer.Remaining > 0)
            {
                _shortTransfers[operation] = (transfer.Bytes, transfer.Remaining - 1);
                return Math.Min(transfer.Bytes, length);
            }

            return length;
        }

        private int Add(Descriptor descriptor)
        {
            int fd = _nextFd++;
            _descriptors.Add(fd, descriptor);
            return fd;
        }

        private enum DescriptorKind
        {
            Container,
            Group,
            Device,
            EventFd,
            Iommufd,
            Memory,
        }

        private sealed class Descriptor
        {
            public Descriptor(DescriptorKind kind, string path)
            {
                Kind = kind;
                Path = path;
            }

            public DescriptorKind Kind { get; }

            public string Path { get; }

            public int Group { get; set; } = -1;

            public int Container { get; set; } = -1;

            public bool IommuSet { get; set; }

            public SimulatedPciDevice? Device { get; set; }

            public ulong Counter { get; set; }

            /// <summary>Container: the type1 mappings. Empty until the IOMMU is set.</summary>
            public List<SimulatedDmaMapping> Mappings { get; } = new List<SimulatedDmaMapping>();

            /// <summary>iommufd: the IOASes by ID, each with its mappings.</summary>
            public Dictionary<uint, List<SimulatedDmaMapping>> AddressSpaces { get; } = new Dictionary<uint, List<SimulatedDmaMapping>>();

            /// <summary>iommufd: the last object or device ID handed out.</summary>
            public uint LastId { get; set; }

            /// <summary>Device: opened through its cdev (/dev/vfio/devices/vfioN) rather than a group.</summary>
            public bool ViaCdev { get; set; }

            /// <summary>Device (cdev): the iommufd it is bound to, or -1.</summary>
            public int BoundIommufd { get; set; } = -1;

            /// <summary>Device (cdev): its ID within that iommufd.</summary>
            public uint DeviceId { get; set; }

            /// <summary>Device (cdev): the IOAS it is attached to, or null.</summary>
            public uint? AttachedIoas { get; set; }

            /// <summary>Memory: the allocation behind a memfd.</summary>
            public SimulatedHostMemory? Memory { get; set; }
        }

        private sealed class SimulatedMapping : IMappedRange
        {
            private readonly SimulatedVfioKernel _kernel;
            private readonly SimulatedPciDevice _device;
            private readonly SimulatedBar _bar;
            private readonly long _start;
            private bool _disposed;

            public SimulatedMapping(SimulatedVfioKernel kernel, SimulatedPciDevice device, SimulatedBar bar, long start, long length)
            {
                _kernel = kernel;
                _device = device;
                _bar = bar;
                _start = start;
                Length = length;
            }

            public long Length { get; }

            public ulong Read(long offset, int width)
            {
                Check(offset, width);
                return _kernel.MappedRead(_device, _bar, _start + offset, width);
            }

            public void Write(long offset, int width, ulong value)
            {
                Check(offset, width);
                _kernel.MappedWrite(_device, _bar, _start + offset, width, value);
            }

            public void Dispose() => _disposed = true;

            private void Check(long offset, int width)
            {
                if (_disposed)
                {
                    throw new ObjectDisposedException(nameof(SimulatedMapping));
                }

                if (offset < 0 || offset + width > Length)
                {
                    throw new ArgumentOutOfRangeException(nameof(offset), offset, "The access lies outside the mapping.");
                }
            }
        }
    }
}
