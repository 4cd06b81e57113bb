using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Diff;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Diff
{
    /// <summary>The semantic diff on small in-memory policies: each kind of change and its classification, and spellings that mean the same.</summary>
    public sealed class PolicyDifferTests
    {
        private static PolicyDiff Diff(string before, string after)
            => PolicyDiffer.Compare(TestPolicies.CompileModel(before), TestPolicies.CompileModel(after), "old", "new");

        private static PolicyDiff DiffBodies(string[] before, string[] after) => Diff(TestPolicies.Policy(before), TestPolicies.Policy(after));

        private static string[] Command(params string[] fields) => new[] { "header {", "  register COMMAND {" }.Concat(fields.Select(f => "    " + f)).Concat(new[] { "  }", "}" }).ToArray();

        private static PolicyChange Single(PolicyDiff diff)
        {
            Assert.True(diff.Changes.Count == 1, "expected one change, got:\n" + string.Join("\n", diff.Changes.Select(c => c.Subject + " " + c.What + ": " + c.Before + " → " + c.After)));
            return diff.Changes[0];
        }

        [Fact]
        public void Reformatting_comments_reordering_and_renaming_are_no_semantic_change()
        {
            string before = TestPolicies.Policy(
                "header {",
                "  register COMMAND {",
                "    bit 0 IO passthrough rw",
                "    bit 1 MEMORY passthrough ro",
                "    bits 2..3 deny",
                "    bits 4..15 virtualize rw",
                "  }",
                "  register STATUS passthrough ro",
                "}");
            string after = string.Join("\n",
                "# the same policy, written differently",
                "policy \"t\"",
                "match any",
                "default unknown-capability hide      # reordered defaults",
                "default gap deny 0",
                "default capability deny",
                "default header passthrough ro",
                "header {",
                "  register 0x06 u16 STATUS_RENAMED passthrough ro",
                "  register 0x04 u16 CMD virtualize rw init hw {",
                "    bits 2..3 BOTH deny 0",
                "    bit 1 MEM_SPACE passthrough ro   # renamed field",
                "    bit 0 IO_SPACE passthrough rw",
                "  }",
                "}") + "\n";
            PolicyDiff diff = Diff(before, after);
            Assert.Empty(diff.Changes);
            Assert.False(diff.HasChanges);
        }

        [Fact]
        public void A_rule_that_restates_the_default_is_no_semantic_change()
        {
            PolicyDiff diff = DiffBodies(new string[0], new[] { "header {", "  register CACHE_LINE_SIZE passthrough ro", "}" });
            Assert.Empty(diff.Changes);
        }

        [Theory]
        [InlineData("deny 0", "passthrough rw", ChangeImpact.Widening)]
        [InlineData("deny 0", "passthrough ro", ChangeImpact.Widening)]
        [InlineData("virtualize rw init hw", "passthrough ro", ChangeImpact.Widening)]
        [InlineData("virtualize rw init 0", "virtualize rw init hw", ChangeImpact.Widening)]
        [InlineData("passthrough ro", "passthrough rw", ChangeImpact.Widening)]
        [InlineData("passthrough rw", "passthrough ro", ChangeImpact.Narrowing)]
        [InlineData("passthrough rw", "deny 0", ChangeImpact.Narrowing)]
        [InlineData("passthrough ro", "virtualize ro init hw", ChangeImpact.Narrowing)]
        [InlineData("virtualize rw init 0", "virtualize rw init 1", ChangeImpact.Neutral)]
        [InlineData("deny 0", "deny 1", ChangeImpact.Neutral)]
        [InlineData("deny 0", "deny 0 silent", ChangeImpact.Neutral)]
        [InlineData("deny 0", "virtualize ro init 0", ChangeImpact.Neutral)]
        [InlineData("virtualize ro init 0", "virtualize rw1c init 0", ChangeImpact.Neutral)]
        [InlineData("passthrough rw", "passthrough rw hw-rw1c", ChangeImpact.Narrowing)]
        [InlineData("passthrough rw hw-rw1c", "passthrough rw", ChangeImpact.Widening)]
        [InlineData("passthrough rw hw-rw1c", "deny 0 hw-rw1c", ChangeImpact.Narrowing)]
        [InlineData("passthrough rw hw-rw1c", "deny 0", ChangeImpact.Widening)]
        [InlineData("virtualize ro init hw", "virtualize ro write-hw init hw", ChangeImpact.Widening)]
        [InlineData("virtualize ro write-hw init hw", "virtualize ro init hw", ChangeImpact.Narrowing)]
        [InlineData("passthrough rw", "virtualize ro write-hw init hw", ChangeImpact.Narrowing)]
        [InlineData("virtualize ro write-hw init hw", "passthrough rw", ChangeImpact.Widening)]
        [InlineData("passthrough ro", "virtualize ro write-hw init hw", ChangeImpact.Widening)]
        [InlineData("virtualize rw init hw", "virtualize ro write-hw init hw", ChangeImpact.Widening)]
        public void A_bit_change_is_classified_by_the_partial_order(string before, string after, ChangeImpact expected)
        {
            PolicyChange change = Single(DiffBodies(Command("bit 10 " + before), Command("bit 10 " + after)));
            Assert.Equal(expected, change.Impact);
            Assert.Equal(ChangeAspect.Bits, change.Aspect);
            Assert.Equal("header COMMAND (0x04 u16)", change.Subject);
            Assert.Equal("bit 10", change.What);
            Assert.Equal(before, change.Before);
            Assert.Equal(after, change.After);
            Assert.Equal(7 + 2, change.OldOrigin!.Line);
            Assert.Equal(7 + 2, change.NewOrigin!.Line);
        }

        [Fact]
        public void Giving_up_live_reads_for_write_hw_says_writes_still_reach_the_hardware()
        {
            PolicyChange change = Single(DiffBodies(Command("bit 10 passthrough rw"), Command("bit 10 virtualize ro write-hw init hw")));
            Assert.Equal("reach hardware reads and writes → hardware value at open for reads; writes still reach the hardware", change.Reason);
        }

        [Theory]
        [InlineData("capability MSI {", "  register MASK_64", "FLAGS.ADDR_64 = 1, FLAGS.MASKBIT = 1")]
        [InlineData("capability EXP {", "  register 0x28 u16 DEVCTL2 when FLAGS.VERS != 1", "FLAGS.VERS != 1")]
        [InlineData("capability EXP {", "  register 0x28 u16 DEVCTL2 when FLAGS.VERS = 2, FLAGS.TYPE = 0", "FLAGS.VERS = 0x2, FLAGS.TYPE = 0")]
        public void A_conditional_registers_change_names_its_condition_by_field(string block, string register, string expected)
        {
            PolicyChange change = Single(DiffBodies(new[] { block, register + " passthrough ro", "}" }, new[] { block, register + " passthrough rw", "}" }));
            Assert.Equal(expected, change.Condition);
        }

        [Fact]
        public void A_condition_that_is_not_whole_fields_keeps_its_raw_form()
        {
            BlockCatalog express = RegisterCatalog.FindCapability("EXP", extended: false)!;
            var partial = new[] { new RegisterCondition(0x02, 2, 0x0003, 0x0002) }.ToEquatableArray();
            Assert.Equal("[0x02 u16] & 0x3 = 0x2", PolicyDiffer.NamedConditionText(partial, express));
            var inequalityOverTwoFields = new[] { new RegisterCondition(0x02, 2, 0x00FF, 0x00A1, NotEqual: true) }.ToEquatableArray();
            Assert.Equal("[0x02 u16] & 0xff != 0xa1", PolicyDiffer.NamedConditionText(inequalityOverTwoFields, express));
            Assert.Equal("[0x02 u16] & 0xf = 0x2", PolicyDiffer.NamedConditionText(new[] { new RegisterCondition(0x02, 2, 0x000F, 0x0002) }.ToEquatableArray(), null));
        }

        [Fact]
        public void A_hw_rw1c_flag_removed_while_access_narrows_still_widens()
        {
            PolicyChange change = Single(DiffBodies(Command("bit 10 passthrough rw hw-rw1c"), Command("bit 10 passthrough ro")));
            Assert.Equal(ChangeImpact.Widening, change.Impact);
            Assert.Contains("hw-rw1c removed", change.Reason);
        }

        [Fact]
        public void Adjacent_bits_that_change_alike_form_one_range_with_every_rule_listed()
        {
            PolicyChange change = Single(DiffBodies(
                Command("bits 0..3 deny 0", "bits 4..7 deny 0x5", "bits 8..15 passthrough ro"),
                Command("bits 0..7 passthrough rw", "bits 8..15 passthrough ro")));
            Assert.Equal(0, change.LowBit);
            Assert.Equal(7, change.HighBit);
            Assert.Equal("bits 0..7", change.What);
            Assert.Equal("deny 0x50", change.Before);
            Assert.Equal(new[] { 9, 10 }, change.OldOrigins.Select(o => o.Line));
            Assert.Equal(new[] { 9 }, change.NewOrigins.Select(o => o.Line));
        }

        [Fact]
        public void Only_the_bits_that_change_are_reported_and_a_value_change_names_its_range()
        {
            PolicyChange change = Single(DiffBodies(Command("bits 0..15 deny 0x00f0"), Command("bits 0..15 deny 0x0ff0")));
            Assert.Equal(ChangeImpact.Neutral, change.Impact);
            Assert.Equal("bits 8..11", change.What);
            Assert.Equal("deny 0", change.Before);
            Assert.Equal("deny 0xf", change.After);
        }

        [Theory]
        [InlineData("register DEVICE_ID virtualize ro init 0x0010", "virtualize ro init 0x0010")]
        [InlineData("register BASE_ADDRESS_5 deny 0x00001000", "deny 0x00001000")]
        [InlineData("register LATENCY_TIMER deny 0x0", "deny 0")]
        public void A_value_keeps_the_width_of_the_bits_it_describes(string rule, string expected)
        {
            PolicyChange change = Single(DiffBodies(new string[0], new[] { "header {", "  " + rule, "}" }));
            Assert.Equal(expected, change.After);
        }

        [Fact]
        public void A_rule_removed_compares_with_the_default_that_now_applies()
        {
            PolicyChange change = Single(DiffBodies(new[] { "header {", "  register CACHE_LINE_SIZE deny 0", "}" }, new string[0]));
            Assert.Equal(ChangeImpact.Widening, change.Impact);
            Assert.Equal("passthrough ro (default header)", change.After);
            Assert.Equal(3, change.NewOrigin!.Line);
        }

        [Fact]
        public void A_behavior_gained_widens_and_lost_narrows()
        {
            string[] plain = { "header {", "  register ROM_ADDRESS virtualize rw init 0", "}" };
            string[] bound = { "header {", "  register ROM_ADDRESS behavior rom virtualize rw init 0", "}" };
            PolicyChange gained = Single(DiffBodies(plain, bound));
            Assert.Equal((ChangeImpact.Widening, ChangeAspect.Behavior, "(none)", "behavior rom"), (gained.Impact, gained.Aspect, gained.Before, gained.After));
            Assert.Equal(ChangeImpact.Narrowing, Single(DiffBodies(bound, plain)).Impact);
        }

        [Fact]
        public void Unhiding_a_capability_widens_and_hiding_it_narrows()
        {
            string[] hidden = new string[0];
            string[] shown = { "capability MSI {", "  register FLAGS passthrough ro", "}" };
            PolicyChange unhidden = Single(DiffBodies(hidden, shown));
            Assert.Equal((ChangeImpact.Widening, ChangeAspect.Hide, ChangeArea.Capability, "MSI"), (unhidden.Impact, unhidden.Aspect, unhidden.Area, unhidden.Scope));
            Assert.Equal("hide body deny 0", unhidden.Before);
            Assert.Equal(ChangeImpact.Narrowing, Single(DiffBodies(shown, shown.Concat(new[] { "hide capability MSI" }).ToArray())).Impact);
        }

        [Fact]
        public void A_capability_register_change_is_relative_to_the_capability()
        {
            PolicyChange change = Single(DiffBodies(
                new[] { "capability MSI {", "  register FLAGS passthrough ro", "}" },
                new[] { "capability MSI {", "  register FLAGS passthrough rw", "}" }));
            Assert.Equal("capability MSI FLAGS (+0x02 u16)", change.Subject);
            Assert.Equal(ChangeImpact.Widening, change.Impact);
        }

        [Fact]
        public void Defaults_are_compared_once_each()
        {
            string before = TestPolicies.Policy();
            string after = before.Replace("default gap deny 0", "default gap passthrough rw").Replace("default unknown-capability hide", "default unknown-capability deny 0");
            PolicyDiff diff = Diff(before, after);
            Assert.Equal(2, diff.Changes.Count);
            Assert.All(diff.Changes, c => Assert.Equal((ChangeImpact.Widening, ChangeArea.Default), (c.Impact, c.Area)));
            Assert.Equal(new[] { "default gap", "default unknown-capability" }, diff.Changes.Select(c => c.What));
        }

        [Theory]
        [InlineData("match vendor 0x1234 device 0x11e8", "match vendor 0x1234", ChangeImpact.Widening)]
        [InlineData("match vendor 0x1234", "match vendor 0x1234 device 0x11e8", ChangeImpact.Narrowing)]
        [InlineData("match vendor 0x1234", "match any", ChangeImpact.Widening)]
        [InlineData("match vendor 0x1234", "match vendor 0x8086", ChangeImpact.Widening)]
        [InlineData("match class 0x020000 mask 0xff0000", "match class 0x020000", ChangeImpact.Narrowing)]
        public void A_match_change_is_classified_by_the_devices_it_selects(string before, string after, ChangeImpact expected)
        {
            string policy = TestPolicies.Policy();
            PolicyChange change = Single(Diff(policy.Replace("match any", before), policy.Replace("match any", after)));
            Assert.Equal((expected, ChangeAspect.Match), (change.Impact, change.Aspect));
        }

        [Fact]
        public void Match_lines_that_select_the_same_devices_are_no_change()
        {
            string policy = TestPolicies.Policy();
            string before = policy.Replace("match any", "match vendor 0x1234 device 0x11e8\nmatch vendor 0x8086");
            string after = policy.Replace("match any", "match vendor 0x8086 mask 0xffff\nmatch device 0x11e8 vendor 0x1234");
            Assert.Empty(Diff(before, after).Changes);
        }

        [Fact]
        public void A_conditioned_register_is_compared_under_its_condition()
        {
            PolicyChange change = Single(DiffBodies(
                new[] { "capability MSI {", "  register DATA_64 passthrough ro", "}" },
                new[] { "capability MSI {", "  register DATA_64 passthrough rw", "}" }));
            Assert.NotNull(change.Condition);
            Assert.Contains("when", change.Subject);
        }

        [Fact]
        public void A_renamed_policy_is_a_neutral_change()
        {
            string policy = TestPolicies.Policy();
            PolicyChange change = Single(Diff(policy, policy.Replace("policy \"t\"", "policy \"u\"")));
            Assert.Equal((ChangeImpact.Neutral, ChangeAspect.Name), (change.Impact, change.Aspect));
        }

        [Fact]
        public void Added_and_removed_policies_widen_and_narrow()
        {
            PolicyModel model = TestPolicies.CompileModel(TestPolicies.Policy());
            Assert.True(PolicyDiffer.Added(model, "new").HasWidening);
            Assert.Equal(ChangeImpact.Narrowing, PolicyDiffer.Removed(model, "old").Changes.Single().Impact);
        }
    }
}
