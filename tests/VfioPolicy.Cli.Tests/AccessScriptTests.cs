using System.Collections.Generic;
using VfioPolicy.Cli.Simulation;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    public sealed class AccessScriptTests
    {
        [Fact]
        public void Reads_writes_comments_and_blank_lines_parse_with_their_line_numbers()
        {
            IReadOnlyList<ScriptAccess> accesses = AccessScript.Parse("# header\n\nr 0x10 4\n  w 16 2 0xBEEF   # trailing\r\nw 0x3c 1 255\n", "s");
            Assert.Equal(
                new[]
                {
                    new ScriptAccess(3, 0x10, 4, null, "r 0x10 4", "header"),
                    new ScriptAccess(4, 16, 2, 0xbeef, "w 16 2 0xBEEF"),
                    new ScriptAccess(5, 0x3c, 1, 255, "w 0x3c 1 255"),
                },
                accesses);
        }

        [Fact]
        public void A_four_byte_write_takes_any_32_bit_value()
            => Assert.Equal(0xffffffffu, Assert.Single(AccessScript.Parse("w 0 4 0xffffffff", "s")).Value);

        [Fact]
        public void A_value_over_32_bits_is_rejected()
            => Assert.Equal("s:1: bad value '0x100000000': expected a decimal or 0x-hex number of at most 32 bits", Assert.Throws<ScriptException>(() => AccessScript.Parse("w 0 4 0x100000000", "s")).Message);

        [Fact]
        public void Negative_numbers_are_rejected()
            => Assert.StartsWith("s:1: bad offset '-4'", Assert.Throws<ScriptException>(() => AccessScript.Parse("r -4 4", "s")).Message);

        [Fact]
        public void Zero_length_is_rejected()
            => Assert.Equal("s:1: length must be 1 to 4, got 0", Assert.Throws<ScriptException>(() => AccessScript.Parse("r 0 0", "s")).Message);

        [Fact]
        public void Offsets_beyond_the_device_parse_because_the_firewall_decides_them()
            => Assert.Equal(0x1000, Assert.Single(AccessScript.Parse("r 0x1000 4", "s")).Offset);
    }
}
