using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>How devices are opened, and what their IOMMU address space is.</summary>
    public enum VfioOpenPath
    {
        /// <summary>As an option: iommufd where the kernel offers it, else the group/container path. As a state: not decided yet (no device opened).</summary>
        Auto,

        /// <summary>The group/container API: <c>/dev/vfio/vfio</c>, <c>/dev/vfio/GROUP</c>, a type1 IOMMU.</summary>
        Container,

        /// <summary>iommufd and the device cdev: <c>/dev/iommu</c>, an IOAS, <c>/dev/vfio/devices/vfioN</c> (Linux 6.6+, IOMMUFD and VFIO_DEVICE_CDEV).</summary>
        Iommufd,
    }

    /// <summary>Where a <see cref="VfioContainer"/> finds the kernel's files, and which open path it takes.</summary>
    public sealed record VfioContainerOptions
    {
        /// <summary>The sysfs folder of PCI devices.</summary>
        public string SysfsDevices { get; init; } = "/sys/bus/pci/devices";

        /// <summary>The sysfs folder of IOMMU groups.</summary>
        public string IommuGroups { get; init; } = "/sys/kernel/iommu_groups";

        /// <summary>The folder of the VFIO character devices (<c>vfio</c>, the groups, <c>devices/vfioN</c>).</summary>
        public string VfioDirectory { get; init; } = "/dev/vfio";

        /// <summary>The iommufd character device.</summary>
        public string IommufdDevice { get; init; } = "/dev/iommu";

        /// <summary>Which open path to take: Auto (iommufd where offered), or one forced.</summary>
        public VfioOpenPath OpenPath { get; init; } = VfioOpenPath.Auto;
    }

    /// <summary>
    /// One IOMMU address space, as a VM has: the devices opened in it all reach host memory through the same DMA
    /// mappings. On the group/container path it is a type1 container (and the groups its devices belong to: a second
    /// device of an open group opens through that group); on the iommufd path it is an iommufd with one IOAS. It also
    /// resets devices that have no reset of their own with a PCI hot reset, when it owns every device that reset
    /// would reach.
    /// </summary>
    /// <remarks>
    /// Thread-safe. DMA mappings need an IOMMU: on the container path that exists from the first open device until the
    /// last one closes (the kernel drops every mapping then, so the container unmaps them first and they read
    /// <see cref="VfioDmaMapping.IsMapped"/> false); on the iommufd path the IOAS, and its mappings, live as long as the
    /// container. Disposing the container closes its devices, unmaps everything and closes its descriptors.
    /// </remarks>
    public sealed class VfioContainer : IDisposable
    {
        private readonly object _gate = new object();
        private readonly List<VfioDevice> _devices = new List<VfioDevice>();
        private readonly Dictionary<int, Group> _groups = new Dictionary<int, Group>();
        private readonly List<VfioDmaMapping> _mappings = new List<VfioDmaMapping>();
        private int _containerFd = -1;
        private int _iommufd = -1;
        private uint _ioas;
        private VfioIommuInfo? _info;
        private int _mappingsWhenQueried;
        private bool _disposed;

        private VfioContainer(IVfioKernel kernel, VfioContainerOptions options)
        {
            Kernel = kernel;
            Options = options;
            OpenPathReason = "no device has been opened yet";
        }

        /// <summary>The kernel seam every call goes through.</summary>
        public IVfioKernel Kernel { get; }

        /// <summary>The options the container was created with.</summary>
        public VfioContainerOptions Options { get; }

        /// <summary>The open path taken; <see cref="VfioOpenPath.Auto"/> until the first device decides it.</summary>
        public VfioOpenPath OpenPath { get; private set; }

        /// <summary>Why that path (for example "/dev/iommu does not exist: the kernel was built without CONFIG_IOMMUFD").</summary>
        public string OpenPathReason { get; private set; }

        /// <summary>What the address space's IOMMU allows, or null while there is none (container path, no device open).</summary>
        public VfioIommuInfo? IommuInfo
        {
            get
            {
                lock (_gate)
                {
                    return _info;
                }
            }
        }

        /// <summary>The devices open in this address space.</summary>
        public IReadOnlyList<VfioDevice> Devices
        {
            get
            {
                lock (_gate)
                {
                    return _devices.ToArray();
                }
            }
        }

        /// <summary>The DMA mappings, in IOVA order.</summary>
        public IReadOnlyList<VfioDmaMapping> DmaMappings
        {
            get
            {
                lock (_gate)
                {
                    return _mappings.OrderBy(m => m.Iova).ToArray();
                }
            }
        }

        /// <summary>Creates an empty address space; the open path is decided when the first device opens.</summary>
        public static VfioContainer Create(IVfioKernel kernel, VfioContainerOptions? options = null)
        {
            if (kernel is null)
            {
                throw new ArgumentNullException(nameof(kernel));
            }

            return new VfioContainer(kernel, options ?? new VfioContainerOptions());
        }

        /// <summary>Opens <paramref name="device"/> (a PCI address or sysfs path) in this address space with a compiled policy's generated handler.</summary>
        /// <exception cref="VfioException">The device cannot be opened; <see cref="VfioException.Kind"/> says why. Nothing stays open.</exception>
        public VfioDevice OpenDevice(string device, ICompiledPolicy policy, VfioDeviceOptions? options = null)
        {
            if (policy is null)
            {
                throw new ArgumentNullException(nameof(policy));
            }

            return Open(device, VfioDevice.PolicyOpener.Compiled(policy), options ?? new VfioDeviceOptions(), ownsContainer: false);
        }

        /// <summary>
        /// Opens <paramref name="device"/> with the compiled policy that selects it most specifically among those the
        /// process registered (<see cref="PolicyRegistry"/>: every policy the VfioPolicy.Generator package compiled into
        /// the program registers itself).
        /// </summary>
        /// <exception cref="VfioException">The device cannot be opened, or no registered policy (or more than one, equally specific) selects it (<see cref="VfioErrorKind.PolicyMismatch"/>).</exception>
        public VfioDevice OpenDevice(string device, VfioDeviceOptions? options = null) =>
            Open(device, VfioDevice.PolicyOpener.FromRegistry, options ?? new VfioDeviceOptions(), ownsContainer: false);

        /// <summary>Opens <paramref name="device"/> in this address space with a policy loaded at run time, executed by the reference interpreter.</summary>
        /// <exception cref="VfioException">The device cannot be opened; <see cref="VfioException.Kind"/> says why. Nothing stays open.</exception>
        public VfioDevice OpenDevice(string device, PolicyModel policy, VfioDeviceOptions? options = null)
        {
            if (policy is null)
            {
                throw new ArgumentNullException(nameof(policy));
            }

            return Open(device, VfioDevice.PolicyOpener.Interpreted(policy), options ?? new VfioDeviceOptions(), ownsContainer: false);
        }

        /// <summary>Allocates page-aligned, zeroed memory for DMA (rounded up to the page size); <paramref name="shareable"/>: in a memfd.</summary>
        /// <exception cref="VfioException">The kernel could not allocate it.</exception>
        public VfioDmaBuffer AllocateDmaBuffer(long length, bool shareable = false)
        {
            if (length <= 0)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "allocating DMA memory", 0, "the length must be at least one byte");
            }

            ThrowIfDisposed();
            return new VfioDmaBuffer(Kernel.AllocateMemory(length, shareable));
        }

        /// <summary>Maps all of <paramref name="buffer"/> at <paramref name="iova"/>.</summary>
        /// <exception cref="VfioException">A DMA kind (<see cref="VfioErrorKind.DmaOverlap"/>, …) saying what is wrong, or a kernel error.</exception>
        public VfioDmaMapping MapDma(ulong iova, VfioDmaBuffer buffer, VfioDmaAccess access) =>
            MapDma(iova, buffer, 0, buffer?.Length ?? 0, access);

        /// <summary>Maps <paramref name="length"/> bytes of <paramref name="buffer"/> from <paramref name="offset"/> at <paramref name="iova"/>.</summary>
        /// <exception cref="VfioException">A DMA kind saying what is wrong, or a kernel error.</exception>
        public VfioDmaMapping MapDma(ulong iova, VfioDmaBuffer buffer, long offset, long length, VfioDmaAccess access)
        {
            if (buffer is null)
            {
                throw new ArgumentNullException(nameof(buffer));
            }

            if (offset < 0 || length <= 0 || offset > buffer.Length - length)
            {
                throw DmaError(VfioErrorKind.DmaOutOfRange, iova, (ulong)Math.Max(0, length), string.Format(CultureInfo.InvariantCulture, "{0} bytes at offset {1} reach outside the {2}-byte buffer", length, offset, buffer.Length));
            }

            buffer.AddMapping();
            try
            {
                return Map(iova, buffer.Address + (nint)offset, (ulong)length, access, buffer);
            }
            catch
            {
                buffer.RemoveMapping();
                throw;
            }
        }

        /// <summary>
        /// Maps host memory the caller manages (a VMM's guest RAM) at <paramref name="iova"/>. The memory must stay
        /// allocated until the mapping is gone.
        /// </summary>
        /// <exception cref="VfioException">A DMA kind saying what is wrong, or a kernel error (EFAULT: not memory of this process).</exception>
        public VfioDmaMapping MapDma(ulong iova, nint hostAddress, ulong length, VfioDmaAccess access) => Map(iova, hostAddress, length, access, null);

        /// <summary>Unmaps every mapping inside [<paramref name="iova"/>, <paramref name="iova"/> + <paramref name="length"/>).</summary>
        /// <exception cref="VfioException"><see cref="VfioErrorKind.DmaNotMapped"/> when nothing is mapped there, <see cref="VfioErrorKind.DmaUnaligned"/> when the range cuts a mapping.</exception>
        public void UnmapDma(ulong iova, ulong length)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                if (length == 0 || iova + length - 1 < iova)
                {
                    throw DmaError(VfioErrorKind.DmaOutOfRange, iova, length, "the range is empty or wraps around");
                }

                ulong page = Math.Max(_info?.MinimumPageSize ?? 1, (ulong)Kernel.PageSize);
                if (iova % page != 0 || length % page != 0)
                {
                    throw DmaError(VfioErrorKind.DmaUnaligned, iova, length, string.Format(CultureInfo.InvariantCulture, "the IOVA and the length must be multiples of the page size 0x{0:x}", page));
                }

                VfioDmaMapping[] inside = _mappings.Where(m => Overlaps(m, iova, length)).ToArray();
                if (inside.Length == 0)
                {
                    throw DmaError(VfioErrorKind.DmaNotMapped, iova, length, "nothing is mapped there");
                }

                VfioDmaMapping? cut = inside.FirstOrDefault(m => m.Iova < iova || m.Iova + m.Length > iova + length);
                if (cut is not null)
                {
                    throw DmaError(VfioErrorKind.DmaUnaligned, iova, length, "the range cuts mapping " + cut + ": unmap whole mappings");
                }

                UnmapLocked(iova, length, inside);
            }
        }

        /// <summary>Closes every device, unmaps every DMA mapping and closes the container's descriptors. Idempotent.</summary>
        public void Dispose()
        {
            VfioDevice[] devices;
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                devices = _devices.ToArray();
            }

            foreach (VfioDevice device in devices)
            {
                device.Dispose();
            }

            lock (_gate)
            {
                _disposed = true;
                if (_mappings.Count > 0)
                {
                    try
                    {
                        UnmapLocked(0, ulong.MaxValue, _mappings.ToArray());
                    }
                    catch (VfioException)
                    {
                        // Closing the iommufd below drops the IOAS and its mappings anyway.
                        ForgetMappings(_mappings.ToArray());
                    }
                }

                if (_iommufd >= 0)
                {
                    Kernel.Close(_iommufd);
                    _iommufd = -1;
                }

                if (_containerFd >= 0)
                {
                    Kernel.Close(_containerFd);
                    _containerFd = -1;
                }

                _info = null;
            }
        }

        /// <summary>The container <see cref="VfioDevice.Open(string, ICompiledPolicy, IVfioKernel, VfioDeviceOptions?)"/> makes for one device; the device disposes it.</summary>
        internal static VfioDevice OpenAlone(string device, VfioDevice.PolicyOpener policy, IVfioKernel kernel, VfioDeviceOptions options)
        {
            var container = new VfioContainer(kernel, options.Container ?? new VfioContainerOptions());
            try
            {
                return container.Open(device, policy, options, ownsContainer: true);
            }
            catch
            {
                container.Dispose();
                throw;
            }
        }

        /// <summary>A device closed: it leaves the address space; the last device of a group closes the group.</summary>
        internal void Release(VfioDevice device)
        {
            lock (_gate)
            {
                if (!_devices.Remove(device))
                {
                    return;
                }

                if (OpenPath == VfioOpenPath.Iommufd)
                {
                    try
                    {
                        RefreshInfo();
                    }
                    catch (VfioException)
                    {
                        // The ranges stay as last known until the next device opens.
                    }

                    return;
                }

                if (_groups.TryGetValue(device.IommuGroup, out Group? group) && --group.Devices == 0)
                {
                    CloseGroup(group);
                }
            }
        }

        /// <summary>
        /// Resets <paramref name="caller"/> through a PCI hot reset (a bus or slot reset), which resets every function
        /// on that bus or slot: done only when the container owns them all, and every open one is restored.
        /// </summary>
        internal void HotReset(VfioDevice caller)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                string operation = "VFIO_DEVICE_PCI_HOT_RESET on " + caller.Address;
                VfioHotResetInfo info;
                try
                {
                    info = Kernel.GetPciHotResetInfo(caller.DeviceFd);
                }
                catch (VfioException error) when (error.Errno == VfioConstants.ENODEV || error.Errno == VfioConstants.EINVAL || error.Errno == VfioConstants.ENOTTY)
                {
                    throw new VfioException(
                        VfioErrorKind.CannotReset,
                        "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on " + caller.Address,
                        error.Errno,
                        "the device reports no reset method (VFIO_DEVICE_FLAGS_RESET is clear) and no bus or slot reset either (for example a device on the root bus): it cannot be reset");
                }

                var groupFds = new List<int>();
                var blockers = new List<string>();
                var affected = new List<VfioDevice>();
                foreach (VfioDependentDevice dependent in info.Devices)
                {
                    string address = dependent.Address;
                    if (_devices.FirstOrDefault(d => d.Address == address) is { } open)
                    {
                        affected.Add(open);
                    }

                    if (info.UsesDeviceIds)
                    {
                        if (dependent.Id == VfioDependentDevice.DeviceIdNotOwned)
                        {
                            blockers.Add(Blocker(address, null));
                        }
                    }
                    else if (_groups.TryGetValue((int)dependent.Id, out Group? group))
                    {
                        if (!groupFds.Contains(group.Fd))
                        {
                            groupFds.Add(group.Fd);
                        }
                    }
                    else
                    {
                        blockers.Add(Blocker(address, (int)dependent.Id));
                    }
                }

                if (blockers.Count > 0)
                {
                    throw new VfioException(
                        VfioErrorKind.CannotReset,
                        operation,
                        0,
                        "the device has no reset of its own, and a bus reset would also reset " + string.Join(", ", blockers) + ", which this container does not own; open them in this container (or unbind them) to allow it",
                        blockers.Select(b => b.Substring(0, b.IndexOf(' '))).ToArray());
                }

                ResetTogether(caller, affected.OrderBy(d => d.Address, StringComparer.Ordinal).ToList(), info.UsesDeviceIds ? Array.Empty<int>() : groupFds, operation);
            }
        }

        private static bool Overlaps(VfioDmaMapping mapping, ulong iova, ulong length) => iova < mapping.Iova + mapping.Length && mapping.Iova < iova + length;

        private static VfioException DmaError(VfioErrorKind kind, ulong iova, ulong length, string detail) =>
            new VfioException(kind, string.Format(CultureInfo.InvariantCulture, "DMA mapping of 0x{0:x} bytes at IOVA 0x{1:x}", length, iova), 0, detail);

        private VfioDevice Open(string device, VfioDevice.PolicyOpener policy, VfioDeviceOptions options, bool ownsContainer)
        {
            if (device is null)
            {
                throw new ArgumentNullException(nameof(device));
            }

            lock (_gate)
            {
                ThrowIfDisposed();
                (string address, string sysfsPath) = VfioSysfs.ResolveDevice(device, Options, Kernel);
                if (_devices.Any(d => d.Address == address))
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, "opening " + address, VfioConstants.EBUSY, "the device is already open in this container");
                }

                int group = VfioSysfs.ResolveGroup(address, sysfsPath, Kernel);
                string? cdev = DecideOpenPath(address, sysfsPath);
                int deviceFd = OpenPath == VfioOpenPath.Iommufd ? OpenThroughIommufd(address, cdev!) : OpenThroughGroup(address, group);
                VfioDevice opened;
                try
                {
                    opened = VfioDevice.Create(this, deviceFd, address, sysfsPath, group, policy, options, ownsContainer);
                }
                catch
                {
                    AbandonOpen(group);
                    throw;
                }

                if (OpenPath == VfioOpenPath.Iommufd)
                {
                    // The attach narrowed the IOAS to what this device's IOMMU allows: ask before anything maps.
                    try
                    {
                        RefreshInfo();
                    }
                    catch
                    {
                        opened.Dispose(); // not yet one of the container's devices: closing its cdev detaches it
                        throw;
                    }
                }

                _devices.Add(opened);
                return opened;
            }
        }

        /// <summary>Decides the open path at the first device; returns the device's cdev name on the iommufd path.</summary>
        private string? DecideOpenPath(string address, string sysfsPath)
        {
            bool iommufd = Kernel.Exists(Options.IommufdDevice);

            // sysfs lists the device under vfio-dev/ since Linux 6.1, but the node /dev/vfio/devices/vfioN exists only
            // with CONFIG_VFIO_DEVICE_CDEV (6.6+).
            string? cdev = VfioSysfs.CdevName(sysfsPath, Kernel);
            string? node = cdev is null ? null : Options.VfioDirectory + "/devices/" + cdev;
            string missing = !iommufd ? Options.IommufdDevice + " does not exist: the kernel was built without CONFIG_IOMMUFD (or the iommufd module is not loaded)"
                : node is null || !Kernel.Exists(node) ? address + " has no VFIO device cdev" + (node is null ? string.Empty : " (" + node + " does not exist)") + ": the kernel was built without CONFIG_VFIO_DEVICE_CDEV"
                : string.Empty;
            if (OpenPath == VfioOpenPath.Auto)
            {
                VfioOpenPath wanted = Options.OpenPath;
                if (wanted == VfioOpenPath.Iommufd && missing.Length > 0)
                {
                    throw new VfioException(VfioErrorKind.UnsupportedKernel, "opening " + address + " through iommufd", VfioConstants.ENOENT, missing);
                }

                if (wanted == VfioOpenPath.Container)
                {
                    OpenPath = VfioOpenPath.Container;
                    OpenPathReason = "forced by the options (the kernel " + (missing.Length == 0 ? "also offers iommufd" : "offers no iommufd: " + missing) + ")";
                }
                else if (missing.Length == 0)
                {
                    OpenPath = VfioOpenPath.Iommufd;
                    OpenPathReason = wanted == VfioOpenPath.Iommufd ? "forced by the options" : Options.IommufdDevice + " and the device cdev " + cdev + " exist";
                }
                else
                {
                    OpenPath = VfioOpenPath.Container;
                    OpenPathReason = "iommufd is not available (" + missing + "); the group/container path is used";
                }
            }
            else if (OpenPath == VfioOpenPath.Iommufd && missing.Length > 0)
            {
                throw new VfioException(VfioErrorKind.UnsupportedKernel, "opening " + address + " through iommufd", VfioConstants.ENOENT, missing + "; this container opens its devices through iommufd");
            }

            return OpenPath == VfioOpenPath.Iommufd ? cdev : null;
        }

        private int OpenThroughGroup(string address, int number)
        {
            bool newContainer = _containerFd < 0;
            Group? created = null;
            string groupPath = Options.VfioDirectory + "/" + number.ToString(CultureInfo.InvariantCulture);
            try
            {
                if (newContainer)
                {
                    string containerPath = Options.VfioDirectory + "/vfio";
                    _containerFd = VfioSysfs.OpenFile(Kernel, containerPath, "the VFIO container");
                    int version = Kernel.GetApiVersion(_containerFd);
                    if (version != VfioConstants.ApiVersion)
                    {
                        throw new VfioException(VfioErrorKind.UnsupportedKernel, "VFIO_GET_API_VERSION on " + containerPath, 0, "the kernel speaks VFIO API " + version.ToString(CultureInfo.InvariantCulture) + "; the runtime speaks " + VfioConstants.ApiVersion.ToString(CultureInfo.InvariantCulture));
                    }
                }

                if (!_groups.TryGetValue(number, out Group? group))
                {
                    created = new Group(number, VfioSysfs.OpenFile(Kernel, groupPath, "IOMMU group " + number.ToString(CultureInfo.InvariantCulture)));
                    if ((Kernel.GetGroupStatus(created.Fd) & VfioGroupFlags.Viable) == 0)
                    {
                        throw new VfioException(VfioErrorKind.GroupNotViable, "VFIO_GROUP_GET_STATUS on " + groupPath, 0, VfioSysfs.DescribeGroup(Kernel, Options, number, address));
                    }

                    Kernel.SetContainer(created.Fd, _containerFd);
                    if (_groups.Count == 0)
                    {
                        // The first group gives the container its IOMMU: type1v2 where offered (it refuses to split mappings).
                        uint iommu = Kernel.CheckExtension(_containerFd, VfioConstants.Type1v2Iommu) ? VfioConstants.Type1v2Iommu
                            : Kernel.CheckExtension(_containerFd, VfioConstants.Type1Iommu) ? VfioConstants.Type1Iommu
                            : throw new VfioException(VfioErrorKind.UnsupportedKernel, "VFIO_CHECK_EXTENSION on " + Options.VfioDirectory + "/vfio", 0, "the kernel offers no type1 IOMMU");
                        Kernel.SetIommu(_containerFd, iommu);
                        _info = Kernel.GetIommuInfo(_containerFd);
                        _mappingsWhenQueried = _mappings.Count;
                    }

                    _groups.Add(number, created);
                    group = created;
                }

                int deviceFd = Kernel.GetDeviceFd(group.Fd, address);
                group.Devices++;
                return deviceFd;
            }
            catch
            {
                if (created is not null && created.Devices == 0)
                {
                    if (_groups.ContainsKey(number))
                    {
                        CloseGroup(created);
                    }
                    else
                    {
                        // Closing the group's descriptor takes it out of the container, and its IOMMU if it was the only one.
                        Kernel.Close(created.Fd);
                        if (_groups.Count == 0)
                        {
                            _info = null;
                        }
                    }
                }

                if (newContainer && _groups.Count == 0 && _containerFd >= 0)
                {
                    Kernel.Close(_containerFd);
                    _containerFd = -1;
                }

                throw;
            }
        }

        private int OpenThroughIommufd(string address, string cdev)
        {
            bool newContext = _iommufd < 0;
            int deviceFd = -1;
            try
            {
                if (newContext)
                {
                    _iommufd = VfioSysfs.OpenFile(Kernel, Options.IommufdDevice, "iommufd");
                    _ioas = Kernel.AllocateIoas(_iommufd);
                }

                deviceFd = VfioSysfs.OpenFile(Kernel, Options.VfioDirectory + "/devices/" + cdev, "the VFIO device cdev of " + address);
                try
                {
                    Kernel.BindIommufd(deviceFd, _iommufd);
                }
                catch (VfioException error) when (error.Errno == VfioConstants.EBUSY)
                {
                    throw new VfioException(VfioErrorKind.GroupInUse, error.Operation, error.Errno, "another device of " + address + "'s IOMMU group is bound to a different iommufd (another VfioContainer or process): open every device of a group through one VfioContainer");
                }

                try
                {
                    Kernel.AttachIommufdPageTable(deviceFd, _ioas);
                }
                catch (VfioException error) when (error.Errno == VfioConstants.EINVAL && _mappings.Count > 0)
                {
                    // Attaching narrows the IOAS to the device's IOMMU; a mapping where that IOMMU reserves IOVAs refuses it.
                    throw new VfioException(VfioErrorKind.DmaOutOfRange, error.Operation, error.Errno, "the address space's DMA mappings include IOVAs " + address + "'s IOMMU reserves (on x86 the MSI window 0xfee00000-0xfeefffff): unmap them, or map only inside the ranges a device allows");
                }

                return deviceFd;
            }
            catch
            {
                if (deviceFd >= 0)
                {
                    Kernel.Close(deviceFd);
                }

                if (newContext && _iommufd >= 0)
                {
                    Kernel.Close(_iommufd);
                    _iommufd = -1;
                }

                throw;
            }
        }

        /// <summary>A device failed to initialise after its descriptor was opened (its constructor closed it): undo the group's count.</summary>
        private void AbandonOpen(int number)
        {
            if (OpenPath == VfioOpenPath.Container && _groups.TryGetValue(number, out Group? group) && --group.Devices == 0)
            {
                CloseGroup(group);
            }
        }

        /// <summary>The last device of a group closed: the group leaves the container. The last group takes the IOMMU (and every mapping) with it, so the mappings go first.</summary>
        private void CloseGroup(Group group)
        {
            _groups.Remove(group.Number);
            if (_groups.Count == 0 && _mappings.Count > 0)
            {
                try
                {
                    UnmapLocked(0, ulong.MaxValue, _mappings.ToArray());
                }
                catch (VfioException)
                {
                    // Closing the last group drops the mappings in the kernel anyway.
                    ForgetMappings(_mappings.ToArray());
                }
            }

            Kernel.Close(group.Fd);
            if (_groups.Count == 0)
            {
                _info = null;
            }
        }

        private VfioDmaMapping Map(ulong iova, nint hostAddress, ulong length, VfioDmaAccess access, VfioDmaBuffer? buffer)
        {
            lock (_gate)
            {
                ThrowIfDisposed();
                if ((access & VfioDmaAccess.ReadWrite) == 0 || (access & ~VfioDmaAccess.ReadWrite) != 0)
                {
                    throw DmaError(VfioErrorKind.InvalidAccess, iova, length, "the access must let the device read, write, or both");
                }

                if (_info is null && OpenPath != VfioOpenPath.Iommufd)
                {
                    throw DmaError(VfioErrorKind.InvalidAccess, iova, length, "the address space has no IOMMU yet: on the group/container path it exists once a device is open");
                }

                if (_info is null)
                {
                    RefreshInfo();
                }

                VfioIommuInfo info = _info!;
                ulong page = Math.Max(info.MinimumPageSize, (ulong)Kernel.PageSize);
                if (length == 0 || length % page != 0 || iova % page != 0 || (ulong)hostAddress % page != 0)
                {
                    throw DmaError(VfioErrorKind.DmaUnaligned, iova, length, string.Format(CultureInfo.InvariantCulture, "the IOVA, the length and the host address 0x{0:x} must be non-zero multiples of the page size 0x{1:x}", (ulong)hostAddress, page));
                }

                if (iova + length - 1 < iova)
                {
                    throw DmaError(VfioErrorKind.DmaOutOfRange, iova, length, "the range wraps around the end of the IOVA space");
                }

                if (info.IovaRanges.Count > 0 && !info.IovaRanges.Any(r => r.Contains(iova, length)))
                {
                    throw DmaError(VfioErrorKind.DmaOutOfRange, iova, length, "the IOMMU allows only " + string.Join(", ", info.IovaRanges) + " (reserved regions such as the MSI window are excluded)");
                }

                if (_mappings.FirstOrDefault(m => Overlaps(m, iova, length)) is { } existing)
                {
                    throw DmaError(VfioErrorKind.DmaOverlap, iova, length, "it overlaps mapping " + existing);
                }

                if (info.DmaMappingLimit is int available && _mappings.Count - _mappingsWhenQueried >= available)
                {
                    throw DmaError(VfioErrorKind.DmaLimitReached, iova, length, "the kernel allows no more mappings in this address space (type1 dma_entry_limit)");
                }

                try
                {
                    if (OpenPath == VfioOpenPath.Iommufd)
                    {
                        Kernel.MapIoas(_iommufd, _ioas, (ulong)hostAddress, iova, length, access);
                    }
                    else
                    {
                        Kernel.MapDma(_containerFd, (ulong)hostAddress, iova, length, access);
                    }
                }
                catch (VfioException error) when (error.Kind == VfioErrorKind.Kernel)
                {
                    throw error.Errno switch
                    {
                        VfioConstants.EEXIST => DmaError(VfioErrorKind.DmaOverlap, iova, length, "the kernel reports an overlapping mapping (" + error.Message + ")"),
                        VfioConstants.ENOSPC => DmaError(VfioErrorKind.DmaLimitReached, iova, length, "the kernel allows no more mappings (" + error.Message + ")"),
                        VfioConstants.EFAULT => DmaError(VfioErrorKind.InvalidAccess, iova, length, "the host memory is not memory of this process (" + error.Message + ")"),
                        _ => error,
                    };
                }

                var mapping = new VfioDmaMapping(this, iova, length, hostAddress, access, buffer);
                _mappings.Add(mapping);
                return mapping;
            }
        }

        internal void Unmap(VfioDmaMapping mapping)
        {
            lock (_gate)
            {
                if (mapping.IsMapped && _mappings.Contains(mapping))
                {
                    UnmapLocked(mapping.Iova, mapping.Length, new[] { mapping });
                }
            }
        }

        private void UnmapLocked(ulong iova, ulong length, IReadOnlyList<VfioDmaMapping> mappings)
        {
            ulong expected = 0;
            foreach (VfioDmaMapping mapping in mappings)
            {
                expected += mapping.Length;
            }

            ulong unmapped;
            if (iova == 0 && length == ulong.MaxValue)
            {
                // Everything: one call per mapping (a type1 unmap cannot name the whole 64-bit space in one size).
                unmapped = 0;
                foreach (VfioDmaMapping mapping in mappings)
                {
                    unmapped += UnmapInKernel(mapping.Iova, mapping.Length);
                    ForgetMappings(new[] { mapping });
                }
            }
            else
            {
                unmapped = UnmapInKernel(iova, length);
                ForgetMappings(mappings);
            }

            if (unmapped != expected)
            {
                throw new VfioException(
                    VfioErrorKind.Kernel,
                    string.Format(CultureInfo.InvariantCulture, "unmapping 0x{0:x} bytes at IOVA 0x{1:x}", length, iova),
                    0,
                    string.Format(CultureInfo.InvariantCulture, "the kernel unmapped 0x{0:x} bytes where the container had 0x{1:x} mapped", unmapped, expected));
            }
        }

        private ulong UnmapInKernel(ulong iova, ulong length) =>
            OpenPath == VfioOpenPath.Iommufd ? Kernel.UnmapIoas(_iommufd, _ioas, iova, length) : Kernel.UnmapDma(_containerFd, iova, length);

        private void ForgetMappings(IEnumerable<VfioDmaMapping> mappings)
        {
            foreach (VfioDmaMapping mapping in mappings)
            {
                if (_mappings.Remove(mapping))
                {
                    mapping.IsMapped = false;
                    mapping.Buffer?.RemoveMapping();
                }
            }
        }

        /// <summary>iommufd: the IOAS's ranges change with every attach and detach, so ask again.</summary>
        private void RefreshInfo()
        {
            if (_iommufd >= 0)
            {
                _info = Kernel.GetIoasInfo(_iommufd, _ioas);
                _mappingsWhenQueried = _mappings.Count;
            }
        }

        private string Blocker(string address, int? group)
        {
            string? driver = VfioSysfs.DriverOf(Kernel, Options, address);
            string where = group is int number ? "IOMMU group " + number.ToString(CultureInfo.InvariantCulture) + ", " : string.Empty;
            string why = driver is null ? "bound to no driver, not opened here" : driver != "vfio-pci" ? "bound to " + driver : "not opened through this container";
            return address + " (" + where + why + ")";
        }

        /// <summary>
        /// Performs the hot reset with every affected open device quiesced: their locks taken in address order (the one
        /// order every hot reset uses), their state saved, then restored after the reset, or their interrupts put back
        /// if it failed.
        /// </summary>
        private void ResetTogether(VfioDevice caller, List<VfioDevice> affected, IReadOnlyList<int> groupFds, string operation)
        {
            var locked = new List<VfioDevice>();
            try
            {
                foreach (VfioDevice device in affected)
                {
                    Monitor.Enter(device.Gate);
                    locked.Add(device);
                    device.ThrowIfClosed();
                }

                var saved = new List<VfioDevice.ResetState>();
                try
                {
                    foreach (VfioDevice device in affected)
                    {
                        saved.Add(device.BeginReset());
                    }

                    Kernel.PciHotReset(caller.DeviceFd, groupFds);
                }
                catch (VfioException error)
                {
                    // Whatever was quiesced gets its interrupts back: the reset did not happen.
                    for (int i = 0; i < saved.Count; i++)
                    {
                        affected[i].AbortReset();
                    }

                    throw saved.Count < affected.Count ? error
                        : new VfioException(error.Errno == VfioConstants.EINVAL || error.Errno == VfioConstants.EPERM ? VfioErrorKind.CannotReset : VfioErrorKind.Kernel, operation, error.Errno, "the kernel refused the bus reset (" + error.Message + ")");
                }

                for (int i = 0; i < affected.Count; i++)
                {
                    affected[i].FinishReset(saved[i]);
                }
            }
            finally
            {
                foreach (VfioDevice device in locked)
                {
                    Monitor.Exit(device.Gate);
                }
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed)
            {
                throw new VfioException(VfioErrorKind.Closed, "using a VFIO container", 0, "the container has been disposed");
            }
        }

        /// <summary>An IOMMU group open in this container (group/container path).</summary>
        private sealed class Group
        {
            public Group(int number, int fd)
            {
                Number = number;
                Fd = fd;
            }

            public int Number { get; }

            public int Fd { get; }

            /// <summary>How many open devices use it.</summary>
            public int Devices { get; set; }
        }
    }
}
