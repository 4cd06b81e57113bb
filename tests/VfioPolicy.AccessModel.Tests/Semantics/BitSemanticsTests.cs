using VfioPolicy.AccessModel.Semantics;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Semantics
{
    /// <summary>The small helpers of the one definition of bit semantics, at their edges (found by mutation testing).</summary>
    public sealed class BitSemanticsTests
    {
        [Theory]
        [InlineData(0x0000_0001u, 0)]
        [InlineData(0x0000_0010u, 4)]
        [InlineData(0x0000_0300u, 8)]
        [InlineData(0x8000_0000u, 31)]
        [InlineData(0xffff_ffffu, 0)]
        [InlineData(0x0000_0000u, 32)] // no bit set: 32, as documented, never 33
        public void The_lowest_set_bit_is_the_audit_event_s_owner_bit(uint mask, int expected)
            => Assert.Equal(expected, BitSemantics.LowestSetBit(mask));

        [Theory]
        [InlineData(1, 0x0000_00ffu)]
        [InlineData(2, 0x0000_ffffu)]
        [InlineData(4, 0xffff_ffffu)]
        public void A_width_mask_covers_exactly_its_bytes(int width, uint expected)
            => Assert.Equal(expected, BitSemantics.WidthMask(width));
    }
}
