using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>
    /// The binder at its edges, each case with every diagnostic it must give and nothing else: the ends of each
    /// block's offsets, mirrors, match field widths, capability IDs, hides and block defaults restated, registers
    /// declared again (width, name), behaviors where they are not allowed, conditions, chain link bits, the aliases a
    /// VP0102 suggests. An erroneous statement binds nothing: a later declaration at the same offset must not meet
    /// what it left behind (a second diagnostic would show it).
    /// </summary>
    public sealed class BindingEdgeTests
    {
        private static void AssertExactly(string[] body, params string[] expected)
        {
            CompilationResult result = Compile(Policy(body));
            AssertDiagnostics(result, expected);
            Assert.Equal(expected.Any(d => d.Contains(": error ")), result.Model == null);
        }

        private static PolicyModel Model(params string[] body) => CompileModel(Policy(body));

        private static string Rules(RegisterModel register)
            => string.Join("; ", register.Rules.Select(r => r.LowBit + ".." + r.HighBit + " " + r.Action.Disposition + " " + r.Action.Write + " " + r.Action.Initial));

        public static IEnumerable<object[]> Errors() => new[]
        {
            // Mirrors: each number against its range, alignment of an address/data pair, and overlap only once the rest is valid.
            Case(new[] { "mirror bar 6 offset 0x3 size 0x1001" },
                "p.vfiopolicy(7,12): error VP0208: BAR index 6 is out of range (0..5)",
                "p.vfiopolicy(7,30): error VP0208: mirror size 0x1001 is out of range (1..4096)"),
            Case(new[] { "mirror bar 6 address 0x0 data 0x2 base 0x4000 size 0x1000" },
                "p.vfiopolicy(7,12): error VP0208: BAR index 6 is out of range (0..5)",
                "p.vfiopolicy(7,31): error VP0208: the data register is 4 bytes: its offset 0x2 must be a multiple of 4"),
            Case(new[] { "mirror bar 0 address 0x2 data 0x4 base 0x4000 size 0" },
                "p.vfiopolicy(7,22): error VP0208: the address register is 4 bytes: its offset 0x2 must be a multiple of 4",
                "p.vfiopolicy(7,52): error VP0208: mirror size 0 is out of range (1..4096)"),
            Case(new[] { "mirror bar 0 address 0x4 data 0x4 base 0x4000 size 0x1000" },
                "p.vfiopolicy(7,31): error VP0208: the data register overlaps the address register"),
            Case(new[] { "mirror bar 6 address 0x4 data 0x4 base 0x4000 size 0x1000" },
                "p.vfiopolicy(7,12): error VP0208: BAR index 6 is out of range (0..5)"),
            Case(new[] { "mirror bar 0 address 0x0 data 0x4 base 0xfffff000 size 0x1000" },
                "p.vfiopolicy(7,40): error VP0208: window base 0xfffff000 is out of range (0..4294963199)"),

            // Match fields and their widths.
            Case(new[] { "match vendor 0x10000 device 0x1 mask 0x1ffff" },
                "p.vfiopolicy(7,14): error VP0207: value 0x10000 does not fit in vendor (16 bits)",
                "p.vfiopolicy(7,38): error VP0207: value 0x1ffff does not fit in the mask of device (16 bits)"),
            Case(new[] { "match class 0x1000000 revision 0x100" },
                "p.vfiopolicy(7,13): error VP0207: value 0x1000000 does not fit in class (24 bits)",
                "p.vfiopolicy(7,32): error VP0207: value 0x100 does not fit in revision (8 bits)"),
            Case(new[] { "match subsystem-vendor 0x10000 subsystem 0x10000 class 0xffffff revision 0xff" },
                "p.vfiopolicy(7,24): error VP0207: value 0x10000 does not fit in subsystem-vendor (16 bits)",
                "p.vfiopolicy(7,42): error VP0207: value 0x10000 does not fit in subsystem (16 bits)"),

            // Capability IDs: a byte, or 16 bits for extended ones; unnamed IDs are named by number.
            Case(new[] { "capability 0x100 {", "}" },
                "p.vfiopolicy(7,12): error VP0208: capability ID 0x100 is out of range (0..255)"),
            Case(new[] { "capability 0xff {", "}", "extended-capability 0xffff {", "}", "extended-capability 0x10000 {", "}" },
                "p.vfiopolicy(11,21): error VP0208: extended capability ID 0x10000 is out of range (0..65535)"),
            Case(new[] { "extended-capability 0x99 {", "  register FOO passthrough ro", "}", "capability 0x99 {", "  register FOO passthrough ro", "}" },
                "p.vfiopolicy(8,12): error VP0102: unknown register 'FOO' in extended capability 0x0099; extended capability 0x0099 has no catalogue registers; declare it as 'register OFFSET WIDTH FOO'",
                "p.vfiopolicy(11,12): error VP0102: unknown register 'FOO' in capability 0x99; capability 0x99 has no catalogue registers; declare it as 'register OFFSET WIDTH FOO'"),

            // Hides and block defaults stated again: the same is a warning, a different one needs override, override of nothing warns.
            Case(new[] { "hide capability MSI", "hide capability MSI", "hide capability MSI body deny 1", "override hide capability MSI body deny 2" },
                "p.vfiopolicy(8,1): warning VP0302: hide capability MSI repeats the one at p.vfiopolicy:7",
                "p.vfiopolicy(9,1): error VP0402: hide capability MSI is already stated differently at p.vfiopolicy:7; write 'override hide' to replace it"),
            Case(new[] { "override hide extended-capability ERR", "hide extended-capability ERR body passthrough ro" },
                "p.vfiopolicy(7,1): warning VP0303: override replaces nothing: no earlier hide extended-capability ERR is stated",
                "p.vfiopolicy(8,1): error VP0402: hide extended-capability ERR is already stated differently at p.vfiopolicy:7; write 'override hide' to replace it"),
            Case(new[] { "hide capability MSI body virtualize ro init 0x100" },
                "p.vfiopolicy(7,45): error VP0207: value 0x100 does not fit in a byte (a default's value is per byte) (at most 0xff)"),
            Case(new[] { "default header passthrough ro hw-rw1c" },
                "p.vfiopolicy(7,16): error VP0209: hw-rw1c marks register bits; it is not allowed on defaults and hidden bodies"),
            Case(new[] { "header {", "  default deny 0", "}" },
                "p.vfiopolicy(8,3): error VP0407: a block default belongs in a capability or extended-capability block; the header has none (its uncovered bytes follow 'default header')"),
            Case(new[] { "device-specific {", "  default deny 0", "}" },
                "p.vfiopolicy(8,3): error VP0407: a block default belongs in a capability or extended-capability block; the device-specific layout has none (its uncovered bytes follow 'default gap')"),
            Case(new[] { "capability MSI {", "  default deny 0", "  default deny 0", "  default deny 1", "  override default deny 2", "}", "capability PM {", "  override default deny 2", "}" },
                "p.vfiopolicy(9,3): warning VP0302: the default of capability MSI repeats the one at p.vfiopolicy:8",
                "p.vfiopolicy(10,3): error VP0402: the default of capability MSI is already stated differently at p.vfiopolicy:8; write 'override default' to replace it",
                "p.vfiopolicy(14,3): warning VP0303: override replaces nothing: no earlier default of capability PM is stated (a block default needs no override to replace 'default capability')"),

            // Actions.
            Case(new[] { "header {", "  register COMMAND virtualize rw1c write-hw", "}" },
                "p.vfiopolicy(8,31): error VP0209: write-hw goes with 'virtualize ro': a write cannot both store in the shadow and reach the hardware"),
            Case(new[] { "header {", "  register COMMAND deny 0x10000", "}" },
                "p.vfiopolicy(8,25): error VP0207: value 0x10000 does not fit in the 16-bit register COMMAND (at most 0xffff)"),
            Case(new[] { "header {", "  register COMMAND virtualize ro init 0x10000 hw-rw1c", "}" },
                "p.vfiopolicy(8,39): error VP0207: value 0x10000 does not fit in the 16-bit register COMMAND (at most 0xffff)"),

            // The ends of each block.
            Case(new[] { "header {", "  register 0x3e u32 X passthrough ro", "}" },
                "p.vfiopolicy(8,12): error VP0202: register 0x3e u32 lies outside the header (0x00..0x3f)"),
            Case(new[] { "device-specific {", "  register 0x3c u32 X passthrough ro", "  register 0xffc u32 Y passthrough ro", "  register 0x1000 u8 Z passthrough ro", "}" },
                "p.vfiopolicy(8,12): error VP0202: register 0x3c u32 lies outside the device-specific layout (0x40..0xfff)",
                "p.vfiopolicy(10,12): error VP0202: register 0x1000 u8 lies outside the device-specific layout (0x40..0xfff)"),
            Case(new[] { "extended-capability ERR {", "  register 0x100 u32 X passthrough ro", "  register 0xefc u32 Y passthrough ro", "  register 0xf00 u32 Z passthrough ro", "}" },
                "p.vfiopolicy(10,12): error VP0202: register 0xf00 u32 lies outside extended capability ERR (0x00..0xeff)"),
            Case(new[] { "capability MSI {", "  register 0xbc u32 X passthrough ro", "  register 0xc0 u8 Y passthrough ro", "}" },
                "p.vfiopolicy(9,12): error VP0202: register 0xc0 u8 lies outside capability MSI (0x00..0xbf)"),

            // A register declared again: its width, its name (the catalogue's when unnamed, the first name given later).
            Case(new[] { "header {", "  register 0x04 u16 X passthrough ro", "  register 0x04 u32 Y passthrough ro", "}" },
                "p.vfiopolicy(9,12): error VP0204: register X is declared u16 at p.vfiopolicy:8, not u32"),
            Case(new[] { "header {", "  register 0x04 u16 passthrough ro", "  register 0x04 u16 CMD2 passthrough ro", "  register 0x04 u16 CMD3 passthrough ro", "}" },
                "p.vfiopolicy(9,21): error VP0108: register 0x04 u16 is already named COMMAND at p.vfiopolicy:8",
                "p.vfiopolicy(10,21): error VP0108: register 0x04 u16 is already named COMMAND at p.vfiopolicy:8"),
            Case(new[] { "device-specific {", "  register 0x40 u32 passthrough ro", "  register 0x40 u32 X passthrough ro", "  register 0x40 u32 Y passthrough ro", "  register 0x40 u16 passthrough ro", "}" },
                "p.vfiopolicy(9,23): warning VP0302: rule repeats 'register 0x40 u32 passthrough ro' (p.vfiopolicy:8) on bits 0..31 of X",
                "p.vfiopolicy(10,21): error VP0108: register 0x40 u32 is already named X at p.vfiopolicy:9",
                "p.vfiopolicy(11,12): error VP0204: register X is declared u32 at p.vfiopolicy:8, not u16"),
            Case(new[] { "device-specific {", "  register 0x40 u32 passthrough ro", "  register 0x40 u16 passthrough ro", "}" },
                "p.vfiopolicy(9,12): error VP0204: register at 0x40 is declared u32 at p.vfiopolicy:8, not u16"),
            Case(new[] { "header {", "  register COMMAND {", "    bits 0..15 deny", "  }", "  register COMMAND passthrough ro", "}" },
                "p.vfiopolicy(11,20): error VP0301: rule conflicts with 'bits 0..15 deny' (p.vfiopolicy:9) on bits 0..15 of COMMAND; start this rule with 'override' to replace it"),

            // Behaviors where their catalogue does not allow them, and twice.
            Case(new[] { "header {", "  register COMMAND behavior flr passthrough ro", "}" },
                "p.vfiopolicy(8,29): error VP0602: behavior 'flr' cannot own register COMMAND; it is not available in the header"),
            Case(new[] { "device-specific {", "  register 0x40 u32 X behavior bar passthrough ro", "}" },
                "p.vfiopolicy(8,32): error VP0602: behavior 'bar' cannot own register X; it is not available in the device-specific layout"),
            Case(new[] { "header {", "  register STATUS behavior command deny", "}" },
                "p.vfiopolicy(8,28): error VP0602: behavior 'command' cannot own register STATUS; in the header it may own COMMAND"),
            Case(new[] { "header {", "  register COMMAND behavior command virtualize rw", "  register COMMAND behavior command virtualize rw", "}" },
                "p.vfiopolicy(9,29): error VP0603: register COMMAND already has behavior 'command' from p.vfiopolicy:8; a behavior is bound once",
                "p.vfiopolicy(9,37): warning VP0302: rule repeats 'register COMMAND behavior command virtualize rw' (p.vfiopolicy:8) on bits 0..15 of COMMAND"),

            // Bits.
            Case(new[] { "header {", "  register COMMAND {", "    bits 3..1 deny", "    bit 16 deny", "    bits 0..16 deny", "  }", "}" },
                "p.vfiopolicy(9,10): error VP0206: bit range 3..1 is reversed; write the low bit first (1..3)",
                "p.vfiopolicy(10,9): error VP0205: bit 16 is outside the 16-bit register COMMAND (bits 0..15)",
                "p.vfiopolicy(11,13): error VP0205: bit 16 is outside the 16-bit register COMMAND (bits 0..15)"),
            Case(new[] { "device-specific {", "  register 0x40 u32 X {", "    field FOO deny", "  }", "}" },
                "p.vfiopolicy(9,11): error VP0103: register X has no field 'FOO' (it has no catalogue entry: write 'bit N' or 'bits L..H')"),

            // Conditions.
            Case(new[] { "capability MSI {", "  register 0x10 u32 X when FLAGS.ADDR_64 = 2 virtualize ro", "}" },
                "p.vfiopolicy(8,44): error VP0207: value 2 does not fit in field FLAGS.ADDR_64 (bit 7)"),
            Case(new[] { "capability MSI {", "  register 0x10 u32 X when FLAGS.QSIZE = 8 virtualize ro", "}" },
                "p.vfiopolicy(8,42): error VP0207: value 8 does not fit in field FLAGS.QSIZE (bits 4..6)"),
            Case(new[] { "capability MSI {", "  register 0x10 u32 X when FOO.BAR = 7 virtualize ro", "  register 0x10 u32 Y when FLAGS.BAR = 7 virtualize ro", "}" },
                "p.vfiopolicy(8,28): error VP0102: unknown register 'FOO' in capability MSI; a condition tests a catalogue register's field",
                "p.vfiopolicy(9,34): error VP0103: register FLAGS has no field 'BAR'"),
            Case(new[] { "capability MSI {", "  register 0x0c u16 X when FLAGS.ADDR_64 = 1, FLAGS.ADDR_64 = 0 deny", "}" },
                "p.vfiopolicy(8,47): error VP0211: condition FLAGS.ADDR_64 = 0 contradicts an earlier condition, so the register could never exist"),

            // The same conditions in another order are the same register.
            Case(new[] { "capability MSI {", "  register 0x0c u16 X when FLAGS.ADDR_64 = 1, FLAGS.QSIZE = 5 deny", "  register 0x0c u32 X when FLAGS.QSIZE = 5, FLAGS.ADDR_64 = 1 deny", "}" },
                "p.vfiopolicy(9,12): error VP0204: register X is declared u16 at p.vfiopolicy:8, not u32"),

            // An unnamed register with conditions is still the one catalogue register there without any.
            Case(new[] { "capability MSI {", "  register 0x02 u16 when FLAGS.ADDR_64 = 1 {", "    bit 16 deny", "  }", "}" },
                "p.vfiopolicy(9,9): error VP0205: bit 16 is outside the 16-bit register FLAGS (bits 0..15)"),

            // Chain link bits: a standard capability's next pointer, an extended one's next pointer, hw-rw1c over the ID.
            Case(new[] { "capability PM {", "  register 0x01 u8 X passthrough ro", "}" },
                "p.vfiopolicy(8,22): error VP0210: the action of X would cover only the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them"),
            Case(new[] { "extended-capability ERR {", "  register 0x03 u8 X passthrough ro", "}" },
                "p.vfiopolicy(8,22): error VP0210: the action of X would cover only the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them"),
            Case(new[] { "extended-capability ERR {", "  register 0x00 u32 X passthrough ro hw-rw1c", "}" },
                "p.vfiopolicy(8,23): error VP0210: the action of X would cover only the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them"),
            Case(new[] { "capability PM {", "  register 0x00 u16 X {", "    bits 8..15 deny", "    bits 8..15 passthrough rw", "  }", "}" },
                "p.vfiopolicy(8,12): error VP0210: register X lies in the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them"),

            // An erroneous statement leaves nothing behind for the next one at its offset to meet.
            Case(new[] { "header {", "  register 0x06 u32 X deny", "  register 0x06 u16 Y deny", "}" },
                "p.vfiopolicy(8,12): error VP0201: offset 0x06 is not aligned to the register width (u32)"),
            Case(new[] { "header {", "  register 0x04 u32 COMMAND deny", "  register 0x04 u16 passthrough ro", "  register 0x04 u32 passthrough ro", "}" },
                "p.vfiopolicy(8,21): error VP0203: register COMMAND is 0x04 u16 in the catalogue, not 0x04 u32",
                "p.vfiopolicy(10,12): error VP0204: register COMMAND is declared u16 at p.vfiopolicy:9, not u32"),
            Case(new[] { "capability MSI {", "  register 0x10 u32 X when FOO.BAR = 1 deny", "  register 0x10 u16 Y deny", "}" },
                "p.vfiopolicy(8,28): error VP0102: unknown register 'FOO' in capability MSI; a condition tests a catalogue register's field"),
            Case(new[] { "header {", "  register COMMAND {", "    bit 16 deny", "    bit 0 passthrough rw", "  }", "}" },
                "p.vfiopolicy(9,9): error VP0205: bit 16 is outside the 16-bit register COMMAND (bits 0..15)"),
            Case(new[] { "mirror bar 0 address 0x2 data 0x4 base 0x4000 size 0x1000" },
                "p.vfiopolicy(7,22): error VP0208: the address register is 4 bytes: its offset 0x2 must be a multiple of 4"),
            Case(new[] { "header {", "  register COMMAND deny 0x10000", "  register COMMAND passthrough ro", "}" },
                "p.vfiopolicy(8,25): error VP0207: value 0x10000 does not fit in the 16-bit register COMMAND (at most 0xffff)"),
            Case(new[] { "header {", "  register COMMAND virtualize ro init 0x10000", "  register COMMAND passthrough ro", "}" },
                "p.vfiopolicy(8,39): error VP0207: value 0x10000 does not fit in the 16-bit register COMMAND (at most 0xffff)"),
            Case(new[] { "capability MSI {", "  register 0x0c u16 X when FLAGS.ADDR_64 = 1, FLAGS.ADDR_64 = 0 deny", "  register 0x0c u32 Y when FLAGS.ADDR_64 = 1 deny", "}" },
                "p.vfiopolicy(8,47): error VP0211: condition FLAGS.ADDR_64 = 0 contradicts an earlier condition, so the register could never exist"),
            Case(new[] { "capability PM {", "  register 0x00 u8 deny", "}" },
                "p.vfiopolicy(8,12): error VP0210: register 0x00 u8 lies in the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them"),
            Case(new[] { "capability PM {", "  register 0x00 u16 X {", "    bits 8..15 deny", "    bits 0..7 passthrough ro", "    bits 8..15 virtualize ro write-hw init hw", "  }", "}" },
                "p.vfiopolicy(9,5): error VP0210: bits 8..15 of X are the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them"),
            Case(new[] { "device-specific {", "  register 0x40 u32 X {", "    field FOO deny", "    bit 0 passthrough rw", "  }", "}" },
                "p.vfiopolicy(9,11): error VP0103: register X has no field 'FOO' (it has no catalogue entry: write 'bit N' or 'bits L..H')"),
            Case(new[] { "header {", "  register COMMAND {", "    bits 0..16 deny", "    bit 2 passthrough rw", "  }", "}" },
                "p.vfiopolicy(9,13): error VP0205: bit 16 is outside the 16-bit register COMMAND (bits 0..15)"),
        };

        private static object[] Case(string[] body, params string[] expected) => new object[] { body, expected };

        [Theory]
        [MemberData(nameof(Errors))]
        public void Gives_exactly_these_diagnostics(string[] body, string[] expected) => AssertExactly(body, expected);

        [Fact]
        public void Valid_mirrors_at_the_ends_of_their_ranges_are_bound_as_written()
        {
            PolicyModel model = Model(
                "mirror bar 0 address 0x8 data 0x4 base 0xffffefff size 0x1000",
                "mirror bar 5 offset 0x100 size 4096",
                "mirror bar 1 offset 0 size 1");
            Assert.Equal(
                new[] { "0 8 4096 4 4294963199", "5 256 4096 - 0", "1 0 1 - 0" },
                model.Mirrors.Select(m => m.Bar + " " + m.Offset + " " + m.Size + " " + (m.DataOffset?.ToString() ?? "-") + " " + m.Base));
        }

        [Fact]
        public void A_match_criterion_without_a_mask_tests_every_bit_of_its_field()
        {
            PolicyModel model = CompileModel(Policy().Replace("match any", "match vendor 0x8086 class 0x020000 revision 0x01 subsystem-vendor 0x1af4 subsystem 0x1100\nmatch device 0x10d3 mask 0xff00"));
            Assert.Equal(
                new[] { "Vendor 0x8086/0xffff Class 0x20000/0xffffff Revision 0x1/0xff SubsystemVendor 0x1af4/0xffff Subsystem 0x1100/0xffff", "Device 0x10d3/0xff00" },
                model.Matches.Select(m => string.Join(" ", m.Criteria.Select(c => c.Field + " 0x" + c.Value.ToString("x") + "/0x" + c.Mask.ToString("x")))));
            Assert.Equal(3, model.Matches[1].Origin.Line);
        }

        [Fact]
        public void Only_the_policys_own_match_lines_count_not_those_of_the_policy_it_extends()
        {
            string root = Lines("policy \"child\"", "extends \"base.vfiopolicy\"");
            CompilationResult result = CompileFiles(("p.vfiopolicy", root), ("base.vfiopolicy", Policy()));
            AssertDiagnostics(result, "p.vfiopolicy(1,8): error VP0404: policy \"child\" has no match line; add 'match any' or 'match vendor V device D'");
        }

        [Fact]
        public void Link_bits_a_register_action_may_cover_are_the_standard_id_byte_and_the_extended_id_and_version()
        {
            RegisterModel Only(params string[] body) => Model(body).Capabilities.Single().Registers.Single();
            Assert.Equal("0..7 Passthrough ReadOnly Literal", Rules(Only("capability PM {", "  register 0x00 u8 X passthrough ro", "}")));
            Assert.Equal("0..7 Passthrough ReadOnly Literal", Rules(Only("capability PM {", "  register 0x00 u16 X passthrough ro", "}")));
            Assert.Equal("0..15 Virtualize WriteHardware Hardware", Rules(Only("capability PM {", "  register 0x00 u16 X virtualize ro write-hw init hw", "}")));
            Assert.Equal("0..19 Passthrough ReadOnly Literal", Rules(Only("extended-capability ERR {", "  register 0x00 u32 X passthrough ro", "}")));
            Assert.Equal("0..15 Passthrough ReadOnly Literal", Rules(Only("extended-capability ERR {", "  register 0x00 u16 X passthrough ro", "}")));
            Assert.Equal("0..3 Passthrough ReadOnly Literal", Rules(Only("extended-capability ERR {", "  register 0x02 u16 X passthrough ro", "}")));
        }

        [Fact]
        public void A_register_action_whose_bits_its_fields_all_take_adds_no_rule()
        {
            RegisterModel command = Model("header {", "  register COMMAND passthrough ro {", "    bits 0..15 deny", "  }", "}").Header.Single();
            Assert.Equal("0..15 Deny ReadOnly Literal", Rules(command));
            Assert.Equal(9, command.Rules.Single().Origin.Line);
        }

        [Fact]
        public void A_field_stated_twice_is_one_field_and_a_whole_register_field_is_all_32_bits()
        {
            CompilationResult twice = Compile(Policy("header {", "  register COMMAND passthrough ro {", "    bit 0 deny", "    bit 0 deny", "  }", "}"));
            AssertDiagnostics(twice, "p.vfiopolicy(10,5): warning VP0302: rule repeats 'bit 0 deny' (p.vfiopolicy:9) on bit 0 of COMMAND");
            Assert.Equal("0..0 Deny ReadOnly Literal; 1..15 Passthrough ReadOnly Literal", Rules(twice.Model!.Header.Single()));
            RegisterModel x = Model("device-specific {", "  register 0x40 u32 X passthrough rw {", "    bits 0..31 deny", "  }", "}").DeviceSpecific.Single();
            Assert.Equal("0..31 Deny ReadOnly Literal", Rules(x));
        }

        [Fact]
        public void A_capability_is_where_its_first_block_is()
        {
            PolicyModel model = Model("capability MSI {", "  register FLAGS passthrough ro", "}", "capability MSI {", "  register 0x04 u32 ADDRESS passthrough ro", "}");
            Assert.Equal(7, model.Capabilities.Single().Origin.Line);
        }

        [Theory]
        [InlineData("capability PM", "PMCSR", "CTRL")]
        [InlineData("capability PM", "PMCS", "CTRL")]
        [InlineData("capability PM", "pmcap", "PMC")]
        [InlineData("capability MSI", "MSGCTL", "FLAGS")]
        [InlineData("capability MSI", "MESSAGE_CONTROL", "FLAGS")]
        [InlineData("capability MSI", "CONTROL", "FLAGS")]
        [InlineData("capability MSIX", "MSGCTL", "FLAGS")]
        [InlineData("capability MSIX", "MESSAGE_CONTROL", "FLAGS")]
        [InlineData("capability MSIX", "CONTROL", "FLAGS")]
        [InlineData("header", "CMD", "COMMAND")]
        [InlineData("header", "STS", "STATUS")]
        [InlineData("header", "BAR0", "BASE_ADDRESS_0")]
        [InlineData("header", "BAR1", "BASE_ADDRESS_1")]
        [InlineData("header", "BAR2", "BASE_ADDRESS_2")]
        [InlineData("header", "BAR3", "BASE_ADDRESS_3")]
        [InlineData("header", "BAR4", "BASE_ADDRESS_4")]
        [InlineData("header", "BAR5", "BASE_ADDRESS_5")]
        [InlineData("header", "ROM", "ROM_ADDRESS")]
        public void An_unknown_register_named_as_the_specification_names_it_suggests_the_catalogues_name(string block, string written, string suggested)
        {
            CompilationResult result = Compile(Policy(block + " {", "  register " + written + " passthrough ro", "}"));
            string where = block == "header" ? "the header" : block;
            Assert.Equal(
                new[] { "p.vfiopolicy(8,12): error VP0102: unknown register '" + written + "' in " + where + "; see docs/catalogue.md for the registers of " + where + "; did you mean '" + suggested + "'? (" + written.ToUpperInvariant() + " in the specification)" },
                result.Diagnostics.Select(d => d.ToString()));
        }
    }
}
