using System;
using System.Collections.Generic;

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

        /// <summary>errno EBUSY.</summary>
        public const int EBUSY = 16;

        /// <summary>errno ENODEV.</summary>
        public const int ENODEV = 19;

        /// <summary>errno EINVAL.</summary>
        public const int EINVAL = 22;

        /// <summary>errno ENOTTY (an ioctl the file does not support).</summary>
        public const int ENOTTY = 25;
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

    /// <summary>
    /// One <c>VFIO_DEVICE_SET_IRQS</c> request. With <see cref="EventFds"/> null the data type is <c>DATA_NONE</c>
    /// (a trigger with count 0 disables the index; a mask/unmask applies to the range); otherwise <c>DATA_EVENTFD</c>
    /// with one descriptor per vector from <see cref="Start"/>, -1 meaning "detach this vector".
    /// </summary>
    /// <param name="Index">The IRQ index.</param>
    /// <param name="Action">What to do.</param>
    /// <param name="Start">The first vector.</param>
    /// <param name="Count">How many vectors.</param>
    /// <param name="EventFds">The eventfds for <c>DATA_EVENTFD</c>, or null for <c>DATA_NONE</c>.</param>
    public sealed record VfioIrqSet(int Index, VfioIrqAction Action, int Start, int Count, IReadOnlyList<int>? EventFds)
    {
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
}
