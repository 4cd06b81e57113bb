using System;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>
    /// The real device's config space for the firewall: pread/pwrite on the VFIO config region. The kernel's own
    /// vfio-pci config virtualization still sits below this (it hides the hardware MSI enable, for one).
    /// </summary>
    public sealed class VfioConfigHardware : IHardwareConfig
    {
        private readonly IVfioKernel _kernel;
        private readonly int _deviceFd;
        private readonly long _regionOffset;
        private readonly int _size;

        /// <summary>Creates the accessor for the config region at <paramref name="regionOffset"/> of <paramref name="deviceFd"/>.</summary>
        /// <param name="kernel">The kernel seam.</param>
        /// <param name="deviceFd">The VFIO device descriptor.</param>
        /// <param name="regionOffset">Offset of the config region in the device file.</param>
        /// <param name="size">Config-space size (256 or 4096).</param>
        public VfioConfigHardware(IVfioKernel kernel, int deviceFd, long regionOffset, int size)
        {
            _kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
            _deviceFd = deviceFd;
            _regionOffset = regionOffset;
            _size = size;
        }

        /// <summary>The last failure, for error messages; null when every access succeeded. EINTR is retried and a short transfer continued (<see cref="KernelTransfer"/>), so neither appears here unless it persisted.</summary>
        public VfioException? LastError { get; private set; }

        /// <inheritdoc />
        public bool TryRead(int offset, int width, out uint value)
        {
            value = 0;
            if (!InRange(offset, width))
            {
                return false;
            }

            Span<byte> buffer = stackalloc byte[4];
            try
            {
                KernelTransfer.ReadFully(_kernel, _deviceFd, buffer.Slice(0, width), _regionOffset + offset, "pread of config space at 0x" + offset.ToString("x3", System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (VfioException error)
            {
                LastError = error;
                return false;
            }

            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | buffer[b];
            }

            return true;
        }

        /// <inheritdoc />
        public bool TryWrite(int offset, int width, uint value)
        {
            if (!InRange(offset, width))
            {
                return false;
            }

            Span<byte> buffer = stackalloc byte[4];
            for (int b = 0; b < width; b++)
            {
                buffer[b] = (byte)(value >> (8 * b));
            }

            try
            {
                KernelTransfer.WriteFully(_kernel, _deviceFd, buffer.Slice(0, width), _regionOffset + offset, "pwrite of config space at 0x" + offset.ToString("x3", System.Globalization.CultureInfo.InvariantCulture));
            }
            catch (VfioException error)
            {
                LastError = error;
                return false;
            }

            return true;
        }

        private bool InRange(int offset, int width) => (width == 1 || width == 2 || width == 4) && offset >= 0 && (long)offset + width <= _size;
    }
}
