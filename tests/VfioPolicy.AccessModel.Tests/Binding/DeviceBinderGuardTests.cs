using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Binding
{
    /// <summary>
    /// The binder's edges and guards. A model and a chain walk are public inputs (the runtime binds whatever model a
    /// caller hands it): registers of a width other than 1, 2 or 4, negative offsets, rules outside their register
    /// and capabilities the walk places where no chain may reach are ignored with a warning, never bound and never a
    /// crash; and the boundaries that decide what is bound are exact. Each test was written against a surviving
    /// Stryker mutant (docs/reliability.md, section 9) and seen failing with it.
    /// </summary>
    public sealed class DeviceBinderGuardTests
    {
        private const int Msi = 0x05;
        private const int Vndr = 0x09;

        private static BoundConfigSpace Bind(PolicyBuilder policy, ConfigImage image) => DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());

        [Fact]
        public void a_standard_capability_whose_two_link_bytes_end_the_256_byte_space_is_bound_and_linked()
        {
            // The walk masks pointers to dwords, but the binder takes any walk: at 0xfe the ID and next bytes fit
            // exactly, where a four-byte link (an extended header's) would not.
            var image = new ConfigImage().AddCapability(0x40, Vndr, 0x10, "VNDR").AddCapability(0xFE, Vndr, 2, "LAST");
            BoundConfigSpace bound = Bind(new PolicyBuilder(), image);

            Assert.Empty(bound.Warnings);
            Assert.All(bound.Capabilities, c => Assert.True(c.Bound));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0xFE, 0));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0xFF, 7));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x41, 0));
        }

        [Fact]
        public void an_extended_capability_whose_header_ends_at_the_end_of_config_space_is_bound_and_linked()
        {
            var image = new ConfigImage(4096).AddExtended(0x100, 0x01, 2, 0x48, "ERR").AddExtended(0xFFC, 0x0B, 1, 4, "LAST");
            BoundConfigSpace bound = Bind(new PolicyBuilder(), image);

            Assert.Empty(bound.Warnings);
            Assert.All(bound.Capabilities, c => Assert.True(c.Bound));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0xFFC, 0));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0xFFF, 7));
        }

        [Theory]
        [InlineData(0x20, false, "capability ODD at 0x20")]              // inside the header
        [InlineData(0xFF, false, "capability ODD at 0xff")]              // its next pointer would lie past the standard space of a 256-byte image
        [InlineData(0x0FE, true, "extended capability ODD at 0xfe")]     // an extended header below 0x100
        [InlineData(0xFFE, true, "extended capability ODD at 0xffe")]    // an extended header that would end past 4096
        public void a_capability_the_walk_places_where_its_chain_cannot_reach_is_ignored_with_a_warning(int offset, bool extended, string what)
        {
            var image = new ConfigImage(extended ? 4096 : 256);
            var walk = new ChainWalk(new[] { new CapabilityInfo(offset, Vndr, extended, extended ? 1 : null, 4, "ODD") }, Array.Empty<string>());
            BoundConfigSpace bound = DeviceBinder.Bind(new PolicyBuilder().Build(), image.Bytes, walk);

            Assert.Equal(what + " lies outside the region its chain may use; ignored", Assert.Single(bound.Warnings));
            BoundCapability capability = Assert.Single(bound.Capabilities);
            Assert.False(capability.Bound);
            for (int b = offset; b < Math.Min(offset + 4, image.Bytes.Length); b++)
            {
                Assert.NotEqual(BitOwnerKind.ChainLink, bound.OwnerKindOf(b, 0));
            }
        }

        [Fact]
        public void a_register_of_a_width_other_than_1_2_or_4_is_ignored_with_a_warning_even_over_a_capability()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(), unknown: Act.Deny());
            policy.Capability(Vndr, "VNDR").Register(0x04, 4, "DATA").All(Act.VirtRw(0));
            policy.DeviceSpecific(0x84, 3, "ODD").All(Act.PassRw);
            policy.DeviceSpecific(0x90, 8, "WIDE").Bits(0, 7, Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x80, Vndr, 0x10, "VNDR"));

            Assert.Empty(bound.Errors);
            Assert.Contains(bound.Warnings, w => w.Contains("register ODD", StringComparison.Ordinal) && w.Contains("has width 3 (1, 2 or 4 expected)", StringComparison.Ordinal));
            Assert.Contains(bound.Warnings, w => w.Contains("register WIDE", StringComparison.Ordinal) && w.Contains("has width 8", StringComparison.Ordinal));
            Assert.Equal(0xFF, bound.VirtMask[0x84]);                  // the capability's rule stands
            Assert.Equal(0, bound.PassthroughWritable[0x90]);           // nothing of the wide register applies
        }

        [Fact]
        public void a_four_byte_register_over_a_visible_capability_is_an_error_like_a_narrower_one()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(), unknown: Act.Deny());
            policy.DeviceSpecific(0x84, 4, "OVER").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x80, Vndr, 0x10, "VNDR"));

            Assert.Equal("VP0701", Assert.Single(bound.Errors).Code);
            Assert.Equal(0, bound.PassthroughWritable[0x84]);
        }

        [Fact]
        public void registers_that_only_touch_a_capability_s_first_or_last_byte_from_outside_are_no_error()
        {
            // VNDR covers 0x80..0x8f: a register ending at 0x7f and one starting at 0x90 lie beside it, not over it.
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(), unknown: Act.Deny(), gap: Act.Deny());
            policy.DeviceSpecific(0x7C, 4, "BEFORE").All(Act.PassRw);
            policy.DeviceSpecific(0x90, 4, "AFTER").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x80, Vndr, 0x10, "VNDR"));

            Assert.Empty(bound.Errors);
            Assert.Equal(0xFF, bound.PassthroughWritable[0x7F]);
            Assert.Equal(0xFF, bound.PassthroughWritable[0x90]);
            Assert.Equal(0, bound.PassthroughWritable[0x80]);
            Assert.Equal(0, bound.PassthroughWritable[0x8F]);
        }

        [Fact]
        public void a_register_at_a_negative_offset_is_ignored_with_a_warning()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(-4, 4, "NEGATIVE").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Empty(bound.Errors);
            Assert.Contains(bound.Warnings, w => w.Contains("NEGATIVE", StringComparison.Ordinal));
            Assert.DoesNotContain(bound.RuleKinds.Select((kind, index) => (kind, index)), owner => owner.kind == BitOwnerKind.Rule);
        }

        [Theory]
        [InlineData(0, 8)]     // one bit past a one-byte register
        [InlineData(8, 15)]    // wholly past it
        [InlineData(5, 3)]     // upside down
        [InlineData(-1, 3)]    // below bit 0
        public void a_rule_outside_its_register_is_ignored_with_a_warning_and_the_register_s_other_rules_apply(int low, int high)
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "R").Bits(low, high, Act.PassRw).Bits(0, 0, Act.VirtRw(1));
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Contains(bound.Warnings, w => w.Contains("covers bits " + low + ".." + high + ", outside register R", StringComparison.Ordinal));
            Assert.Equal(0, bound.PassthroughWritable[0x40]);
            Assert.Equal(0, bound.PassthroughWritable[0x41]);
            Assert.Equal(0x01, bound.ShadowReadWrite[0x40] & 0x01);
        }

        [Fact]
        public void a_rule_that_ends_at_the_register_s_last_bit_applies()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "R").Bits(0, 7, Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.DoesNotContain(bound.Warnings, w => w.Contains("outside register", StringComparison.Ordinal));
            Assert.Equal(0xFF, bound.PassthroughWritable[0x40]);
        }

        [Theory]
        [InlineData("passthrough rw", 0xFF, 0x00, 0xFF, 0x00, true, true)]
        [InlineData("passthrough ro", 0x00, 0x00, 0xFF, 0x00, false, true)]     // the ID may read the hardware
        [InlineData("virtualize rw", 0xFF, 0x00, 0xFF, 0x00, true, true)]
        [InlineData("deny", 0xFF, 0x00, 0xFF, 0x00, true, true)]
        [InlineData("virtualize ro init hw", 0xFF, 0x00, 0xFF, 0x00, true, true)]
        [InlineData("virtualize ro write-hw", 0xFF, 0xFF, 0xFF, 0xFF, false, false)]  // reads the chain, writes reach the hardware
        public void a_rule_on_a_standard_chain_link_is_kept_only_where_the_chain_allows_and_warned_about_elsewhere(
            string action, int idVirt, int idWritable, int nextVirt, int nextWritable, bool idWarned, bool nextWarned)
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(), unknown: Act.Deny());
            policy.Capability(Vndr, "VNDR").Register(0x00, 2, "LINK").All(ActionNamed(action), out RuleOrigin rule);
            var image = new ConfigImage().AddCapability(0x40, Vndr, 0x10, "VNDR").AddCapability(0x50, Msi, 0x10, "MSI");
            BoundConfigSpace bound = Bind(policy, image);

            Assert.Equal(idVirt, bound.VirtMask[0x40]);
            Assert.Equal(idWritable, bound.PassthroughWritable[0x40]);
            Assert.Equal(nextVirt, bound.VirtMask[0x41]);
            Assert.Equal(nextWritable, bound.PassthroughWritable[0x41]);
            Assert.Equal(0x50, bound.ResetValue[0x41] & nextVirt);
            Assert.Equal(idWarned, bound.Warnings.Any(w => w.StartsWith("rule at test.vfiopolicy:" + rule.Line + " would make chain link byte 0x40 ", StringComparison.Ordinal)));
            Assert.Equal(nextWarned, bound.Warnings.Any(w => w.StartsWith("rule at test.vfiopolicy:" + rule.Line + " would make chain link byte 0x41 ", StringComparison.Ordinal)));
        }

        [Fact]
        public void passthrough_ro_on_an_extended_header_reads_the_id_and_version_from_the_hardware_and_keeps_the_next_pointer_the_chain_s()
        {
            // Bits 0..19 (ID and version) may read the hardware; bits 20..31, the next pointer, are the chain's.
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(), unknown: Act.Deny());
            policy.Capability(0x01, "ERR", extended: true).Register(0x00, 4, "HEADER").All(Act.PassRo, out RuleOrigin rule);
            var image = new ConfigImage(4096).AddExtended(0x100, 0x01, 2, 0x48, "ERR").AddExtended(0x150, 0x03, 1, 0x0C, "DSN");
            BoundConfigSpace bound = Bind(policy, image);

            Assert.Equal(new byte[] { 0x00, 0x00, 0xF0, 0xFF }, bound.VirtMask.Slice(0x100, 4).ToArray());
            string[] warned = bound.Warnings.Where(w => w.StartsWith("rule at test.vfiopolicy:" + rule.Line + " ", StringComparison.Ordinal)).ToArray();
            Assert.Equal(2, warned.Length);
            Assert.Contains(warned, w => w.Contains("chain link byte 0x102 ", StringComparison.Ordinal));
            Assert.Contains(warned, w => w.Contains("chain link byte 0x103 ", StringComparison.Ordinal));
            Assert.Equal(0x15, bound.ResetValue[0x103]);       // the next pointer, 0x150, in bits 20..31
        }

        [Fact]
        public void header_rules_on_the_capabilities_pointer_and_status_yield_to_the_rewritten_chain_without_a_warning()
        {
            // Hiding every capability rewrites 0x34 to 0 and clears Status' Capabilities List bit. Those are header
            // registers a policy rightly has rules for (strict passes Status through): the rewrite replaces the rules
            // on exactly those bits and is no reason to warn about them.
            var policy = new PolicyBuilder().Defaults(unknown: Act.Deny(), hideUnknown: true);
            policy.Header(0x06, 2, "STATUS").All(Act.PassRo);
            policy.Header(0x34, 1, "CAPABILITIES_POINTER").All(Act.PassRo);
            var image = new ConfigImage().AddCapability(0x40, Vndr, 0x10, "VNDR").AddCapability(0x50, Msi, 0x10, "MSI");
            BoundConfigSpace bound = Bind(policy, image);

            Assert.DoesNotContain(bound.Warnings, w => w.Contains("chain link byte", StringComparison.Ordinal));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x34, 0));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x06, 4));
            Assert.Equal(BitOwnerKind.Rule, bound.OwnerKindOf(0x06, 3));
            Assert.Equal(0, bound.ResetValue[0x34]);
        }

        private static Model.BitAction ActionNamed(string action) => action switch
        {
            "passthrough rw" => Act.PassRw,
            "passthrough ro" => Act.PassRo,
            "virtualize rw" => Act.VirtRw(0),
            "deny" => Act.Deny(),
            "virtualize ro init hw" => Act.VirtFromHardware(WriteSemantics.ReadOnly),
            "virtualize ro write-hw" => Act.VirtFromHardware(WriteSemantics.WriteHardware),
            _ => throw new ArgumentOutOfRangeException(nameof(action), action, "no such action"),
        };
    
        [Fact]
        public void binding_refuses_a_missing_model_or_walk_and_a_config_space_of_another_size()
        {
            var image = new ConfigImage();
            PolicyModel model = new PolicyBuilder().Build();

            Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => DeviceBinder.Bind(null!, image.Bytes, image.Walk())).ParamName);
            Assert.Equal("chain", Assert.Throws<ArgumentNullException>(() => DeviceBinder.Bind(model, image.Bytes, null!)).ParamName);
            foreach (int size in new[] { 0, 1, 63, 100, 255, 257, 4095, 8192 })
            {
                ArgumentException error = Assert.Throws<ArgumentException>(() => DeviceBinder.Bind(model, new byte[size]));
                Assert.Equal("config", error.ParamName);
                Assert.StartsWith("A config space is 64, 256 or 4096 bytes long; this one has " + size + ".", error.Message, StringComparison.Ordinal);
            }

            Assert.Equal(64, DeviceBinder.Bind(model, new byte[64]).Size);
        }

        [Fact]
        public void a_header_register_wholly_past_the_header_binds_nothing_and_one_across_its_end_is_ignored_with_a_warning()
        {
            var policy = new PolicyBuilder();
            policy.Header(0x40, 4, "PAST").All(Act.PassRw);
            policy.Header(0x3E, 4, "ACROSS").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal("register ACROSS at 0x3e lies outside the header (0x00-0x3f); ignored", Assert.Single(bound.Warnings));
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0x40, 0));
            Assert.Equal(BitOwnerKind.HeaderDefault, bound.OwnerKindOf(0x3E, 0));
        }

        [Fact]
        public void registers_across_the_end_of_their_structure_or_of_the_config_space_and_rules_outside_their_register_are_named_in_the_warnings()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Vndr, "VNDR").Register(0x0E, 4, "TAIL").All(Act.PassRw);
            policy.DeviceSpecific(0xFE, 4, "END").All(Act.PassRw);
            RegisterBuilder odd = policy.DeviceSpecific(0xE0, 3, "ODD").All(Act.PassRw);
            policy.DeviceSpecific(0xE4, 1, "BYTE").Bits(0, 8, Act.PassRw, out RuleOrigin wide);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x40, Vndr, 0x10, "VNDR"));

            Assert.Equal(
                new[]
                {
                    "register TAIL of VNDR at 0x40 straddles the end of the capability (length 16); ignored",
                    "device-specific register END at 0xfe straddles the end of the config space (size 256); ignored",
                    "register ODD at " + odd.Origin.Location + " has width 3 (1, 2 or 4 expected); ignored",
                    "rule at " + wide.Location + " covers bits 0..8, outside register BYTE; ignored",
                },
                bound.Warnings);
        }

        [Fact]
        public void a_register_over_a_capability_is_an_error_naming_the_register_and_the_capability()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x44, 4, string.Empty).All(Act.PassRw);
            policy.DeviceSpecific(0x104, 4, "OVER").All(Act.PassRw);
            var image = new ConfigImage(4096).AddCapability(0x40, 0x10, 0x3C, "EXP").AddExtended(0x100, 0x01, 2, 0x48, "ERR");
            BoundConfigSpace bound = Bind(policy, image);

            Assert.Equal(
                new[]
                {
                    "device-specific register (0x44, 4 bytes) lies over capability EXP at 0x40-0x7b on this device and would take over its bits; "
                    + "write those rules in the capability's block, or use a policy written for this device",
                    "device-specific register OVER (0x104, 4 bytes) lies over extended capability ERR at 0x100-0x147 on this device and would take over its bits; "
                    + "write those rules in the capability's block, or use a policy written for this device",
                },
                bound.Errors.Select(e => e.Message));
            Assert.All(bound.Errors, e => Assert.Equal("VP0701", e.Code));
        }

        [Fact]
        public void a_rule_on_part_of_a_chain_link_byte_is_named_with_what_it_would_have_made_of_that_byte()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Vndr, "VNDR").Register(0x00, 1, "ID").Bits(4, 7, Act.Deny(), out RuleOrigin denied);
            policy.Capability(Vndr, "VNDR").Register(0x01, 1, "NEXT").Bits(1, 7, Act.VirtRw(0), out RuleOrigin virtualized);
            policy.Capability(Msi, "MSI").Register(0x01, 1, "NEXT").Bits(2, 7, Act.PassRw, out RuleOrigin passthrough);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x40, Vndr, 0x10, "VNDR").AddCapability(0x50, Msi, 0x10, "MSI"));

            Assert.Equal(
                new[]
                {
                    "rule at " + denied.Location + " would make chain link byte 0x40 denied; kept virtual",
                    "rule at " + virtualized.Location + " would make chain link byte 0x41 virtualized; kept virtual",
                    "rule at " + passthrough.Location + " would make chain link byte 0x51 passthrough; kept virtual",
                },
                bound.Warnings);
        }

        [Fact]
        public void a_hidden_extended_capability_after_the_head_keeps_its_body_and_the_chain_skips_it()
        {
            var policy = new PolicyBuilder();
            policy.Capability(0x0B, "VSEC", extended: true).Hide(Act.Deny(0));
            var image = new ConfigImage(4096).AddExtended(0x100, 0x01, 2, 0x48, "ERR").AddExtended(0x148, 0x0B, 1, 0x18, "VSEC").AddExtended(0x160, 0x03, 1, 0x0C, "DSN");
            BoundConfigSpace bound = Bind(policy, image);

            for (int offset = 0x148; offset < 0x160; offset++)
            {
                Assert.Equal(BitOwnerKind.HiddenBody, bound.OwnerKindOf(offset, 0));
            }

            // ERR's next pointer (bits 20..31 of its header) names DSN; its ID and version stay.
            var firewall = new PolicyInterpreter(bound, new SimulatedConfigHardware(image.Bytes), new RecordingAuditSink());
            Assert.Equal(AccessStatus.Ok, firewall.Read(0x100, 4, out uint header));
            Assert.Equal(0x1602_0001u, header);
        }

        [Fact]
        public void every_owner_is_listed_once_however_many_places_it_owns()
        {
            var image = new ConfigImage().AddCapability(0x40, Vndr, 0x10, "A").AddCapability(0x50, Vndr, 0x10, "B").AddCapability(0x60, 0x7E, 0x10, "C").AddCapability(0x70, 0x7E, 0x10, "D");
            BoundConfigSpace bound = Bind(new PolicyBuilder(), image);

            var owners = bound.Rules.Zip(bound.RuleKinds, (rule, kind) => (rule, kind)).ToList();
            Assert.Equal(owners.Count, owners.Distinct().Count());
            Assert.Equal(bound.OwnerIndexOf(0x44, 0), bound.OwnerIndexOf(0x54, 0));
            Assert.Equal(bound.OwnerIndexOf(0x64, 0), bound.OwnerIndexOf(0x74, 0));
        }

        [Fact]
        public void a_passthrough_write_one_to_clear_bit_is_writable_and_write_one_to_clear_in_hardware()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "STATUS").Bits(0, 3, new BitAction(Disposition.Passthrough, WriteSemantics.WriteOneToClear, InitialValueSource.Literal, 0, false)).Bits(4, 7, Act.PassRo);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal(new PieceMasks(0, 0x0F, 0, 0, 0x0F, 0, 0), PieceMasks.FromBound(bound, 0x40, 1));
        }
}
}
