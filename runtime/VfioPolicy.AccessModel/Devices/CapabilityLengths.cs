using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Pci;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>What the length of some capabilities depends on: the header type and the PCI Express capability.</summary>
    internal sealed class DeviceContext
    {
        private const int ExpressTypeRootPort = 4;
        private const int ExpressTypeUpstreamPort = 5;
        private const int ExpressTypeDownstreamPort = 6;
        private const int ExpressTypeRootComplexEventCollector = 10;
        private const uint DeviceCapabilities2EndEndTlpPrefix = 0x00200000;
        private const uint PciXStatus266Or533 = 0xC0000000;

        private DeviceContext(int headerType, int expressOffset, int expressVersion, int expressType, int maxLinkWidth, bool endEndTlpPrefix, bool pciXMode2)
        {
            HeaderType = headerType;
            ExpressOffset = expressOffset;
            ExpressVersion = expressVersion;
            ExpressType = expressType;
            MaxLinkWidth = maxLinkWidth;
            EndEndTlpPrefix = endEndTlpPrefix;
            PciXMode2 = pciXMode2;
        }

        /// <summary>Header type without the multi-function bit: 0 device, 1 PCI bridge, 2 CardBus bridge.</summary>
        public int HeaderType { get; }

        /// <summary>Offset of the PCI Express capability, or -1.</summary>
        public int ExpressOffset { get; }

        /// <summary>The PCI Express capability's version (Flags bits 0..3).</summary>
        public int ExpressVersion { get; }

        /// <summary>The PCI Express device/port type (Flags bits 4..7).</summary>
        public int ExpressType { get; }

        /// <summary>Maximum link width from Link Capabilities (0 when unknown or linkless).</summary>
        public int MaxLinkWidth { get; }

        /// <summary>Device Capabilities 2 says End-End TLP Prefixes are supported (AER then carries a TLP Prefix Log).</summary>
        public bool EndEndTlpPrefix { get; }

        /// <summary>A PCI-X capability reports 266 or 533 MHz (PCI-X 2.0: extended config space).</summary>
        public bool PciXMode2 { get; }

        /// <summary>True when the device has the extended (4096-byte) config space, as the kernel decides.</summary>
        public bool HasExtendedSpace => ExpressOffset >= 0 || PciXMode2;

        /// <summary>True for root ports, switch ports and root complex event collectors (they have the port-only registers).</summary>
        public bool IsPort => ExpressOffset >= 0
            && (ExpressType == ExpressTypeRootPort || ExpressType == ExpressTypeUpstreamPort || ExpressType == ExpressTypeDownstreamPort || ExpressType == ExpressTypeRootComplexEventCollector);

        /// <summary>Reads the context from the header and the standard capabilities found (offset, ID).</summary>
        public static DeviceContext From(ReadOnlySpan<byte> config, List<(int Offset, int Id)> standard)
        {
            int headerType = config[0x0E] & 0x7F;
            int expressOffset = -1;
            bool pciXMode2 = false;
            foreach ((int offset, int id) in standard)
            {
                if (id == CapabilityIds.PciExpress && expressOffset < 0)
                {
                    expressOffset = offset;
                }
                else if (id == CapabilityIds.PciX && headerType == 0 && (CapabilityWalker.ReadDword(config, offset + 4) & PciXStatus266Or533) != 0)
                {
                    pciXMode2 = true;
                }
            }

            if (expressOffset < 0)
            {
                return new DeviceContext(headerType, -1, 0, 0, 0, false, pciXMode2);
            }

            int flags = CapabilityWalker.ReadWord(config, expressOffset + 2);
            int version = flags & 0xF;
            int type = (flags >> 4) & 0xF;
            int width = (int)((CapabilityWalker.ReadDword(config, expressOffset + 0x0C) >> 4) & 0x3F);
            bool prefix = version >= 2 && (CapabilityWalker.ReadDword(config, expressOffset + 0x24) & DeviceCapabilities2EndEndTlpPrefix) != 0;
            return new DeviceContext(headerType, expressOffset, version, type, width, prefix, pciXMode2);
        }
    }

    /// <summary>
    /// Structural lengths of capabilities, from <c>pci_regs.h</c>, the PCI/PCIe specifications and the kernel's
    /// <c>vfio_cap_len</c>/<c>vfio_ext_cap_len</c>. Null means "no structure known": the walker then gives the
    /// capability everything up to the next one.
    /// </summary>
    internal static class CapabilityLengths
    {
        private const int MsiFlags64Bit = 0x0080;
        private const int MsiFlagsPerVectorMask = 0x0100;

        /// <summary>Length of the standard capability with <paramref name="id"/> at <paramref name="offset"/>.</summary>
        public static int? Standard(ReadOnlySpan<byte> config, int offset, int id, DeviceContext context)
        {
            switch (id)
            {
                case 0x00: return 4; // a null entry: just ID and next pointer (PCI_CAP_SIZEOF)
                case 0x01: return 8; // PM: PCI_PM_SIZEOF
                case 0x02: return 12; // AGP: PCI_AGP_SIZEOF
                case 0x03: return 8; // VPD: PCI_CAP_VPD_SIZEOF
                case 0x04: return 4; // Slot ID: expansion slot and chassis bytes
                case 0x05: return MsiLength(CapabilityWalker.ReadWord(config, offset + 2));
                case 0x06: return 4; // CompactPCI hot-swap: one control/status byte
                case 0x07: return PciXLength(config, offset, context);
                case 0x08: return HyperTransportLength(config[offset + 3]);
                case 0x09: return VendorLength(config[offset + 2]);
                case 0x0A: return 4; // debug port: offset word
                case 0x0C: return 8; // SHPC: dword select + data
                case 0x0D: return 8; // SSVID: subsystem vendor and device
                case 0x10: return ExpressLength(context);
                case 0x11: return 12; // MSI-X: PCI_CAP_MSIX_SIZEOF
                case 0x12: return (config[offset + 4] & 0x0F) == 0x0F ? 16 : 8; // SATA: PCI_SATA_SIZEOF_LONG/SHORT
                case 0x13: return 6; // AF: PCI_CAP_AF_SIZEOF
                case 0x14: return EnhancedAllocationLength(config, offset, context);
                default: return null;
            }
        }

        /// <summary>Length of the extended capability with <paramref name="id"/> at <paramref name="offset"/>.</summary>
        public static int? Extended(ReadOnlySpan<byte> config, int offset, int id, int version, DeviceContext context)
        {
            switch (id)
            {
                case 0x00: return 4; // null/placeholder: the header alone
                case 0x01: return context.EndEndTlpPrefix ? 0x48 : 0x38; // AER, with the TLP Prefix Log when prefixes are supported
                case 0x02:
                case 0x08:
                case 0x09: return VirtualChannelLength(config, offset);
                case 0x03: return 12; // DSN: PCI_EXT_CAP_DSN_SIZEOF
                case 0x04: return 16; // power budgeting: PCI_EXT_CAP_PWR_SIZEOF
                case 0x05: return 0x10 + (0x10 * config[offset + 5]); // RC link declaration: 16-byte link entries
                case 0x07: return version >= 2 ? 12 : 8; // RC event collector association (v2 adds bus numbers)
                case 0x0B: return LengthField(CapabilityWalker.ReadDword(config, offset + 4), 8); // VSEC
                case 0x0D: return AcsLength(config, offset);
                case 0x0E: return 8; // ARI
                case 0x0F: return 8; // ATS
                case 0x10: return 0x40; // SR-IOV: PCI_EXT_CAP_SRIOV_SIZEOF
                case 0x12: return context.IsPort ? 0x30 : 0x28; // multicast: ports add the overlay BAR
                case 0x13: return 0x10; // PRI
                case 0x15:
                case 0x24: return ResizableBarLength(config[offset + 8]);
                case 0x16: return 16 + (config[offset + 4] & 0x1F) + 1; // DPA: base + one byte per substate
                case 0x17: return TphLength(CapabilityWalker.ReadDword(config, offset + 4));
                case 0x18: return 8; // LTR
                case 0x19: return PerLane(context, 0x0C, 2); // secondary PCIe: lane equalization, 2 bytes a lane
                case 0x1B: return 8; // PASID
                case 0x1C: return 8; // LN requester
                case 0x1D: return DpcLength(CapabilityWalker.ReadWord(config, offset + 4));
                case 0x1E: return 0x10; // L1 PM substates
                case 0x1F: return 0x0C; // PTM
                case 0x22: return 0x0C; // readiness time reporting
                case 0x23: return LengthField(CapabilityWalker.ReadDword(config, offset + 4), 0x0A); // DVSEC
                case 0x25: return 0x0C; // data link feature
                case 0x26: return PerLane(context, 0x20, 1); // 16 GT/s: lane equalization, a byte a lane
                case 0x27: return PerLane(context, 0x08, 4); // lane margining: 4 bytes a lane
                case 0x29: return 0x10; // NPEM
                case 0x2A: return PerLane(context, 0x20, 1); // 32 GT/s
                case 0x2E: return 0x18; // DOE
                case 0x2F: return 0x0C; // Device 3
                case 0x31: return PerLane(context, 0x10, 1); // 64 GT/s
                default: return null;
            }
        }

        private static int MsiLength(int flags)
        {
            // 10, 14, 20 or 24 bytes: the 64-bit address adds 4, per-vector masking adds mask and pending (plus padding).
            int length = (flags & MsiFlags64Bit) != 0 ? 14 : 10;
            if ((flags & MsiFlagsPerVectorMask) != 0)
            {
                length += 10;
            }

            return length;
        }

        private static int PciXLength(ReadOnlySpan<byte> config, int offset, DeviceContext context)
        {
            if (context.HeaderType == 1)
            {
                return 16; // bridge: secondary status, bridge status, split transaction controls
            }

            // PCI_X_CMD_VERSION: version 1 and 2 devices have the ECC registers (PCI_CAP_PCIX_SIZEOF_V2).
            int command = CapabilityWalker.ReadWord(config, offset + 2);
            return ((command >> 12) & 3) != 0 ? 24 : 8;
        }

        private static int? HyperTransportLength(byte type)
        {
            if ((type & 0xE0) == 0x00)
            {
                return 28; // slave/primary interface: HT_CAP_SIZEOF_LONG
            }

            if ((type & 0xE0) == 0x20)
            {
                return 24; // host/secondary interface: HT_CAP_SIZEOF_SHORT
            }

            if ((type & 0xF8) == 0xA8)
            {
                return 12; // MSI mapping: flags and a 64-bit address
            }

            return null;
        }

        private static int? VendorLength(byte declared) => declared >= 3 ? declared : (int?)null;

        private static int ExpressLength(DeviceContext context)
        {
            // Registers that exist for the device/port type, as the kernel sizes them (PCI_CAP_EXP_*_SIZEOF_*),
            // but with the slot and root registers of ports kept (root/downstream ports and event collectors).
            const int RootComplexIntegratedEndpoint = 9;
            bool hasRootOrSlot = context.ExpressType == 4 || context.ExpressType == 6 || context.ExpressType == 10;
            if (context.ExpressVersion <= 1)
            {
                return context.ExpressType == RootComplexIntegratedEndpoint ? 0x0C : hasRootOrSlot ? 0x24 : 0x14;
            }

            return context.ExpressType == RootComplexIntegratedEndpoint ? 0x2C : hasRootOrSlot ? 0x3C : 0x34;
        }

        private static int EnhancedAllocationLength(ReadOnlySpan<byte> config, int offset, DeviceContext context)
        {
            int entries = config[offset + 2] & 0x3F;
            int position = offset + 4 + (context.HeaderType == 1 ? 4 : 0); // bridges add the fixed bus numbers dword
            for (int i = 0; i < entries && position + 4 <= config.Length; i++)
            {
                int entrySize = config[position] & 0x07; // dwords after the entry's first
                position += 4 * (1 + entrySize);
            }

            return position - offset;
        }

        private static int? LengthField(uint dword, int minimum)
        {
            int length = (int)(dword >> 20);
            return length >= minimum ? length : (int?)null;
        }

        private static int VirtualChannelLength(ReadOnlySpan<byte> config, int offset)
        {
            // As the kernel's vfio_vc_cap_len: base, one resource block per VC, then the VC arbitration table.
            int extendedVcCount = (int)(CapabilityWalker.ReadDword(config, offset + 4) & 0x7);
            uint capabilities2 = CapabilityWalker.ReadDword(config, offset + 8);
            int phases = (capabilities2 & 0x8) != 0 ? 128 : (capabilities2 & 0x4) != 0 ? 64 : (capabilities2 & 0x2) != 0 ? 32 : 0;
            int length = 0x10 + ((1 + extendedVcCount) * 0x0C);
            if (phases != 0)
            {
                length = ((length + 15) / 16 * 16) + (phases * 4 / 8);
            }

            return length;
        }

        private static int AcsLength(ReadOnlySpan<byte> config, int offset)
        {
            const int EgressControl = 0x20;
            if ((config[offset + 4] & EgressControl) == 0)
            {
                return 8;
            }

            int bits = config[offset + 5];
            bits = bits == 0 ? 256 : (bits + 31) / 32 * 32;
            return 8 + (bits / 8);
        }

        private static int? ResizableBarLength(byte control)
        {
            int bars = (control & 0xE0) >> 5;
            return bars >= 1 && bars <= 6 ? 4 + (8 * bars) : (int?)null;
        }

        private static int TphLength(uint capabilities)
        {
            const uint LocationMask = 0x600;
            const uint LocationInCapability = 0x200;
            if ((capabilities & LocationMask) == LocationInCapability)
            {
                int tableSize = (int)((capabilities >> 16) & 0x7FF);
                return 0x0C + (tableSize * 2) + 2;
            }

            return 0x0C;
        }

        private static int DpcLength(int capabilities)
        {
            const int RootPortExtensions = 0x20;
            if ((capabilities & RootPortExtensions) == 0)
            {
                return 0x0C;
            }

            // RP PIO log: header log, ImpSpec log and TLP prefix log, "RP PIO Log Size" dwords from 0x20 (at least 4).
            int logDwords = ((capabilities >> 8) & 0xF) | ((capabilities >> 8) & 0x10);
            return 0x20 + (4 * Math.Max(4, logDwords));
        }

        private static int? PerLane(DeviceContext context, int fixedPart, int bytesPerLane)
        {
            if (context.MaxLinkWidth == 0)
            {
                return null;
            }

            return fixedPart + ((context.MaxLinkWidth * bytesPerLane) + 3) / 4 * 4;
        }
    }
}
