using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Binding
{
    /// <summary>
    /// What a binding answers about single bits and bytes (the action each bit was bound to, read back from the
    /// masks; its owner; the byte's dominant owner), which <c>map</c>, <c>explain</c> and the scaffolder print: each
    /// expected value is written out from the policy, not computed.
    /// </summary>
    public sealed class BoundConfigSpaceTests
    {
        [Fact]
        public void each_bit_reads_back_as_the_action_its_rule_gave_it()
        {
            var policy = new PolicyBuilder().Defaults(gap: Act.PassRo);
            policy.DeviceSpecific(0x40, 4, "MIXED")
                .Bits(0, 7, Act.Deny(0x5A)).Bits(8, 15, Act.DenySilent(0xFF)).Bits(16, 23, Act.PassRw).Bits(24, 31, Act.PassRo);
            policy.DeviceSpecific(0x44, 4, "VIRT")
                .Bits(0, 7, Act.VirtFromHardware(WriteSemantics.WriteHardware)).Bits(8, 15, Act.VirtRw(0x01))
                .Bits(16, 23, Act.VirtRw1c(0x80)).Bits(24, 31, Act.VirtRo(0x00));
            policy.DeviceSpecific(0x48, 1, "HW").All(Act.VirtFromHardware(WriteSemantics.ReadWrite));
            var image = new ConfigImage().Set8(0x48, 0xFF);
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());

            Assert.Equal(BitAction.Deny(0, silent: false), bound.ActionAt(0x40, 0));
            Assert.Equal(BitAction.Deny(1, silent: false), bound.ActionAt(0x40, 1));
            Assert.Equal(BitAction.Deny(1, silent: true), bound.ActionAt(0x41, 7));
            Assert.Equal(BitAction.PassthroughReadWrite, bound.ActionAt(0x42, 3));
            Assert.Equal(BitAction.PassthroughReadOnly, bound.ActionAt(0x43, 3));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.WriteHardware, InitialValueSource.Hardware, 0, false), bound.ActionAt(0x44, 0));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.ReadWrite, InitialValueSource.Literal, 1, false), bound.ActionAt(0x45, 0));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.ReadWrite, InitialValueSource.Literal, 0, false), bound.ActionAt(0x45, 1));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.WriteOneToClear, InitialValueSource.Literal, 1, false), bound.ActionAt(0x46, 7));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.ReadOnly, InitialValueSource.Literal, 0, false), bound.ActionAt(0x47, 0));
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.ReadWrite, InitialValueSource.Hardware, 0, false), bound.ActionAt(0x48, 0));
        }

        [Fact]
        public void a_byte_belongs_to_the_rule_owning_most_of_its_bits_and_a_tie_to_the_lower_bits_owner()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "SPLIT").Bits(0, 3, Act.PassRw).Bits(4, 8, Act.PassRo).Bits(9, 15, Act.Deny());
            var image = new ConfigImage();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
            int low = bound.OwnerIndexOf(0x40, 0), middle = bound.OwnerIndexOf(0x40, 4), high = bound.OwnerIndexOf(0x41, 1);
            Assert.Equal(3, new[] { low, middle, high }.Distinct().Count());

            // 0x40: four bits each, so the owner of bit 0; the middle rule's fifth bit, in 0x41, does not count here.
            Assert.Equal(low, bound.DominantOwnerIndex(0x40));
            Assert.Equal(bound.Rules[low], bound.DominantRule(0x40));

            // 0x41: one bit of the middle rule, seven of the last.
            Assert.Equal(middle, bound.OwnerIndexOf(0x41, 0));
            Assert.Equal(high, bound.DominantOwnerIndex(0x41));
            Assert.Equal(bound.Rules[high], bound.OwnerOf(0x41, 7));
            Assert.Equal(bound.RuleKinds[high], bound.OwnerKindOf(0x41, 7));
        }

        [Theory]
        [InlineData(-1, 0, "offset")]
        [InlineData(256, 0, "offset")]
        [InlineData(int.MinValue, 0, "offset")]
        [InlineData(0, -1, "bit")]
        [InlineData(0, 8, "bit")]
        [InlineData(0xFF, 8, "bit")]
        public void a_bit_outside_the_config_space_or_its_byte_is_refused(int offset, int bit, string parameter)
        {
            var image = new ConfigImage();
            BoundConfigSpace bound = DeviceBinder.Bind(new PolicyBuilder().Build(), image.Bytes, image.Walk());

            Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => bound.OwnerIndexOf(offset, bit)).ParamName);
            Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => bound.ActionAt(offset, bit)).ParamName);
            if (bit == 0)
            {
                Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => bound.DominantOwnerIndex(offset)).ParamName);
            }

            // The last bit of the last byte is inside.
            Assert.Equal(BitAction.Deny(0, silent: true).Disposition, bound.ActionAt(0xFF, 7).Disposition);
        }

        [Fact]
        public void the_interpreter_needs_a_binding()
            => Assert.Equal("bound", Assert.Throws<ArgumentNullException>(() => new PolicyInterpreter(null!, new SimulatedConfigHardware(new byte[256]), new RecordingAuditSink())).ParamName);
    }
}
