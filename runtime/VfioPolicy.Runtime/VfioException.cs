using System;
using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.Runtime
{
    /// <summary>What went wrong, in terms a caller can act on.</summary>
    public enum VfioErrorKind
    {
        /// <summary>A system call failed; <see cref="VfioException.Operation"/> and <see cref="VfioException.Errno"/> say which and why.</summary>
        Kernel,

        /// <summary>No PCI device at that address or sysfs path.</summary>
        DeviceNotFound,

        /// <summary>The device has no IOMMU group (no IOMMU, or it is disabled: add <c>intel_iommu=on</c>/<c>amd_iommu=on</c>).</summary>
        NoIommuGroup,

        /// <summary>Another device of the IOMMU group is bound to a host driver, so the group cannot be given away.</summary>
        GroupNotViable,

        /// <summary>The device is not bound to vfio-pci.</summary>
        NotBoundToVfioPci,

        /// <summary>The caller may not open the VFIO files (they are root-only by default).</summary>
        PermissionDenied,

        /// <summary>The kernel's VFIO API is not one the runtime speaks (API version, no type1 IOMMU).</summary>
        UnsupportedKernel,

        /// <summary>The policy's match lines do not select the device.</summary>
        PolicyMismatch,

        /// <summary>The device cannot be reset through VFIO (no function, slot or bus reset available).</summary>
        CannotReset,

        /// <summary>A consumer access that is malformed (out of range, bad width or alignment).</summary>
        InvalidAccess,

        /// <summary>The device (or container) has been closed.</summary>
        Closed,

        /// <summary>The IOMMU group is already open elsewhere (another container or process): open its devices through one <see cref="VfioContainer"/>.</summary>
        GroupInUse,

        /// <summary>A DMA mapping would overlap one that exists.</summary>
        DmaOverlap,

        /// <summary>A DMA mapping lies outside the IOVAs the IOMMU allows, wraps around, or reaches past its buffer.</summary>
        DmaOutOfRange,

        /// <summary>A DMA mapping's IOVA, length or host address is not a multiple of the IOMMU page size, or an unmap cuts a mapping.</summary>
        DmaUnaligned,

        /// <summary>An unmap names IOVAs no mapping covers.</summary>
        DmaNotMapped,

        /// <summary>The kernel allows no more DMA mappings in this address space.</summary>
        DmaLimitReached,

        /// <summary>The policy selects the device but does not fit its layout (a binding error such as VP0701: a device-specific register over one of its capabilities).</summary>
        PolicyDoesNotFit,
    }

    /// <summary>An error of the VFIO device layer: its kind, the operation that failed, and the errno where there is one.</summary>
    public sealed class VfioException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="kind">What went wrong.</param>
        /// <param name="operation">The operation, with the file it was applied to (e.g. "VFIO_GROUP_GET_DEVICE_FD on /dev/vfio/12").</param>
        /// <param name="errno">The errno, or 0 when no system call failed.</param>
        /// <param name="detail">What the caller should know beyond the operation and errno; may be empty.</param>
        public VfioException(VfioErrorKind kind, string operation, int errno, string detail)
            : base(Compose(operation, errno, detail))
        {
            Kind = kind;
            Operation = operation;
            Errno = errno;
            Detail = detail;
        }

        /// <summary>Creates the exception, naming the devices that stand in the way (a hot reset they would undergo too).</summary>
        public VfioException(VfioErrorKind kind, string operation, int errno, string detail, IReadOnlyList<string> blockingDevices)
            : this(kind, operation, errno, detail)
        {
            BlockingDevices = blockingDevices ?? Array.Empty<string>();
        }

        /// <summary>What went wrong.</summary>
        public VfioErrorKind Kind { get; }

        /// <summary>For a refused hot reset: the PCI addresses of the affected devices the caller does not own; otherwise empty.</summary>
        public IReadOnlyList<string> BlockingDevices { get; } = Array.Empty<string>();

        /// <summary>The operation and the file it was applied to.</summary>
        public string Operation { get; }

        /// <summary>The errno of the failed system call, or 0.</summary>
        public int Errno { get; }

        /// <summary>The explanation beyond operation and errno.</summary>
        public string Detail { get; }

        /// <summary>A kernel error: <paramref name="operation"/> failed with <paramref name="errno"/>.</summary>
        public static VfioException FromErrno(string operation, int errno)
        {
            VfioErrorKind kind = errno == Kernel.VfioConstants.EACCES || errno == Kernel.VfioConstants.EPERM ? VfioErrorKind.PermissionDenied : VfioErrorKind.Kernel;
            return new VfioException(kind, operation, errno, string.Empty);
        }

        /// <summary>The symbolic name of the common errno values, else the number.</summary>
        public static string ErrnoName(int errno) => errno switch
        {
            1 => "EPERM",
            2 => "ENOENT",
            4 => "EINTR",
            5 => "EIO",
            9 => "EBADF",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            16 => "EBUSY",
            17 => "EEXIST",
            19 => "ENODEV",
            22 => "EINVAL",
            25 => "ENOTTY",
            28 => "ENOSPC",
            90 => "EMSGSIZE",
            95 => "EOPNOTSUPP",
            _ => "errno " + errno.ToString(CultureInfo.InvariantCulture),
        };

        private static string Compose(string operation, int errno, string detail)
        {
            string text = operation + " failed";
            if (errno != 0)
            {
                text += " with " + ErrnoName(errno) + " (" + errno.ToString(CultureInfo.InvariantCulture) + ")";
            }

            return detail.Length == 0 ? text + "." : text + ": " + detail;
        }
    }
}
