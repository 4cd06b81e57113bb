using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Globalization;
using System.Text;
using System.Threading;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace VfioPolicy.Runtime.Kernel
{
    /// <summary>
    /// The real kernel, through Tmds.LibC. Every native call carries a SAFETY comment saying why the pointers it
    /// passes are valid for the call: buffer lengths, lifetimes, descriptor ownership.
    /// </summary>
    public sealed unsafe class LinuxVfioKernel : IVfioKernel
    {
        private readonly ConcurrentDictionary<int, string> _names = new ConcurrentDictionary<int, string>();

        /// <summary>Device descriptors and the PCI address (or cdev path) they were opened by, for <see cref="OpenBarFile"/>.</summary>
        private readonly ConcurrentDictionary<int, string> _deviceAddresses = new ConcurrentDictionary<int, string>();

        /// <inheritdoc />
        public int Open(string path)
        {
            byte[] bytes = NullTerminated(path);
            fixed (byte* p = bytes)
            {
                // SAFETY: p points at a NUL-terminated copy of the path that stays pinned for the call; the returned
                // descriptor is owned by the caller, who closes it through Close.
                int fd = open(p, O_RDWR | O_CLOEXEC, 0);
                if (fd < 0)
                {
                    throw VfioException.FromErrno("open " + path, errno);
                }

                _names[fd] = path;
                if (path.StartsWith("/dev/vfio/devices/", StringComparison.Ordinal))
                {
                    _deviceAddresses[fd] = path;
                }

                return fd;
            }
        }

        /// <inheritdoc />
        public void Close(int fd)
        {
            _names.TryRemove(fd, out _);
            _deviceAddresses.TryRemove(fd, out _);

            // SAFETY: closes a descriptor this kernel handed out; the caller owns it and never uses it again.
            close(fd);
        }

        /// <inheritdoc />
        public bool Exists(string path) => Directory.Exists(path) || File.Exists(path);

        /// <inheritdoc />
        public string? ReadLink(string path)
        {
            try
            {
                return new FileInfo(path).LinkTarget;
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <inheritdoc />
        public IReadOnlyList<string> ListDirectory(string path)
        {
            if (!Directory.Exists(path))
            {
                return Array.Empty<string>();
            }

            return Directory.GetFileSystemEntries(path).Select(Path.GetFileName).Select(n => n ?? string.Empty).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        }

        /// <inheritdoc />
        public int GetApiVersion(int containerFd)
        {
            // SAFETY: VFIO_GET_API_VERSION takes no argument and returns the version.
            return Check(ioctl(containerFd, VfioAbi.GetApiVersion, 0), "VFIO_GET_API_VERSION", containerFd);
        }

        /// <inheritdoc />
        public bool CheckExtension(int containerFd, uint extension)
        {
            // SAFETY: VFIO_CHECK_EXTENSION takes the extension number by value (passed in the pointer-sized slot), no memory.
            return Check(ioctl(containerFd, VfioAbi.CheckExtension, (void*)extension), "VFIO_CHECK_EXTENSION", containerFd) > 0;
        }

        /// <inheritdoc />
        public void SetIommu(int containerFd, uint iommuType)
        {
            // SAFETY: VFIO_SET_IOMMU takes the IOMMU type by value, no memory.
            Check(ioctl(containerFd, VfioAbi.SetIommu, (void*)iommuType), "VFIO_SET_IOMMU", containerFd);
        }

        /// <inheritdoc />
        public VfioGroupFlags GetGroupStatus(int groupFd)
        {
            Span<byte> status = stackalloc byte[VfioAbi.GroupStatusSize];
            status.Clear();
            VfioAbi.EncodeArgsz(status);
            Ioctl(groupFd, VfioAbi.GroupGetStatus, status, "VFIO_GROUP_GET_STATUS");
            return VfioAbi.DecodeGroupStatus(status);
        }

        /// <inheritdoc />
        public void SetContainer(int groupFd, int containerFd)
        {
            int container = containerFd;

            // SAFETY: the kernel reads one int through the pointer to a local that outlives the call.
            Check(ioctl(groupFd, VfioAbi.GroupSetContainer, &container), "VFIO_GROUP_SET_CONTAINER", groupFd);
        }

        /// <inheritdoc />
        public int GetDeviceFd(int groupFd, string deviceName)
        {
            byte[] name = NullTerminated(deviceName);
            fixed (byte* p = name)
            {
                // SAFETY: p is a pinned NUL-terminated device name; the returned descriptor is owned by the caller.
                int fd = Check(ioctl(groupFd, VfioAbi.GroupGetDeviceFd, p), "VFIO_GROUP_GET_DEVICE_FD (" + deviceName + ")", groupFd);
                _names[fd] = "VFIO device " + deviceName;
                _deviceAddresses[fd] = deviceName;
                return fd;
            }
        }

        /// <inheritdoc />
        public VfioDeviceInfo GetDeviceInfo(int deviceFd)
        {
            Span<byte> info = stackalloc byte[VfioAbi.DeviceInfoSize];
            info.Clear();
            VfioAbi.EncodeArgsz(info);
            Ioctl(deviceFd, VfioAbi.DeviceGetInfo, info, "VFIO_DEVICE_GET_INFO");
            return VfioAbi.DecodeDeviceInfo(info);
        }

        /// <inheritdoc />
        public VfioRegionInfo GetRegionInfo(int deviceFd, int index)
        {
            string operation = "VFIO_DEVICE_GET_REGION_INFO (index " + index.ToString(CultureInfo.InvariantCulture) + ")";
            byte[] buffer = new byte[VfioAbi.RegionInfoSize];
            VfioAbi.EncodeRegionInfo(buffer, index);
            Ioctl(deviceFd, VfioAbi.DeviceGetRegionInfo, buffer, operation);
            int needed = VfioAbi.RegionInfoNeeds(buffer);
            if (needed > 0)
            {
                // The capability chain did not fit: the kernel said how much room it needs.
                buffer = new byte[needed];
                VfioAbi.EncodeRegionInfo(buffer, index);
                Ioctl(deviceFd, VfioAbi.DeviceGetRegionInfo, buffer, operation);
            }

            return VfioAbi.DecodeRegionInfo(buffer, index);
        }

        /// <inheritdoc />
        public VfioIrqInfo GetIrqInfo(int deviceFd, int index)
        {
            Span<byte> info = stackalloc byte[VfioAbi.IrqInfoSize];
            VfioAbi.EncodeIrqInfo(info, index);
            Ioctl(deviceFd, VfioAbi.DeviceGetIrqInfo, info, "VFIO_DEVICE_GET_IRQ_INFO (index " + index.ToString(CultureInfo.InvariantCulture) + ")");
            return VfioAbi.DecodeIrqInfo(info, index);
        }

        /// <inheritdoc />
        public void SetIrqs(int deviceFd, VfioIrqSet request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            if (request.Malformation() is { } problem)
            {
                throw new ArgumentException(problem, nameof(request));
            }

            byte[] set = new byte[VfioAbi.IrqSetSize(request)];
            VfioAbi.EncodeIrqSet(set, request);
            Ioctl(deviceFd, VfioAbi.DeviceSetIrqs, set, "VFIO_DEVICE_SET_IRQS (index " + request.Index.ToString(CultureInfo.InvariantCulture) + ")");
        }

        /// <inheritdoc />
        public void ResetDevice(int deviceFd)
        {
            // SAFETY: VFIO_DEVICE_RESET takes no argument.
            Check(ioctl(deviceFd, VfioAbi.DeviceReset, 0), "VFIO_DEVICE_RESET", deviceFd);
        }

        /// <inheritdoc />
        public VfioHotResetInfo GetPciHotResetInfo(int deviceFd)
        {
            const string Operation = "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO";
            byte[] buffer = new byte[VfioAbi.HotResetInfoHeaderSize + (8 * VfioAbi.DependentDeviceSize)];
            while (true)
            {
                VfioAbi.EncodeHotResetInfo(buffer);
                try
                {
                    Ioctl(deviceFd, VfioAbi.DeviceGetPciHotResetInfo, buffer, Operation);
                    return VfioAbi.DecodeHotResetInfo(buffer);
                }
                catch (VfioException error) when (error.Errno == VfioConstants.ENOSPC)
                {
                    // The array was too small; the kernel filled in the count. A bus has at most 256 functions.
                    int count = VfioAbi.HotResetInfoCount(buffer);
                    int needed = VfioAbi.HotResetInfoHeaderSize + (count * VfioAbi.DependentDeviceSize);
                    if (count > 256 * 8 || needed <= buffer.Length)
                    {
                        throw;
                    }

                    buffer = new byte[needed];
                }
            }
        }

        /// <inheritdoc />
        public void PciHotReset(int deviceFd, IReadOnlyList<int> groupFds)
        {
            if (groupFds is null)
            {
                throw new ArgumentNullException(nameof(groupFds));
            }

            byte[] buffer = new byte[VfioAbi.HotResetSize(groupFds.Count)];
            VfioAbi.EncodeHotReset(buffer, groupFds);
            Ioctl(deviceFd, VfioAbi.DevicePciHotReset, buffer, "VFIO_DEVICE_PCI_HOT_RESET");
        }

        /// <inheritdoc />
        public VfioIommuInfo GetIommuInfo(int containerFd)
        {
            // Room for a few IOVA ranges and the DMA_AVAIL capability; the kernel says when it needs more.
            byte[] buffer = new byte[256];
            VfioAbi.EncodeArgsz(buffer);
            Ioctl(containerFd, VfioAbi.IommuGetInfo, buffer, "VFIO_IOMMU_GET_INFO");
            int needed = VfioAbi.IommuInfoNeeds(buffer);
            if (needed > 0)
            {
                buffer = new byte[needed];
                VfioAbi.EncodeArgsz(buffer);
                Ioctl(containerFd, VfioAbi.IommuGetInfo, buffer, "VFIO_IOMMU_GET_INFO");
            }

            return VfioAbi.DecodeIommuInfo(buffer);
        }

        /// <inheritdoc />
        public void MapDma(int containerFd, ulong hostAddress, ulong iova, ulong size, VfioDmaAccess access)
        {
            Span<byte> map = stackalloc byte[VfioAbi.DmaMapSize];
            VfioAbi.EncodeDmaMap(map, hostAddress, iova, size, access);

            // SAFETY (of what the kernel does with it): it pins the pages at hostAddress for as long as the mapping
            // exists; the caller (VfioContainer) keeps that memory allocated until it has unmapped the range.
            Ioctl(containerFd, VfioAbi.IommuMapDma, map, DmaOperation("VFIO_IOMMU_MAP_DMA", iova, size));
        }

        /// <inheritdoc />
        public ulong UnmapDma(int containerFd, ulong iova, ulong size)
        {
            Span<byte> unmap = stackalloc byte[VfioAbi.DmaUnmapSize];
            VfioAbi.EncodeDmaUnmap(unmap, iova, size);
            Ioctl(containerFd, VfioAbi.IommuUnmapDma, unmap, DmaOperation("VFIO_IOMMU_UNMAP_DMA", iova, size));
            return VfioAbi.DecodeDmaUnmap(unmap);
        }

        /// <inheritdoc />
        public uint BindIommufd(int deviceFd, int iommufd)
        {
            Span<byte> bind = stackalloc byte[VfioAbi.BindIommufdSize];
            VfioAbi.EncodeBindIommufd(bind, iommufd);
            Ioctl(deviceFd, VfioAbi.DeviceBindIommufd, bind, "VFIO_DEVICE_BIND_IOMMUFD");
            return VfioAbi.DecodeBindIommufd(bind);
        }

        /// <inheritdoc />
        public uint AttachIommufdPageTable(int deviceFd, uint pageTableId)
        {
            Span<byte> attach = stackalloc byte[VfioAbi.AttachIommufdPtSize];
            VfioAbi.EncodeAttachIommufdPt(attach, pageTableId);
            Ioctl(deviceFd, VfioAbi.DeviceAttachIommufdPt, attach, "VFIO_DEVICE_ATTACH_IOMMUFD_PT (" + pageTableId.ToString(CultureInfo.InvariantCulture) + ")");
            return VfioAbi.DecodeAttachIommufdPt(attach);
        }

        /// <inheritdoc />
        public void DetachIommufdPageTable(int deviceFd)
        {
            Span<byte> detach = stackalloc byte[VfioAbi.DetachIommufdPtSize];
            VfioAbi.EncodeDetachIommufdPt(detach);
            Ioctl(deviceFd, VfioAbi.DeviceDetachIommufdPt, detach, "VFIO_DEVICE_DETACH_IOMMUFD_PT");
        }

        /// <inheritdoc />
        public uint AllocateIoas(int iommufd)
        {
            Span<byte> alloc = stackalloc byte[VfioAbi.IoasAllocSize];
            VfioAbi.EncodeIoasAlloc(alloc);
            Ioctl(iommufd, VfioAbi.IommuIoasAlloc, alloc, "IOMMU_IOAS_ALLOC");
            return VfioAbi.DecodeIoasAlloc(alloc);
        }

        /// <inheritdoc />
        public void DestroyIommufdObject(int iommufd, uint objectId)
        {
            Span<byte> destroy = stackalloc byte[VfioAbi.IommuDestroySize];
            VfioAbi.EncodeIommuDestroy(destroy, objectId);
            Ioctl(iommufd, VfioAbi.IommuDestroy, destroy, "IOMMU_DESTROY (" + objectId.ToString(CultureInfo.InvariantCulture) + ")");
        }

        /// <inheritdoc />
        public VfioIommuInfo GetIoasInfo(int iommufd, uint ioasId)
        {
            const string Operation = "IOMMU_IOAS_IOVA_RANGES";
            int capacity = 8;
            while (true)
            {
                byte[] ranges = new byte[capacity * VfioAbi.IovaRangeSize];
                byte[] query = new byte[VfioAbi.IoasIovaRangesSize];
                fixed (byte* array = ranges)
                {
                    VfioAbi.EncodeIoasIovaRanges(query, ioasId, capacity, (ulong)array);
                    try
                    {
                        // SAFETY: array is pinned for the call and holds exactly capacity ranges, the count the
                        // kernel is told; it writes no more than that.
                        Ioctl(iommufd, VfioAbi.IommuIoasIovaRanges, query, Operation);
                    }
                    catch (VfioException error) when (error.Errno == VfioConstants.EMSGSIZE && VfioAbi.IoasIovaRangesCount(query) is int needed && needed > capacity && needed <= 4096)
                    {
                        capacity = needed;
                        continue;
                    }
                }

                int count = Math.Min(VfioAbi.IoasIovaRangesCount(query), capacity);
                var list = new List<VfioIovaRange>();
                for (int i = 0; i < count; i++)
                {
                    list.Add(VfioAbi.DecodeIovaRange(ranges, i));
                }

                return new VfioIommuInfo(VfioAbi.IoasIovaAlignment(query), list, null);
            }
        }

        /// <inheritdoc />
        public void MapIoas(int iommufd, uint ioasId, ulong hostAddress, ulong iova, ulong length, VfioDmaAccess access)
        {
            Span<byte> map = stackalloc byte[VfioAbi.IoasMapSize];
            VfioAbi.EncodeIoasMap(map, ioasId, hostAddress, iova, length, access);

            // SAFETY (of what the kernel does with it): as for MapDma, the pages stay pinned until the caller unmaps.
            Ioctl(iommufd, VfioAbi.IommuIoasMap, map, DmaOperation("IOMMU_IOAS_MAP", iova, length));
        }

        /// <inheritdoc />
        public ulong UnmapIoas(int iommufd, uint ioasId, ulong iova, ulong length)
        {
            Span<byte> unmap = stackalloc byte[VfioAbi.IoasUnmapSize];
            VfioAbi.EncodeIoasUnmap(unmap, ioasId, iova, length);
            Ioctl(iommufd, VfioAbi.IommuIoasUnmap, unmap, DmaOperation("IOMMU_IOAS_UNMAP", iova, length));
            return VfioAbi.DecodeIoasUnmap(unmap);
        }

        /// <inheritdoc />
        public int PageSize => Environment.SystemPageSize;

        /// <inheritdoc />
        public IHostMemory AllocateMemory(long length, bool shareable)
        {
            if (length <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, "DMA memory needs at least one byte.");
            }

            long pageSize = PageSize;
            long rounded = checked((length + pageSize - 1) / pageSize * pageSize);
            int fd = -1;
            if (shareable)
            {
                byte[] name = NullTerminated("vfiopolicy-dma");
                fixed (byte* p = name)
                {
                    // SAFETY: p is a pinned NUL-terminated name; the descriptor is owned by the HostMemory below.
                    fd = memfd_create(p, MFD_CLOEXEC);
                }

                if (fd < 0)
                {
                    throw VfioException.FromErrno("memfd_create", errno);
                }

                // SAFETY: sizes the memfd this method just created; no memory is passed.
                if (ftruncate(fd, rounded) < 0)
                {
                    int error = errno;
                    close(fd);
                    throw VfioException.FromErrno("ftruncate of the DMA memfd to " + rounded.ToString(CultureInfo.InvariantCulture) + " bytes", error);
                }
            }

            // SAFETY: no address hint; the kernel chooses a page-aligned place. The mapping lives until
            // HostMemory.Dispose unmaps exactly this address and length.
            void* address = mmap(null, (size_t)(ulong)rounded, PROT_READ | PROT_WRITE, MAP_SHARED | (fd < 0 ? MAP_ANONYMOUS : 0), fd, 0);
            if (address == MAP_FAILED)
            {
                int error = errno;
                if (fd >= 0)
                {
                    close(fd);
                }

                throw VfioException.FromErrno("mmap of " + rounded.ToString(CultureInfo.InvariantCulture) + " bytes of DMA memory", error);
            }

            if (fd >= 0)
            {
                _names[fd] = "DMA memfd";
            }

            return new HostMemory(this, address, rounded, fd);
        }

        /// <inheritdoc />
        public IHostMemory MapMemory(int fd, long offset, long length, bool writable)
        {
            if (length <= 0 || offset < 0 || offset % PageSize != 0)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "mmap of " + NameOf(fd), VfioConstants.EINVAL, "the offset must be page-aligned and the length positive");
            }

            // SAFETY: no address hint; MAP_SHARED of a descriptor the caller owns and keeps. The mapping lives until
            // HostMemory.Dispose unmaps exactly this address and length; the descriptor is not closed there (-1).
            void* address = mmap(null, (size_t)(ulong)length, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, offset);
            if (address == MAP_FAILED)
            {
                throw VfioException.FromErrno("mmap of 0x" + length.ToString("x", CultureInfo.InvariantCulture) + " bytes at 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + " of " + NameOf(fd), errno);
            }

            return new HostMemory(this, address, length, -1);
        }

        /// <inheritdoc />
        public int PRead(int fd, Span<byte> buffer, long offset)
        {
            fixed (byte* p = buffer)
            {
                // SAFETY: p is the pinned span; the kernel writes at most buffer.Length bytes into it.
                long done = pread(fd, p, buffer.Length, offset);
                return Check(done, "pread", fd);
            }
        }

        /// <inheritdoc />
        public int PWrite(int fd, ReadOnlySpan<byte> buffer, long offset)
        {
            fixed (byte* p = buffer)
            {
                // SAFETY: p is the pinned span; the kernel reads at most buffer.Length bytes from it.
                long done = pwrite(fd, p, buffer.Length, offset);
                return Check(done, "pwrite", fd);
            }
        }

        /// <inheritdoc />
        public IMappedRange Map(int fd, long offset, long length, bool writable)
        {
            int protection = PROT_READ | (writable ? PROT_WRITE : 0);

            // SAFETY: no address hint; the kernel chooses where. The mapping lives until MappedRange.Dispose unmaps
            // exactly this address and length, and its users bounds-check every access against the length.
            void* address = mmap(null, (size_t)(ulong)length, protection, MAP_SHARED, fd, offset);
            if (address == MAP_FAILED)
            {
                throw VfioException.FromErrno("mmap of 0x" + length.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + " bytes at 0x" + offset.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + " of " + NameOf(fd), errno);
            }

            return new MappedRange(address, length);
        }

        /// <inheritdoc />
        /// <remarks>
        /// The device's sysfs <c>resourceN</c> file: mmap of it maps that BAR only, and read/write of a memory BAR's file
        /// is refused by the kernel. A device opened through its cdev (/dev/vfio/devices/vfioN) is found through
        /// /sys/class/vfio-dev/vfioN/device. Kernels with strict I/O memory checks may refuse the mmap of a BAR that
        /// vfio-pci claimed; the caller learns that when it maps.
        /// </remarks>
        public int OpenBarFile(int deviceFd, int barIndex)
        {
            if (barIndex < 0 || barIndex > 5)
            {
                throw VfioException.FromErrno("open the BAR file of " + NameOf(deviceFd), VfioConstants.EINVAL);
            }

            string? address = _deviceAddresses.TryGetValue(deviceFd, out string? known) ? known : null;
            if (address is null)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "open the BAR file of " + NameOf(deviceFd), VfioConstants.EBADF, "the descriptor is no VFIO device this kernel seam opened");
            }

            if (address.StartsWith("/dev/vfio/devices/", StringComparison.Ordinal))
            {
                string? device = ReadLink("/sys/class/vfio-dev/" + address.Substring("/dev/vfio/devices/".Length) + "/device");
                address = device is null ? address : System.IO.Path.GetFileName(device);
            }

            string path = "/sys/bus/pci/devices/" + address + "/resource" + barIndex.ToString(System.Globalization.CultureInfo.InvariantCulture);
            int fd = Open(path);
            try
            {
                // Opening succeeds where mapping does not: a kernel that treats a BAR a driver claimed as exclusive
                // (CONFIG_IO_STRICT_DEVMEM; Debian's) refuses the mmap with EINVAL. Find out here, not in the client.
                Map(fd, 0, PageSize, writable: true).Dispose();
            }
            catch (VfioException error)
            {
                Close(fd);
                throw new VfioException(error.Kind, "map " + path, error.Errno, "the kernel refuses to map a BAR that vfio-pci holds (kernels with CONFIG_IO_STRICT_DEVMEM do)");
            }

            return fd;
        }

        /// <inheritdoc />
        public int Duplicate(int fd)
        {
            // SAFETY: no memory involved; the new descriptor is owned by the caller.
            int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
            if (copy < 0)
            {
                throw VfioException.FromErrno("dup of " + NameOf(fd), errno);
            }

            _names[copy] = NameOf(fd);
            return copy;
        }

        /// <inheritdoc />
        public int CreateEventFd()
        {
            // SAFETY: no memory involved; the descriptor is owned by the caller.
            int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
            if (fd < 0)
            {
                throw VfioException.FromErrno("eventfd", errno);
            }

            _names[fd] = "eventfd " + fd;
            return fd;
        }

        /// <inheritdoc />
        public bool TryReadEventFd(int fd, out ulong count)
        {
            ulong value = 0;

            // SAFETY: an eventfd read transfers exactly 8 bytes into the local, which outlives the call.
            long done = read(fd, &value, 8);
            if (done < 0)
            {
                int error = errno;
                if (error == VfioConstants.EAGAIN)
                {
                    count = 0;
                    return false;
                }

                throw VfioException.FromErrno("read of " + NameOf(fd), error);
            }

            count = value;
            return value != 0;
        }

        /// <inheritdoc />
        public void WriteEventFd(int fd, ulong value)
        {
            ulong local = value;

            // SAFETY: an eventfd write transfers exactly 8 bytes from the local, which outlives the call.
            Check(write(fd, &local, 8), "write", fd);
        }

        /// <inheritdoc />
        public int Poll(ReadOnlySpan<int> fds, int timeoutMilliseconds, Span<bool> ready)
        {
            pollfd* set = stackalloc pollfd[fds.Length];
            for (int i = 0; i < fds.Length; i++)
            {
                set[i].fd = fds[i];
                set[i].events = POLLIN;
                set[i].revents = 0;
            }

            // SAFETY: set holds exactly fds.Length pollfd entries on the stack, alive for the call.
            int result = poll(set, (ulong_t)(ulong)fds.Length, timeoutMilliseconds);
            if (result < 0)
            {
                // errno is read once: a second read may see what the runtime's own signal handling left there.
                int error = errno;
                if (error == VfioConstants.EINTR || error == 0)
                {
                    // A signal (SIGTERM, say) interrupted the wait: report nothing ready, so the caller can look at
                    // why it was woken before it waits again. errno 0 was seen here on SIGTERM (the runtime's own
                    // signal handling runs in between); a real failure is reported again by the next poll.
                    ready.Slice(0, fds.Length).Clear();
                    return 0;
                }

                throw VfioException.FromErrno("poll", error);
            }

            for (int i = 0; i < fds.Length; i++)
            {
                ready[i] = (set[i].revents & POLLIN) != 0;
            }

            return result;
        }

        private void Ioctl(int fd, int request, Span<byte> argument, string operation)
        {
            fixed (byte* p = argument)
            {
                // SAFETY: p is the pinned argument, whose first u32 (argsz or size) is its exact length, encoded by
                // VfioAbi to the layout the header gives; the kernel reads and writes no more than that.
                Check(ioctl(fd, request, p), operation, fd);
            }
        }

        private static string DmaOperation(string name, ulong iova, ulong size) =>
            string.Format(CultureInfo.InvariantCulture, "{0} (IOVA 0x{1:x}, 0x{2:x} bytes)", name, iova, size);

        private int Check(long result, string operation, int fd)
        {
            if (result < 0)
            {
                throw VfioException.FromErrno(operation + " on " + NameOf(fd), errno);
            }

            return (int)result;
        }

        private string NameOf(int fd) => _names.TryGetValue(fd, out string? name) ? name : "fd " + fd;

        private static byte[] NullTerminated(string text)
        {
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>Page-aligned memory from mmap (anonymous, or of a memfd); unmapped and closed once on Dispose.</summary>
        private sealed class HostMemory : IHostMemory
        {
            private readonly LinuxVfioKernel _kernel;
            private void* _address;
            private int _fd;

            public HostMemory(LinuxVfioKernel kernel, void* address, long length, int fd)
            {
                _kernel = kernel;
                _address = address;
                Length = length;
                _fd = fd;
            }

            public nint Address => (nint)_address;

            public long Length { get; }

            public int Fd => _fd;

            public void Dispose()
            {
                if (_address is not null)
                {
                    // SAFETY: unmaps exactly the range mmap returned, once. Pages a DMA mapping still pins stay
                    // allocated in the kernel until it is unmapped; this process just no longer sees them.
                    munmap(_address, (size_t)(ulong)Length);
                    _address = null;
                }

                if (_fd >= 0)
                {
                    _kernel.Close(_fd);
                    _fd = -1;
                }
            }
        }

        /// <summary>An mmap of device memory; accesses are volatile and bounds-checked.</summary>
        private sealed class MappedRange : IMappedRange
        {
            private byte* _address;

            public MappedRange(void* address, long length)
            {
                _address = (byte*)address;
                Length = length;
            }

            public long Length { get; }

            public ulong Read(long offset, int width)
            {
                byte* p = At(offset, width);

                // SAFETY: At checked that [offset, offset + width) lies inside the live mapping and is aligned.
                return width switch
                {
                    1 => Volatile.Read(ref *p),
                    2 => Volatile.Read(ref *(ushort*)p),
                    4 => Volatile.Read(ref *(uint*)p),
                    _ => Volatile.Read(ref *(ulong*)p),
                };
            }

            public void Write(long offset, int width, ulong value)
            {
                byte* p = At(offset, width);

                // SAFETY: At checked that [offset, offset + width) lies inside the live mapping and is aligned.
                switch (width)
                {
                    case 1:
                        Volatile.Write(ref *p, (byte)value);
                        break;
                    case 2:
                        Volatile.Write(ref *(ushort*)p, (ushort)value);
                        break;
                    case 4:
                        Volatile.Write(ref *(uint*)p, (uint)value);
                        break;
                    default:
                        Volatile.Write(ref *(ulong*)p, value);
                        break;
                }
            }

            public void Dispose()
            {
                if (_address is not null)
                {
                    // SAFETY: unmaps exactly the range mmap returned, once; _address is cleared so no access follows.
                    munmap(_address, (size_t)(ulong)Length);
                    _address = null;
                }
            }

            private byte* At(long offset, int width)
            {
                if (_address is null)
                {
                    throw new ObjectDisposedException(nameof(MappedRange));
                }

                if ((width != 1 && width != 2 && width != 4 && width != 8) || offset < 0 || offset + width > Length || offset % width != 0)
                {
                    throw new ArgumentOutOfRangeException(nameof(offset), offset, "The access lies outside the mapping or is misaligned.");
                }

                return _address + offset;
            }
        }
    }
}
