using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Diff;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Diff
{
    /// <summary>
    /// The partial order of exposure (docs/reviewing-policies.md) case by case: each pair of bit states with the
    /// impact and the reason a reviewer must read, written out here; then the normal form of a bit's state, and the
    /// comparison of match lines, including lines that select nothing and several lines per side.
    /// </summary>
    public sealed class ClassificationTests
    {
        private static BitState Pass(bool rw, bool hwRw1c = false) => new BitState(Disposition.Passthrough, rw ? WriteSemantics.ReadWrite : WriteSemantics.ReadOnly, InitialValueSource.Literal, false, hwRw1c, Behavior.None);

        private static BitState Virt(WriteSemantics write, bool fromHardware, Behavior behavior = Behavior.None)
            => new BitState(Disposition.Virtualize, write, fromHardware ? InitialValueSource.Hardware : InitialValueSource.Literal, false, false, behavior);

        private static BitState Deny(bool silent = false) => new BitState(Disposition.Deny, WriteSemantics.ReadOnly, InitialValueSource.Literal, silent, false, Behavior.None);

        public static IEnumerable<object[]> Pairs() => new[]
        {
            Pair(Pass(false), Pass(true), ChangeImpact.Widening, "reach hardware reads → hardware reads and writes"),
            Pair(Pass(true), Pass(false), ChangeImpact.Narrowing, "reach hardware reads and writes → hardware reads"),
            Pair(Virt(WriteSemantics.ReadOnly, true), Virt(WriteSemantics.WriteHardware, true), ChangeImpact.Widening, "writes reach the hardware"),
            Pair(Virt(WriteSemantics.WriteHardware, true), Virt(WriteSemantics.ReadOnly, true), ChangeImpact.Narrowing, "writes no longer reach the hardware"),
            Pair(Pass(true), Virt(WriteSemantics.WriteHardware, true), ChangeImpact.Narrowing, "reach hardware reads and writes → hardware value at open for reads; writes still reach the hardware"),
            Pair(Virt(WriteSemantics.WriteHardware, true), Pass(true), ChangeImpact.Widening, "reach hardware value at open → hardware reads (writes already reached the hardware)"),
            Pair(Virt(WriteSemantics.ReadOnly, true), Pass(true), ChangeImpact.Widening, "reach hardware value at open → hardware reads and writes"),
            Pair(Pass(true), Deny(), ChangeImpact.Narrowing, "reach hardware reads and writes → constant"),
            Pair(Virt(WriteSemantics.WriteHardware, false), Virt(WriteSemantics.WriteHardware, true), ChangeImpact.Widening, "reach constant → hardware value at open"),
            Pair(Pass(true, hwRw1c: true), Pass(true), ChangeImpact.Widening, "hw-rw1c removed: a merge may clear the bit"),
            Pair(Pass(true), Pass(true, hwRw1c: true), ChangeImpact.Narrowing, "hw-rw1c added: merges keep the bit"),
            Pair(Pass(false), Pass(true, hwRw1c: true), ChangeImpact.Widening, "reach hardware reads → hardware reads and writes; hw-rw1c added: merges keep the bit"),
            Pair(Virt(WriteSemantics.ReadWrite, false), Virt(WriteSemantics.ReadWrite, false, Behavior.Msi), ChangeImpact.Widening, "writes drive behavior msi"),
            Pair(Virt(WriteSemantics.ReadWrite, false, Behavior.Msix), Virt(WriteSemantics.ReadWrite, false), ChangeImpact.Narrowing, "writes no longer drive behavior msix"),
            Pair(Virt(WriteSemantics.ReadWrite, true, Behavior.Msi), Pass(false), ChangeImpact.Widening, "reach hardware value at open → hardware reads; writes no longer drive behavior msi"),
            Pair(Virt(WriteSemantics.ReadOnly, false, Behavior.Pm), Virt(WriteSemantics.ReadOnly, false), ChangeImpact.Neutral, "behavior of a register whose bits do not drive it"),
            Pair(Deny(), Deny(silent: true), ChangeImpact.Neutral, "denied writes no longer audited"),
            Pair(Deny(silent: true), Deny(), ChangeImpact.Neutral, "denied writes now audited"),
            Pair(Virt(WriteSemantics.ReadOnly, false), Deny(), ChangeImpact.Neutral, "same reach (constant), different disposition"),
            Pair(Virt(WriteSemantics.ReadWrite, false), Virt(WriteSemantics.WriteOneToClear, false), ChangeImpact.Neutral, "shadow write semantics only"),
            Pair(Deny(), Deny(), ChangeImpact.Neutral, "denied read value only"),
            Pair(Virt(WriteSemantics.ReadWrite, false), Virt(WriteSemantics.ReadWrite, false), ChangeImpact.Neutral, "initial value only"),
        };

        private static object[] Pair(BitState before, BitState after, ChangeImpact impact, string reason) => new object[] { before, after, impact, reason };

        [Theory]
        [MemberData(nameof(Pairs))]
        public void A_move_between_two_states_has_its_impact_and_reason(BitState before, BitState after, ChangeImpact impact, string reason)
            => Assert.Equal((impact, reason), Exposure.Classify(before, after));

        [Fact]
        public void A_state_keeps_only_what_matters_for_its_disposition()
        {
            var writeHardwarePassthrough = new BitAction(Disposition.Passthrough, WriteSemantics.WriteHardware, InitialValueSource.Hardware, 7, true);
            Assert.Equal(Pass(true), BitState.Of(writeHardwarePassthrough, false, Behavior.None));
            Assert.Equal(Pass(false, hwRw1c: true), BitState.Of(BitAction.PassthroughReadOnly with { Silent = true, Value = 3 }, true, Behavior.None));
            Assert.Equal(Virt(WriteSemantics.WriteOneToClear, true, Behavior.Flr), BitState.Of(new BitAction(Disposition.Virtualize, WriteSemantics.WriteOneToClear, InitialValueSource.Hardware, 9, true), false, Behavior.Flr));
            Assert.Equal(Deny(silent: true), BitState.Of(new BitAction(Disposition.Deny, WriteSemantics.ReadWrite, InitialValueSource.Hardware, 5, true), false, Behavior.None));
            Assert.Equal(Deny(), BitState.Of(BitAction.Deny(1), false, Behavior.None));

            Assert.Equal((false, false, true, true, false), (Pass(true).HasValue, Virt(WriteSemantics.ReadOnly, true).HasValue, Virt(WriteSemantics.ReadOnly, false).HasValue, Deny().HasValue, Virt(WriteSemantics.WriteHardware, true).HasValue));
        }

        [Theory]
        [InlineData(0u, 1, "passthrough ro", false, true)]
        [InlineData(0u, 1, "passthrough rw hw-rw1c", true, true)]
        [InlineData(0x3u, 2, "virtualize rw1c init 0x3", false, false)]
        [InlineData(0x1u, 1, "deny 1 silent hw-rw1c", true, false)]
        public void A_state_is_written_in_policy_syntax(uint value, int bits, string expected, bool hwRw1c, bool passthrough)
        {
            BitState state = passthrough ? Pass(expected.Contains(" rw"), hwRw1c)
                : expected.StartsWith("deny", System.StringComparison.Ordinal) ? Deny(silent: true) with { HardwareWriteOneToClear = hwRw1c }
                : Virt(WriteSemantics.WriteOneToClear, false);
            Assert.Equal(expected, state.Describe(value, bits));
            Assert.Equal("virtualize ro write-hw init hw", Virt(WriteSemantics.WriteHardware, true).Describe(0xff, 8));
            Assert.Equal("virtualize ro init 0x00ff", Virt(WriteSemantics.ReadOnly, false).Describe(0xff, 16));
        }

        private static PolicyChange? MatchChange(string before, string after)
        {
            string policy = TestPolicies.Policy();
            PolicyDiff diff = PolicyDiffer.Compare(TestPolicies.CompileModel(policy.Replace("match any", before)), TestPolicies.CompileModel(policy.Replace("match any", after)), "old", "new");
            return diff.Changes.Count == 0 ? null : Assert.Single(diff.Changes);
        }

        [Fact]
        public void Several_match_lines_compare_line_by_line_with_their_texts_reasons_and_first_lines()
        {
            PolicyChange fewer = MatchChange("match vendor 0x1234\nmatch vendor 0x8086", "match vendor 0x8086")!;
            Assert.Equal(
                (ChangeImpact.Narrowing, "match vendor 0x1234; match vendor 0x8086", "match vendor 0x8086", "selects a subset of the devices it selected", 2, 2),
                (fewer.Impact, fewer.Before, fewer.After, fewer.Reason, fewer.OldOrigin!.Line, fewer.NewOrigin!.Line));

            PolicyChange more = MatchChange("match vendor 0x8086", "match device 0x1111\nmatch vendor 0x8086")!;
            Assert.Equal((ChangeImpact.Widening, "match device 0x1111; match vendor 0x8086", "selects every device it selected, and more"), (more.Impact, more.After, more.Reason));

            PolicyChange other = MatchChange("match vendor 0x8086", "match vendor 0x1af4")!;
            Assert.Equal((ChangeImpact.Widening, "selects devices it did not select before"), (other.Impact, other.Reason));

            PolicyChange anyDevice = MatchChange("match vendor 0x8086", "match any")!;
            Assert.Equal("match any", anyDevice.After);
            Assert.Equal("match class 0x020000 mask 0xff0000", MatchChange("match any", "match class 0x020000 mask 0xff0000")!.After);
        }

        [Fact]
        public void A_line_whose_criteria_contradict_selects_nothing_and_agreeing_ones_on_one_field_combine()
        {
            PolicyChange nothing = MatchChange("match any", "match vendor 0x8086 vendor 0x1af4")!;
            Assert.Equal((ChangeImpact.Narrowing, "selects a subset of the devices it selected"), (nothing.Impact, nothing.Reason));
            Assert.Null(MatchChange("match class 0x020000 mask 0xff0000 class 0x000000 mask 0x00ff00", "match class 0x020000 mask 0xffff00"));
            Assert.Null(MatchChange("match vendor 0x8086 vendor 0x8086", "match vendor 0x8086"));
            Assert.Equal(ChangeImpact.Widening, MatchChange("match class 0x020000 mask 0xff0000 class 0x000100 mask 0x00ff00", "match class 0x020000 mask 0xff0000")!.Impact);
        }

        [Fact]
        public void A_model_without_match_lines_selects_no_device()
        {
            PolicyModel model = TestPolicies.CompileModel(TestPolicies.Policy());
            PolicyModel none = model with { Matches = EquatableArray<DeviceMatch>.Empty };
            PolicyChange change = Assert.Single(PolicyDiffer.Compare(none, model, "old", "new").Changes);
            Assert.Equal((ChangeImpact.Widening, "(no match lines: no device)", "match any"), (change.Impact, change.Before, change.After));
            Assert.Null(change.OldOrigin);
            Assert.Equal(2, change.NewOrigin!.Line);
            Assert.Null(Assert.Single(PolicyDiffer.Compare(model, none, "old", "new").Changes).NewOrigin);
        }
    }
}
