using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
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
        private const int IoctlBase = (0x3B << 8) | 100; // _IO(VFIO_TYPE ';', VFIO_BASE + n)
        private const int GetApiVersionRequest = IoctlBase + 0;
        private const int CheckExtensionRequest = IoctlBase + 1;
        private const int SetIommuRequest = IoctlBase + 2;
        private const int GroupGetStatusRequest = IoctlBase + 3;
        private const int GroupSetContainerRequest = IoctlBase + 4;
        private const int GroupGetDeviceFdRequest = IoctlBase + 6;
        private const int DeviceGetInfoRequest = IoctlBase + 7;
        private const int DeviceGetRegionInfoRequest = IoctlBase + 8;
        private const int DeviceGetIrqInfoRequest = IoctlBase + 9;
        private const int DeviceSetIrqsRequest = IoctlBase + 10;
        private const int DeviceResetRequest = IoctlBase + 11;
        private const int RegionInfoSize = 32;
        private const int SparseMmapCapability = 1;
        private const int MsixMappableCapability = 3;
        private const uint IrqSetDataNone = 1;
        private const uint IrqSetDataEventFd = 4;
        private const uint IrqSetActionMask = 8;
        private const uint IrqSetActionUnmask = 16;
        private const uint IrqSetActionTrigger = 32;

        private readonly ConcurrentDictionary<int, string> _names = new ConcurrentDictionary<int, string>();

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
                return fd;
            }
        }

        /// <inheritdoc />
        public void Close(int fd)
        {
            _names.TryRemove(fd, out _);

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
            return Check(ioctl(containerFd, GetApiVersionRequest, 0), "VFIO_GET_API_VERSION", containerFd);
        }

        /// <inheritdoc />
        public bool CheckExtension(int containerFd, uint extension)
        {
            // SAFETY: VFIO_CHECK_EXTENSION takes the extension number by value (passed in the pointer-sized slot), no memory.
            return Check(ioctl(containerFd, CheckExtensionRequest, (void*)extension), "VFIO_CHECK_EXTENSION", containerFd) > 0;
        }

        /// <inheritdoc />
        public void SetIommu(int containerFd, uint iommuType)
        {
            // SAFETY: VFIO_SET_IOMMU takes the IOMMU type by value, no memory.
            Check(ioctl(containerFd, SetIommuRequest, (void*)iommuType), "VFIO_SET_IOMMU", containerFd);
        }

        /// <inheritdoc />
        public VfioGroupFlags GetGroupStatus(int groupFd)
        {
            uint* status = stackalloc uint[2];
            status[0] = 8; // argsz: struct vfio_group_status { u32 argsz; u32 flags; }
            status[1] = 0;

            // SAFETY: status is an 8-byte stack buffer, exactly argsz, alive for the call.
            Check(ioctl(groupFd, GroupGetStatusRequest, status), "VFIO_GROUP_GET_STATUS", groupFd);
            return (VfioGroupFlags)status[1];
        }

        /// <inheritdoc />
        public void SetContainer(int groupFd, int containerFd)
        {
            int container = containerFd;

            // SAFETY: the kernel reads one int through the pointer to a local that outlives the call.
            Check(ioctl(groupFd, GroupSetContainerRequest, &container), "VFIO_GROUP_SET_CONTAINER", groupFd);
        }

        /// <inheritdoc />
        public int GetDeviceFd(int groupFd, string deviceName)
        {
            byte[] name = NullTerminated(deviceName);
            fixed (byte* p = name)
            {
                // SAFETY: p is a pinned NUL-terminated device name; the returned descriptor is owned by the caller.
                int fd = Check(ioctl(groupFd, GroupGetDeviceFdRequest, p), "VFIO_GROUP_GET_DEVICE_FD (" + deviceName + ")", groupFd);
                _names[fd] = "VFIO device " + deviceName;
                return fd;
            }
        }

        /// <inheritdoc />
        public VfioDeviceInfo GetDeviceInfo(int deviceFd)
        {
            uint* info = stackalloc uint[6];
            new Span<uint>(info, 6).Clear();
            info[0] = 24; // struct vfio_device_info: argsz, flags, num_regions, num_irqs, cap_offset, pad

            // SAFETY: info is a 24-byte stack buffer, exactly argsz, alive for the call.
            Check(ioctl(deviceFd, DeviceGetInfoRequest, info), "VFIO_DEVICE_GET_INFO", deviceFd);
            return new VfioDeviceInfo((VfioDeviceFlags)info[1], (int)info[2], (int)info[3]);
        }

        /// <inheritdoc />
        public VfioRegionInfo GetRegionInfo(int deviceFd, int index)
        {
            byte[] buffer = new byte[RegionInfoSize];
            QueryRegion(deviceFd, index, buffer);
            uint argsz = BitConverter.ToUInt32(buffer, 0);
            var flags = (VfioRegionFlags)BitConverter.ToUInt32(buffer, 4);
            if ((flags & VfioRegionFlags.Caps) != 0 && argsz > RegionInfoSize && argsz <= 65536)
            {
                // The capability chain did not fit: the kernel said how much room it needs.
                buffer = new byte[argsz];
                QueryRegion(deviceFd, index, buffer);
            }

            long size = (long)BitConverter.ToUInt64(buffer, 16);
            long offset = (long)BitConverter.ToUInt64(buffer, 24);
            uint capOffset = BitConverter.ToUInt32(buffer, 12);
            List<VfioSparseArea>? sparse = null;
            bool msixMappable = false;
            int guard = 0;
            while ((flags & VfioRegionFlags.Caps) != 0 && capOffset >= RegionInfoSize && capOffset + 8 <= buffer.Length && guard++ < 64)
            {
                int id = BitConverter.ToUInt16(buffer, (int)capOffset);
                uint next = BitConverter.ToUInt32(buffer, (int)capOffset + 4);
                if (id == SparseMmapCapability && capOffset + 16 <= buffer.Length)
                {
                    uint areas = BitConverter.ToUInt32(buffer, (int)capOffset + 8);
                    sparse = new List<VfioSparseArea>();
                    for (uint i = 0; i < areas && capOffset + 16 + ((i + 1) * 16) <= buffer.Length; i++)
                    {
                        int at = (int)(capOffset + 16 + (i * 16));
                        sparse.Add(new VfioSparseArea((long)BitConverter.ToUInt64(buffer, at), (long)BitConverter.ToUInt64(buffer, at + 8)));
                    }
                }
                else if (id == MsixMappableCapability)
                {
                    msixMappable = true;
                }

                if (next == 0 || next <= capOffset)
                {
                    break; // the chain ends, or would loop
                }

                capOffset = next;
            }

            return new VfioRegionInfo(index, flags, size, offset, sparse, msixMappable);
        }

        /// <inheritdoc />
        public VfioIrqInfo GetIrqInfo(int deviceFd, int index)
        {
            uint* info = stackalloc uint[4];
            info[0] = 16; // struct vfio_irq_info: argsz, flags, index, count
            info[1] = 0;
            info[2] = (uint)index;
            info[3] = 0;

            // SAFETY: info is a 16-byte stack buffer, exactly argsz, alive for the call.
            Check(ioctl(deviceFd, DeviceGetIrqInfoRequest, info), "VFIO_DEVICE_GET_IRQ_INFO (index " + index + ")", deviceFd);
            return new VfioIrqInfo(index, (VfioIrqFlags)info[1], (int)info[3]);
        }

        /// <inheritdoc />
        public void SetIrqs(int deviceFd, VfioIrqSet request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            int dataWords = request.EventFds?.Count ?? 0;
            uint* set = stackalloc uint[5 + dataWords];
            uint action = request.Action switch
            {
                VfioIrqAction.Mask => IrqSetActionMask,
                VfioIrqAction.Unmask => IrqSetActionUnmask,
                _ => IrqSetActionTrigger,
            };
            set[0] = (uint)((5 + dataWords) * 4); // struct vfio_irq_set: argsz, flags, index, start, count, data[]
            set[1] = action | (request.EventFds is null ? IrqSetDataNone : IrqSetDataEventFd);
            set[2] = (uint)request.Index;
            set[3] = (uint)request.Start;
            set[4] = (uint)request.Count;
            for (int i = 0; i < dataWords; i++)
            {
                set[5 + i] = unchecked((uint)request.EventFds![i]);
            }

            // SAFETY: set is a stack buffer of exactly argsz bytes (header plus one s32 per vector), alive for the call.
            Check(ioctl(deviceFd, DeviceSetIrqsRequest, set), "VFIO_DEVICE_SET_IRQS (index " + request.Index + ")", deviceFd);
        }

        /// <inheritdoc />
        public void ResetDevice(int deviceFd)
        {
            // SAFETY: VFIO_DEVICE_RESET takes no argument.
            Check(ioctl(deviceFd, DeviceResetRequest, 0), "VFIO_DEVICE_RESET", deviceFd);
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

            int result;
            while (true)
            {
                // SAFETY: set holds exactly fds.Length pollfd entries on the stack, alive for the call.
                result = poll(set, (ulong_t)(ulong)fds.Length, timeoutMilliseconds);
                if (result >= 0 || errno != 4 /* EINTR: a signal, not an error */)
                {
                    break;
                }
            }

            if (result < 0)
            {
                throw VfioException.FromErrno("poll", errno);
            }

            for (int i = 0; i < fds.Length; i++)
            {
                ready[i] = (set[i].revents & POLLIN) != 0;
            }

            return result;
        }

        private void QueryRegion(int deviceFd, int index, byte[] buffer)
        {
            BitConverter.TryWriteBytes(new Span<byte>(buffer, 0, 4), (uint)buffer.Length);
            BitConverter.TryWriteBytes(new Span<byte>(buffer, 8, 4), (uint)index);
            fixed (byte* p = buffer)
            {
                // SAFETY: p is the pinned buffer of exactly argsz bytes; the kernel writes at most argsz bytes.
                Check(ioctl(deviceFd, DeviceGetRegionInfoRequest, p), "VFIO_DEVICE_GET_REGION_INFO (index " + index + ")", deviceFd);
            }
        }

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
