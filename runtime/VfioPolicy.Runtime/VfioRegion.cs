using System;
using System.Globalization;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>
    /// A region of a device that is neither a BAR, the ROM nor config space: the legacy VGA region (index 8) or a
    /// device-specific region (index 9 and up, with a <see cref="VfioRegionType"/>, such as Intel's IGD OpRegion).
    /// Reached through pread/pwrite; the policy governs config space only, so these go to the device as asked.
    /// </summary>
    public sealed class VfioRegion
    {
        private readonly VfioDevice _device;

        internal VfioRegion(VfioDevice device, VfioRegionInfo info)
        {
            _device = device;
            Info = info;
        }

        /// <summary>What the kernel reports of the region.</summary>
        public VfioRegionInfo Info { get; }

        /// <summary>Reads <paramref name="into"/>.Length bytes at <paramref name="offset"/>.</summary>
        /// <exception cref="VfioException">Outside the region or not readable (<see cref="VfioErrorKind.InvalidAccess"/>), the device is closed, or the kernel failed.</exception>
        public void Read(long offset, Span<byte> into)
        {
            Check(offset, into.Length, VfioRegionFlags.Read, "read");
            lock (_device.Gate)
            {
                _device.ThrowIfClosed();
                KernelTransfer.ReadFully(_device.Container.Kernel, _device.DeviceFd, into, Info.Offset + offset, Describe("pread", offset, into.Length));
            }
        }

        /// <summary>Writes <paramref name="from"/> at <paramref name="offset"/>.</summary>
        /// <exception cref="VfioException">Outside the region or not writable (<see cref="VfioErrorKind.InvalidAccess"/>), the device is closed, or the kernel failed.</exception>
        public void Write(long offset, ReadOnlySpan<byte> from)
        {
            Check(offset, from.Length, VfioRegionFlags.Write, "written");
            lock (_device.Gate)
            {
                _device.ThrowIfClosed();
                KernelTransfer.WriteFully(_device.Container.Kernel, _device.DeviceFd, from, Info.Offset + offset, Describe("pwrite", offset, from.Length));
            }
        }

        private void Check(long offset, int length, VfioRegionFlags needed, string verb)
        {
            if ((Info.Flags & needed) == 0)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, Describe("access", offset, length), 0, "the region cannot be " + verb);
            }

            if (length <= 0 || offset < 0 || offset > Info.Size - length)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, Describe("access", offset, length), 0, "the access lies outside the region (size 0x" + Info.Size.ToString("x", CultureInfo.InvariantCulture) + ")");
            }
        }

        private string Describe(string what, long offset, int length) => string.Format(
            CultureInfo.InvariantCulture,
            "{0} of {1} bytes at 0x{2:x} of region {3} ({4}) of {5}",
            what,
            length,
            offset,
            Info.Index,
            Info.Name,
            _device.Address);
    }
}
