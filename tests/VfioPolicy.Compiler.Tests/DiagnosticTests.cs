using System;
using System.Linq;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Syntax;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>One test per compiler diagnostic: ID, severity, line, column and the exact message.</summary>
    public sealed class DiagnosticTests
    {
        [Fact]
        public void VP0101_unknown_capability_name()
        {
            CompilationResult result = Compile(Policy("capability FOO {", "}"));
            AssertOne(result, "VP0101", "p.vfiopolicy(7,12): error VP0101: unknown capability 'FOO'; names are the PCI_CAP_ID_* suffixes (PM, MSI, EXP, MSIX…) or a number");
            Assert.Null(result.Model);
        }

        [Fact]
        public void Unknown_names_suggest_what_was_probably_meant()
        {
            AssertOne(Compile(Policy("capability SRIOV {", "}")), "VP0101", "p.vfiopolicy(7,12): error VP0101: unknown capability 'SRIOV'; names are the PCI_CAP_ID_* suffixes (PM, MSI, EXP, MSIX…) or a number; SRIOV is an extended capability: write 'extended-capability SRIOV'");
            AssertOne(Compile(Policy("extended-capability ERRR {", "}")), "VP0101", "p.vfiopolicy(7,21): error VP0101: unknown extended capability 'ERRR'; names are the PCI_EXT_CAP_ID_* suffixes (ERR, DSN, ACS…) or a number; did you mean 'ERR'?");
            AssertOne(Compile(Policy("capability PM {", "  register PMCSR passthrough ro", "}")), "VP0102", "p.vfiopolicy(8,12): error VP0102: unknown register 'PMCSR' in capability PM; see docs/catalogue.md for the registers of capability PM; did you mean 'CTRL'? (PMCSR in the specification)");
            AssertOne(Compile(Policy("header {", "  register COMAND passthrough ro", "}")), "VP0102", "p.vfiopolicy(8,12): error VP0102: unknown register 'COMAND' in the header; see docs/catalogue.md for the registers of the header; did you mean 'COMMAND'?");
            AssertOne(Compile(Policy("header {", "  register STATUS {", "    field CAPLIST passthrough ro", "  }", "}")), "VP0103", "p.vfiopolicy(9,11): error VP0103: register STATUS has no field 'CAPLIST'; did you mean 'CAP_LIST'?");
            AssertOne(Compile(Policy("header {", "  register XYZZY passthrough ro", "}")), "VP0102", "p.vfiopolicy(8,12): error VP0102: unknown register 'XYZZY' in the header; see docs/catalogue.md for the registers of the header");
        }

        [Fact]
        public void VP0101_standard_name_in_extended_block_is_unknown()
        {
            CompilationResult result = Compile(Policy("extended-capability MSI {", "}"));
            AssertOne(result, "VP0101", "p.vfiopolicy(7,21): error VP0101: unknown extended capability 'MSI'; names are the PCI_EXT_CAP_ID_* suffixes (ERR, DSN, ACS…) or a number; MSI is a standard capability: write 'capability MSI'");
        }

        [Fact]
        public void VP0102_unknown_register_name()
        {
            CompilationResult result = Compile(Policy("header {", "  register FOO passthrough rw", "}"));
            AssertOne(result, "VP0102", "p.vfiopolicy(8,12): error VP0102: unknown register 'FOO' in the header; see docs/catalogue.md for the registers of the header");
        }

        [Fact]
        public void VP0102_device_specific_registers_have_no_names()
        {
            CompilationResult result = Compile(Policy("device-specific {", "  register FOO passthrough rw", "}"));
            AssertOne(result, "VP0102", "p.vfiopolicy(8,12): error VP0102: unknown register 'FOO' in the device-specific layout; the device-specific layout has no catalogue registers; declare it as 'register OFFSET WIDTH FOO'");
        }

        [Fact]
        public void VP0103_unknown_field_name()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    field FOO passthrough rw", "  }", "}"));
            AssertOne(result, "VP0103", "p.vfiopolicy(9,11): error VP0103: register COMMAND has no field 'FOO'");
        }

        [Fact]
        public void VP0104_unknown_default_target()
        {
            CompilationResult result = Compile(Policy("default foo deny 0"));
            AssertOne(result, "VP0104", "p.vfiopolicy(7,9): error VP0104: unknown default target 'foo'; expected header, capability, gap or unknown-capability");
        }

        [Fact]
        public void VP0105_unknown_match_field()
        {
            // The grammar only admits the six field keywords; a tree from elsewhere may hold any identifier.
            CompilationResult result = CompileRewritten(Policy("match vendor 0x8086 device 3"), file => ReplaceStatement(file, 6, statement =>
            {
                var match = (MatchStatement)statement;
                MatchCriterionSyntax device = match.Criteria[1];
                return match with { Criteria = new[] { match.Criteria[0], device with { Field = new Identifier("colour", device.Field.Span) } } };
            }));
            AssertOne(result, "VP0105", "p.vfiopolicy(7,21): error VP0105: unknown match field 'colour'; expected vendor, device, subsystem-vendor, subsystem, class or revision");
        }

        [Fact]
        public void VP0106_unknown_access_mode()
        {
            CompilationResult result = CompileRewritten(Policy("header {", "  register COMMAND passthrough ro", "}"), file => ReplaceFirstRegister(file, 6, register =>
                register with { Action = register.Action! with { Mode = new Identifier("rx", register.Action.Mode!.Span) } }));
            AssertOne(result, "VP0106", "p.vfiopolicy(8,32): error VP0106: unknown access mode 'rx'; expected rw, ro or rw1c");
        }

        [Fact]
        public void VP0209_an_action_without_an_access_mode_or_a_passthrough_with_a_value_from_a_tree_built_elsewhere()
        {
            // The grammar always gives passthrough and virtualize a mode and passthrough no value; a tree from elsewhere may not.
            CompilationResult passthrough = CompileRewritten(Policy("header {", "  register COMMAND passthrough ro", "}"), file => ReplaceFirstRegister(file, 6, register =>
                register with { Action = register.Action! with { Mode = null } }));
            AssertOne(passthrough, "VP0209", "p.vfiopolicy(8,20): error VP0209: passthrough needs an access mode: rw or ro");
            CompilationResult virtualize = CompileRewritten(Policy("header {", "  register COMMAND virtualize ro", "}"), file => ReplaceFirstRegister(file, 6, register =>
                register with { Action = register.Action! with { Mode = null } }));
            AssertOne(virtualize, "VP0209", "p.vfiopolicy(8,20): error VP0209: virtualize needs an access mode: rw, ro or rw1c");
            CompilationResult valued = CompileRewritten(Policy("header {", "  register COMMAND passthrough ro", "}"), file => ReplaceFirstRegister(file, 6, register =>
                register with { Action = register.Action! with { InitFromHardware = true } }));
            AssertOne(valued, "VP0209", "p.vfiopolicy(8,20): error VP0209: passthrough takes no value: its bits read the hardware");
        }

        [Fact]
        public void VP0107_unknown_register_width()
        {
            CompilationResult result = CompileRewritten(Policy("device-specific {", "  register 0x40 u32 X passthrough ro", "}"), file => ReplaceFirstRegister(file, 6, register =>
                register with { Register = register.Register with { Width = new Identifier("u64", register.Register.Width!.Span) } }));
            AssertOne(result, "VP0107", "p.vfiopolicy(8,17): error VP0107: unknown register width 'u64'; expected u8, u16 or u32");
        }

        [Fact]
        public void VP0108_register_declared_under_two_names()
        {
            CompilationResult result = Compile(Policy("device-specific {", "  register 0x40 u32 FOO passthrough ro", "  register 0x40 u32 BAR passthrough ro", "}"));
            AssertOne(result, "VP0108", "p.vfiopolicy(9,21): error VP0108: register 0x40 u32 is already named FOO at p.vfiopolicy:8");
        }

        [Fact]
        public void VP0201_offset_not_aligned()
        {
            CompilationResult result = Compile(Policy("device-specific {", "  register 0x42 u32 passthrough ro", "}"));
            AssertOne(result, "VP0201", "p.vfiopolicy(8,12): error VP0201: offset 0x42 is not aligned to the register width (u32)");
        }

        [Fact]
        public void VP0202_header_register_beyond_0x3f()
        {
            CompilationResult result = Compile(Policy("header {", "  register 0x40 u8 X passthrough ro", "}"));
            AssertOne(result, "VP0202", "p.vfiopolicy(8,12): error VP0202: register 0x40 u8 lies outside the header (0x00..0x3f)");
        }

        [Fact]
        public void VP0202_device_specific_register_below_0x40()
        {
            CompilationResult result = Compile(Policy("device-specific {", "  register 0x3c u32 passthrough ro", "}"));
            AssertOne(result, "VP0202", "p.vfiopolicy(8,12): error VP0202: register 0x3c u32 lies outside the device-specific layout (0x40..0xfff)");
        }

        [Fact]
        public void VP0203_catalogue_register_at_the_wrong_offset()
        {
            CompilationResult result = Compile(Policy("header {", "  register 0x06 u16 COMMAND passthrough ro", "}"));
            AssertOne(result, "VP0203", "p.vfiopolicy(8,21): error VP0203: register COMMAND is 0x04 u16 in the catalogue, not 0x06 u16");
        }

        [Fact]
        public void VP0204_one_offset_declared_with_two_widths()
        {
            CompilationResult result = Compile(Policy("device-specific {", "  register 0x40 u32 passthrough ro", "  register 0x40 u16 passthrough ro", "}"));
            AssertOne(result, "VP0204", "p.vfiopolicy(9,12): error VP0204: register at 0x40 is declared u32 at p.vfiopolicy:8, not u16");
        }

        [Fact]
        public void VP0205_bit_outside_the_register()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    bit 16 passthrough ro", "  }", "}"));
            AssertOne(result, "VP0205", "p.vfiopolicy(9,9): error VP0205: bit 16 is outside the 16-bit register COMMAND (bits 0..15)");
        }

        [Fact]
        public void VP0206_reversed_bit_range()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    bits 7..4 passthrough ro", "  }", "}"));
            AssertOne(result, "VP0206", "p.vfiopolicy(9,10): error VP0206: bit range 7..4 is reversed; write the low bit first (4..7)");
        }

        [Fact]
        public void VP0207_value_does_not_fit_the_bits()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    bits 4..7 deny 0x10", "  }", "}"));
            AssertOne(result, "VP0207", "p.vfiopolicy(9,20): error VP0207: value 0x10 does not fit in bits 4..7 (at most 0x0f)");
        }

        [Fact]
        public void VP0207_default_value_is_per_byte()
        {
            CompilationResult result = Compile(Policy("override default gap deny 0x100"));
            AssertOne(result, "VP0207", "p.vfiopolicy(7,27): error VP0207: value 0x100 does not fit in a byte (a default's value is per byte) (at most 0xff)");
        }

        [Fact]
        public void VP0208_bar_index_out_of_range()
        {
            CompilationResult result = Compile(Policy("mirror bar 6 offset 0x88000 size 0x100"));
            AssertOne(result, "VP0208", "p.vfiopolicy(7,12): error VP0208: BAR index 6 is out of range (0..5)");
        }

        [Fact]
        public void VP0208_window_pair_registers_are_aligned_and_apart()
        {
            AssertOne(Compile(Policy("mirror bar 4 address 0x2 data 0x8 base 0x4000 size 0x100")), "VP0208", "p.vfiopolicy(7,22): error VP0208: the address register is 4 bytes: its offset 0x2 must be a multiple of 4");
            AssertOne(Compile(Policy("mirror bar 4 address 0x0 data 0x0 base 0x4000 size 0x100")), "VP0208", "p.vfiopolicy(7,31): error VP0208: the data register overlaps the address register");
            Assert.Empty(Compile(Policy("mirror bar 4 address 0x0 data 0x4 base 0x4000 size 0x100")).Diagnostics);
        }

        [Fact]
        public void VP0209_passthrough_cannot_be_rw1c()
        {
            CompilationResult result = CompileRewritten(Policy("header {", "  register STATUS {", "    bit 15 passthrough rw", "  }", "}"), file => ReplaceFirstRegister(file, 6, register =>
            {
                FieldStatement field = register.Fields[0];
                return register with { Fields = new[] { field with { Action = field.Action with { Mode = new Identifier("rw1c", field.Action.Mode!.Span) } } } };
            }));
            AssertOne(result, "VP0209", "p.vfiopolicy(9,24): error VP0209: passthrough cannot be rw1c: write 'passthrough rw hw-rw1c' for hardware write-1-to-clear bits, or 'virtualize rw1c'");
        }

        [Fact]
        public void VP0210_register_on_the_chain_link()
        {
            CompilationResult result = Compile(Policy("capability PM {", "  register 0x00 u16 passthrough rw", "}"));
            AssertOne(result, "VP0210", "p.vfiopolicy(8,12): error VP0210: register 0x00 u16 lies in the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them");
        }

        [Fact]
        public void VP0210_field_on_the_chain_link()
        {
            CompilationResult result = Compile(Policy("capability PM {", "  register 0x00 u32 {", "    bits 8..23 passthrough ro", "  }", "}"));
            AssertOne(result, "VP0210", "p.vfiopolicy(9,5): error VP0210: bits 8..15 of 0x00 u32 are the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them");
        }

        [Fact]
        public void VP0210_write_hw_with_a_literal_cannot_take_the_chains_value()
        {
            CompilationResult result = Compile(Policy("capability VNDR {", "  register 0x00 u16 virtualize ro write-hw init 0x1234", "}"));
            AssertOne(result, "VP0210", "p.vfiopolicy(8,21): error VP0210: the action of 0x00 u16 would cover only the capability's ID and next pointer, which belong to the chain; only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them");
        }

        [Fact]
        public void Chain_link_actions_that_keep_the_chain_consistent_compile_clean()
        {
            CompilationResult result = Compile(Policy(
                "capability PM {",
                "  register 0x00 u8 ID passthrough ro",
                "}",
                "capability VNDR {",
                "  register 0x00 u16 LINK virtualize ro write-hw",
                "}",
                "extended-capability DVSEC {",
                "  register 0x00 u32 LINK virtualize ro write-hw",
                "}"));
            Assert.Empty(result.Diagnostics);
        }

        [Fact]
        public void VP0209_write_hw_goes_only_with_virtualize_ro()
        {
            CompilationResult result = Compile(Policy("header {", "  register 0x3c u8 INTERRUPT_LINE virtualize rw write-hw", "}"));
            AssertOne(result, "VP0209", "p.vfiopolicy(8,46): error VP0209: write-hw goes with 'virtualize ro': a write cannot both store in the shadow and reach the hardware");
        }

        [Fact]
        public void VP0211_condition_contradicting_the_catalogue()
        {
            CompilationResult result = Compile(Policy("capability MSI {", "  register DATA_32 when FLAGS.ADDR_64 = 1 virtualize rw", "}"));
            AssertOne(result, "VP0211", "p.vfiopolicy(8,25): error VP0211: condition FLAGS.ADDR_64 = 1 contradicts the catalogue's condition on DATA_32, so the register could never exist");
        }

        [Fact]
        public void VP0301_conflict_without_override_names_the_earlier_rule()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND passthrough ro", "  register COMMAND {", "    bit 1 virtualize rw", "  }", "}"));
            AssertOne(result, "VP0301", "p.vfiopolicy(10,5): error VP0301: rule conflicts with 'register COMMAND passthrough ro' (p.vfiopolicy:8) on bit 1 of COMMAND; start this rule with 'override' to replace it");
            Assert.Null(result.Model);
        }

        [Fact]
        public void VP0302_identical_duplicate_is_a_warning()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND passthrough ro", "  register COMMAND {", "    bit 1 passthrough ro", "  }", "}"));
            Diagnostic warning = AssertOne(result, "VP0302", "p.vfiopolicy(10,5): warning VP0302: rule repeats 'register COMMAND passthrough ro' (p.vfiopolicy:8) on bit 1 of COMMAND");
            Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
            Assert.NotNull(result.Model);
        }

        [Fact]
        public void VP0303_override_of_nothing_is_a_warning()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    override bit 1 passthrough ro", "  }", "}"));
            AssertOne(result, "VP0303", "p.vfiopolicy(9,5): warning VP0303: override replaces nothing: no earlier rule covers bit 1 of COMMAND");
            Assert.NotNull(result.Model);
        }

        [Fact]
        public void VP0303_override_default_with_nothing_earlier()
        {
            CompilationResult result = Compile(Lines("override default gap deny 0"));
            AssertDiagnostics(result, "p.vfiopolicy(1,1): warning VP0303: override replaces nothing: no earlier default gap is stated");
        }

        [Fact]
        public void VP0302_default_stated_twice_identically()
        {
            CompilationResult result = Compile(Policy("default gap deny 0"));
            AssertDiagnostics(result, "p.vfiopolicy(7,1): warning VP0302: default gap repeats the one at p.vfiopolicy:5");
            Assert.Equal(5, result.Model!.Defaults.Gap.Origin.Line);
        }

        [Fact]
        public void VP0209_hw_rw1c_on_a_default()
        {
            CompilationResult result = Compile(Policy("override default gap deny 0 hw-rw1c"));
            AssertOne(result, "VP0209", "p.vfiopolicy(7,22): error VP0209: hw-rw1c marks register bits; it is not allowed on defaults and hidden bodies");
        }

        [Fact]
        public void VP0304_rule_shaded_by_a_later_override_in_the_same_file()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    bit 1 passthrough ro", "    override bit 1 virtualize rw", "  }", "}"));
            AssertOne(result, "VP0304", "p.vfiopolicy(9,5): warning VP0304: rule is unreachable: later overrides in this file replace every bit of it (last at p.vfiopolicy:10)");
            Assert.NotNull(result.Model);
        }

        [Fact]
        public void VP0306_rule_partly_shadowed_by_a_later_override_in_the_same_file()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND {", "    bits 0..3 passthrough ro", "    override bit 1 virtualize rw", "  }", "}"));
            AssertOne(result, "VP0306", "p.vfiopolicy(9,5): warning VP0306: rule is partly shadowed: later overrides in this file (p.vfiopolicy:10) replace bit 1 of COMMAND; it decides only bits 0, 2..3");
            Assert.NotNull(result.Model);
        }

        [Fact]
        public void An_override_from_another_file_shadows_nothing_worth_a_warning()
        {
            // A device policy that overrides part of a library rule is what overrides are for.
            CompilationResult result = CompileFiles(
                ("p.vfiopolicy", "policy \"p\"\nmatch any\nextends \"base.vfiopolicy\"\nheader {\n  register COMMAND {\n    override bit 1 virtualize rw\n  }\n}\n"),
                ("base.vfiopolicy", Policy("header {", "  register COMMAND {", "    bits 0..3 passthrough ro", "  }", "}")));
            Assert.Empty(result.Diagnostics);
            Assert.NotNull(result.Model);
        }

        [Fact]
        public void VP0305_overlapping_registers()
        {
            CompilationResult result = Compile(Policy("header {", "  register STATUS passthrough ro", "  register 0x04 u32 passthrough ro", "}"));
            AssertOne(result, "VP0305", "p.vfiopolicy(9,12): error VP0305: register 0x04 u32 overlaps register STATUS (0x06 u16) from p.vfiopolicy:8 in the header; both exist on every device: give them conditions that separate the layouts (when FIELD = V on one, when FIELD != V on the other)");
        }

        [Fact]
        public void VP0401_missing_defaults_are_named()
        {
            CompilationResult result = Compile(Lines("policy \"t\"", "match any", "default gap deny 0"));
            AssertOne(result, "VP0401", "p.vfiopolicy(1,8): error VP0401: policy \"t\" does not state default header, default capability, default unknown-capability; every byte must be covered by a rule or a stated default");
            Assert.Null(result.Model);
        }

        [Fact]
        public void VP0402_default_restated_differently_without_override()
        {
            CompilationResult result = Compile(Policy("default header deny 0"));
            AssertOne(result, "VP0402", "p.vfiopolicy(7,1): error VP0402: default header is already stated differently at p.vfiopolicy:3; write 'override default' to replace it");
        }

        [Fact]
        public void VP0402_capability_hidden_twice_differently()
        {
            CompilationResult result = Compile(Policy("hide capability VPD", "hide capability VPD body deny 0xff"));
            AssertOne(result, "VP0402", "p.vfiopolicy(8,1): error VP0402: hide capability VPD is already stated differently at p.vfiopolicy:7; write 'override hide' to replace it");
        }

        [Fact]
        public void VP0403_only_unknown_capabilities_hide_by_default()
        {
            CompilationResult result = Compile(Policy("override default capability hide"));
            AssertOne(result, "VP0403", "p.vfiopolicy(7,18): error VP0403: only 'default unknown-capability' can hide; 'default capability' cannot (hide a known capability with 'hide capability CAP')");
        }

        [Fact]
        public void VP0404_complete_policy_without_match()
        {
            CompilationResult result = Compile(Lines("policy \"t\"", "default header passthrough ro", "default capability deny 0", "default gap deny 0", "default unknown-capability hide"));
            AssertOne(result, "VP0404", "p.vfiopolicy(1,8): error VP0404: policy \"t\" has no match line; add 'match any' or 'match vendor V device D'");
        }

        [Fact]
        public void VP0405_match_in_a_fragment()
        {
            CompilationResult result = Compile(Lines("match any", "default gap deny 0"));
            AssertOne(result, "VP0405", "p.vfiopolicy(1,1): error VP0405: match needs a policy line: a file without one is a library fragment, and the file that includes it decides what it matches");
        }

        [Fact]
        public void VP0406_policy_named_twice()
        {
            CompilationResult result = Compile(Lines("policy \"t\"", "policy \"u\"", "match any", "default header passthrough ro", "default capability deny 0", "default gap deny 0", "default unknown-capability hide"));
            AssertOne(result, "VP0406", "p.vfiopolicy(2,8): error VP0406: the policy is already named \"t\" at line 1");
        }

        [Fact]
        public void VP0501_missing_include()
        {
            CompilationResult result = Compile(Policy("include \"lib/missing.vfiopolicy\""));
            AssertOne(result, "VP0501", "p.vfiopolicy(7,9): error VP0501: cannot read 'lib/missing.vfiopolicy' (resolved to 'lib/missing.vfiopolicy')");
        }

        [Fact]
        public void VP0502_include_cycle()
        {
            CompilationResult result = CompileFiles(
                ("p.vfiopolicy", Policy("include \"a.vfiopolicy\"")),
                ("a.vfiopolicy", Lines("include \"b.vfiopolicy\"")),
                ("b.vfiopolicy", Lines("", "include \"a.vfiopolicy\"")));
            AssertOne(result, "VP0502", "b.vfiopolicy(2,9): error VP0502: include cycle: a.vfiopolicy -> b.vfiopolicy -> a.vfiopolicy");
        }

        [Fact]
        public void VP0503_extends_of_a_fragment()
        {
            CompilationResult result = CompileFiles(("p.vfiopolicy", Policy("extends \"frag.vfiopolicy\"")), ("frag.vfiopolicy", Lines("default gap deny 0")));
            AssertDiagnostics(
                result,
                "p.vfiopolicy(5,1): warning VP0302: default gap repeats the one at frag.vfiopolicy:1",
                "p.vfiopolicy(7,9): error VP0503: 'frag.vfiopolicy' is a fragment (it has no policy line): use include, not extends");
        }

        [Fact]
        public void VP0504_include_of_a_complete_policy()
        {
            CompilationResult result = CompileFiles(("p.vfiopolicy", Policy("include \"base.vfiopolicy\"")), ("base.vfiopolicy", Lines("policy \"base\"", "match any")));
            AssertOne(result, "VP0504", "p.vfiopolicy(7,9): error VP0504: 'base.vfiopolicy' is a complete policy (it has a policy line): use extends, not include");
        }

        [Fact]
        public void VP0407_block_default_outside_a_capability_block()
        {
            CompilationResult result = Compile(Policy("header {", "  override default deny 0", "}"));
            AssertOne(result, "VP0407", "p.vfiopolicy(8,3): error VP0407: a block default belongs in a capability or extended-capability block; the header has none (its uncovered bytes follow 'default header')");
            Assert.Null(result.Model);
        }

        [Fact]
        public void VP0601_unknown_behavior()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND behavior frob virtualize rw", "}"));
            AssertOne(result, "VP0601", "p.vfiopolicy(8,29): error VP0601: unknown behavior 'frob'; expected bar, rom, command, msi, msix, flr or pm");
        }

        [Fact]
        public void VP0602_behavior_not_allowed_on_the_register()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND behavior bar virtualize rw", "}"));
            AssertOne(result, "VP0602", "p.vfiopolicy(8,29): error VP0602: behavior 'bar' cannot own register COMMAND; in the header it may own BASE_ADDRESS_0, BASE_ADDRESS_1, BASE_ADDRESS_2, BASE_ADDRESS_3, BASE_ADDRESS_4, BASE_ADDRESS_5");
        }

        [Fact]
        public void VP0603_behavior_bound_twice()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND behavior command virtualize rw", "  register COMMAND behavior command", "}"));
            AssertOne(result, "VP0603", "p.vfiopolicy(9,29): error VP0603: register COMMAND already has behavior 'command' from p.vfiopolicy:8; a behavior is bound once");
        }

        [Fact]
        public void VP0604_bar_register_must_not_be_passthrough_writable()
        {
            CompilationResult result = Compile(Policy("header {", "  register BASE_ADDRESS_0 behavior bar passthrough rw", "}"));
            AssertDiagnostics(
                result,
                "p.vfiopolicy(8,36): error VP0604: register BASE_ADDRESS_0 is owned by behavior 'bar', so no bit may be passthrough-writable; bits 0..31 are ('register BASE_ADDRESS_0 behavior bar passthrough rw', p.vfiopolicy:8)",
                "p.vfiopolicy(8,36): error VP0605: behavior 'bar' owns bits 0..31 of BASE_ADDRESS_0, which must be virtualized; bit 0 is 'register BASE_ADDRESS_0 behavior bar passthrough rw' (p.vfiopolicy:8)");
        }

        [Fact]
        public void VP0605_command_owned_bits_must_not_be_denied()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND behavior command deny {", "    bits 0..1 passthrough rw", "  }", "}"));
            AssertOne(result, "VP0605", "p.vfiopolicy(8,29): error VP0605: behavior 'command' owns bits 0..1, 10 of COMMAND, which must be virtualized or passthrough (the behavior observes the written value); bit 10 is 'register COMMAND behavior command deny {' (p.vfiopolicy:8)");
        }

        [Fact]
        public void VP0605_owned_bits_left_to_the_defaults()
        {
            CompilationResult result = Compile(Policy("header {", "  register COMMAND behavior command {", "    bits 0..1 virtualize rw", "  }", "}"));
            AssertOne(result, "VP0605", "p.vfiopolicy(8,29): error VP0605: behavior 'command' owns bits 0..1, 10 of COMMAND, which must be virtualized or passthrough (the behavior observes the written value); bit 10 is left to the defaults");
        }

        [Fact]
        public void VP0605_msi_owned_bits_must_be_virtualized()
        {
            CompilationResult result = Compile(Policy("capability MSI {", "  register FLAGS behavior msi passthrough ro {", "    bit 0 virtualize rw", "  }", "}"));
            AssertOne(result, "VP0605", "p.vfiopolicy(8,27): error VP0605: behavior 'msi' owns bits 0, 4..6 of FLAGS, which must be virtualized; bit 4 is 'register FLAGS behavior msi passthrough ro {' (p.vfiopolicy:8)");
        }

        [Fact]
        public void VP0605_flr_owned_bit_must_be_virtualized_as_the_kernel_does()
        {
            CompilationResult result = Compile(Policy("capability EXP {", "  register DEVCTL behavior flr passthrough rw", "}"));
            AssertOne(result, "VP0605", "p.vfiopolicy(8,28): error VP0605: behavior 'flr' owns bit 15 of DEVCTL, which must be virtualized; bit 15 is 'register DEVCTL behavior flr passthrough rw' (p.vfiopolicy:8)");
        }

        [Theory]
        [InlineData("header {", "  register COMMAND behavior command passthrough rw {", "    field INTX_DISABLE virtualize rw", "  }", "}")]
        [InlineData("header {", "  register COMMAND behavior command passthrough ro", "}")]
        [InlineData("capability PM {", "  register CTRL behavior pm passthrough rw {", "    field STATE passthrough ro", "  }", "}")]
        [InlineData("capability PM {", "  register CTRL behavior pm virtualize rw", "}")]
        public void Command_and_pm_may_observe_passthrough_bits(params string[] lines)
        {
            CompilationResult result = Compile(Policy(lines));
            Assert.Empty(result.Diagnostics);
            Assert.NotNull(result.Model);
        }

        [Fact]
        public void Diagnostics_print_in_the_one_format()
        {
            CompilationResult result = Compile(Policy("capability FOO {", "}"));
            Assert.Equal("p.vfiopolicy(7,12): error VP0101: unknown capability 'FOO'; names are the PCI_CAP_ID_* suffixes (PM, MSI, EXP, MSIX…) or a number", result.Diagnostics[0].ToString());
        }

        /// <summary>Compiles <paramref name="text"/> with its syntax tree changed by <paramref name="rewrite"/> before binding.</summary>
        private static CompilationResult CompileRewritten(string text, Func<PolicyFile, PolicyFile> rewrite)
            => PolicyCompiler.Compile(Path, new InMemoryPolicySource().Add(Path, text), source =>
            {
                ParseResult parsed = PolicyParser.Parse(source);
                Assert.True(parsed.Succeeded, string.Join("\n", parsed.Diagnostics));
                return parsed with { File = rewrite(parsed.File!) };
            });

        private static PolicyFile ReplaceStatement(PolicyFile file, int index, Func<Statement, Statement> change)
            => file with { Statements = file.Statements.Select((statement, i) => i == index ? change(statement) : statement).ToArray() };

        private static PolicyFile ReplaceFirstRegister(PolicyFile file, int blockIndex, Func<RegisterStatement, RegisterStatement> change)
            => ReplaceStatement(file, blockIndex, statement =>
            {
                var block = (BlockStatement)statement;
                return block with { Registers = block.Registers.Select((register, i) => i == 0 ? change(register) : register).ToArray() };
            });
    }
}
