using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Diff;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Diff
{
    /// <summary>
    /// Where the policy diff draws its lines: ranges split where the rule gives way to a default or one register to
    /// the next, defaults whose byte value is not uniform, a value's width taken from its whole range, header and gap
    /// defaults, added and removed policies, missing models. Expected texts are written out from the two policies.
    /// </summary>
    public sealed class PolicyDifferEdgeTests
    {
        private static PolicyDiff Diff(string before, string after)
            => PolicyDiffer.Compare(TestPolicies.CompileModel(before), TestPolicies.CompileModel(after), "old", "new");

        private static string Show(PolicyChange change)
            => DiffText.ImpactName(change.Impact) + " " + change.Subject + " " + change.What + ": " + change.Before + " → " + change.After
               + " [" + DiffText.Locations(change.OldOrigins) + " → " + DiffText.Locations(change.NewOrigins) + "]";

        private static void AssertChanges(PolicyDiff diff, params string[] expected)
            => Assert.Equal(string.Join("\n", expected), string.Join("\n", diff.Changes.Select(Show)));

        [Fact]
        public void A_range_ends_where_the_rule_gives_way_to_a_default_and_where_one_register_ends()
        {
            string before = TestPolicies.Policy("header {", "  register COMMAND {", "    bits 0..3 passthrough ro", "  }", "}");
            string after = TestPolicies.Policy("header {", "  register COMMAND passthrough rw", "  register STATUS passthrough rw", "}");
            AssertChanges(
                Diff(before, after),
                "widening header COMMAND (0x04 u16) bits 0..3: passthrough ro → passthrough rw [p.vfiopolicy:9 → p.vfiopolicy:8]",
                "widening header COMMAND (0x04 u16) bits 4..15: passthrough ro (default header) → passthrough rw [p.vfiopolicy:3 → p.vfiopolicy:8]",
                "widening header STATUS (0x06 u16) bits 0..15: passthrough ro (default header) → passthrough rw [p.vfiopolicy:3 → p.vfiopolicy:9]");
        }

        [Fact]
        public void A_default_with_a_pattern_byte_gives_each_bit_its_own_value()
        {
            string before = TestPolicies.Lines("policy \"t\"", "match any", "default header passthrough ro", "default capability deny 0x5a", "default gap deny 0", "default unknown-capability hide",
                "capability MSI {", "  register 0x0c u16 X deny 0", "}");
            string after = TestPolicies.Lines("policy \"t\"", "match any", "default header passthrough ro", "default capability deny 0x5a", "default gap deny 0", "default unknown-capability hide",
                "capability MSI {", "  register 0x04 u32 ADDRESS passthrough ro", "}");
            string[] changes = Diff(before, after).Changes.Select(Show).ToArray();

            // 0x5a = 0b0101_1010: bits 1, 3..4 and 6 of each byte read 1 under the default.
            Assert.Equal(
                new[]
                {
                    "widening capability MSI ADDRESS (+0x04 u32) bits 0..31: deny 0x5a5a5a5a (default capability) → passthrough ro [p.vfiopolicy:4 → p.vfiopolicy:8]",
                    "neutral capability MSI X (+0x0c u16) bit 1: deny 0 → deny 1 (default capability) [p.vfiopolicy:8 → p.vfiopolicy:4]",
                    "neutral capability MSI X (+0x0c u16) bits 3..4: deny 0 → deny 0x3 (default capability) [p.vfiopolicy:8 → p.vfiopolicy:4]",
                    "neutral capability MSI X (+0x0c u16) bit 6: deny 0 → deny 1 (default capability) [p.vfiopolicy:8 → p.vfiopolicy:4]",
                    "neutral capability MSI X (+0x0c u16) bit 9: deny 0 → deny 1 (default capability) [p.vfiopolicy:8 → p.vfiopolicy:4]",
                    "neutral capability MSI X (+0x0c u16) bits 11..12: deny 0 → deny 0x3 (default capability) [p.vfiopolicy:8 → p.vfiopolicy:4]",
                    "neutral capability MSI X (+0x0c u16) bit 14: deny 0 → deny 1 (default capability) [p.vfiopolicy:8 → p.vfiopolicy:4]",
                },
                changes);
        }

        [Fact]
        public void A_value_is_written_with_the_digits_of_its_whole_range_in_the_model_and_on_a_device()
        {
            string before = TestPolicies.Policy("device-specific {", "  register 0x40 u16 X passthrough ro", "}");
            string after = TestPolicies.Policy("device-specific {", "  register 0x40 u16 X passthrough ro {", "    bits 0..8 deny 0x3", "  }", "}");
            AssertChanges(Diff(before, after), "narrowing device-specific X (0x40 u16) bits 0..8: passthrough ro → deny 0x003 [p.vfiopolicy:8 → p.vfiopolicy:9]");

            var image = new byte[256];
            DeviceDiff device = DeviceDiffer.Compare(DeviceBinder.Bind(TestPolicies.CompileModel(before), image), DeviceBinder.Bind(TestPolicies.CompileModel(after), image), "d");
            DeviceChange change = Assert.Single(device.Changes);
            Assert.Equal(("0x40 bit 0..0x41 bit 0", "passthrough ro", "deny 0x003"), (change.Range, change.Before, change.After));
        }

        [Fact]
        public void Header_and_gap_defaults_are_compared_and_a_removed_register_falls_back_to_the_gap_default()
        {
            string before = TestPolicies.Policy("device-specific {", "  register 0x40 u8 X passthrough ro", "}");
            string after = TestPolicies.Lines("policy \"t\"", "match any", "default header passthrough rw", "default capability deny 0", "default gap deny 0 silent", "default unknown-capability hide");
            AssertChanges(
                Diff(before, after),
                "widening defaults default header: passthrough ro → passthrough rw [p.vfiopolicy:3 → p.vfiopolicy:3]",
                "neutral defaults default gap: deny 0 → deny 0 silent [p.vfiopolicy:5 → p.vfiopolicy:5]",
                "narrowing device-specific X (0x40 u8) bits 0..7: passthrough ro → deny 0 silent (default gap) [p.vfiopolicy:8 → p.vfiopolicy:5]");
        }

        [Fact]
        public void Added_and_removed_policies_name_the_policy_and_its_match_lines()
        {
            PolicyModel model = TestPolicies.CompileModel(TestPolicies.Policy().Replace("match any", "match vendor 0x8086\nmatch vendor 0x1af4"));
            PolicyChange added = Assert.Single(PolicyDiffer.Added(model, "n.vfiopolicy").Changes);
            Assert.Equal(
                (ChangeImpact.Widening, ChangeAspect.Added, "(none)", "policy \"t\"; match vendor 0x8086; match vendor 0x1af4", "a new policy grants its devices access", 1),
                (added.Impact, added.Aspect, added.Before, added.After, added.Reason, added.NewOrigin!.Line));
            PolicyChange removed = Assert.Single(PolicyDiffer.Removed(model, "o.vfiopolicy").Changes);
            Assert.Equal(
                (ChangeImpact.Narrowing, ChangeAspect.Removed, "policy \"t\"; match vendor 0x8086; match vendor 0x1af4", "(none)", "its devices lose the access it granted", 1),
                (removed.Impact, removed.Aspect, removed.Before, removed.After, removed.Reason, removed.OldOrigin!.Line));
            Assert.Equal(("n.vfiopolicy", "t", "o.vfiopolicy", "t"), (PolicyDiffer.Added(model, "n.vfiopolicy").NewLabel, PolicyDiffer.Added(model, "n.vfiopolicy").NewName, PolicyDiffer.Removed(model, "o.vfiopolicy").OldLabel, PolicyDiffer.Removed(model, "o.vfiopolicy").OldName));
        }

        [Fact]
        public void Missing_models_are_refused()
        {
            PolicyModel model = TestPolicies.CompileModel(TestPolicies.Policy());
            Assert.Equal("before", Assert.Throws<ArgumentNullException>(() => PolicyDiffer.Compare(null!, model, "a", "b")).ParamName);
            Assert.Equal("after", Assert.Throws<ArgumentNullException>(() => PolicyDiffer.Compare(model, null!, "a", "b")).ParamName);
        }
    }
}
