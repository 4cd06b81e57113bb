using System.Linq;
using VfioPolicy.AccessModel.Model;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>What the lowered model holds: disjoint bit rules, right-aligned values, conditions, defaults, origins.</summary>
    public sealed class LoweringTests
    {
        [Fact]
        public void Values_are_right_aligned_to_the_bits_a_rule_covers()
        {
            PolicyModel model = CompileModel(Policy("header {", "  register COMMAND {", "    bits 4..7 deny 0x3", "    bits 8..9 virtualize rw init 0b10", "  }", "}"));
            RegisterModel command = Assert.Single(model.Header);
            Assert.Equal(new BitRule(4, 7, null, BitAction.Deny(3), false, new RuleOrigin("p.vfiopolicy", 9, 5, "bits 4..7 deny 0x3")), command.Rules[0]);
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.ReadWrite, InitialValueSource.Literal, 2, false), command.Rules[1].Action);
        }

        [Fact]
        public void A_register_level_value_is_split_across_the_bits_its_fields_leave()
        {
            PolicyModel model = CompileModel(Policy("device-specific {", "  register 0x40 u32 virtualize ro init 0x12345678 {", "    bits 8..15 passthrough ro", "  }", "}"));
            RegisterModel register = Assert.Single(model.DeviceSpecific);
            Assert.Equal(
                new[] { (0, 7, 0x78u), (8, 15, 0u), (16, 31, 0x1234u) },
                register.Rules.Select(r => (r.LowBit, r.HighBit, r.Action.Value)).ToArray());
            Assert.Equal("", register.Name);
            Assert.Equal(0x40, register.Offset);
            Assert.Equal(4, register.Width);
        }

        [Fact]
        public void An_override_splits_the_rule_it_replaces_and_keeps_values_aligned()
        {
            CompilationResult result = Compile(Policy(
                "device-specific {",
                "  register 0x40 u16 deny 0xabcd",
                "  register 0x40 u16 {",
                "    override bits 4..7 passthrough rw",
                "  }",
                "}"));

            // Overriding part of a rule of the same file is allowed, with the partial-shadow warning.
            Assert.Equal("VP0306", Assert.Single(result.Diagnostics).Id);
            PolicyModel model = result.Model!;
            Assert.Equal(
                new[] { (0, 3, 0xdu, 8), (4, 7, 0u, 10), (8, 15, 0xabu, 8) },
                model.DeviceSpecific[0].Rules.Select(r => (r.LowBit, r.HighBit, r.Action.Value, r.Origin.Line)).ToArray());
        }

        [Fact]
        public void Origins_carry_line_column_and_the_rule_text_without_comment()
        {
            PolicyModel model = CompileModel(Policy("header {", "  register COMMAND {   # the command register", "      field MEMORY virtualize rw    # memory enable", "  }", "}"));
            RegisterModel command = model.Header[0];
            Assert.Equal(new RuleOrigin("p.vfiopolicy", 8, 3, "register COMMAND {"), command.Origin);
            BitRule memory = Assert.Single(command.Rules);
            Assert.Equal(new RuleOrigin("p.vfiopolicy", 9, 7, "field MEMORY virtualize rw"), memory.Origin);
            Assert.Equal("MEMORY", memory.Field);
            Assert.Equal((1, 1), (memory.LowBit, memory.HighBit));
        }

        [Fact]
        public void Defaults_carry_their_actions_and_origins()
        {
            PolicyModel model = CompileModel(Policy("override default gap deny 0xff silent"));
            Assert.Equal(new DefaultRule(DefaultTarget.Header, BitAction.PassthroughReadOnly, false, new RuleOrigin("p.vfiopolicy", 3, 1, "default header passthrough ro")), model.Defaults.Header);
            Assert.Equal(new DefaultRule(DefaultTarget.Capability, BitAction.Deny(0), false, new RuleOrigin("p.vfiopolicy", 4, 1, "default capability deny 0")), model.Defaults.Capability);
            Assert.Equal(BitAction.Deny(0xff, silent: true), model.Defaults.Gap.Action);
            Assert.Equal(7, model.Defaults.Gap.Origin.Line);
            Assert.Equal(new DefaultRule(DefaultTarget.UnknownCapability, BitAction.Deny(0), true, new RuleOrigin("p.vfiopolicy", 6, 1, "default unknown-capability hide")), model.Defaults.UnknownCapability);
        }

        [Fact]
        public void Conditions_resolve_through_the_catalogue_and_exclusive_registers_do_not_overlap()
        {
            PolicyModel model = CompileModel(Policy(
                "header {",
                "  register CARDBUS_CIS when STATUS.CAP_LIST = 1 deny 0",
                "  register 0x28 u32 when STATUS.CAP_LIST = 0 passthrough ro",
                "}"));
            Assert.Equal(2, model.Header.Count);
            Assert.Equal(new RegisterCondition(0x06, 2, 0x10, 0x00), Assert.Single(model.Header[0].Conditions));
            Assert.Equal(new RegisterCondition(0x06, 2, 0x10, 0x10), Assert.Single(model.Header[1].Conditions));
            Assert.Equal("CARDBUS_CIS", model.Header[1].Name);
            Assert.Equal(Disposition.Deny, model.Header[1].Rules[0].Action.Disposition);
        }

        [Fact]
        public void The_msi_layouts_share_offsets_without_overlapping()
        {
            PolicyModel model = CompileModel(Policy(
                "capability MSI {",
                "  register MASK_32 deny 0",
                "  register DATA_64 deny 0",
                "  register ADDRESS_HI deny 0",
                "  register DATA_32 deny 0",
                "}"));
            CapabilityModel msi = Assert.Single(model.Capabilities);
            Assert.Equal((false, 0x05, "MSI"), (msi.Extended, msi.Id, msi.Name));
            Assert.Equal(
                new[] { (0x08, 2, "DATA_32"), (0x08, 4, "ADDRESS_HI"), (0x0c, 2, "DATA_64"), (0x0c, 4, "MASK_32") },
                msi.Registers.Select(r => (r.Offset, r.Width, r.Name)).ToArray());
            Assert.Equal(new RegisterCondition(0x02, 2, 0x80, 0x00), Assert.Single(msi.Registers[0].Conditions));
            Assert.Equal(new RegisterCondition(0x02, 2, 0x180, 0x100), Assert.Single(msi.Registers[3].Conditions));
        }

        [Fact]
        public void Registers_that_can_exist_together_overlap()
        {
            CompilationResult result = Compile(Policy(
                "header {",
                "  register CARDBUS_CIS when STATUS.CAP_LIST = 1 deny 0",
                "  register 0x28 u32 passthrough ro",
                "}"));
            AssertDiagnostics(result, "p.vfiopolicy(9,12): error VP0305: register CARDBUS_CIS (0x28 u32) overlaps register CARDBUS_CIS (0x28 u32) when STATUS.CAP_LIST = 1 from p.vfiopolicy:8 in the header; both can exist on one device: 'when STATUS.CAP_LIST != 1' on the register at p.vfiopolicy:9 would separate them");
        }

        [Fact]
        public void The_separating_condition_VP0305_names_does_separate_the_registers()
        {
            CompilationResult result = Compile(Policy(
                "header {",
                "  register CARDBUS_CIS when STATUS.CAP_LIST = 1 deny 0",
                "  register 0x28 u32 when STATUS.CAP_LIST != 1 passthrough ro",
                "}"));
            Assert.Empty(result.Diagnostics);
        }

        [Fact]
        public void Matches_default_their_mask_to_the_field_width()
        {
            PolicyModel model = CompileModel(Policy("match vendor 0x8086 device 0x10d3 mask 0xfff0", "match class 0x020000 mask 0xff0000 revision 3"));
            Assert.Equal(3, model.Matches.Count);
            Assert.Empty(model.Matches[0].Criteria);
            Assert.Equal(new[] { new MatchCriterion(MatchField.Vendor, 0x8086, 0xffff), new MatchCriterion(MatchField.Device, 0x10d3, 0xfff0) }, model.Matches[1].Criteria.ToArray());
            Assert.Equal(new[] { new MatchCriterion(MatchField.Class, 0x020000, 0xff0000), new MatchCriterion(MatchField.Revision, 3, 0xff) }, model.Matches[2].Criteria.ToArray());
        }

        [Fact]
        public void Capabilities_sort_by_chain_then_id_and_carry_hides_and_registers()
        {
            PolicyModel model = CompileModel(Policy(
                "extended-capability DSN {",
                "  register 0x04 u32 passthrough ro",
                "}",
                "hide capability VPD body deny 0xff",
                "capability 0x09 {",
                "  register 0x04 u32 passthrough ro",
                "}"));
            Assert.Equal(new[] { (false, 0x03, "VPD"), (false, 0x09, "VNDR"), (true, 0x03, "DSN") }, model.Capabilities.Select(c => (c.Extended, c.Id, c.Name)).ToArray());
            Assert.Equal(new HideRule(BitAction.Deny(0xff), new RuleOrigin("p.vfiopolicy", 10, 1, "hide capability VPD body deny 0xff")), model.Capabilities[0].Hide);
            Assert.Empty(model.Capabilities[0].Registers);
            Assert.Null(model.Capabilities[1].Hide);
            Assert.Equal(0x04, Assert.Single(model.Capabilities[1].Registers).Offset);
        }

        [Fact]
        public void A_register_action_leaves_the_chain_link_of_a_capability_alone()
        {
            PolicyModel model = CompileModel(Policy("capability 0x09 {", "  register 0x00 u32 passthrough rw", "}"));
            BitRule rule = Assert.Single(model.Capabilities[0].Registers[0].Rules);
            Assert.Equal((16, 31), (rule.LowBit, rule.HighBit));
        }

        [Fact]
        public void A_register_action_takes_the_link_bits_it_may_cover()
        {
            // passthrough ro may read the ID live; the next pointer stays the chain's.
            PolicyModel readOnly = CompileModel(Policy("capability 0x09 {", "  register 0x00 u32 passthrough ro", "}"));
            Assert.Equal(new[] { (0, 7), (16, 31) }, readOnly.Capabilities[0].Registers[0].Rules.Select(r => (r.LowBit, r.HighBit)).OrderBy(r => r).ToArray());

            // virtualize ro write-hw may cover every link bit: an extended header whole.
            PolicyModel writeHardware = CompileModel(Policy("extended-capability VNDR {", "  register 0x00 u32 LINK virtualize ro write-hw", "}"));
            BitRule rule = Assert.Single(writeHardware.Capabilities[0].Registers[0].Rules);
            Assert.Equal((0, 31), (rule.LowBit, rule.HighBit));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.WriteHardware, InitialValueSource.Hardware, 0, false), rule.Action);
        }

        [Fact]
        public void A_not_equal_condition_reaches_the_model_apart_from_equalities_on_the_same_register()
        {
            PolicyModel model = CompileModel(Policy("capability EXP {", "  register 0x28 u16 DEVCTL2 when FLAGS.VERS != 1, FLAGS.TYPE = 10 passthrough rw", "}"));
            RegisterModel register = Assert.Single(model.Capabilities[0].Registers);
            Assert.Equal(
                new[] { new RegisterCondition(0x02, 2, 0x00F0, 0x00A0), new RegisterCondition(0x02, 2, 0x000F, 0x0001, NotEqual: true) },
                register.Conditions.ToArray());
        }

        [Fact]
        public void Hardware_rw1c_and_behaviors_reach_the_model()
        {
            PolicyModel model = CompileModel(Policy(
                "header {",
                "  register COMMAND behavior command passthrough ro {",
                "    bits 0..1 virtualize rw",
                "    field INTX_DISABLE virtualize rw",
                "  }",
                "  register STATUS passthrough ro hw-rw1c",
                "  register BASE_ADDRESS_0 behavior bar virtualize rw init 0",
                "}"));
            Assert.Equal(Behavior.Command, model.Header[0].Behavior);
            Assert.True(model.Header[1].Rules.All(r => r.HardwareWriteOneToClear));
            Assert.Equal(Behavior.Bar, model.Header[2].Behavior);
            Assert.Equal(new[] { "COMMAND", "STATUS", "BASE_ADDRESS_0" }, model.Header.Select(r => r.Name).ToArray());
        }

        [Fact]
        public void Mirrors_are_carried()
        {
            PolicyModel model = CompileModel(Policy("mirror bar 0 offset 0x88000 size 0x100"));
            Assert.Equal(new ConfigMirror(0, 0x88000, 0x100, new RuleOrigin("p.vfiopolicy", 7, 1, "mirror bar 0 offset 0x88000 size 0x100")), Assert.Single(model.Mirrors));
        }

        [Fact]
        public void Compilation_is_deterministic()
        {
            string text = Policy("header {", "  register STATUS passthrough ro", "  register COMMAND deny", "  register COMMAND passthrough rw", "}", "capability MSI {", "}", "capability PM {", "}");
            CompilationResult first = Compile(text);
            CompilationResult second = Compile(text);
            Assert.Equal(first.Diagnostics, second.Diagnostics);
            Assert.NotEmpty(first.Diagnostics);

            string valid = Policy("capability MSI {", "}", "capability PM {", "}", "header {", "  register STATUS passthrough ro", "  register COMMAND deny", "}");
            Assert.Equal(CompileModel(valid), CompileModel(valid));
        }
    }
}
