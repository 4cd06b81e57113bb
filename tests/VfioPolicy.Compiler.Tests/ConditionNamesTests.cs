using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Binding;
using Xunit;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>
    /// How a register condition is spelled back for diagnostics and diffs: by the catalogue's field names when it tests
    /// whole fields of one catalogue register, else in its raw form. MSI's FLAGS (+0x02 u16) has ENABLE (bit 0), QMASK
    /// (1..3), QSIZE (4..6), ADDR_64 (7) and MASKBIT (8).
    /// </summary>
    public sealed class ConditionNamesTests
    {
        private static readonly BlockCatalog Msi = RegisterCatalog.FindCapability(0x05, false)!;

        private static string Describe(params RegisterCondition[] conditions) => ConditionNames.Describe(conditions.ToEquatableArray(), Msi);

        [Theory]
        [InlineData(0x0080u, 0x0080u, false, "FLAGS.ADDR_64 = 1")]
        [InlineData(0x0070u, 0x0050u, false, "FLAGS.QSIZE = 0x5")]
        [InlineData(0x00F0u, 0x00D0u, false, "FLAGS.QSIZE = 0x5, FLAGS.ADDR_64 = 1")]
        [InlineData(0x000Eu, 0x0002u, true, "FLAGS.QMASK != 1")]
        [InlineData(0x0030u, 0x0010u, false, "[0x02 u16] & 0x30 = 0x10")]
        [InlineData(0x0081u, 0x0001u, true, "[0x02 u16] & 0x81 != 0x1")]
        [InlineData(0x0101u, 0x0100u, false, "FLAGS.ENABLE = 0, FLAGS.MASKBIT = 1")]
        public void Whole_fields_are_named_and_anything_else_stays_raw(uint mask, uint value, bool notEqual, string expected)
            => Assert.Equal(expected, Describe(new RegisterCondition(0x02, 2, mask, value, notEqual)));

        [Fact]
        public void Conditions_that_are_not_whole_fields_or_have_no_catalogue_stay_raw_and_come_out_in_order()
        {
            Assert.Equal("[0x04 u32] & 0x1 = 0x1", Describe(new RegisterCondition(0x04, 4, 1, 1)));
            Assert.Equal("[0x02 u16] & 0x80 = 0x80", ConditionNames.Describe(new[] { new RegisterCondition(0x02, 2, 0x80, 0x80) }.ToEquatableArray(), null));
            Assert.Equal(
                "FLAGS.ADDR_64 = 0, [0x04 u32] & 0x1 = 0x1, [0x04 u32] & 0x2 = 0x0",
                Describe(new RegisterCondition(0x04, 4, 2, 0), new RegisterCondition(0x04, 4, 1, 1), new RegisterCondition(0x02, 2, 0x80, 0)));
        }
    }
}
