using System.Linq;
using VfioPolicy.AccessModel.Pci;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    public sealed class CapabilityIdsTests
    {
        [Theory]
        [InlineData(0x01, false, "PM", "Power Management")]
        [InlineData(0x05, false, "MSI", "MSI")]
        [InlineData(0x10, false, "EXP", "Express")]
        [InlineData(0x11, false, "MSIX", "MSI-X")]
        [InlineData(0x13, false, "AF", "PCI Advanced Features")]
        [InlineData(0x14, false, "EA", "Enhanced Allocation (EA)")]
        [InlineData(0x01, true, "ERR", "Advanced Error Reporting")]
        [InlineData(0x03, true, "DSN", "Device Serial Number")]
        [InlineData(0x0B, true, "VNDR", "Vendor Specific Information")]
        [InlineData(0x10, true, "SRIOV", "Single Root I/O Virtualization (SR-IOV)")]
        [InlineData(0x1E, true, "L1SS", "L1 PM Substates")]
        [InlineData(0x23, true, "DVSEC", "Designated Vendor-Specific")]
        [InlineData(0x2A, true, "PL_32GT", "Physical Layer 32.0 GT/s")]
        public void names_follow_pci_regs_and_lspci(int id, bool extended, string shortName, string displayName)
        {
            Assert.Equal(shortName, CapabilityIds.ShortName(id, extended));
            Assert.Equal(displayName, CapabilityIds.DisplayName(id, extended));
        }

        [Fact]
        public void every_id_pci_regs_defines_has_a_name_that_parses_back()
        {
            int[] standard = Enumerable.Range(0x01, 0x14).ToArray();
            int[] extended = Enumerable.Range(0x01, 0x1F).Concat(new[] { 0x23, 0x24, 0x25, 0x26, 0x29, 0x2A, 0x2E, 0x2F, 0x30, 0x31 }).ToArray();

            foreach ((int[] ids, bool isExtended) in new[] { (standard, false), (extended, true) })
            {
                foreach (int id in ids)
                {
                    string? name = CapabilityIds.ShortName(id, isExtended);
                    Assert.NotNull(name);
                    Assert.True(CapabilityIds.TryParseShortName(name!, isExtended, out int parsed));
                    Assert.Equal(id, parsed);
                }
            }
        }

        [Fact]
        public void unknown_ids_have_no_short_name_and_a_numeric_display_name()
        {
            Assert.Null(CapabilityIds.ShortName(0x1002, true));
            Assert.Equal("Extended Capability ID 0x1002", CapabilityIds.DisplayName(0x1002, true));
            Assert.Equal("Capability ID 0x42", CapabilityIds.DisplayName(0x42, false));
        }

        [Fact]
        public void parsing_accepts_any_case_and_the_header_prefix_but_not_the_other_chain()
        {
            Assert.True(CapabilityIds.TryParseShortName("msix", false, out int msix));
            Assert.Equal(0x11, msix);
            Assert.True(CapabilityIds.TryParseShortName("PCI_EXT_CAP_ID_ERR", true, out int aer));
            Assert.Equal(0x01, aer);
            Assert.False(CapabilityIds.TryParseShortName("ERR", false, out _));
            Assert.False(CapabilityIds.TryParseShortName("NOPE", true, out int none));
            Assert.Equal(-1, none);
        }
    }
}
