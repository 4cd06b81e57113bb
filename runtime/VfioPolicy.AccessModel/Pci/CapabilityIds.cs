using System;
using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.AccessModel.Pci
{
    /// <summary>
    /// Names of PCI capability IDs. The short name is the <c>PCI_CAP_ID_*</c> / <c>PCI_EXT_CAP_ID_*</c> suffix of
    /// <c>linux/pci_regs.h</c> (what policies write); the display name is close to what <c>lspci -vvv</c> prints.
    /// </summary>
    public static class CapabilityIds
    {
        /// <summary>ID of the Power Management capability.</summary>
        public const int PowerManagement = 0x01;

        /// <summary>ID of the MSI capability.</summary>
        public const int Msi = 0x05;

        /// <summary>ID of the PCI-X capability.</summary>
        public const int PciX = 0x07;

        /// <summary>ID of the HyperTransport capability.</summary>
        public const int HyperTransport = 0x08;

        /// <summary>ID of the (standard) Vendor-Specific capability.</summary>
        public const int VendorSpecific = 0x09;

        /// <summary>ID of the Bridge Subsystem Vendor ID capability.</summary>
        public const int BridgeSubsystemId = 0x0D;

        /// <summary>ID of the PCI Express capability.</summary>
        public const int PciExpress = 0x10;

        /// <summary>ID of the MSI-X capability.</summary>
        public const int MsiX = 0x11;

        /// <summary>ID of the Enhanced Allocation capability.</summary>
        public const int EnhancedAllocation = 0x14;

        private sealed record Entry(int Id, string ShortName, string DisplayName);

        // pci_regs.h names first; pciutils' lib/header.h fills the IDs the kernel header does not name (FPB, LNR,
        // M-PCIe, FRS, RTR, LMR, HIER_ID).
        private static readonly Entry[] StandardEntries =
        {
            new(0x00, "NULL", "Null"),
            new(0x01, "PM", "Power Management"),
            new(0x02, "AGP", "AGP"),
            new(0x03, "VPD", "Vital Product Data"),
            new(0x04, "SLOTID", "Slot ID"),
            new(0x05, "MSI", "MSI"),
            new(0x06, "CHSWP", "CompactPCI hot-swap"),
            new(0x07, "PCIX", "PCI-X"),
            new(0x08, "HT", "HyperTransport"),
            new(0x09, "VNDR", "Vendor Specific Information"),
            new(0x0A, "DBG", "Debug port"),
            new(0x0B, "CCRC", "CompactPCI central resource control"),
            new(0x0C, "SHPC", "Hot-plug capable"),
            new(0x0D, "SSVID", "Subsystem"),
            new(0x0E, "AGP3", "AGP3"),
            new(0x0F, "SECDEV", "Secure device"),
            new(0x10, "EXP", "Express"),
            new(0x11, "MSIX", "MSI-X"),
            new(0x12, "SATA", "SATA HBA"),
            new(0x13, "AF", "PCI Advanced Features"),
            new(0x14, "EA", "Enhanced Allocation (EA)"),
            new(0x15, "FPB", "Flattening Portal Bridge"),
        };

        private static readonly Entry[] ExtendedEntries =
        {
            new(0x00, "NULL", "Null"),
            new(0x01, "ERR", "Advanced Error Reporting"),
            new(0x02, "VC", "Virtual Channel"),
            new(0x03, "DSN", "Device Serial Number"),
            new(0x04, "PWR", "Power Budgeting"),
            new(0x05, "RCLD", "Root Complex Link"),
            new(0x06, "RCILC", "Root Complex Internal Link"),
            new(0x07, "RCEC", "Root Complex Event Collector"),
            new(0x08, "MFVC", "Multi-Function Virtual Channel"),
            new(0x09, "VC9", "Virtual Channel"),
            new(0x0A, "RCRB", "Root Complex Register Block"),
            new(0x0B, "VNDR", "Vendor Specific Information"),
            new(0x0C, "CAC", "Config Access Correlation"),
            new(0x0D, "ACS", "Access Control Services"),
            new(0x0E, "ARI", "Alternative Routing-ID Interpretation (ARI)"),
            new(0x0F, "ATS", "Address Translation Service (ATS)"),
            new(0x10, "SRIOV", "Single Root I/O Virtualization (SR-IOV)"),
            new(0x11, "MRIOV", "Multi-Root I/O Virtualization"),
            new(0x12, "MCAST", "Multicast"),
            new(0x13, "PRI", "Page Request Interface (PRI)"),
            new(0x14, "AMD_XXX", "Reserved for AMD"),
            new(0x15, "REBAR", "Physical Resizable BAR"),
            new(0x16, "DPA", "Dynamic Power Allocation"),
            new(0x17, "TPH", "Transaction Processing Hints"),
            new(0x18, "LTR", "Latency Tolerance Reporting"),
            new(0x19, "SECPCI", "Secondary PCI Express"),
            new(0x1A, "PMUX", "Protocol Multiplexing"),
            new(0x1B, "PASID", "Process Address Space ID (PASID)"),
            new(0x1C, "LNR", "LN Requester"),
            new(0x1D, "DPC", "Downstream Port Containment"),
            new(0x1E, "L1SS", "L1 PM Substates"),
            new(0x1F, "PTM", "Precision Time Measurement"),
            new(0x20, "M_PCIE", "PCI Express over M_PHY"),
            new(0x21, "FRS", "FRS Queueing"),
            new(0x22, "RTR", "Readiness Time Reporting"),
            new(0x23, "DVSEC", "Designated Vendor-Specific"),
            new(0x24, "VF_REBAR", "VF Resizable BAR"),
            new(0x25, "DLF", "Data Link Feature"),
            new(0x26, "PL_16GT", "Physical Layer 16.0 GT/s"),
            new(0x27, "LMR", "Lane Margining at the Receiver"),
            new(0x28, "HIER_ID", "Hierarchy ID"),
            new(0x29, "NPEM", "Native PCIe Enclosure Management"),
            new(0x2A, "PL_32GT", "Physical Layer 32.0 GT/s"),
            new(0x2E, "DOE", "Data Object Exchange"),
            new(0x2F, "DEV3", "Device 3"),
            new(0x30, "IDE", "Integrity and Data Encryption"),
            new(0x31, "PL_64GT", "Physical Layer 64.0 GT/s"),
        };

        private static readonly Dictionary<int, Entry> StandardById = IndexById(StandardEntries);
        private static readonly Dictionary<int, Entry> ExtendedById = IndexById(ExtendedEntries);
        private static readonly Dictionary<string, Entry> StandardByName = IndexByName(StandardEntries);
        private static readonly Dictionary<string, Entry> ExtendedByName = IndexByName(ExtendedEntries);

        /// <summary>The <c>pci_regs.h</c> suffix for <paramref name="id"/> (<c>MSIX</c>, <c>ERR</c>), or null for an ID no header names.</summary>
        public static string? ShortName(int id, bool extended)
            => (extended ? ExtendedById : StandardById).TryGetValue(id, out Entry? entry) ? entry.ShortName : null;

        /// <summary>
        /// The human name for <paramref name="id"/>, close to <c>lspci</c>'s (<c>Express</c>, <c>MSI-X</c>,
        /// <c>Advanced Error Reporting</c>); an ID nobody names gets <c>Capability ID 0x..</c> / <c>Extended Capability ID 0x....</c>.
        /// </summary>
        public static string DisplayName(int id, bool extended)
        {
            if ((extended ? ExtendedById : StandardById).TryGetValue(id, out Entry? entry))
            {
                return entry.DisplayName;
            }

            return extended
                ? "Extended Capability ID 0x" + id.ToString("x4", CultureInfo.InvariantCulture)
                : "Capability ID 0x" + id.ToString("x2", CultureInfo.InvariantCulture);
        }

        /// <summary>Every short name of the standard (or extended) chain, in ID order.</summary>
        public static IEnumerable<string> ShortNames(bool extended)
        {
            foreach (Entry entry in extended ? ExtendedEntries : StandardEntries)
            {
                yield return entry.ShortName;
            }
        }

        /// <summary>Finds the ID whose short name is <paramref name="name"/> (case-insensitive; a <c>PCI_CAP_ID_</c>/<c>PCI_EXT_CAP_ID_</c> prefix is accepted).</summary>
        public static bool TryParseShortName(string name, bool extended, out int id)
        {
            id = -1;
            if (name is null)
            {
                return false;
            }

            string trimmed = name.Trim();
            string prefix = extended ? "PCI_EXT_CAP_ID_" : "PCI_CAP_ID_";
            if (trimmed.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                trimmed = trimmed.Substring(prefix.Length);
            }

            if ((extended ? ExtendedByName : StandardByName).TryGetValue(trimmed, out Entry? entry))
            {
                id = entry.Id;
                return true;
            }

            return false;
        }

        private static Dictionary<int, Entry> IndexById(Entry[] entries)
        {
            var index = new Dictionary<int, Entry>();
            foreach (Entry entry in entries)
            {
                index.Add(entry.Id, entry);
            }

            return index;
        }

        private static Dictionary<string, Entry> IndexByName(Entry[] entries)
        {
            var index = new Dictionary<string, Entry>(StringComparer.OrdinalIgnoreCase);
            foreach (Entry entry in entries)
            {
                index.Add(entry.ShortName, entry);
            }

            return index;
        }
    }
}
