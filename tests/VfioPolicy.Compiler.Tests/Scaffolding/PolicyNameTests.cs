using VfioPolicy.Compiler.Scaffolding;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Scaffolding
{
    /// <summary>init names a policy after the device lspci names, not after its IDs.</summary>
    public sealed class PolicyNameTests
    {
        private static byte[] Config(ushort vendor, ushort device)
        {
            var config = new byte[256];
            config[0] = (byte)vendor;
            config[1] = (byte)(vendor >> 8);
            config[2] = (byte)device;
            config[3] = (byte)(device >> 8);
            return config;
        }

        [Theory]
        [InlineData("Ethernet controller: Intel Corporation 82574L Gigabit Network Connection", "intel-82574l-gigabit-network-connection")]
        [InlineData("VGA compatible controller: Advanced Micro Devices, Inc. [AMD/ATI] Fiji [Radeon R9 FURY / NANO Series] (rev c1)", "advanced-micro-devices-fiji")]
        [InlineData("Non-Volatile memory controller: Red Hat, Inc. QEMU NVM Express Controller (rev 02) (prog-if 02 [NVM Express])", "red-hat-qemu-nvm-express-controller")]
        [InlineData("Non-Volatile memory controller: Red Hat, Inc. QEMU NVM Express Controller (virtual function) (SR-IOV virtual function of 06:00.0, as vfio-pci presents it)", "red-hat-qemu-nvm-express-controller")]
        public void The_name_comes_from_the_device_lspci_names(string description, string expected)
            => Assert.Equal(expected, PolicyScaffolder.PolicyName(Config(0x8086, 0x10d3), description));

        [Theory]
        [InlineData("Unclassified device [00ff]: Device [1234:11e8] (rev 10)")]
        [InlineData(null)]
        [InlineData("")]
        public void A_title_that_names_no_device_falls_back_to_the_ids(string? description)
            => Assert.Equal("1234-11e8", PolicyScaffolder.PolicyName(Config(0x1234, 0x11e8), description));

        [Fact]
        public void A_long_name_is_cut_at_a_word_boundary_within_60_characters()
        {
            string name = PolicyScaffolder.PolicyName(Config(1, 2), "Class: " + string.Join(" ", System.Linq.Enumerable.Repeat("abcdefghij", 9)));
            Assert.True(name.Length <= 60, name);
            Assert.False(name.EndsWith('-'));
        }
    }
}
