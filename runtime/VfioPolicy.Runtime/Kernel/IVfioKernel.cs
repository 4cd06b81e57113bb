using System;
using System.Collections.Generic;

namespace VfioPolicy.Runtime.Kernel
{
    /// <summary>
    /// The one seam between the device layer and the operating system: every syscall the runtime makes goes through
    /// here. <see cref="LinuxVfioKernel"/> calls Linux; <c>SimulatedVfioKernel</c> simulates devices for tests.
    /// </summary>
    /// <remarks>
    /// Every failing call throws a <see cref="VfioException"/> of kind <see cref="VfioErrorKind.Kernel"/> (or
    /// <see cref="VfioErrorKind.PermissionDenied"/> for EACCES/EPERM on open) naming the operation and the file, with
    /// the errno. The device layer turns the ones it understands into more specific kinds. Implementations are
    /// thread-safe.
    /// </remarks>
    public interface IVfioKernel
    {
        /// <summary>Opens <paramref name="path"/> read-write (close-on-exec) and returns the descriptor.</summary>
        int Open(string path);

        /// <summary>Closes <paramref name="fd"/>; errors are ignored (the descriptor is gone either way).</summary>
        void Close(int fd);

        /// <summary>True when <paramref name="path"/> exists.</summary>
        bool Exists(string path);

        /// <summary>The target of symbolic link <paramref name="path"/>, or null when there is no such link.</summary>
        string? ReadLink(string path);

        /// <summary>The names in directory <paramref name="path"/> (empty when it does not exist), sorted ordinally.</summary>
        IReadOnlyList<string> ListDirectory(string path);

        /// <summary><c>VFIO_GET_API_VERSION</c> on a container.</summary>
        int GetApiVersion(int containerFd);

        /// <summary><c>VFIO_CHECK_EXTENSION</c> on a container: true when <paramref name="extension"/> is supported.</summary>
        bool CheckExtension(int containerFd, uint extension);

        /// <summary><c>VFIO_SET_IOMMU</c>.</summary>
        void SetIommu(int containerFd, uint iommuType);

        /// <summary><c>VFIO_GROUP_GET_STATUS</c>.</summary>
        VfioGroupFlags GetGroupStatus(int groupFd);

        /// <summary><c>VFIO_GROUP_SET_CONTAINER</c>.</summary>
        void SetContainer(int groupFd, int containerFd);

        /// <summary><c>VFIO_GROUP_GET_DEVICE_FD</c> for the device named <paramref name="deviceName"/> (its PCI address).</summary>
        int GetDeviceFd(int groupFd, string deviceName);

        /// <summary><c>VFIO_DEVICE_GET_INFO</c>.</summary>
        VfioDeviceInfo GetDeviceInfo(int deviceFd);

        /// <summary><c>VFIO_DEVICE_GET_REGION_INFO</c>, with the capability chain parsed.</summary>
        VfioRegionInfo GetRegionInfo(int deviceFd, int index);

        /// <summary><c>VFIO_DEVICE_GET_IRQ_INFO</c>.</summary>
        VfioIrqInfo GetIrqInfo(int deviceFd, int index);

        /// <summary><c>VFIO_DEVICE_SET_IRQS</c>.</summary>
        void SetIrqs(int deviceFd, VfioIrqSet request);

        /// <summary><c>VFIO_DEVICE_RESET</c>.</summary>
        void ResetDevice(int deviceFd);

        /// <summary><c>VFIO_DEVICE_GET_PCI_HOT_RESET_INFO</c>: the devices a bus or slot reset of this device would reset.</summary>
        VfioHotResetInfo GetPciHotResetInfo(int deviceFd);

        /// <summary>
        /// <c>VFIO_DEVICE_PCI_HOT_RESET</c>, proving ownership of every affected device by its group's descriptor
        /// (group/container path) or with an empty list (cdev path: the iommufd proves it).
        /// </summary>
        void PciHotReset(int deviceFd, IReadOnlyList<int> groupFds);

        /// <summary><c>VFIO_IOMMU_GET_INFO</c> on a container whose IOMMU is set: page sizes, IOVA ranges, DMA mappings left.</summary>
        VfioIommuInfo GetIommuInfo(int containerFd);

        /// <summary><c>VFIO_IOMMU_MAP_DMA</c>: host memory at <paramref name="hostAddress"/> appears to the container's devices at <paramref name="iova"/>.</summary>
        void MapDma(int containerFd, ulong hostAddress, ulong iova, ulong size, VfioDmaAccess access);

        /// <summary><c>VFIO_IOMMU_UNMAP_DMA</c>; returns the bytes the kernel unmapped.</summary>
        ulong UnmapDma(int containerFd, ulong iova, ulong size);

        /// <summary><c>VFIO_DEVICE_BIND_IOMMUFD</c> on a device cdev; returns the device ID within the iommufd.</summary>
        uint BindIommufd(int deviceFd, int iommufd);

        /// <summary><c>VFIO_DEVICE_ATTACH_IOMMUFD_PT</c>: attaches the bound device to an IOAS (or HWPT); returns the page table ID.</summary>
        uint AttachIommufdPageTable(int deviceFd, uint pageTableId);

        /// <summary><c>VFIO_DEVICE_DETACH_IOMMUFD_PT</c>.</summary>
        void DetachIommufdPageTable(int deviceFd);

        /// <summary><c>IOMMU_IOAS_ALLOC</c>: a new I/O address space in the iommufd; returns its ID.</summary>
        uint AllocateIoas(int iommufd);

        /// <summary><c>IOMMU_DESTROY</c> of an iommufd object (an IOAS).</summary>
        void DestroyIommufdObject(int iommufd, uint objectId);

        /// <summary><c>IOMMU_IOAS_IOVA_RANGES</c>: the IOVAs a mapping may use now, and their alignment (as <see cref="VfioIommuInfo.PageSizes"/>).</summary>
        VfioIommuInfo GetIoasInfo(int iommufd, uint ioasId);

        /// <summary><c>IOMMU_IOAS_MAP</c> at a fixed IOVA.</summary>
        void MapIoas(int iommufd, uint ioasId, ulong hostAddress, ulong iova, ulong length, VfioDmaAccess access);

        /// <summary><c>IOMMU_IOAS_UNMAP</c>; returns the bytes the kernel unmapped.</summary>
        ulong UnmapIoas(int iommufd, uint ioasId, ulong iova, ulong length);

        /// <summary>The system page size: the granularity of mmap, and of the pages the MSI-X table is kept out of.</summary>
        int PageSize { get; }

        /// <summary>
        /// Allocates <paramref name="length"/> bytes (rounded up to the page size) of zeroed, page-aligned memory for
        /// DMA: anonymous, or in a memfd (<paramref name="shareable"/>) whose descriptor another process can map.
        /// </summary>
        IHostMemory AllocateMemory(long length, bool shareable);

        /// <summary>
        /// Maps <paramref name="length"/> bytes of a memory file another party handed over (a VMM's memfd of guest
        /// RAM) at <paramref name="offset"/> (page-aligned), shared, into this process; dispose to unmap. The
        /// descriptor stays the caller's.
        /// </summary>
        IHostMemory MapMemory(int fd, long offset, long length, bool writable);

        /// <summary>pread: fills <paramref name="buffer"/> from <paramref name="offset"/>; returns the bytes read.</summary>
        int PRead(int fd, Span<byte> buffer, long offset);

        /// <summary>pwrite: writes <paramref name="buffer"/> at <paramref name="offset"/>; returns the bytes written.</summary>
        int PWrite(int fd, ReadOnlySpan<byte> buffer, long offset);

        /// <summary>mmap (shared) of <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/>; dispose to munmap.</summary>
        IMappedRange Map(int fd, long offset, long length, bool writable);

        /// <summary>
        /// A new descriptor whose mmap, from offset 0, reaches memory BAR <paramref name="barIndex"/> (0 to 5) of the
        /// device behind <paramref name="deviceFd"/> and nothing else: what a server may hand an untrusted process so it
        /// maps the BAR without the VFIO device descriptor, which would also reach config space. The caller owns it.
        /// </summary>
        /// <exception cref="VfioException">The kernel offers no such descriptor for this BAR.</exception>
        int OpenBarFile(int deviceFd, int barIndex);

        /// <summary>A second descriptor for the same open file (close-on-exec), as passing it over a socket gives the receiver.</summary>
        int Duplicate(int fd);

        /// <summary>Creates a non-blocking eventfd with counter 0.</summary>
        int CreateEventFd();

        /// <summary>Reads and clears an eventfd's counter; false (and 0) when it is zero.</summary>
        bool TryReadEventFd(int fd, out ulong count);

        /// <summary>Adds <paramref name="value"/> to an eventfd's counter.</summary>
        void WriteEventFd(int fd, ulong value);

        /// <summary>
        /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) until one of <paramref name="fds"/> is readable;
        /// sets <paramref name="ready"/>[i] for each readable one and returns how many are (0, early, when a signal
        /// interrupts the wait).
        /// </summary>
        int Poll(ReadOnlySpan<int> fds, int timeoutMilliseconds, Span<bool> ready);
    }
}
