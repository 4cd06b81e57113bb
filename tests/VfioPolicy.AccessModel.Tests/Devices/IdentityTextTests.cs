using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    /// <summary>Identities print as a match line writes them, in hex with the field's width, not as record decimals.</summary>
    public sealed class IdentityTextTests
    {
        [Fact]
        public void A_device_identity_prints_as_the_match_line_that_selects_it()
        {
            var edu = new DeviceIdentity(0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00, 0x10);

            Assert.Equal("vendor 0x1234 device 0x11e8 subsystem-vendor 0x1af4 subsystem 0x1100 class 0x00ff00 revision 0x10", edu.ToString());
        }

        [Theory]
        [InlineData(MatchField.Vendor, 0x8086u, 0xffffu, "vendor 0x8086")]
        [InlineData(MatchField.Device, 0x0005u, 0xffffu, "device 0x0005")]
        [InlineData(MatchField.Class, 0x020000u, 0xff0000u, "class 0x020000 mask 0xff0000")]
        [InlineData(MatchField.Revision, 0x2u, 0xffu, "revision 0x02")]
        public void A_match_criterion_prints_in_its_own_syntax(MatchField field, uint value, uint mask, string expected)
            => Assert.Equal(expected, new MatchCriterion(field, value, mask).ToString());
    }
}
