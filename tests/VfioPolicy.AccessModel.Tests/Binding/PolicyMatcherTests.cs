using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Binding
{
    public sealed class PolicyMatcherTests
    {
        private static readonly DeviceIdentity Nic = new DeviceIdentity(0x10EC, 0x8168, 0x1043, 0x8554, 0x020000, 0x15);

        private static MatchCriterion Vendor(uint value) => new MatchCriterion(MatchField.Vendor, value, 0xFFFF);

        private static MatchCriterion Device(uint value) => new MatchCriterion(MatchField.Device, value, 0xFFFF);

        [Fact]
        public void match_any_line_selects_every_device_with_no_specificity()
        {
            PolicyModel model = new PolicyBuilder().Match().Build();

            Assert.True(PolicyMatcher.Matches(model, Nic));
            Assert.Equal(0, PolicyMatcher.Specificity(model, Nic));
        }

        [Fact]
        public void policy_without_match_lines_selects_no_device()
        {
            PolicyModel model = new PolicyBuilder().Build();

            Assert.False(PolicyMatcher.Matches(model, Nic));
            Assert.Equal(-1, PolicyMatcher.Specificity(model, Nic));
        }

        [Fact]
        public void every_criterion_of_a_line_must_hold()
        {
            Assert.True(PolicyMatcher.Matches(new PolicyBuilder().Match(Vendor(0x10EC), Device(0x8168)).Build(), Nic));
            Assert.False(PolicyMatcher.Matches(new PolicyBuilder().Match(Vendor(0x10EC), Device(0x8169)).Build(), Nic));
        }

        [Fact]
        public void lines_are_alternatives_and_the_most_specific_holding_line_counts()
        {
            PolicyModel model = new PolicyBuilder().Match(Vendor(0x8086)).Match(Vendor(0x10EC)).Match(Vendor(0x10EC), Device(0x8168)).Build();

            Assert.Equal(32, PolicyMatcher.Specificity(model, Nic));
        }

        [Fact]
        public void masks_select_which_bits_are_tested()
        {
            PolicyModel networkClass = new PolicyBuilder().Match(new MatchCriterion(MatchField.Class, 0x020000, 0xFF0000)).Build();
            PolicyModel displayClass = new PolicyBuilder().Match(new MatchCriterion(MatchField.Class, 0x030000, 0xFF0000)).Build();

            Assert.Equal(8, PolicyMatcher.Specificity(networkClass, Nic));
            Assert.False(PolicyMatcher.Matches(displayClass, Nic));
        }

        [Fact]
        public void mask_bits_beyond_the_field_are_not_counted()
        {
            var revision = new DeviceMatch(new[] { new MatchCriterion(MatchField.Revision, 0x15, 0xFFFF_FFFF) }.ToEquatableArray(), RuleOrigin.Chain);

            Assert.Equal(8, PolicyMatcher.Specificity(revision));
            Assert.True(PolicyMatcher.Matches(revision, Nic));
        }
    }
}
