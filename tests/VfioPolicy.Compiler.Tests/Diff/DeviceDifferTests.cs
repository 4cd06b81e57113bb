using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.Compiler.Diff;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Diff
{
    /// <summary>
    /// The device view of a diff: two policies bound to one small hand-made config space, compared bit by bit at
    /// absolute offsets. Each expected range is worked out here from the two policies' text.
    /// </summary>
    public sealed class DeviceDifferTests
    {
        /// <summary>A 256-byte type-0 function 1234:5678; with <paramref name="powerManagement"/>, one PM capability at 0x40 that ends the chain.</summary>
        private static byte[] Image(bool powerManagement)
        {
            var config = new byte[256];
            config[0] = 0x34;
            config[1] = 0x12;
            config[2] = 0x78;
            config[3] = 0x56;
            if (powerManagement)
            {
                config[0x06] = 0x10;
                config[0x34] = 0x40;
                config[0x40] = 0x01;
                config[0x42] = 0x03;
            }

            return config;
        }

        private static BoundConfigSpace Bind(string policy, byte[] image) => DeviceBinder.Bind(TestPolicies.CompileModel(policy), image);

        private static string Show(DeviceChange change)
            => DiffText.ImpactName(change.Impact) + " " + change.Range + " (" + change.Location + "): " + change.Before + " → " + change.After
               + " [" + DiffText.Locations(change.OldOrigins) + " → " + DiffText.Locations(change.NewOrigins) + "]";

        private static void AssertChanges(DeviceDiff diff, params string[] expected)
            => Assert.Equal(string.Join("\n", expected), string.Join("\n", diff.Changes.Select(Show)));

        [Fact]
        public void Header_rules_show_as_ranges_of_like_bits_with_their_values_and_rules()
        {
            byte[] image = Image(powerManagement: false);
            string before = TestPolicies.Policy();
            string after = TestPolicies.Policy(
                "header {",
                "  register 0x04 u16 COMMAND passthrough ro {",
                "    bits 0..1 passthrough rw",
                "    bits 2..3 deny 2",
                "  }",
                "  register 0x10 u32 BAR0 deny 0",
                "  register 0x14 u32 BAR1 deny 0",
                "  register 0x3c u8 LINE virtualize rw init 0x0b",
                "}");
            DeviceDiff diff = DeviceDiffer.Compare(Bind(before, image), Bind(after, image), "test device");
            Assert.Equal("test device", diff.Device);
            AssertChanges(diff,
                    "widening 0x04 bits 0..1 (header): passthrough ro → passthrough rw [p.vfiopolicy:3 → p.vfiopolicy:9]",
                    "narrowing 0x04 bits 2..3 (header): passthrough ro → deny 0x2 [p.vfiopolicy:3 → p.vfiopolicy:10]",

                    // 64 bits alike, cut at 32: a range never spans more than one dword's worth of bits.
                    "narrowing 0x10..0x13 (header): passthrough ro → deny 0 [p.vfiopolicy:3 → p.vfiopolicy:12]",
                    "narrowing 0x14..0x17 (header): passthrough ro → deny 0 [p.vfiopolicy:3 → p.vfiopolicy:13]",
                    "narrowing 0x3c (header): passthrough ro → virtualize rw init 0x0b [p.vfiopolicy:3 → p.vfiopolicy:14]");
            Assert.Empty(diff.Warnings);
            Assert.Empty(DeviceDiffer.Compare(Bind(after, image), Bind(after, image), "same").Changes);
        }

        [Fact]
        public void A_value_change_alone_is_a_change_and_a_range_keeps_each_bits_value()
        {
            byte[] image = Image(powerManagement: false);
            string before = TestPolicies.Policy("header {", "  register 0x3c u8 LINE virtualize rw init 0x0b", "  register 0x0f u8 BIST deny 0x5a silent", "}");
            string after = TestPolicies.Policy("header {", "  register 0x3c u8 LINE virtualize rw init 0x0c", "  register 0x0f u8 BIST deny 0x5a", "}");
            DeviceDiff diff = DeviceDiffer.Compare(Bind(before, image), Bind(after, image), "d");

            // 0x0b → 0x0c differs in bits 0..2 only; the silent flag changes every bit of BIST but not its value.
            AssertChanges(diff,
                    "neutral 0x0f (header): deny 0x5a silent → deny 0x5a [p.vfiopolicy:9 → p.vfiopolicy:9]",
                    "neutral 0x3c bits 0..2 (header): virtualize rw init 0x3 → virtualize rw init 0x4 [p.vfiopolicy:8 → p.vfiopolicy:8]");
        }

        [Fact]
        public void A_behavior_gained_is_its_own_change_after_the_bits_it_covers()
        {
            byte[] image = Image(powerManagement: false);
            string before = TestPolicies.Policy("header {", "  register 0x30 u32 ROM_ADDRESS virtualize rw init 0", "}");
            string after = TestPolicies.Policy("header {", "  register 0x30 u32 ROM_ADDRESS behavior rom virtualize rw init 0", "}");
            DeviceDiff diff = DeviceDiffer.Compare(Bind(before, image), Bind(after, image), "d");
            AssertChanges(diff, "widening 0x30..0x33 (header): (no behavior) → behavior rom [p.vfiopolicy:8 → p.vfiopolicy:8]");

            DeviceDiff lost = DeviceDiffer.Compare(Bind(after, image), Bind(before, image), "d");
            AssertChanges(lost, "narrowing 0x30..0x33 (header): behavior rom → (no behavior) [p.vfiopolicy:8 → p.vfiopolicy:8]");

            // Gaining the behavior and reach together: the bits' change (reach falls, writes now drive the behavior)
            // comes first, then the behavior itself.
            string passthrough = TestPolicies.Policy();
            DeviceDiff both = DeviceDiffer.Compare(Bind(passthrough, image), Bind(after, image), "d");
            AssertChanges(both,
                    "widening 0x30..0x33 (header): passthrough ro → virtualize rw init 0 [p.vfiopolicy:3 → p.vfiopolicy:8]",
                    "widening 0x30..0x33 (header): (no behavior) → behavior rom [p.vfiopolicy:3 → p.vfiopolicy:8]");
        }

        [Fact]
        public void Ranges_stop_at_a_capabilitys_end_and_name_the_capability_with_the_offset_inside_it()
        {
            byte[] image = Image(powerManagement: true);
            string before = TestPolicies.Policy("capability PM {", "  register PMC passthrough ro", "}");
            string after = TestPolicies.Lines(
                "policy \"t\"",
                "match any",
                "default header passthrough ro",
                "default capability passthrough ro",
                "default gap passthrough ro",
                "default unknown-capability hide",
                "capability PM {",
                "  register PMC passthrough ro",
                "}");
            DeviceDiff diff = DeviceDiffer.Compare(Bind(before, image), Bind(after, image), "d");
            string[] changes = diff.Changes.Select(Show).ToArray();

            // The ID and next pointer belong to the chain and PMC to its rule under both policies: no change there. The
            // capability's last dword and the gap's first change alike but are two ranges.
            Assert.Equal("widening 0x44..0x47 (capability Power Management at 0x40 +0x04): deny 0 → passthrough ro [p.vfiopolicy:4 → p.vfiopolicy:4]", changes[0]);
            Assert.Equal("widening 0x48..0x4b (outside any capability): deny 0 → passthrough ro [p.vfiopolicy:5 → p.vfiopolicy:5]", changes[1]);
            Assert.Equal("widening 0xfc..0xff (outside any capability): deny 0 → passthrough ro [p.vfiopolicy:5 → p.vfiopolicy:5]", changes[^1]);
            Assert.Equal(1 + ((0x100 - 0x48) / 4), changes.Length);
        }

        [Fact]
        public void A_capabilitys_first_byte_is_located_in_it_and_header_bytes_in_the_header()
        {
            byte[] image = Image(powerManagement: true);
            string before = TestPolicies.Policy("header {", "  register 0x3c u8 LINE virtualize rw init 0", "}", "capability PM {", "  register 0x00 u16 LINK virtualize ro write-hw init hw", "}");
            string after = TestPolicies.Policy("capability PM {", "  register PMC passthrough ro", "}");
            DeviceDiff diff = DeviceDiffer.Compare(Bind(before, image), Bind(after, image), "d");

            // The link bytes a write-hw rule covered return to the chain, whose initial value is the (rewritten) link.
            AssertChanges(
                diff,
                "widening 0x3c (header): virtualize rw init 0 → passthrough ro [p.vfiopolicy:8 → p.vfiopolicy:3]",
                "narrowing 0x40..0x41 (capability Power Management at 0x40 +0x00): virtualize ro write-hw init 1 → virtualize ro init 1 [p.vfiopolicy:11 → <chain>]",
                "widening 0x42..0x43 (capability Power Management at 0x40 +0x02): deny 0 → passthrough ro [p.vfiopolicy:4 → p.vfiopolicy:8]");
        }

        [Fact]
        public void Behaviors_are_told_apart_by_offset_and_named_by_their_own_rule_and_ranges_sharing_a_first_bit_end_shortest_first()
        {
            byte[] image = Image(powerManagement: false);
            string before = TestPolicies.Policy("header {", "  register BASE_ADDRESS_0 behavior bar virtualize rw init 0", "  register ROM_ADDRESS virtualize rw init 0", "}");
            string after = TestPolicies.Policy(
                "header {",
                "  register BASE_ADDRESS_0 behavior bar virtualize rw init 0",
                "  register ROM_ADDRESS behavior rom virtualize rw init 0 {",
                "    bit 0 virtualize rw init 1",
                "  }",
                "}");
            DeviceDiff diff = DeviceDiffer.Compare(Bind(before, image), Bind(after, image), "d");

            // The behavior's own change names the register's line on both sides, not bit 0's rule.
            AssertChanges(
                diff,
                "widening 0x30 bit 0 (header): virtualize rw init 0 → virtualize rw init 1 [p.vfiopolicy:9 → p.vfiopolicy:10]",
                "widening 0x30..0x33 (header): (no behavior) → behavior rom [p.vfiopolicy:9 → p.vfiopolicy:9]");
        }

        [Fact]
        public void Binding_warnings_of_both_sides_are_kept_old_first_each_marked_with_its_side()
        {
            byte[] image = Image(powerManagement: true);
            image[0x41] = 0x40; // the capability names itself as the next one: the walk warns and stops
            BoundConfigSpace before = Bind(TestPolicies.Policy(), image);
            BoundConfigSpace after = Bind(TestPolicies.Policy("header {", "  register 0x3c u8 LINE virtualize rw init 0", "}"), image);
            Assert.NotEmpty(before.Warnings);
            Assert.Equal(
                before.Warnings.Select(w => "old: " + w).Concat(after.Warnings.Select(w => "new: " + w)),
                DeviceDiffer.Compare(before, after, "d").Warnings);
        }

        [Fact]
        public void Bindings_of_spaces_of_different_sizes_or_missing_ones_are_refused()
        {
            string policy = TestPolicies.Policy();
            BoundConfigSpace small = Bind(policy, Image(powerManagement: false));
            var large = new byte[4096];
            Image(powerManagement: false).CopyTo(large, 0);
            BoundConfigSpace big = Bind(policy, large);
            ArgumentException sizes = Assert.Throws<ArgumentException>(() => DeviceDiffer.Compare(small, big, "d"));
            Assert.StartsWith("the two bindings are of config spaces of different sizes", sizes.Message);
            Assert.Equal("after", sizes.ParamName);
            Assert.Equal("before", Assert.Throws<ArgumentNullException>(() => DeviceDiffer.Compare(null!, small, "d")).ParamName);
            Assert.Equal("after", Assert.Throws<ArgumentNullException>(() => DeviceDiffer.Compare(small, null!, "d")).ParamName);
        }
    }
}
