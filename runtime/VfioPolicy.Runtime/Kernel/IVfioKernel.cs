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

        /// <summary>pread: fills <paramref name="buffer"/> from <paramref name="offset"/>; returns the bytes read.</summary>
        int PRead(int fd, Span<byte> buffer, long offset);

        /// <summary>pwrite: writes <paramref name="buffer"/> at <paramref name="offset"/>; returns the bytes written.</summary>
        int PWrite(int fd, ReadOnlySpan<byte> buffer, long offset);

        /// <summary>mmap (shared) of <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/>; dispose to munmap.</summary>
        IMappedRange Map(int fd, long offset, long length, bool writable);

        /// <summary>Creates a non-blocking eventfd with counter 0.</summary>
        int CreateEventFd();

        /// <summary>Reads and clears an eventfd's counter; false (and 0) when it is zero.</summary>
        bool TryReadEventFd(int fd, out ulong count);

        /// <summary>Adds <paramref name="value"/> to an eventfd's counter.</summary>
        void WriteEventFd(int fd, ulong value);

        /// <summary>
        /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) until one of <paramref name="fds"/> is readable;
        /// sets <paramref name="ready"/>[i] for each readable one and returns how many are.
        /// </summary>
        int Poll(ReadOnlySpan<int> fds, int timeoutMilliseconds, Span<bool> ready);
    }
}
