using System;
using System.Buffers.Binary;
using System.Collections.Generic;

namespace VfioPolicy.Runtime.Kernel
{
    /// <summary>
    /// The byte layouts of the VFIO and iommufd ioctls (<c>linux/vfio.h</c>, <c>linux/iommufd.h</c>) and their request
    /// numbers: every argument the runtime hands the kernel is encoded here and every answer decoded here, so
    /// <see cref="LinuxVfioKernel"/> only pins buffers and calls <c>ioctl</c>, and a test can hold each layout against
    /// the headers.
    /// </summary>
    /// <remarks>
    /// All structures are little-endian (x86-64 and arm64) with the C alignment the headers give: <c>__u64</c> and
    /// <c>__aligned_u64</c> fields on 8-byte boundaries. Where a structure grew in newer kernels (bind's token pointer,
    /// attach's PASID) the runtime sends the first, smallest layout, which every kernel with the ioctl accepts.
    /// </remarks>
    internal static class VfioAbi
    {
        /// <summary>Both <c>VFIO_TYPE</c> and <c>IOMMUFD_TYPE</c> are <c>';'</c>.</summary>
        public const int IoctlType = 0x3B;

        /// <summary><c>VFIO_BASE</c>.</summary>
        public const int VfioBase = 100;

        /// <summary><c>IOMMUFD_CMD_BASE</c>.</summary>
        public const int IommufdBase = 0x80;

        public const int GetApiVersion = (IoctlType << 8) | (VfioBase + 0);
        public const int CheckExtension = (IoctlType << 8) | (VfioBase + 1);
        public const int SetIommu = (IoctlType << 8) | (VfioBase + 2);
        public const int GroupGetStatus = (IoctlType << 8) | (VfioBase + 3);
        public const int GroupSetContainer = (IoctlType << 8) | (VfioBase + 4);
        public const int GroupUnsetContainer = (IoctlType << 8) | (VfioBase + 5);
        public const int GroupGetDeviceFd = (IoctlType << 8) | (VfioBase + 6);
        public const int DeviceGetInfo = (IoctlType << 8) | (VfioBase + 7);
        public const int DeviceGetRegionInfo = (IoctlType << 8) | (VfioBase + 8);
        public const int DeviceGetIrqInfo = (IoctlType << 8) | (VfioBase + 9);
        public const int DeviceSetIrqs = (IoctlType << 8) | (VfioBase + 10);
        public const int DeviceReset = (IoctlType << 8) | (VfioBase + 11);
        public const int DeviceGetPciHotResetInfo = (IoctlType << 8) | (VfioBase + 12);
        public const int DevicePciHotReset = (IoctlType << 8) | (VfioBase + 13);
        public const int IommuGetInfo = (IoctlType << 8) | (VfioBase + 12);
        public const int IommuMapDma = (IoctlType << 8) | (VfioBase + 13);
        public const int IommuUnmapDma = (IoctlType << 8) | (VfioBase + 14);
        public const int DeviceBindIommufd = (IoctlType << 8) | (VfioBase + 18);
        public const int DeviceAttachIommufdPt = (IoctlType << 8) | (VfioBase + 19);
        public const int DeviceDetachIommufdPt = (IoctlType << 8) | (VfioBase + 20);
        public const int IommuDestroy = (IoctlType << 8) | (IommufdBase + 0);
        public const int IommuIoasAlloc = (IoctlType << 8) | (IommufdBase + 1);
        public const int IommuIoasIovaRanges = (IoctlType << 8) | (IommufdBase + 4);
        public const int IommuIoasMap = (IoctlType << 8) | (IommufdBase + 5);
        public const int IommuIoasUnmap = (IoctlType << 8) | (IommufdBase + 6);

        public const int GroupStatusSize = 8;
        public const int DeviceInfoSize = 24;
        public const int RegionInfoSize = 32;
        public const int IrqInfoSize = 16;
        public const int IrqSetHeaderSize = 20;
        public const int IommuType1InfoSize = 24;
        public const int DmaMapSize = 32;
        public const int DmaUnmapSize = 24;
        public const int HotResetInfoHeaderSize = 12;
        public const int DependentDeviceSize = 8;
        public const int HotResetHeaderSize = 12;
        public const int BindIommufdSize = 16;
        public const int AttachIommufdPtSize = 12;
        public const int DetachIommufdPtSize = 8;
        public const int IommuDestroySize = 8;
        public const int IoasAllocSize = 12;
        public const int IoasIovaRangesSize = 32;
        public const int IovaRangeSize = 16;
        public const int IoasMapSize = 40;
        public const int IoasUnmapSize = 24;

        /// <summary>Largest capability chain the runtime accepts from the kernel (it says how much it needs).</summary>
        public const int MaxInfoSize = 65536;

        public const ushort SparseMmapCapability = 1;
        public const ushort RegionTypeCapability = 2;
        public const ushort MsixMappableCapability = 3;
        public const ushort IovaRangeCapability = 1;
        public const ushort DmaAvailCapability = 3;

        public const uint IrqSetDataNone = 1;
        public const uint IrqSetDataBool = 2;
        public const uint IrqSetDataEventFd = 4;
        public const uint IrqSetActionMask = 8;
        public const uint IrqSetActionUnmask = 16;
        public const uint IrqSetActionTrigger = 32;

        public const uint IommuInfoPageSizes = 1;
        public const uint IommuInfoCaps = 2;
        public const uint DmaMapRead = 1;
        public const uint DmaMapWrite = 2;
        public const uint HotResetFlagDeviceId = 1;
        public const uint HotResetFlagDeviceIdOwned = 2;
        public const uint IoasMapFixedIova = 1;
        public const uint IoasMapWriteable = 2;
        public const uint IoasMapReadable = 4;

        public static void EncodeArgsz(Span<byte> buffer) => U32(buffer, 0, (uint)buffer.Length);

        // ---- struct vfio_group_status { u32 argsz; u32 flags; }

        public static VfioGroupFlags DecodeGroupStatus(ReadOnlySpan<byte> buffer) => (VfioGroupFlags)U32(buffer, 4);

        // ---- struct vfio_device_info { u32 argsz, flags, num_regions, num_irqs, cap_offset, pad; }

        public static VfioDeviceInfo DecodeDeviceInfo(ReadOnlySpan<byte> buffer) =>
            new VfioDeviceInfo((VfioDeviceFlags)U32(buffer, 4), Count(U32(buffer, 8)), Count(U32(buffer, 12)));

        // ---- struct vfio_region_info { u32 argsz, flags, index, cap_offset; u64 size, offset; } + capability chain

        public static void EncodeRegionInfo(Span<byte> buffer, int index)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 8, (uint)index);
        }

        /// <summary>The size the kernel asked for when the capability chain did not fit, or 0 when it fit.</summary>
        public static int RegionInfoNeeds(ReadOnlySpan<byte> buffer)
        {
            uint argsz = U32(buffer, 0);
            bool caps = (U32(buffer, 4) & (uint)VfioRegionFlags.Caps) != 0;
            return caps && argsz > buffer.Length && argsz <= MaxInfoSize ? (int)argsz : 0;
        }

        public static VfioRegionInfo DecodeRegionInfo(ReadOnlySpan<byte> buffer, int index)
        {
            var flags = (VfioRegionFlags)U32(buffer, 4);
            List<VfioSparseArea>? sparse = null;
            bool msixMappable = false;
            VfioRegionType? type = null;
            if ((flags & VfioRegionFlags.Caps) != 0)
            {
                foreach ((ushort id, int at, int end) in Capabilities(buffer, U32(buffer, 12), RegionInfoSize))
                {
                    if (id == SparseMmapCapability && at + 16 <= end)
                    {
                        uint areas = U32(buffer, at + 8);
                        sparse = new List<VfioSparseArea>();
                        for (uint i = 0; i < areas && at + 16 + ((i + 1) * 16) <= end; i++)
                        {
                            int area = (int)(at + 16 + (i * 16));
                            sparse.Add(new VfioSparseArea((long)U64(buffer, area), (long)U64(buffer, area + 8)));
                        }
                    }
                    else if (id == RegionTypeCapability && at + 16 <= end)
                    {
                        type = new VfioRegionType(U32(buffer, at + 8), U32(buffer, at + 12));
                    }
                    else if (id == MsixMappableCapability)
                    {
                        msixMappable = true;
                    }
                }
            }

            return new VfioRegionInfo(index, flags, (long)U64(buffer, 16), (long)U64(buffer, 24), sparse, msixMappable) { Type = type };
        }

        // ---- struct vfio_irq_info { u32 argsz, flags, index, count; }

        public static void EncodeIrqInfo(Span<byte> buffer, int index)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 8, (uint)index);
        }

        public static VfioIrqInfo DecodeIrqInfo(ReadOnlySpan<byte> buffer, int index) =>
            new VfioIrqInfo(index, (VfioIrqFlags)U32(buffer, 4), Count(U32(buffer, 12)));

        // ---- struct vfio_irq_set { u32 argsz, flags, index, start, count; u8 data[]; }

        /// <summary>Bytes <see cref="EncodeIrqSet"/> needs for <paramref name="request"/>.</summary>
        public static int IrqSetSize(VfioIrqSet request) => request.DataType switch
        {
            VfioIrqDataType.EventFd => IrqSetHeaderSize + (4 * request.Count),
            VfioIrqDataType.Bool => IrqSetHeaderSize + request.Count,
            _ => IrqSetHeaderSize,
        };

        public static void EncodeIrqSet(Span<byte> buffer, VfioIrqSet request)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            uint action = request.Action switch
            {
                VfioIrqAction.Mask => IrqSetActionMask,
                VfioIrqAction.Unmask => IrqSetActionUnmask,
                _ => IrqSetActionTrigger,
            };
            uint data = request.DataType switch
            {
                VfioIrqDataType.EventFd => IrqSetDataEventFd,
                VfioIrqDataType.Bool => IrqSetDataBool,
                _ => IrqSetDataNone,
            };
            U32(buffer, 4, action | data);
            U32(buffer, 8, (uint)request.Index);
            U32(buffer, 12, (uint)request.Start);
            U32(buffer, 16, (uint)request.Count);
            for (int i = 0; i < request.Count; i++)
            {
                if (request.EventFds is { } fds)
                {
                    U32(buffer, IrqSetHeaderSize + (4 * i), unchecked((uint)fds[i]));
                }
                else if (request.Bools is { } bools)
                {
                    buffer[IrqSetHeaderSize + i] = bools[i] ? (byte)1 : (byte)0;
                }
            }
        }

        // ---- struct vfio_iommu_type1_info { u32 argsz, flags; u64 iova_pgsizes; u32 cap_offset; } + capabilities

        /// <summary>The size the kernel asked for when the capabilities did not fit, or 0 when they fit.</summary>
        public static int IommuInfoNeeds(ReadOnlySpan<byte> buffer)
        {
            uint argsz = U32(buffer, 0);
            return argsz > buffer.Length && argsz <= MaxInfoSize ? (int)argsz : 0;
        }

        public static VfioIommuInfo DecodeIommuInfo(ReadOnlySpan<byte> buffer)
        {
            uint flags = U32(buffer, 4);
            ulong pageSizes = (flags & IommuInfoPageSizes) != 0 ? U64(buffer, 8) : 0;
            var ranges = new List<VfioIovaRange>();
            int? available = null;
            if ((flags & IommuInfoCaps) != 0)
            {
                foreach ((ushort id, int at, int end) in Capabilities(buffer, U32(buffer, 16), IommuType1InfoSize))
                {
                    if (id == IovaRangeCapability && at + 16 <= end)
                    {
                        uint count = U32(buffer, at + 8);
                        for (uint i = 0; i < count && at + 16 + ((i + 1) * 16) <= end; i++)
                        {
                            int range = (int)(at + 16 + (i * 16));
                            ranges.Add(new VfioIovaRange(U64(buffer, range), U64(buffer, range + 8)));
                        }
                    }
                    else if (id == DmaAvailCapability && at + 12 <= end)
                    {
                        available = (int)Math.Min(U32(buffer, at + 8), int.MaxValue);
                    }
                }
            }

            return new VfioIommuInfo(pageSizes, ranges, available);
        }

        // ---- struct vfio_iommu_type1_dma_map { u32 argsz, flags; u64 vaddr, iova, size; }

        public static void EncodeDmaMap(Span<byte> buffer, ulong hostAddress, ulong iova, ulong size, VfioDmaAccess access)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 4, ((access & VfioDmaAccess.Read) != 0 ? DmaMapRead : 0) | ((access & VfioDmaAccess.Write) != 0 ? DmaMapWrite : 0));
            U64(buffer, 8, hostAddress);
            U64(buffer, 16, iova);
            U64(buffer, 24, size);
        }

        // ---- struct vfio_iommu_type1_dma_unmap { u32 argsz, flags; u64 iova, size; } (size: out, bytes unmapped)

        public static void EncodeDmaUnmap(Span<byte> buffer, ulong iova, ulong size)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U64(buffer, 8, iova);
            U64(buffer, 16, size);
        }

        public static ulong DecodeDmaUnmap(ReadOnlySpan<byte> buffer) => U64(buffer, 16);

        // ---- struct vfio_pci_hot_reset_info { u32 argsz, flags, count; struct vfio_pci_dependent_device devices[]; }
        //      struct vfio_pci_dependent_device { u32 group_id/devid; u16 segment; u8 bus; u8 devfn; }

        public static void EncodeHotResetInfo(Span<byte> buffer)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
        }

        /// <summary>How many devices the kernel reported (it fills the count even when the array did not fit).</summary>
        public static int HotResetInfoCount(ReadOnlySpan<byte> buffer) => Count(U32(buffer, 8));

        public static VfioHotResetInfo DecodeHotResetInfo(ReadOnlySpan<byte> buffer)
        {
            uint flags = U32(buffer, 4);
            int count = HotResetInfoCount(buffer);
            var devices = new List<VfioDependentDevice>();
            for (int i = 0; i < count && HotResetInfoHeaderSize + ((i + 1) * DependentDeviceSize) <= buffer.Length; i++)
            {
                int at = HotResetInfoHeaderSize + (i * DependentDeviceSize);
                devices.Add(new VfioDependentDevice(U32(buffer, at), BinaryPrimitives.ReadUInt16LittleEndian(buffer.Slice(at + 4)), buffer[at + 6], buffer[at + 7]));
            }

            return new VfioHotResetInfo((flags & HotResetFlagDeviceId) != 0, (flags & HotResetFlagDeviceIdOwned) != 0, devices);
        }

        // ---- struct vfio_pci_hot_reset { u32 argsz, flags, count; s32 group_fds[]; }

        public static int HotResetSize(int groupFds) => HotResetHeaderSize + (4 * groupFds);

        public static void EncodeHotReset(Span<byte> buffer, IReadOnlyList<int> groupFds)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 8, (uint)groupFds.Count);
            for (int i = 0; i < groupFds.Count; i++)
            {
                U32(buffer, HotResetHeaderSize + (4 * i), unchecked((uint)groupFds[i]));
            }
        }

        // ---- struct vfio_device_bind_iommufd { u32 argsz, flags; s32 iommufd; u32 out_devid; }

        public static void EncodeBindIommufd(Span<byte> buffer, int iommufd)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 8, unchecked((uint)iommufd));
        }

        public static uint DecodeBindIommufd(ReadOnlySpan<byte> buffer) => U32(buffer, 12);

        // ---- struct vfio_device_attach_iommufd_pt { u32 argsz, flags, pt_id; } (pt_id: in and out)

        public static void EncodeAttachIommufdPt(Span<byte> buffer, uint pageTableId)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 8, pageTableId);
        }

        public static uint DecodeAttachIommufdPt(ReadOnlySpan<byte> buffer) => U32(buffer, 8);

        // ---- struct vfio_device_detach_iommufd_pt { u32 argsz, flags; }

        public static void EncodeDetachIommufdPt(Span<byte> buffer)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
        }

        // ---- struct iommu_destroy { u32 size, id; }

        public static void EncodeIommuDestroy(Span<byte> buffer, uint objectId)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 4, objectId);
        }

        // ---- struct iommu_ioas_alloc { u32 size, flags, out_ioas_id; }

        public static void EncodeIoasAlloc(Span<byte> buffer)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
        }

        public static uint DecodeIoasAlloc(ReadOnlySpan<byte> buffer) => U32(buffer, 8);

        // ---- struct iommu_ioas_iova_ranges { u32 size, ioas_id, num_iovas, __reserved; u64 allowed_iovas, out_iova_alignment; }
        //      struct iommu_iova_range { u64 start, last; }

        public static void EncodeIoasIovaRanges(Span<byte> buffer, uint ioasId, int capacity, ulong rangesAddress)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 4, ioasId);
            U32(buffer, 8, (uint)capacity);
            U64(buffer, 16, rangesAddress);
        }

        /// <summary>The number of ranges the IOAS has (the kernel sets it also when the array was too small, with EMSGSIZE).</summary>
        public static int IoasIovaRangesCount(ReadOnlySpan<byte> buffer) => Count(U32(buffer, 8));

        public static ulong IoasIovaAlignment(ReadOnlySpan<byte> buffer) => U64(buffer, 24);

        public static VfioIovaRange DecodeIovaRange(ReadOnlySpan<byte> ranges, int index) =>
            new VfioIovaRange(U64(ranges, index * IovaRangeSize), U64(ranges, (index * IovaRangeSize) + 8));

        // ---- struct iommu_ioas_map { u32 size, flags, ioas_id, __reserved; u64 user_va, length, iova; }

        public static void EncodeIoasMap(Span<byte> buffer, uint ioasId, ulong hostAddress, ulong iova, ulong length, VfioDmaAccess access)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 4, IoasMapFixedIova | ((access & VfioDmaAccess.Read) != 0 ? IoasMapReadable : 0) | ((access & VfioDmaAccess.Write) != 0 ? IoasMapWriteable : 0));
            U32(buffer, 8, ioasId);
            U64(buffer, 16, hostAddress);
            U64(buffer, 24, length);
            U64(buffer, 32, iova);
        }

        // ---- struct iommu_ioas_unmap { u32 size, ioas_id; u64 iova, length; } (length: out, bytes unmapped)

        public static void EncodeIoasUnmap(Span<byte> buffer, uint ioasId, ulong iova, ulong length)
        {
            buffer.Clear();
            EncodeArgsz(buffer);
            U32(buffer, 4, ioasId);
            U64(buffer, 8, iova);
            U64(buffer, 16, length);
        }

        public static ulong DecodeIoasUnmap(ReadOnlySpan<byte> buffer) => U64(buffer, 16);

        /// <summary>
        /// Walks a VFIO capability chain (<c>struct vfio_info_cap_header { u16 id, version; u32 next; }</c>): each
        /// capability's id, start, and where it must end (the next capability or the buffer's end). Offsets outside the
        /// buffer, inside the fixed part, or going backwards end the walk, so a confused kernel cannot make it loop.
        /// </summary>
        private static IEnumerable<(ushort Id, int At, int End)> Capabilities(ReadOnlySpan<byte> buffer, uint first, int fixedSize)
        {
            var found = new List<(ushort, int, int)>();
            uint at = first;
            while (at >= fixedSize && (ulong)at + 8 <= (ulong)buffer.Length && found.Count < 64)
            {
                ushort id = BinaryPrimitives.ReadUInt16LittleEndian(buffer.Slice((int)at));
                uint next = U32(buffer, (int)at + 4);
                bool last = next == 0 || next <= at || (ulong)next + 8 > (ulong)buffer.Length;
                found.Add((id, (int)at, last ? buffer.Length : (int)next));
                if (last)
                {
                    break;
                }

                at = next;
            }

            return found;
        }

        private static int Count(uint value) => (int)Math.Min(value, int.MaxValue);

        private static uint U32(ReadOnlySpan<byte> buffer, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(buffer.Slice(offset));

        private static ulong U64(ReadOnlySpan<byte> buffer, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(buffer.Slice(offset));

        private static void U32(Span<byte> buffer, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(buffer.Slice(offset), value);

        private static void U64(Span<byte> buffer, int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(buffer.Slice(offset), value);
    }
}
