using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>What a physical function's SR-IOV extended capability says about its virtual functions.</summary>
    /// <param name="CapabilityOffset">Where the SR-IOV capability sits in the PF's config space.</param>
    /// <param name="TotalVfs">TotalVFs: how many virtual functions the PF can have.</param>
    /// <param name="NumVfs">NumVFs: how many are enabled.</param>
    /// <param name="FirstVfOffset">First VF Offset: routing ID of VF 1 relative to the PF's.</param>
    /// <param name="VfStride">VF Stride: routing ID distance between consecutive VFs.</param>
    /// <param name="VfDeviceId">VF Device ID: the device ID every VF has.</param>
    /// <param name="VfBars">The six VF BAR registers (type bits and the base of the VF BAR aperture).</param>
    public sealed record SriovCapability(int CapabilityOffset, int TotalVfs, int NumVfs, int FirstVfOffset, int VfStride, ushort VfDeviceId, IReadOnlyList<uint> VfBars);

    /// <summary>
    /// SR-IOV virtual functions as dumps show them and as vfio-pci presents them. A VF's own config space reads vendor
    /// and device 0xffff and BARs 0, and has no INTx (the specification); vfio-pci shows the consumer the PF's vendor,
    /// the PF's VF Device ID, interrupt pin 0 and BARs typed from the PF's VF BARs. The tools bind policies to that
    /// presentation, as the runtime sees it through vfio-pci's config region.
    /// </summary>
    public static class VirtualFunctions
    {
        /// <summary>The SR-IOV extended capability ID.</summary>
        public const int SriovCapabilityId = 0x10;

        private const int VendorOffset = 0x00;
        private const int DeviceOffset = 0x02;
        private const int FirstBarOffset = 0x10;
        private const int InterruptPinOffset = 0x3d;

        /// <summary>
        /// True when <paramref name="config"/> is a virtual function's own config space: vendor and device read 0xffff
        /// but the rest of the header is a device's (an absent device reads 0xff everywhere).
        /// </summary>
        public static bool LooksLikeVirtualFunction(ReadOnlySpan<byte> config)
        {
            if (config.Length < 0x40 || BinaryPrimitives.ReadUInt32LittleEndian(config) != 0xFFFF_FFFF)
            {
                return false;
            }

            for (int offset = 0x04; offset < 0x40; offset++)
            {
                if (config[offset] != 0xFF)
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>The PF's SR-IOV capability, or null when <paramref name="config"/> has none.</summary>
        public static SriovCapability? Describe(ReadOnlySpan<byte> config)
        {
            foreach (CapabilityInfo capability in CapabilityWalker.Walk(config).Capabilities)
            {
                int at = capability.Offset;
                if (!capability.Extended || capability.Id != SriovCapabilityId || at + 0x3c > config.Length)
                {
                    continue;
                }

                var bars = new uint[6];
                for (int i = 0; i < 6; i++)
                {
                    bars[i] = BinaryPrimitives.ReadUInt32LittleEndian(config.Slice(at + 0x24 + (4 * i)));
                }

                return new SriovCapability(
                    at,
                    BinaryPrimitives.ReadUInt16LittleEndian(config.Slice(at + 0x0e)),
                    BinaryPrimitives.ReadUInt16LittleEndian(config.Slice(at + 0x10)),
                    BinaryPrimitives.ReadUInt16LittleEndian(config.Slice(at + 0x14)),
                    BinaryPrimitives.ReadUInt16LittleEndian(config.Slice(at + 0x16)),
                    BinaryPrimitives.ReadUInt16LittleEndian(config.Slice(at + 0x1a)),
                    bars);
            }

            return null;
        }

        /// <summary>
        /// The slots of the PF's virtual functions (NumVFs of them, or TotalVFs when none are enabled), from the PF's
        /// slot and its First VF Offset and VF Stride: routing ID = PF's + offset + stride × (n − 1).
        /// </summary>
        public static IReadOnlyList<string> Slots(string pfSlot, SriovCapability sriov)
        {
            if (sriov is null)
            {
                throw new ArgumentNullException(nameof(sriov));
            }

            if (!ConfigDumpReader.TryNormalizeSlot(pfSlot, out string normalized))
            {
                return Array.Empty<string>();
            }

            string domain = normalized.Substring(0, 4);
            int bus = int.Parse(normalized.Substring(5, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            int device = int.Parse(normalized.Substring(8, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            int function = normalized[11] - '0';
            int routingId = (bus << 8) | (device << 3) | function;
            int count = sriov.NumVfs > 0 ? sriov.NumVfs : sriov.TotalVfs;
            var slots = new List<string>(count);
            for (int n = 0; n < count; n++)
            {
                int vf = routingId + sriov.FirstVfOffset + (sriov.VfStride * n);
                if (vf > 0xFFFF)
                {
                    break;
                }

                slots.Add(string.Format(CultureInfo.InvariantCulture, "{0}:{1:x2}:{2:x2}.{3}", domain, vf >> 8, (vf >> 3) & 0x1f, vf & 7));
            }

            return slots;
        }

        /// <summary>
        /// The config space vfio-pci presents for a VF: <paramref name="vf"/>'s own bytes with the PF's vendor, the VF
        /// Device ID, interrupt pin 0 and each BAR register holding its VF BAR's type bits (the address is the host's:
        /// a dump does not tell it, so it reads 0).
        /// </summary>
        public static byte[] Present(ReadOnlySpan<byte> vf, ReadOnlySpan<byte> pf, SriovCapability sriov)
        {
            if (sriov is null)
            {
                throw new ArgumentNullException(nameof(sriov));
            }

            byte[] presented = vf.ToArray();
            BinaryPrimitives.WriteUInt16LittleEndian(presented.AsSpan(VendorOffset), BinaryPrimitives.ReadUInt16LittleEndian(pf.Slice(VendorOffset)));
            BinaryPrimitives.WriteUInt16LittleEndian(presented.AsSpan(DeviceOffset), sriov.VfDeviceId);
            presented[InterruptPinOffset] = 0;
            for (int i = 0; i < 6; i++)
            {
                uint register = sriov.VfBars[i];
                bool upperHalf = i > 0 && (sriov.VfBars[i - 1] & 0x7) == 0x4;
                uint value = upperHalf ? 0 : register & 0xF;
                BinaryPrimitives.WriteUInt32LittleEndian(presented.AsSpan(FirstBarOffset + (4 * i)), value);
            }

            return presented;
        }

        /// <summary>
        /// <paramref name="vf"/> as vfio-pci presents it, its physical function taken from <paramref name="candidates"/>:
        /// the function whose SR-IOV capability routes to the VF's slot, or (for a VF without a slot) the only one with
        /// an SR-IOV capability.
        /// </summary>
        /// <exception cref="DeviceDumpException">No candidate is the VF's physical function.</exception>
        public static ConfigSpaceImage PresentWith(ConfigSpaceImage vf, IEnumerable<ConfigSpaceImage> candidates, string sourceName)
        {
            if (vf is null)
            {
                throw new ArgumentNullException(nameof(vf));
            }

            var withSriov = (candidates ?? Enumerable.Empty<ConfigSpaceImage>())
                .Select(image => (Image: image, Sriov: Describe(image.Bytes)))
                .Where(c => c.Sriov is not null)
                .ToList();
            string? wanted = vf.Slot is not null && ConfigDumpReader.TryNormalizeSlot(vf.Slot, out string normalized) ? normalized : null;
            var parents = wanted is null
                ? withSriov
                : withSriov.Where(c => c.Image.Slot is not null && Slots(c.Image.Slot, c.Sriov!).Contains(wanted, StringComparer.Ordinal)).ToList();
            string name = vf.Slot ?? "the device";
            if (parents.Count != 1)
            {
                throw new DeviceDumpException(
                    sourceName,
                    null,
                    name + " reads vendor and device 0xffff: an SR-IOV virtual function, whose identity and BAR types come from its physical function, and "
                    + (parents.Count == 0 ? "no physical function in the dump routes to it" : parents.Count.ToString(CultureInfo.InvariantCulture) + " physical functions could be its own")
                    + " (dump the PF too, lspci -xxxx -s PF, or name its dump with --pf DUMP)");
            }

            (ConfigSpaceImage pf, SriovCapability? sriov) = parents[0];
            string description = (vf.Description is null ? string.Empty : vf.Description + " ")
                + "(SR-IOV virtual function of " + (pf.Slot ?? "its physical function") + ", as vfio-pci presents it)";
            return new ConfigSpaceImage(Present(vf.Bytes, pf.Bytes, sriov!), vf.Slot, description);
        }
    }
}
