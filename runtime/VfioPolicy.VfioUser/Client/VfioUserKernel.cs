using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.VfioUser.Client
{
    /// <summary>
    /// The runtime's kernel seam over a vfio-user server: the device another process serves on a UNIX socket (SPDK's
    /// or libvfio-user's servers, or <c>vfio-policy serve</c> itself) opened as if it were bound to vfio-pci, so the
    /// runtime, and with it <c>attach</c> and <c>serve</c>, can put a policy in front of it. Everything that is a real
    /// descriptor (eventfds, memory, polls) goes to the host kernel; the container, the group and the device are this
    /// seam's own descriptors, and the device's regions, interrupts, reset and DMA become vfio-user messages.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The device appears at <see cref="Address"/> in IOMMU group 0, bound to "vfio-pci", with no iommufd and no hot
    /// reset. Region <c>i</c> lies at <c>i &lt;&lt; 40</c> of the device descriptor, as with vfio-pci. A region the
    /// server offers for mmap (with a descriptor of its own) is mapped from that descriptor; others are reached with
    /// REGION_READ/WRITE. Memory this seam allocates is always shareable, so DMA_MAP can pass it to the server.
    /// </para>
    /// <para>
    /// The server is untrusted too: every reply is checked (its command and id, its size, the descriptors it carries,
    /// the region or IRQ index it describes) before it is used; a bad one is a <see cref="VfioException"/>, and
    /// descriptors nobody asked for are closed.
    /// </para>
    /// </remarks>
    public sealed class VfioUserKernel : IVfioKernel, IDisposable
    {
        /// <summary>The prefix of a device name that means "the device a vfio-user server serves on this socket".</summary>
        public const string Prefix = "vfio-user:";

        /// <summary>The PCI address the served device appears at.</summary>
        public const string Address = "0000:00:00.0";

        /// <summary>The IOMMU group the served device appears in.</summary>
        public const int Group = 0;

        private const int FirstOwnFd = 1 << 28;
        private const int RegionShift = 40;
        private const long RegionMask = (1L << RegionShift) - 1;
        private const int MaxRegions = 64;
        private const int MaxIrqIndexes = 16;
        private const uint RegionInfoRoom = 4096;

        private readonly IVfioKernel _host;
        private readonly object _gate = new object();
        private readonly Dictionary<int, string> _own = new Dictionary<int, string>();
        private readonly List<SharedMemory> _memory = new List<SharedMemory>();
        private readonly Dictionary<int, RegionMapping> _regionFds = new Dictionary<int, RegionMapping>();
        private VfioUserClient? _client;
        private int _deviceFd = -1;
        private int _nextFd = FirstOwnFd;
        private int _regionCount;

        /// <summary>Creates the seam for the server listening on <paramref name="socketPath"/>; nothing connects until the device is opened.</summary>
        public VfioUserKernel(IVfioKernel host, string socketPath)
        {
            _host = host ?? throw new ArgumentNullException(nameof(host));
            SocketPath = string.IsNullOrEmpty(socketPath) ? throw new ArgumentException("The socket path is empty.", nameof(socketPath)) : socketPath;
        }

        /// <summary>The server's socket.</summary>
        public string SocketPath { get; }

        /// <summary>How long a request waits for the server's reply before the connection is given up (ETIMEDOUT); 30 s by default.</summary>
        public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

        /// <summary>What the server offered at negotiation; null before the device is opened.</summary>
        public VfioUserCapabilities? Server => _client?.Server;

        /// <inheritdoc />
        public int PageSize => _host.PageSize;

        /// <summary>
        /// Splits a device name: <c>vfio-user:PATH</c> gives PATH; anything else is not a vfio-user device.
        /// </summary>
        public static bool TryParse(string device, out string socketPath)
        {
            socketPath = string.Empty;
            if (device is null || !device.StartsWith(Prefix, StringComparison.Ordinal) || device.Length == Prefix.Length)
            {
                return false;
            }

            socketPath = device.Substring(Prefix.Length);
            return true;
        }

        /// <inheritdoc />
        public int Open(string path)
        {
            lock (_gate)
            {
                if (path == "/dev/vfio/vfio")
                {
                    return Own("the VFIO container (vfio-user)");
                }

                if (path == "/dev/vfio/" + Group.ToString(CultureInfo.InvariantCulture))
                {
                    return Own("IOMMU group 0 (vfio-user)");
                }
            }

            if (path.StartsWith("/dev/vfio/", StringComparison.Ordinal) || path == "/dev/iommu")
            {
                throw VfioException.FromErrno("open " + path + " (a vfio-user device has no other VFIO files)", VfioConstants.ENOENT);
            }

            return _host.Open(path);
        }

        /// <inheritdoc />
        public void Close(int fd)
        {
            bool own;
            VfioUserClient? client = null;
            lock (_gate)
            {
                own = _own.Remove(fd);
                if (own && fd == _deviceFd)
                {
                    client = _client;
                    _client = null;
                    _deviceFd = -1;
                    foreach (RegionMapping region in _regionFds.Values)
                    {
                        _host.Close(region.Fd);
                    }

                    _regionFds.Clear();
                }
            }

            if (!own)
            {
                _host.Close(fd);
            }

            client?.Dispose(); // the server sees the client go and cleans up after it
        }

        /// <inheritdoc />
        public bool Exists(string path)
        {
            if (path == DevicePath)
            {
                return true;
            }

            // No iommufd, no cdevs, no host VFIO files: the device reaches the runtime through this seam alone.
            return !path.StartsWith("/dev/vfio", StringComparison.Ordinal) && path != "/dev/iommu" && _host.Exists(path);
        }

        /// <inheritdoc />
        public string? ReadLink(string path) => path switch
        {
            _ when path == DevicePath + "/driver" => "../../../bus/pci/drivers/vfio-pci",
            _ when path == DevicePath + "/iommu_group" => "../../../kernel/iommu_groups/" + Group.ToString(CultureInfo.InvariantCulture),
            _ when path.StartsWith(DevicePath + "/", StringComparison.Ordinal) => null,
            _ => _host.ReadLink(path),
        };

        /// <inheritdoc />
        public IReadOnlyList<string> ListDirectory(string path) =>
            path.StartsWith(DevicePath, StringComparison.Ordinal) || path.StartsWith("/sys/kernel/iommu_groups/" + Group.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                ? (path.EndsWith("/devices", StringComparison.Ordinal) ? new[] { Address } : Array.Empty<string>())
                : _host.ListDirectory(path);

        /// <inheritdoc />
        public int GetApiVersion(int containerFd)
        {
            RequireOwn(containerFd, "VFIO_GET_API_VERSION");
            return VfioConstants.ApiVersion;
        }

        /// <inheritdoc />
        /// <remarks>Type1 and type1v2: the server's DMA_MAP/DMA_UNMAP behave as type1v2 (no partial unmaps).</remarks>
        public bool CheckExtension(int containerFd, uint extension)
        {
            RequireOwn(containerFd, "VFIO_CHECK_EXTENSION");
            return extension == VfioConstants.Type1v2Iommu || extension == VfioConstants.Type1Iommu;
        }

        /// <inheritdoc />
        public void SetIommu(int containerFd, uint iommuType)
        {
            RequireOwn(containerFd, "VFIO_SET_IOMMU");
            if (!CheckExtension(containerFd, iommuType))
            {
                throw VfioException.FromErrno("VFIO_SET_IOMMU " + iommuType.ToString(CultureInfo.InvariantCulture) + " (vfio-user)", VfioConstants.EINVAL);
            }
        }

        /// <inheritdoc />
        public VfioGroupFlags GetGroupStatus(int groupFd)
        {
            RequireOwn(groupFd, "VFIO_GROUP_GET_STATUS");
            return VfioGroupFlags.Viable;
        }

        /// <inheritdoc />
        public void SetContainer(int groupFd, int containerFd)
        {
            RequireOwn(groupFd, "VFIO_GROUP_SET_CONTAINER");
            RequireOwn(containerFd, "VFIO_GROUP_SET_CONTAINER");
        }

        /// <inheritdoc />
        /// <remarks>Connects to the server and negotiates; one device per seam.</remarks>
        public int GetDeviceFd(int groupFd, string deviceName)
        {
            RequireOwn(groupFd, "VFIO_GROUP_GET_DEVICE_FD");
            if (deviceName != Address)
            {
                throw VfioException.FromErrno("VFIO_GROUP_GET_DEVICE_FD (" + deviceName + "): the vfio-user device is " + Address, VfioConstants.ENODEV);
            }

            lock (_gate)
            {
                if (_deviceFd >= 0)
                {
                    throw VfioException.FromErrno("VFIO_GROUP_GET_DEVICE_FD (" + deviceName + "): already open", VfioConstants.EBUSY);
                }

                Connect();
                _deviceFd = Own("vfio-user device " + SocketPath);
                return _deviceFd;
            }
        }

        /// <inheritdoc />
        public VfioDeviceInfo GetDeviceInfo(int deviceFd)
        {
            byte[] reply = Call(deviceFd, VfioUserCommand.DeviceGetInfo, new VfioUserInfo(VfioUserInfo.Length, 0, 0, 0).Encode(), "DEVICE_GET_INFO");
            VfioUserInfo info = Parse(() => VfioUserInfo.Parse(reply, "the DEVICE_GET_INFO reply"), "DEVICE_GET_INFO");
            if (info.First <= VfioConstants.ConfigRegionIndex || info.First > MaxRegions || info.Second > MaxIrqIndexes)
            {
                throw BadReply("DEVICE_GET_INFO", string.Format(CultureInfo.InvariantCulture, "{0} regions and {1} IRQ indexes (a PCI device has 8 to {2} regions and at most {3} IRQ indexes)", info.First, info.Second, MaxRegions, MaxIrqIndexes));
            }

            lock (_gate)
            {
                _regionCount = (int)info.First;
            }

            return new VfioDeviceInfo((VfioDeviceFlags)info.Flags | VfioDeviceFlags.Pci, (int)info.First, (int)info.Second);
        }

        /// <inheritdoc />
        public VfioRegionInfo GetRegionInfo(int deviceFd, int index)
        {
            if (index < 0 || index >= MaxRegions)
            {
                throw VfioException.FromErrno("DEVICE_GET_REGION_INFO " + index.ToString(CultureInfo.InvariantCulture), VfioConstants.EINVAL);
            }

            byte[] request = new byte[VfioUserRegionInfo.Length];
            BinaryPrimitives.WriteUInt32LittleEndian(request, RegionInfoRoom);
            BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(8), (uint)index);
            VfioUserReply reply = Request(deviceFd, VfioUserCommand.DeviceGetRegionInfo, request, "DEVICE_GET_REGION_INFO");
            try
            {
                byte[] payload = reply.Payload;
                if (payload.Length < VfioUserRegionInfo.Length || payload.Length > RegionInfoRoom)
                {
                    throw BadReply("DEVICE_GET_REGION_INFO", payload.Length.ToString(CultureInfo.InvariantCulture) + " bytes");
                }

                if (BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)) != (uint)index)
                {
                    throw BadReply("DEVICE_GET_REGION_INFO", "it describes region " + BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)).ToString(CultureInfo.InvariantCulture) + ", not " + index.ToString(CultureInfo.InvariantCulture));
                }

                // The reply is struct vfio_region_info and its capability chain, byte for byte: the runtime's own
                // decoder (held against the kernel headers and fuzzed) reads it.
                VfioRegionInfo told = VfioAbi.DecodeRegionInfo(payload, index);
                if (told.Size < 0 || (told.Size > 0 && told.Size > RegionMask) || (index == VfioConstants.ConfigRegionIndex && (told.Size < 256 || told.Size > 4096)))
                {
                    throw BadReply("DEVICE_GET_REGION_INFO", "region " + index.ToString(CultureInfo.InvariantCulture) + " of " + told.Size.ToString(CultureInfo.InvariantCulture) + " bytes");
                }

                if (reply.Fds.Length > 1 || (reply.Fds.Length == 1 && !told.CanMap))
                {
                    throw BadReply("DEVICE_GET_REGION_INFO", reply.Fds.Length.ToString(CultureInfo.InvariantCulture) + " descriptors for a region that is " + (told.CanMap ? "mappable" : "not mappable"));
                }

                bool mappable = told.CanMap && reply.Fds.Length == 1;
                if (told.SparseAreas is { } areas && areas.Any(a => a.Offset < 0 || a.Size <= 0 || a.Offset + a.Size > told.Size || a.Offset + a.Size < a.Offset))
                {
                    throw BadReply("DEVICE_GET_REGION_INFO", "a sparse area outside region " + index.ToString(CultureInfo.InvariantCulture));
                }

                lock (_gate)
                {
                    if (_regionFds.Remove(index, out RegionMapping? previous))
                    {
                        _host.Close(previous.Fd);
                    }

                    if (mappable)
                    {
                        _regionFds[index] = new RegionMapping(reply.Fds[0], told.Offset, told.Size, told.SparseAreas);
                    }
                }

                // The runtime sees the region where vfio-pci would put it; MMAP only with a descriptor to map.
                VfioRegionFlags flags = told.Flags & ~(mappable ? VfioRegionFlags.None : VfioRegionFlags.Mmap);
                return told with { Flags = flags, Offset = (long)index << RegionShift, MsixMappable = false };
            }
            catch
            {
                if (!_regionFds.TryGetValue(index, out RegionMapping? kept) || !reply.Fds.Contains(kept.Fd))
                {
                    CloseAll(reply.Fds);
                }

                throw;
            }
        }

        /// <inheritdoc />
        public VfioIrqInfo GetIrqInfo(int deviceFd, int index)
        {
            byte[] reply = Call(deviceFd, VfioUserCommand.DeviceGetIrqInfo, new VfioUserInfo(VfioUserInfo.Length, 0, (uint)index, 0).Encode(), "DEVICE_GET_IRQ_INFO");
            VfioUserInfo info = Parse(() => VfioUserInfo.Parse(reply, "the DEVICE_GET_IRQ_INFO reply"), "DEVICE_GET_IRQ_INFO");
            if (info.First != (uint)index || info.Second > 2048)
            {
                throw BadReply("DEVICE_GET_IRQ_INFO", string.Format(CultureInfo.InvariantCulture, "index {0} with {1} vectors for index {2}", info.First, info.Second, index));
            }

            return new VfioIrqInfo(index, (VfioIrqFlags)info.Flags, (int)info.Second);
        }

        /// <inheritdoc />
        public void SetIrqs(int deviceFd, VfioIrqSet request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            if (request.Malformation() is { } why)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "SET_IRQS", VfioConstants.EINVAL, why);
            }

            uint action = request.Action switch
            {
                VfioIrqAction.Mask => VfioUserSetIrqs.ActionMask,
                VfioIrqAction.Unmask => VfioUserSetIrqs.ActionUnmask,
                _ => VfioUserSetIrqs.ActionTrigger,
            };
            uint data = request.DataType switch
            {
                VfioIrqDataType.EventFd => VfioUserSetIrqs.DataEventFd,
                VfioIrqDataType.Bool => VfioUserSetIrqs.DataBool,
                _ => VfioUserSetIrqs.DataNone,
            };
            var message = new VfioUserSetIrqs(action | data, (uint)request.Index, (uint)request.Start, (uint)request.Count, request.Bools);

            // VFIO detaches one vector with fd -1; a vfio-user message carries only real descriptors, one per vector.
            if (request.EventFds is { } fds && fds.Any(fd => fd < 0))
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "SET_IRQS (vfio-user)", VfioConstants.EINVAL, "a vfio-user server takes a descriptor for every vector; detach them all with count 0 instead");
            }

            Call(deviceFd, VfioUserCommand.DeviceSetIrqs, message.Encode(), "DEVICE_SET_IRQS", request.EventFds is { } live ? live.ToArray() : Array.Empty<int>());
        }

        /// <inheritdoc />
        public void ResetDevice(int deviceFd) => Call(deviceFd, VfioUserCommand.DeviceReset, Array.Empty<byte>(), "DEVICE_RESET");

        /// <inheritdoc />
        public VfioHotResetInfo GetPciHotResetInfo(int deviceFd) => throw NotOffered("VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", "a vfio-user server resets its device with DEVICE_RESET only");

        /// <inheritdoc />
        public void PciHotReset(int deviceFd, IReadOnlyList<int> groupFds) => throw NotOffered("VFIO_DEVICE_PCI_HOT_RESET", "a vfio-user server resets its device with DEVICE_RESET only");

        /// <inheritdoc />
        /// <remarks>The server's page sizes and mapping limit; the whole 64-bit IOVA space (vfio-user has no reserved ranges).</remarks>
        public VfioIommuInfo GetIommuInfo(int containerFd)
        {
            RequireOwn(containerFd, "VFIO_IOMMU_GET_INFO");
            VfioUserCapabilities server;
            lock (_gate)
            {
                server = Connect().Server ?? throw BadReply("VERSION", "no capabilities");
            }

            return new VfioIommuInfo(server.PageSizes, new[] { new VfioIovaRange(0, ulong.MaxValue) }, (int)Math.Min(server.MaxDmaMaps, int.MaxValue));
        }

        /// <inheritdoc />
        /// <remarks>
        /// DMA_MAP with the descriptor of the shareable memory that holds <paramref name="hostAddress"/> (allocated or
        /// mapped through this seam), so the server maps the same pages; memory this seam does not know goes without a
        /// descriptor, which the protocol allows but which leaves the server unable to reach it.
        /// </remarks>
        public void MapDma(int containerFd, ulong hostAddress, ulong iova, ulong size, VfioDmaAccess access)
        {
            RequireOwn(containerFd, "VFIO_IOMMU_MAP_DMA");
            SharedMemory? holder;
            lock (_gate)
            {
                holder = _memory.FirstOrDefault(m => hostAddress >= m.Start && size <= (ulong)m.Length && hostAddress - m.Start <= (ulong)m.Length - size);
            }

            uint flags = ((access & VfioDmaAccess.Read) != 0 ? VfioUserDmaMap.Readable : 0) | ((access & VfioDmaAccess.Write) != 0 ? VfioUserDmaMap.Writeable : 0);
            ulong offset = holder is null ? 0 : holder.Offset + (hostAddress - holder.Start);
            Call(_deviceFd, VfioUserCommand.DmaMap, new VfioUserDmaMap(flags, offset, iova, size).Encode(), "DMA_MAP", holder is null ? Array.Empty<int>() : new[] { holder.Fd });
        }

        /// <inheritdoc />
        public ulong UnmapDma(int containerFd, ulong iova, ulong size)
        {
            RequireOwn(containerFd, "VFIO_IOMMU_UNMAP_DMA");
            byte[] reply = Call(_deviceFd, VfioUserCommand.DmaUnmap, new VfioUserDmaUnmap(VfioUserDmaUnmap.Length, 0, iova, size).Encode(), "DMA_UNMAP");
            if (reply.Length != VfioUserDmaUnmap.Length)
            {
                throw BadReply("DMA_UNMAP", reply.Length.ToString(CultureInfo.InvariantCulture) + " bytes");
            }

            return size;
        }

        /// <inheritdoc />
        public uint BindIommufd(int deviceFd, int iommufd) => throw NotOffered("VFIO_DEVICE_BIND_IOMMUFD", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public uint AttachIommufdPageTable(int deviceFd, uint pageTableId) => throw NotOffered("VFIO_DEVICE_ATTACH_IOMMUFD_PT", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public void DetachIommufdPageTable(int deviceFd) => throw NotOffered("VFIO_DEVICE_DETACH_IOMMUFD_PT", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public uint AllocateIoas(int iommufd) => throw NotOffered("IOMMU_IOAS_ALLOC", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public void DestroyIommufdObject(int iommufd, uint objectId) => throw NotOffered("IOMMU_DESTROY", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public VfioIommuInfo GetIoasInfo(int iommufd, uint ioasId) => throw NotOffered("IOMMU_IOAS_IOVA_RANGES", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public void MapIoas(int iommufd, uint ioasId, ulong hostAddress, ulong iova, ulong length, VfioDmaAccess access) => throw NotOffered("IOMMU_IOAS_MAP", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        public ulong UnmapIoas(int iommufd, uint ioasId, ulong iova, ulong length) => throw NotOffered("IOMMU_IOAS_UNMAP", "a vfio-user device has no iommufd");

        /// <inheritdoc />
        /// <remarks>Always shareable (a memfd), whatever <paramref name="shareable"/> says: DMA_MAP must pass it to the server.</remarks>
        public IHostMemory AllocateMemory(long length, bool shareable) => Remember(_host.AllocateMemory(length, shareable: true), _host.Duplicate, 0);

        /// <inheritdoc />
        public IHostMemory MapMemory(int fd, long offset, long length, bool writable) => Remember(_host.MapMemory(fd, offset, length, writable), _ => _host.Duplicate(fd), (ulong)offset);

        /// <inheritdoc />
        public int PRead(int fd, Span<byte> buffer, long offset)
        {
            if (!IsDevice(fd))
            {
                return _host.PRead(fd, buffer, offset);
            }

            (int index, long within) = Locate(offset, buffer.Length, "pread");
            uint limit = TransferLimit;
            int done = 0;
            while (done < buffer.Length)
            {
                int count = (int)Math.Min(limit, (uint)(buffer.Length - done));
                byte[] reply = Call(fd, VfioUserCommand.RegionRead, new VfioUserRegionAccess((ulong)(within + done), (uint)index, (uint)count, Array.Empty<byte>()).Encode(), "REGION_READ");
                if (reply.Length != VfioUserRegionAccess.Length + count
                    || BinaryPrimitives.ReadUInt64LittleEndian(reply) != (ulong)(within + done)
                    || BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(8)) != (uint)index
                    || BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(12)) != (uint)count)
                {
                    throw BadReply("REGION_READ", string.Format(CultureInfo.InvariantCulture, "{0} bytes for a read of {1} at 0x{2:x} of region {3}", reply.Length, count, within + done, index));
                }

                reply.AsSpan(VfioUserRegionAccess.Length).CopyTo(buffer.Slice(done));
                done += count;
            }

            return done;
        }

        /// <inheritdoc />
        public int PWrite(int fd, ReadOnlySpan<byte> buffer, long offset)
        {
            if (!IsDevice(fd))
            {
                return _host.PWrite(fd, buffer, offset);
            }

            (int index, long within) = Locate(offset, buffer.Length, "pwrite");
            uint limit = TransferLimit;
            int done = 0;
            while (done < buffer.Length)
            {
                int count = (int)Math.Min(limit, (uint)(buffer.Length - done));
                byte[] reply = Call(fd, VfioUserCommand.RegionWrite, new VfioUserRegionAccess((ulong)(within + done), (uint)index, (uint)count, buffer.Slice(done, count).ToArray()).Encode(), "REGION_WRITE");
                if (reply.Length != VfioUserRegionAccess.Length || BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(12)) != (uint)count)
                {
                    throw BadReply("REGION_WRITE", string.Format(CultureInfo.InvariantCulture, "{0} bytes for a write of {1}", reply.Length, count));
                }

                done += count;
            }

            return done;
        }

        /// <inheritdoc />
        /// <remarks>A device region maps from the descriptor the server handed over for it, inside its sparse areas only.</remarks>
        public IMappedRange Map(int fd, long offset, long length, bool writable)
        {
            if (!IsDevice(fd))
            {
                return _host.Map(fd, offset, length, writable);
            }

            (int index, long within) = Locate(offset, length, "mmap");
            RegionMapping? region;
            lock (_gate)
            {
                _regionFds.TryGetValue(index, out region);
            }

            if (region is null)
            {
                throw VfioException.FromErrno("mmap of region " + index.ToString(CultureInfo.InvariantCulture) + " (the vfio-user server offered no descriptor for it)", VfioConstants.EINVAL);
            }

            if (region.Areas is { } areas && !areas.Any(a => within >= a.Offset && within + length <= a.Offset + a.Size))
            {
                throw VfioException.FromErrno(string.Format(CultureInfo.InvariantCulture, "mmap of 0x{0:x} bytes at 0x{1:x} of region {2} (outside the server's sparse areas)", length, within, index), VfioConstants.EINVAL);
            }

            return _host.Map(region.Fd, region.Offset + within, length, writable);
        }

        /// <inheritdoc />
        /// <remarks>The descriptor the server handed over for that BAR (it maps that BAR only), duplicated.</remarks>
        public int OpenBarFile(int deviceFd, int barIndex)
        {
            RequireOwn(deviceFd, "open a BAR file");
            lock (_gate)
            {
                if (barIndex < 0 || barIndex > 5 || !_regionFds.TryGetValue(barIndex, out RegionMapping? region) || region.Offset != 0)
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, "open the BAR " + barIndex.ToString(CultureInfo.InvariantCulture) + " file of the vfio-user device", VfioConstants.EINVAL, "the server offered no descriptor that maps this BAR alone");
                }

                return _host.Duplicate(region.Fd);
            }
        }

        /// <inheritdoc />
        public int Duplicate(int fd) => _host.Duplicate(fd);

        /// <inheritdoc />
        public int CreateEventFd() => _host.CreateEventFd();

        /// <inheritdoc />
        public bool TryReadEventFd(int fd, out ulong count) => _host.TryReadEventFd(fd, out count);

        /// <inheritdoc />
        public void WriteEventFd(int fd, ulong value) => _host.WriteEventFd(fd, value);

        /// <inheritdoc />
        public int Poll(ReadOnlySpan<int> fds, int timeoutMilliseconds, Span<bool> ready) => _host.Poll(fds, timeoutMilliseconds, ready);

        /// <summary>Disconnects from the server (the device descriptor stops working) and forgets the memory it tracked.</summary>
        public void Dispose()
        {
            VfioUserClient? client;
            lock (_gate)
            {
                client = _client;
                _client = null;
                foreach (RegionMapping region in _regionFds.Values)
                {
                    _host.Close(region.Fd);
                }

                _regionFds.Clear();
            }

            client?.Dispose();
        }

        /// <summary>
        /// Connects and negotiates, once: the container asks for the IOMMU's limits (the server's capabilities) before
        /// it opens the device. The gate is held.
        /// </summary>
        private VfioUserClient Connect()
        {
            if (_client is { } connected)
            {
                return connected;
            }

            UnixSocketChannel channel = UnixSocketChannel.Connect(SocketPath, _host);

            // A server that stops answering must not hang the VMM's thread (and every other caller behind the gate).
            channel.SetReceiveTimeout(ReplyTimeout);
            var client = new VfioUserClient(channel, _host);
            try
            {
                client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 16));
            }
            catch (VfioUserProtocolException error)
            {
                client.Dispose();
                throw Refused("negotiating with " + SocketPath, error);
            }

            _client = client;
            return client;
        }

        private string DevicePath => "/sys/bus/pci/devices/" + Address;

        private uint TransferLimit => Math.Max(4u, Math.Min(Server?.MaxDataTransferSize ?? VfioUserCapabilities.DefaultTransferSize, VfioUserCapabilities.DefaultTransferSize));

        private int Own(string name)
        {
            int fd = _nextFd++;
            _own.Add(fd, name);
            return fd;
        }

        private void RequireOwn(int fd, string operation)
        {
            lock (_gate)
            {
                if (!_own.ContainsKey(fd))
                {
                    throw VfioException.FromErrno(operation + " on fd " + fd.ToString(CultureInfo.InvariantCulture) + " (not a vfio-user descriptor)", VfioConstants.EBADF);
                }
            }
        }

        private bool IsDevice(int fd)
        {
            lock (_gate)
            {
                return fd == _deviceFd && fd >= 0;
            }
        }

        private (int Index, long Within) Locate(long offset, long length, string operation)
        {
            int index = (int)(offset >> RegionShift);
            long within = offset & RegionMask;
            int regions;
            lock (_gate)
            {
                regions = _regionCount;
            }

            if (offset < 0 || length <= 0 || index >= Math.Max(regions, VfioConstants.ConfigRegionIndex + 1) || within + length > RegionMask)
            {
                throw VfioException.FromErrno(string.Format(CultureInfo.InvariantCulture, "{0} of {1} bytes at 0x{2:x} of the vfio-user device", operation, length, offset), VfioConstants.EINVAL);
            }

            return (index, within);
        }

        private VfioUserReply Request(int deviceFd, VfioUserCommand command, byte[] payload, string what, int[]? fds = null)
        {
            VfioUserClient client;
            lock (_gate)
            {
                if (deviceFd != _deviceFd || _client is null)
                {
                    throw VfioException.FromErrno(what + " on fd " + deviceFd.ToString(CultureInfo.InvariantCulture) + " (not the open vfio-user device)", VfioConstants.EBADF);
                }

                client = _client;
            }

            VfioUserReply reply;
            try
            {
                lock (client)
                {
                    // One request at a time on the connection: the runtime may call from several threads.
                    reply = client.Request(command, payload, fds ?? Array.Empty<int>());
                }
            }
            catch (VfioUserProtocolException error)
            {
                throw Refused(what, error);
            }

            if (reply.IsError)
            {
                CloseAll(reply.Fds);
                throw VfioException.FromErrno(what + " (the vfio-user server refused it)", reply.Errno > 0 && reply.Errno < 4096 ? reply.Errno : VfioConstants.EIO);
            }

            return reply;
        }

        /// <summary>A request whose reply carries no descriptors (any that came are closed and make it a bad reply).</summary>
        private byte[] Call(int deviceFd, VfioUserCommand command, byte[] payload, string what, int[]? fds = null)
        {
            VfioUserReply reply = Request(deviceFd, command, payload, what, fds);
            if (reply.Fds.Length > 0)
            {
                CloseAll(reply.Fds);
                throw BadReply(what, reply.Fds.Length.ToString(CultureInfo.InvariantCulture) + " descriptors nobody asked for");
            }

            return reply.Payload;
        }

        private IHostMemory Remember(IHostMemory memory, Func<int, int> duplicate, ulong offset)
        {
            int fd;
            try
            {
                fd = duplicate(memory.Fd);
            }
            catch
            {
                memory.Dispose();
                throw;
            }

            var shared = new SharedMemory(this, memory, fd, offset);
            lock (_gate)
            {
                _memory.Add(shared);
            }

            return shared;
        }

        private void Forget(SharedMemory memory)
        {
            lock (_gate)
            {
                _memory.Remove(memory);
            }

            _host.Close(memory.Fd);
        }

        private void CloseAll(int[] fds)
        {
            foreach (int fd in fds)
            {
                _host.Close(fd);
            }
        }

        private static T Parse<T>(Func<T> parse, string what)
        {
            try
            {
                return parse();
            }
            catch (VfioUserProtocolException error)
            {
                throw BadReply(what, error.Message);
            }
        }

        private static VfioException BadReply(string what, string detail) =>
            new VfioException(VfioErrorKind.Kernel, what + " (vfio-user)", VfioConstants.EIO, "the server's reply is malformed: " + detail);

        private static VfioException Refused(string what, VfioUserProtocolException error) =>
            new VfioException(VfioErrorKind.Kernel, what + " (vfio-user)", error.Errno > 0 ? error.Errno : VfioConstants.EIO, error.Message);

        private static VfioException NotOffered(string operation, string why) =>
            new VfioException(VfioErrorKind.UnsupportedKernel, operation, VfioConstants.ENOTTY, why);

        /// <summary>A region the server offered for mmap: its descriptor, the region's offset in it, and where it may be mapped.</summary>
        private sealed record RegionMapping(int Fd, long Offset, long Size, IReadOnlyList<VfioSparseArea>? Areas);

        /// <summary>Memory allocated or mapped through the seam, with a descriptor of it DMA_MAP can pass.</summary>
        private sealed class SharedMemory : IHostMemory
        {
            private readonly VfioUserKernel _owner;
            private readonly IHostMemory _memory;
            private bool _disposed;

            public SharedMemory(VfioUserKernel owner, IHostMemory memory, int fd, ulong offset)
            {
                _owner = owner;
                _memory = memory;
                Fd = fd;
                Offset = offset;
            }

            public nint Address => _memory.Address;

            public long Length => _memory.Length;

            public int Fd { get; }

            public ulong Offset { get; }

            public ulong Start => (ulong)_memory.Address;

            public void Dispose()
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                _owner.Forget(this);
                _memory.Dispose();
            }
        }
    }
}
