using VfioPolicy.AccessModel.Model;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>Equivalent spellings lower to the identical model (origins aside), as libpcap's alias tests do for filters.</summary>
    public sealed class AliasTests
    {
        private static void AssertSameModel(params string[] spellings)
        {
            PolicyModel expected = ModelWithoutOrigins.Strip(CompileModel(spellings[0]));
            for (int i = 1; i < spellings.Length; i++)
            {
                Assert.Equal(expected, ModelWithoutOrigins.Strip(CompileModel(spellings[i])));
            }
        }

        [Fact]
        public void Register_by_name_by_offset_and_width_or_both()
        {
            AssertSameModel(
                Policy("header {", "  register COMMAND passthrough ro", "}"),
                Policy("header {", "  register 0x04 u16 COMMAND passthrough ro", "}"),
                Policy("header {", "  register 0x04 u16 passthrough ro", "}"));
        }

        [Fact]
        public void Field_by_name_or_by_bit()
        {
            AssertSameModel(
                Policy("header {", "  register COMMAND {", "    field MEMORY virtualize rw", "  }", "}"),
                Policy("header {", "  register COMMAND {", "    bit 1 virtualize rw", "  }", "}"),
                Policy("header {", "  register COMMAND {", "    bit 1 MEMORY virtualize rw", "  }", "}"),
                Policy("header {", "  register COMMAND {", "    bits 1..1 virtualize rw", "  }", "}"));
        }

        [Fact]
        public void Numbers_in_hex_decimal_or_binary()
        {
            AssertSameModel(
                Policy("header {", "  register 0x10 u32 deny 0xff", "}"),
                Policy("header {", "  register 16 u32 deny 255", "}"),
                Policy("header {", "  register 0b1_0000 u32 deny 0b1111_1111", "}"),
                Policy("header {", "  register BASE_ADDRESS_0 deny 0x00_ff", "}"));
        }

        [Fact]
        public void Comments_blank_lines_and_the_order_of_independent_blocks()
        {
            AssertSameModel(
                Policy("header {", "  register COMMAND passthrough ro", "}", "capability 0x09 {", "  register 0x04 u32 passthrough ro", "}"),
                Policy("# vendor block first", "", "capability VNDR {   # by name", "  register 0x04 u32 passthrough ro", "", "}", "", "header {", "  # the command register", "  register COMMAND passthrough ro", "}"));
        }

        [Fact]
        public void Catalogue_conditions_or_the_same_conditions_written_out()
        {
            AssertSameModel(
                Policy("capability MSI {", "  register MASK_32 deny 0", "}"),
                Policy("capability MSI {", "  register 0x0c u32 when FLAGS.MASKBIT = 1, FLAGS.ADDR_64 = 0 deny 0", "}"),
                Policy("capability MSI {", "  register MASK_32 when FLAGS.ADDR_64 = 0 deny 0", "}"),
                Policy("capability 0x05 {", "  register 0x0c u32 MASK_32 deny 0", "}"));
        }

        [Fact]
        public void Implicit_initial_values_and_deny_values()
        {
            AssertSameModel(
                Policy("header {", "  register COMMAND virtualize rw", "  register STATUS deny", "}"),
                Policy("header {", "  register COMMAND virtualize rw init hw", "  register STATUS deny 0", "}"));
        }

        [Fact]
        public void One_register_split_across_declarations_or_files()
        {
            string inOne = Policy("header {", "  register COMMAND passthrough ro {", "    bit 2 passthrough rw", "  }", "}");
            string split = Policy("header {", "  register COMMAND {", "    bits 0..1 passthrough ro", "    bit 2 passthrough rw", "  }", "}", "header {", "  register COMMAND {", "    bits 3..15 passthrough ro", "  }", "}");
            PolicyModel one = ModelWithoutOrigins.Strip(CompileModel(inOne));
            PolicyModel two = ModelWithoutOrigins.Strip(CompileModel(split));

            // Same bits and actions: the register line of the first spelling covers bits 0..1 and 3..15, as two pieces.
            Assert.Equal(one.Header[0].Rules.Count, two.Header[0].Rules.Count);
            Assert.Equal(one, two);
        }
    }
}
