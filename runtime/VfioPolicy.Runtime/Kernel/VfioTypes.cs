using System;
using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.Runtime.Kernel
{
    /// <summary>Numbers from the Linux UAPI header <c>linux/vfio.h</c> that the device layer uses.</summary>
    public static class VfioConstants
    {
        /// <summary>The only VFIO API version there is (<c>VFIO_API_VERSION</c>).</summary>
        public const int ApiVersion = 0;

        /// <summary><c>VFIO_TYPE1_IOMMU</c>.</summary>
        public const uint Type1Iommu = 1;

        /// <summary><c>VFIO_TYPE1v2_IOMMU</c>.</summary>
        public const uint Type1v2Iommu = 3;

        /// <summary><c>VFIO_NOIOMMU_IOMMU</c>.</summary>
        public const uint NoIommu = 8;

        /// <summary>Region index of BAR 0 (<c>VFIO_PCI_BAR0_REGION_INDEX</c>); BARs 1 to 5 follow.</summary>
        public const int Bar0RegionIndex = 0;

        /// <summary>Region index of the expansion ROM (<c>VFIO_PCI_ROM_REGION_INDEX</c>).</summary>
        public const int RomRegionIndex = 6;

        /// <summary>Region index of config space (<c>VFIO_PCI_CONFIG_REGION_INDEX</c>).</summary>
        public const int ConfigRegionIndex = 7;

        /// <summary>Region index of legacy VGA (<c>VFIO_PCI_VGA_REGION_INDEX</c>).</summary>
        public const int VgaRegionIndex = 8;

        /// <summary>IRQ index of INTx (<c>VFIO_PCI_INTX_IRQ_INDEX</c>).</summary>
        public const int IntxIrqIndex = 0;

        /// <summary>IRQ index of MSI.</summary>
        public const int MsiIrqIndex = 1;

        /// <summary>IRQ index of MSI-X.</summary>
        public const int MsixIrqIndex = 2;

        /// <summary>IRQ index of the error (AER) notification.</summary>
        public const int ErrIrqIndex = 3;

        /// <summary>IRQ index of the device request (unplug) notification.</summary>
        public const int ReqIrqIndex = 4;

        /// <summary>errno EPERM.</summary>
        public const int EPERM = 1;

        /// <summary>errno ENOENT.</summary>
        public const int ENOENT = 2;

        /// <summary>errno EINTR (a signal interrupted the call before it transferred anything; the runtime retries it).</summary>
        public const int EINTR = 4;

        /// <summary>errno EIO.</summary>
        public const int EIO = 5;

        /// <summary>errno EBADF.</summary>
        public const int EBADF = 9;

        /// <summary>errno EAGAIN.</summary>
        public const int EAGAIN = 11;

        /// <summary>errno EACCES.</summary>
        public const int EACCES = 13;

        /// <summary>errno ENOMEM.</summary>
        public const int ENOMEM = 12;

        /// <summary>errno EFAULT (a bad address).</summary>
        public const int EFAULT = 14;

        /// <summary>errno EBUSY.</summary>
        public const int EBUSY = 16;

        /// <summary>errno EEXIST (type1 and iommufd: the IOVA range overlaps a mapping).</summary>
        public const int EEXIST = 17;

        /// <summary>errno ENODEV.</summary>
        public const int ENODEV = 19;

        /// <summary>errno EINVAL.</summary>
        public const int EINVAL = 22;

        /// <summary>errno ENOTTY (an ioctl the file does not support).</summary>
        public const int ENOTTY = 25;

        /// <summary>errno ENOSPC (type1: no DMA mapping left; hot-reset info: the array is too small).</summary>
        public const int ENOSPC = 28;

        /// <summary>errno EMSGSIZE (iommufd: the output array is too small).</summary>
        public const int EMSGSIZE = 90;

        /// <summary>errno EOPNOTSUPP.</summary>
        public const int EOPNOTSUPP = 95;
    }

    /// <summary>Flags of <c>VFIO_GROUP_GET_STATUS</c>.</summary>
    [Flags]
    public enum VfioGroupFlags : uint
    {
        /// <summary>No flag.</summary>
        None = 0,

        /// <summary>Every device in the group is bound to a VFIO driver or to none (<c>VFIO_GROUP_FLAGS_VIABLE</c>).</summary>
        Viable = 1,

        /// <summary>The group is attached to a container (<c>VFIO_GROUP_FLAGS_CONTAINER_SET</c>).</summary>
        ContainerSet = 2,
    }

    /// <summary>Flags of <c>VFIO_DEVICE_GET_INFO</c>.</summary>
    [Flags]
    public enum VfioDeviceFlags : uint
    {
        /// <summary>No flag.</summary>
        None = 0,

        /// <summary>The device supports <c>VFIO_DEVICE_RESET</c>.</summary>
        Reset = 1,

        /// <summary>A PCI device.</summary>
        Pci = 2,
    }

    /// <summary>What <c>VFIO_DEVICE_GET_INFO</c> reports.</summary>
    /// <param name="Flags">Device flags.</param>
    /// <param name="RegionCount">Number of region indexes.</param>
    /// <param name="IrqCount">Number of IRQ indexes.</param>
    public sealed record VfioDeviceInfo(VfioDeviceFlags Flags, int RegionCount, int IrqCount)
    {
        /// <summary>True when the device can be reset through VFIO.</summary>
        public bool CanReset => (Flags & VfioDeviceFlags.Reset) != 0;
    }

    /// <summary>Flags of <c>VFIO_DEVICE_GET_REGION_INFO</c>.</summary>
    [Flags]
    public enum VfioRegionFlags : uint
    {
        /// <summary>No flag.</summary>
        None = 0,

        /// <summary>pread works.</summary>
        Read = 1,

        /// <summary>pwrite works.</summary>
        Write = 2,

        /// <summary>mmap works (where the sparse areas, if any, allow).</summary>
        Mmap = 4,

        /// <summary>The info carries a capability chain.</summary>
        Caps = 8,
    }

    /// <summary>One area of a region that may be mapped (<c>VFIO_REGION_INFO_CAP_SPARSE_MMAP</c>).</summary>
    /// <param name="Offset">Offset within the region.</param>
    /// <param name="Size">Size in bytes.</param>
    public sealed record VfioSparseArea(long Offset, long Size);

    /// <summary>A device-specific region's type (<c>VFIO_REGION_INFO_CAP_TYPE</c>).</summary>
    /// <param name="Type">The type: <c>VFIO_REGION_TYPE_PCI_VENDOR_TYPE | vendor</c>, or a bus-wide type (GFX 1, CCW 2, migration 3).</param>
    /// <param name="Subtype">The type-specific subtype.</param>
    public sealed record VfioRegionType(uint Type, uint Subtype)
    {
        /// <summary><c>VFIO_REGION_TYPE_PCI_VENDOR_TYPE</c>: the low 16 bits of the type are a PCI vendor ID.</summary>
        public const uint PciVendorType = 0x80000000;

        /// <summary>A readable name from <c>linux/vfio.h</c> (for example "Intel IGD OpRegion"), or the numbers.</summary>
        public string Name => (Type, Subtype) switch
        {
            (PciVendorType | 0x8086, 1) => "Intel IGD OpRegion",
            (PciVendorType | 0x8086, 2) => "Intel IGD host bridge config",
            (PciVendorType | 0x8086, 3) => "Intel IGD LPC bridge config",
            (PciVendorType | 0x10de, 1) => "NVIDIA NVLink2 RAM",
            (PciVendorType | 0x1014, 1) => "IBM NVLink2 ATSD",
            (1, 1) => "graphics EDID",
            (2, 1) => "CCW async command",
            (2, 2) => "CCW SCHIB",
            (2, 3) => "CCW CRW",
            (3, 1) => "migration (deprecated v1)",
            _ when (Type & PciVendorType) != 0 => string.Format(CultureInfo.InvariantCulture, "PCI vendor {0:x4} type, subtype {1}", Type & 0xFFFF, Subtype),
            _ => string.Format(CultureInfo.InvariantCulture, "type {0}, subtype {1}", Type, Subtype),
        };
    }

    /// <summary>What <c>VFIO_DEVICE_GET_REGION_INFO</c> reports for one region, with its capabilities parsed.</summary>
    /// <param name="Index">The region index.</param>
    /// <param name="Flags">Region flags.</param>
    /// <param name="Size">Region size in bytes (0: the region does not exist, such as an unimplemented BAR).</param>
    /// <param name="Offset">Offset of the region within the device file.</param>
    /// <param name="SparseAreas">The mappable areas when the region has a sparse-mmap capability; null when the whole region maps.</param>
    /// <param name="MsixMappable">The region has <c>VFIO_REGION_INFO_CAP_MSIX_MAPPABLE</c>: the kernel would let the MSI-X table be mapped.</param>
    public sealed record VfioRegionInfo(int Index, VfioRegionFlags Flags, long Size, long Offset, IReadOnlyList<VfioSparseArea>? SparseAreas, bool MsixMappable)
    {
        /// <summary>True when the region can be mapped at all.</summary>
        public bool CanMap => (Flags & VfioRegionFlags.Mmap) != 0;

        /// <summary>The device-specific type (<c>VFIO_REGION_INFO_CAP_TYPE</c>), or null for the fixed vfio-pci regions.</summary>
        public VfioRegionType? Type { get; init; }

        /// <summary>What the region is: "BAR0".."BAR5", "ROM", "config", "VGA", or a device-specific region's type.</summary>
        public string Name => Index switch
        {
            >= VfioConstants.Bar0RegionIndex and < VfioConstants.RomRegionIndex => "BAR" + Index.ToString(CultureInfo.InvariantCulture),
            VfioConstants.RomRegionIndex => "ROM",
            VfioConstants.ConfigRegionIndex => "config",
            VfioConstants.VgaRegionIndex => "VGA",
            _ => Type is { } type ? type.Name : "device-specific region " + Index.ToString(CultureInfo.InvariantCulture) + " (no type)",
        };
    }

    /// <summary>Flags of <c>VFIO_DEVICE_GET_IRQ_INFO</c>.</summary>
    [Flags]
    public enum VfioIrqFlags : uint
    {
        /// <summary>No flag.</summary>
        None = 0,

        /// <summary>Signalled through eventfds.</summary>
        EventFd = 1,

        /// <summary>Can be masked through VFIO.</summary>
        Maskable = 2,

        /// <summary>Masked by the kernel after each interrupt (INTx): unmask after handling.</summary>
        AutoMasked = 4,

        /// <summary>The vector count cannot change while enabled.</summary>
        NoResize = 8,
    }

    /// <summary>What <c>VFIO_DEVICE_GET_IRQ_INFO</c> reports for one IRQ index.</summary>
    /// <param name="Index">The IRQ index.</param>
    /// <param name="Flags">IRQ flags.</param>
    /// <param name="Count">How many vectors the index has (0: none).</param>
    public sealed record VfioIrqInfo(int Index, VfioIrqFlags Flags, int Count);

    /// <summary>The action of a <c>VFIO_DEVICE_SET_IRQS</c> request.</summary>
    public enum VfioIrqAction
    {
        /// <summary><c>VFIO_IRQ_SET_ACTION_MASK</c>.</summary>
        Mask,

        /// <summary><c>VFIO_IRQ_SET_ACTION_UNMASK</c>.</summary>
        Unmask,

        /// <summary><c>VFIO_IRQ_SET_ACTION_TRIGGER</c>.</summary>
        Trigger,
    }

    /// <summary>The data type of a <c>VFIO_DEVICE_SET_IRQS</c> request.</summary>
    public enum VfioIrqDataType
    {
        /// <summary><c>VFIO_IRQ_SET_DATA_NONE</c>: the action applies to the whole range.</summary>
        None,

        /// <summary><c>VFIO_IRQ_SET_DATA_BOOL</c>: one flag per vector says whether the action applies to it.</summary>
        Bool,

        /// <summary><c>VFIO_IRQ_SET_DATA_EVENTFD</c>: one eventfd per vector (-1: detach / skip).</summary>
        EventFd,
    }

    /// <summary>
    /// One <c>VFIO_DEVICE_SET_IRQS</c> request. With <see cref="EventFds"/> and <see cref="Bools"/> null the data type
    /// is <c>DATA_NONE</c> (a trigger with count 0 disables the index; a mask/unmask applies to the range); with
    /// <see cref="EventFds"/> it is <c>DATA_EVENTFD</c>, one descriptor per vector from <see cref="Start"/>, -1 meaning
    /// "detach this vector" (for an INTx unmask, the eventfd that unmasks the line when signalled: a resample fd);
    /// with <see cref="Bools"/> it is <c>DATA_BOOL</c>, one flag per vector.
    /// </summary>
    /// <param name="Index">The IRQ index.</param>
    /// <param name="Action">What to do.</param>
    /// <param name="Start">The first vector.</param>
    /// <param name="Count">How many vectors.</param>
    /// <param name="EventFds">The eventfds for <c>DATA_EVENTFD</c>, or null.</param>
    public sealed record VfioIrqSet(int Index, VfioIrqAction Action, int Start, int Count, IReadOnlyList<int>? EventFds)
    {
        /// <summary>The flags for <c>DATA_BOOL</c>, or null.</summary>
        public IReadOnlyList<bool>? Bools { get; init; }

        /// <summary>Which kind of data the request carries.</summary>
        public VfioIrqDataType DataType => EventFds is not null ? VfioIrqDataType.EventFd : Bools is not null ? VfioIrqDataType.Bool : VfioIrqDataType.None;

        /// <summary>
        /// Checks the request's own consistency: index and range not negative and not overflowing, one data item per
        /// vector, at most one data type. Says what is wrong, or returns null.
        /// </summary>
        public string? Malformation()
        {
            if (Index < 0 || Start < 0 || Count < 0 || (long)Start + Count > int.MaxValue)
            {
                return "the index, start and count must not be negative and start + count must not overflow";
            }

            if (EventFds is not null && Bools is not null)
            {
                return "a request carries eventfds or flags, not both";
            }

            if ((EventFds is not null && EventFds.Count != Count) || (Bools is not null && Bools.Count != Count))
            {
                return "the request must carry exactly one data item per vector (count)";
            }

            if (EventFds is not null)
            {
                foreach (int fd in EventFds)
                {
                    if (fd < -1)
                    {
                        return "an eventfd must be a descriptor or -1";
                    }
                }
            }

            return null;
        }

        /// <summary>Disables every vector of <paramref name="index"/> (trigger, <c>DATA_NONE</c>, count 0).</summary>
        public static VfioIrqSet Disable(int index) => new VfioIrqSet(index, VfioIrqAction.Trigger, 0, 0, null);

        /// <summary>Attaches <paramref name="eventFds"/> as triggers of vectors <paramref name="start"/> onwards.</summary>
        public static VfioIrqSet Trigger(int index, int start, IReadOnlyList<int> eventFds) => new VfioIrqSet(index, VfioIrqAction.Trigger, start, eventFds.Count, eventFds);

        /// <summary>Unmasks vector <paramref name="vector"/> of <paramref name="index"/>.</summary>
        public static VfioIrqSet Unmask(int index, int vector) => new VfioIrqSet(index, VfioIrqAction.Unmask, vector, 1, null);

        /// <summary>Masks vector <paramref name="vector"/> of <paramref name="index"/>.</summary>
        public static VfioIrqSet Mask(int index, int vector) => new VfioIrqSet(index, VfioIrqAction.Mask, vector, 1, null);
    }

    /// <summary>A mapping of part of a device region (mmap): accesses reach the device directly.</summary>
    public interface IMappedRange : IDisposable
    {
        /// <summary>Length of the mapping in bytes.</summary>
        long Length { get; }

        /// <summary>Reads <paramref name="width"/> (1, 2, 4 or 8) bytes at <paramref name="offset"/>, naturally aligned.</summary>
        ulong Read(long offset, int width);

        /// <summary>Writes <paramref name="width"/> (1, 2, 4 or 8) bytes at <paramref name="offset"/>, naturally aligned.</summary>
        void Write(long offset, int width, ulong value);
    }

    /// <summary>What a device may do with host memory mapped for DMA.</summary>
    [Flags]
    public enum VfioDmaAccess
    {
        /// <summary>Nothing (never valid for a mapping).</summary>
        None = 0,

        /// <summary>The device may read the memory (<c>VFIO_DMA_MAP_FLAG_READ</c>, <c>IOMMU_IOAS_MAP_READABLE</c>).</summary>
        Read = 1,

        /// <summary>The device may write the memory (<c>VFIO_DMA_MAP_FLAG_WRITE</c>, <c>IOMMU_IOAS_MAP_WRITEABLE</c>).</summary>
        Write = 2,

        /// <summary>Both.</summary>
        ReadWrite = Read | Write,
    }

    /// <summary>An inclusive range of I/O virtual addresses.</summary>
    /// <param name="Start">The first IOVA.</param>
    /// <param name="Last">The last IOVA (inclusive, as both kernel APIs report it).</param>
    public sealed record VfioIovaRange(ulong Start, ulong Last)
    {
        /// <summary>True when [<paramref name="iova"/>, <paramref name="iova"/> + <paramref name="length"/>) lies inside this range.</summary>
        public bool Contains(ulong iova, ulong length) => length > 0 && iova >= Start && iova - Start <= Last - Start && length - 1 <= Last - iova;

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "[0x{0:x}, 0x{1:x}]", Start, Last);
    }

    /// <summary>What the IOMMU of an address space allows: page sizes, IOVA ranges, how many mappings.</summary>
    /// <param name="PageSizes">Bitmap of the page sizes the IOMMU maps (type1 <c>iova_pgsizes</c>; iommufd: the IOVA alignment).</param>
    /// <param name="IovaRanges">The IOVAs a mapping may use (empty: the kernel did not say, so any).</param>
    /// <param name="DmaMappingLimit">How many more mappings the kernel allows (type1 <c>DMA_AVAIL</c>), or null when it sets no limit.</param>
    public sealed record VfioIommuInfo(ulong PageSizes, IReadOnlyList<VfioIovaRange> IovaRanges, int? DmaMappingLimit)
    {
        /// <summary>The smallest page size: every IOVA, length and host address of a mapping is a multiple of it (4096 when the kernel did not say).</summary>
        public ulong MinimumPageSize => PageSizes == 0 ? 4096 : PageSizes & (~PageSizes + 1);
    }

    /// <summary>One device a PCI hot reset would reset (<c>struct vfio_pci_dependent_device</c>).</summary>
    /// <param name="Id">The IOMMU group (group/container path) or the iommufd device ID (cdev path: 0 = owned implicitly, 0xFFFFFFFF = not owned).</param>
    /// <param name="Segment">PCI segment (domain).</param>
    /// <param name="Bus">Bus number.</param>
    /// <param name="DevFn">Device and function number (<c>slot &lt;&lt; 3 | function</c>).</param>
    public sealed record VfioDependentDevice(uint Id, ushort Segment, byte Bus, byte DevFn)
    {
        /// <summary><c>VFIO_PCI_DEVID_OWNED</c>: the device is owned implicitly (same IOMMU group as an owned one).</summary>
        public const uint DeviceIdOwned = 0;

        /// <summary><c>VFIO_PCI_DEVID_NOT_OWNED</c>.</summary>
        public const uint DeviceIdNotOwned = 0xFFFFFFFF;

        /// <summary>The PCI address, <c>dddd:bb:dd.f</c>.</summary>
        public string Address => string.Format(CultureInfo.InvariantCulture, "{0:x4}:{1:x2}:{2:x2}.{3}", Segment, Bus, DevFn >> 3, DevFn & 7);
    }

    /// <summary>What <c>VFIO_DEVICE_GET_PCI_HOT_RESET_INFO</c> reports: the devices a bus or slot reset would reset.</summary>
    /// <param name="UsesDeviceIds">True on the cdev path: <see cref="VfioDependentDevice.Id"/> is an iommufd device ID, not a group.</param>
    /// <param name="AllOwned">Cdev path: every affected device is owned by the caller's iommufd (<c>DEV_ID_OWNED</c>).</param>
    /// <param name="Devices">The affected devices, the calling one included.</param>
    public sealed record VfioHotResetInfo(bool UsesDeviceIds, bool AllOwned, IReadOnlyList<VfioDependentDevice> Devices);

    /// <summary>
    /// Page-aligned host memory the kernel seam allocated (anonymous, or a memfd another process can map too): what a
    /// device reaches by DMA once an address space maps it. Dispose to release it.
    /// </summary>
    public interface IHostMemory : IDisposable
    {
        /// <summary>The start address in this process (page-aligned).</summary>
        nint Address { get; }

        /// <summary>Length in bytes (a multiple of the page size).</summary>
        long Length { get; }

        /// <summary>The memfd behind the memory, or -1 for anonymous memory.</summary>
        int Fd { get; }
    }
}
