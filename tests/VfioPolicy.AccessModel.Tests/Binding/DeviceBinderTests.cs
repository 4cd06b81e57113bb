using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using VfioPolicy.AccessModel.Tests.Interpretation.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Binding
{
    public sealed class DeviceBinderTests
    {
        private const int Pm = 0x01;
        private const int Msi = 0x05;
        private const int Vndr = 0x09;
        private const int Exp = 0x10;

        private static BoundConfigSpace Bind(PolicyBuilder policy, ConfigImage image) => DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());

        [Fact]
        public void masks_follow_each_disposition_and_write_semantics()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "R")
                .Bits(0, 0, Act.PassRw).Bits(1, 1, Act.PassRo).Bits(2, 2, Act.VirtRw(1)).Bits(3, 3, Act.VirtRo(1))
                .Bits(4, 4, Act.VirtRw1c(0)).Bits(5, 5, Act.Deny(1)).Bits(6, 6, Act.DenySilent()).Bits(7, 7, Act.VirtFromHardware(WriteSemantics.ReadWrite));
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal(0b1111_1100, bound.VirtMask[0x40]);
            Assert.Equal(0b1001_0101, bound.WriteMask[0x40]);
            Assert.Equal(0b0000_0001, bound.PassthroughWritable[0x40]);
            Assert.Equal(0b1000_0100, bound.ShadowReadWrite[0x40]);
            Assert.Equal(0b0001_0000, bound.ShadowWriteOneToClear[0x40]);
            Assert.Equal(0b0110_0000, bound.DenyMask[0x40]);
            Assert.Equal(0b0010_0000, bound.AuditMask[0x40]);
            Assert.Equal(0b0010_1100, bound.ResetValue[0x40]);
            Assert.Equal(0b1000_0000, bound.InitFromHardware[0x40]);
        }

        [Fact]
        public void rule_values_are_right_aligned_to_the_rule_and_default_values_repeat_per_byte()
        {
            var policy = new PolicyBuilder().Defaults(gap: Act.Deny(0xFF));
            policy.DeviceSpecific(0x40, 2, "R").Bits(4, 11, Act.Deny(0xAB)).Bits(12, 15, Act.VirtRo(0x5));
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal(0xBF, bound.ResetValue[0x40]);
            Assert.Equal(0x5A, bound.ResetValue[0x41]);
            Assert.Equal(new byte[] { 0xFF, 0xFF, 0xFF }, bound.ResetValue.Slice(0x80, 3).ToArray());
        }

        [Fact]
        public void hardware_rw1c_marking_comes_from_the_rule()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "STA").Bits(0, 3, Act.PassRo, hardwareRw1c: true).Bits(8, 9, Act.Deny(), hardwareRw1c: true);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal(0x0F, bound.HardwareWriteOneToClear[0x40]);
            Assert.Equal(0x03, bound.HardwareWriteOneToClear[0x41]);
        }

        [Fact]
        public void every_byte_of_4096_has_an_owner_of_the_right_kind()
        {
            var policy = new PolicyBuilder();
            policy.Header(0x04, 2, "COMMAND").All(Act.PassRw, out RuleOrigin command);
            policy.Capability(Msi, "MSI").Register(0x02, 2, "FLAGS").All(Act.VirtRw(0));
            policy.Capability(0x01, "ERR", extended: true).Register(0x04, 4, "UNCOR_STATUS").All(Act.PassRo, hardwareRw1c: true);
            var image = new ConfigImage(4096)
                .AddCapability(0x50, Msi, 0x0A, "MSI")
                .AddCapability(0x60, Vndr, 0x10, "VNDR")
                .AddExtended(0x100, 0x01, 2, 0x48, "ERR")
                .AddExtended(0x148, 0x0B, 1, 0x10, "VNDR");
            BoundConfigSpace bound = Bind(policy, image);

            for (int offset = 0; offset < 4096; offset++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    Assert.InRange(bound.OwnerIndexOf(offset, bit), 0, bound.Rules.Count - 1);
                }
            }

            Assert.Equal(BitOwnerKind.HeaderDefault, bound.OwnerKindOf(0x00, 0));
            Assert.Equal(command, bound.OwnerOf(0x05, 7));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x50, 0));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x51, 0));
            Assert.Equal(BitOwnerKind.Rule, bound.OwnerKindOf(0x52, 0));
            Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(0x54, 0));
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0x5A, 0));
            Assert.Equal(BitOwnerKind.UnknownCapabilityDefault, bound.OwnerKindOf(0x62, 0));
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0xFF, 7));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x103, 7));
            Assert.Equal(BitOwnerKind.Rule, bound.OwnerKindOf(0x104, 0));
            Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(0x108, 0));
            Assert.Equal(BitOwnerKind.UnknownCapabilityDefault, bound.OwnerKindOf(0x14C, 0));
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0xFFF, 7));
            Assert.Equal(policy.GapDefault.Origin, bound.OwnerOf(0x800, 3));
        }

        [Fact]
        public void capability_rules_bind_at_every_instance_relative_to_its_offset()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Vndr, "VNDR").Register(0x04, 1, "DATA").All(Act.Deny(0x42), out RuleOrigin rule);
            var image = new ConfigImage().AddCapability(0x50, Vndr, 0x10).AddCapability(0x70, Vndr, 0x10);
            BoundConfigSpace bound = Bind(policy, image);

            Assert.Equal(rule, bound.OwnerOf(0x54, 0));
            Assert.Equal(rule, bound.OwnerOf(0x74, 0));
            Assert.Equal(0x42, bound.ResetValue[0x54]);
            Assert.Equal(0x42, bound.ResetValue[0x74]);
            Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(0x58, 0));
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0x64, 0));
        }

        private static PolicyBuilder MsiPolicy(out RuleOrigin data32, out RuleOrigin addressHi, out RuleOrigin data64)
        {
            var policy = new PolicyBuilder();
            CapabilityBuilder msi = policy.Capability(Msi, "MSI");
            msi.Register(0x02, 2, "FLAGS", Behavior.Msi).All(Act.VirtRw(0));
            msi.Register(0x04, 4, "ADDRESS_LO").All(Act.VirtRw(0));
            msi.Register(0x08, 2, "DATA_32").When(0x02, 2, 0x0080, 0x0000).All(Act.VirtRw(0x3232), out data32);
            msi.Register(0x08, 4, "ADDRESS_HI").When(0x02, 2, 0x0080, 0x0080).All(Act.VirtRw(0), out addressHi);
            msi.Register(0x0C, 2, "DATA_64").When(0x02, 2, 0x0080, 0x0080).All(Act.VirtRw(0x6464), out data64);
            return policy;
        }

        [Fact]
        public void msi_register_conditions_choose_the_32_or_64_bit_layout_per_device()
        {
            var policy = MsiPolicy(out RuleOrigin data32, out RuleOrigin addressHi, out RuleOrigin data64);
            BoundConfigSpace msi32 = Bind(policy, new ConfigImage().AddCapability(0x50, Msi, 0x0C, "MSI").Set16(0x52, 0x0000));
            BoundConfigSpace msi64 = Bind(policy, new ConfigImage().AddCapability(0x50, Msi, 0x10, "MSI").Set16(0x52, 0x0080));

            Assert.Equal(data32, msi32.OwnerOf(0x58, 0));
            Assert.Equal(0x32, msi32.ResetValue[0x58]);
            Assert.Equal(BitOwnerKind.CapabilityDefault, msi32.OwnerKindOf(0x5A, 0));

            Assert.Equal(addressHi, msi64.OwnerOf(0x58, 0));
            Assert.Equal(addressHi, msi64.OwnerOf(0x5B, 7));
            Assert.Equal(data64, msi64.OwnerOf(0x5C, 0));
            Assert.Equal(0x64, msi64.ResetValue[0x5D]);
            Assert.Empty(msi32.Warnings);
            Assert.Empty(msi64.Warnings);
        }

        [Fact]
        public void register_past_the_end_of_a_shorter_capability_does_not_exist_there()
        {
            var policy = MsiPolicy(out _, out _, out _);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x50, Msi, 12, "MSI").Set16(0x52, 0x0080));

            Assert.Empty(bound.Warnings);
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0x5C, 0));
        }

        [Fact]
        public void register_straddling_the_end_of_the_capability_is_dropped_with_a_warning()
        {
            var policy = MsiPolicy(out _, out _, out _);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x50, Msi, 13, "MSI").Set16(0x52, 0x0080));

            Assert.Equal(new[] { "register DATA_64 of MSI at 0x50 straddles the end of the capability (length 13); ignored" }, bound.Warnings);
            Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(0x5C, 0));
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0x5D, 0));
        }

        [Fact]
        public void capability_rules_beat_defaults_and_a_device_specific_rule_cannot_take_them_over()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Vndr, "VNDR").Register(0x04, 4, "DATA").All(Act.Deny(), out RuleOrigin capabilityRule);
            policy.DeviceSpecific(0x54, 1, "BACKDOOR").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x50, Vndr, 0x10));

            Assert.Equal("VP0701", Assert.Single(bound.Errors).Code);
            Assert.Equal(capabilityRule, bound.OwnerOf(0x54, 0));
            Assert.Equal(0x00, bound.PassthroughWritable[0x54]);
            Assert.Equal(capabilityRule, bound.OwnerOf(0x55, 0));
            Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(0x5C, 0));
        }

        [Fact]
        public void header_rules_beat_the_header_default()
        {
            var policy = new PolicyBuilder().Defaults(header: Act.Deny(0xEE));
            policy.Header(0x0C, 1, "CACHE_LINE_SIZE").All(Act.VirtRw(0), out RuleOrigin rule);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal(rule, bound.OwnerOf(0x0C, 0));
            Assert.Equal(BitOwnerKind.HeaderDefault, bound.OwnerKindOf(0x0D, 0));
            Assert.Equal(0xEE, bound.ResetValue[0x0D]);
        }

        private static ConfigImage ThreeCapabilities(int size = 256)
            => new ConfigImage(size)
                .Set16(0x06, 0x0200)
                .AddCapability(0x40, Pm, 0x08, "PM")
                .AddCapability(0x50, Msi, 0x10, "MSI")
                .AddCapability(0x60, Exp, 0x3C, "EXP");

        [Fact]
        public void hidden_capability_is_unlinked_and_its_body_denied()
        {
            var policy = new PolicyBuilder();
            CapabilityBuilder msi = policy.Capability(Msi, "MSI").Hide();
            msi.Register(0x02, 2, "FLAGS", Behavior.Msi).All(Act.PassRw);
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(0x60u, h.Read(0x41, 1));
            Assert.Equal(0u, h.Read(0x50, 4));
            Assert.Equal(0u, h.Read(0x5C, 4));
            Assert.Empty(h.Bound.Behaviors);
            Assert.Equal(new[] { false, true, false }, h.Bound.Capabilities.Select(c => c.Hidden));

            h.Write(0x52, 2, 0x0001);
            Assert.Equal(msi.HideRule!.Origin, Assert.Single(h.Audit.Events).Rule);
            Assert.Equal(0x50u, h.Hardware.Peek(0x41, 1));
            Assert.Equal(0x10u, h.Read(0x06, 1) & 0x10);
        }

        [Fact]
        public void hidden_last_capability_ends_the_chain()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Exp, "EXP").Hide(Act.Deny(0xFF));
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(0x50u, h.Read(0x41, 1));
            Assert.Equal(0u, h.Read(0x51, 1));
            Assert.Equal(0x60u, h.Hardware.Peek(0x51, 1));
            Assert.Equal(0xFFFF_FFFFu, h.Read(0x60, 4));
        }

        [Fact]
        public void hidden_first_capability_rewrites_capability_pointer()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Pm, "PM").Hide();
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(0x50u, h.Read(0x34, 1));
            Assert.Equal(0x10u, h.Read(0x06, 1) & 0x10);
            Assert.Equal(0x60u, h.Read(0x51, 1));
            Assert.Equal(BitOwnerKind.ChainLink, h.Bound.OwnerKindOf(0x34, 0));
        }

        [Fact]
        public void hiding_every_capability_clears_cap_list_status_bit()
        {
            var policy = new PolicyBuilder().Defaults(unknown: Act.Deny(), hideUnknown: true);
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(0u, h.Read(0x34, 1));
            Assert.Equal(0x0200u, h.Read(0x06, 2));
            Assert.Equal(BitOwnerKind.ChainLink, h.Bound.OwnerKindOf(0x06, 4));
            Assert.Equal(BitOwnerKind.HeaderDefault, h.Bound.OwnerKindOf(0x06, 3));
            Assert.Equal(BitOwnerKind.HiddenBody, h.Bound.OwnerKindOf(0x40, 0));
            Assert.All(h.Bound.Capabilities, c => Assert.True(c.Hidden));
        }

        [Fact]
        public void without_the_capabilities_list_bit_the_pointer_and_the_status_bit_stay_the_header_s()
        {
            // A device that lists no capabilities (Status bit 4 clear) but has a stray byte at 0x34: the chain has nothing
            // to keep consistent, so neither byte becomes a chain link and the header rule reads the hardware.
            var policy = new PolicyBuilder().Defaults(header: Act.PassRo);
            var h = new FirewallHarness(policy.Build(), new ConfigImage().Set16(0x06, 0x0200).Set8(0x34, 0x40));

            Assert.Equal(0x40u, h.Read(0x34, 1));
            Assert.Equal(0x0200u, h.Read(0x06, 2));
            Assert.Equal(BitOwnerKind.HeaderDefault, h.Bound.OwnerKindOf(0x34, 0));
            Assert.Equal(BitOwnerKind.HeaderDefault, h.Bound.OwnerKindOf(0x06, 4));
        }

        [Fact]
        public void a_listed_chain_whose_pointer_already_names_the_first_visible_capability_keeps_it_from_the_header()
        {
            var policy = new PolicyBuilder().Defaults(header: Act.PassRo);
            policy.Capability(Pm, "PM");
            policy.Capability(Msi, "MSI");
            policy.Capability(Exp, "EXP");
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(0x40u, h.Read(0x34, 1));
            Assert.Equal(BitOwnerKind.HeaderDefault, h.Bound.OwnerKindOf(0x34, 0));
            Assert.Equal(BitOwnerKind.HeaderDefault, h.Bound.OwnerKindOf(0x06, 4));
            Assert.Equal(0x10u, h.Read(0x06, 1) & 0x10);
        }

        [Fact]
        public void unknown_capability_hide_default_gives_its_body_action()
        {
            var policy = new PolicyBuilder().Defaults(unknown: Act.DenySilent(0xAA), hideUnknown: true);
            policy.Capability(Pm, "PM");
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(0xAAAA_AAAAu, h.Read(0x54, 4));
            Assert.Equal(0u, h.Read(0x41, 1));
            Assert.Equal(0x40u, h.Read(0x34, 1));
            Assert.Equal(policy.UnknownDefault.Origin, h.Bound.OwnerOf(0x54, 0));
            h.Write(0x54, 4, 0);
            Assert.Empty(h.Audit.Events);
        }

        [Fact]
        public void unknown_capability_default_applies_to_capabilities_no_block_mentions()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.PassRw, unknown: Act.Deny(0x11));
            policy.Capability(Pm, "PM");
            BoundConfigSpace bound = Bind(policy, ThreeCapabilities());

            Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(0x44, 0));
            Assert.Equal(0xFF, bound.PassthroughWritable[0x44]);
            Assert.Equal(BitOwnerKind.UnknownCapabilityDefault, bound.OwnerKindOf(0x54, 0));
            Assert.Equal(0x11, bound.ResetValue[0x54]);
            Assert.Equal(new[] { true, false, false }, bound.Capabilities.Select(c => c.Known));
        }

        [Fact]
        public void a_block_default_replaces_the_capability_default_for_its_capability_only()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(0x22));
            CapabilityBuilder vendor = policy.Capability(Vndr, "VNDR").Default(Act.PassRw);
            vendor.Register(0x04, 1, "LENGTH").All(Act.PassRo, out RuleOrigin rule);
            policy.Capability(Pm, "PM");
            BoundConfigSpace bound = Bind(policy, new ConfigImage().Set16(0x06, 0x0010).AddCapability(0x40, Pm, 0x08, "PM").AddCapability(0x50, Vndr, 0x0C, "VNDR"));

            // Every VNDR byte no rule covers, to the capability's end, follows the block default.
            foreach (int offset in new[] { 0x52, 0x53, 0x55, 0x5B })
            {
                Assert.Equal(BitOwnerKind.CapabilityDefault, bound.OwnerKindOf(offset, 0));
                Assert.Equal(vendor.BlockDefault!.Origin, bound.OwnerOf(offset, 7));
                Assert.Equal(0xFF, bound.PassthroughWritable[offset]);
                Assert.Equal(0x00, bound.VirtMask[offset]);
            }

            Assert.Equal(rule, bound.OwnerOf(0x54, 0));
            Assert.Equal(0x00, bound.PassthroughWritable[0x54]);
            Assert.Equal(BitOwnerKind.GapDefault, bound.OwnerKindOf(0x5C, 0));

            // The chain link stays the chain's; PM keeps the policy's default capability.
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x50, 0));
            Assert.Equal(BitOwnerKind.ChainLink, bound.OwnerKindOf(0x51, 0));
            Assert.Equal(policy.CapabilityDefault.Origin, bound.OwnerOf(0x44, 0));
            Assert.Equal(0x22, bound.ResetValue[0x44]);
        }

        [Fact]
        public void a_block_default_reaches_every_instance_and_yields_to_a_hide()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Vndr, "VNDR").Default(Act.DenySilent(0x5A));
            var image = new ConfigImage().Set16(0x06, 0x0010).AddCapability(0x40, Vndr, 0x08, "VNDR").AddCapability(0x60, Vndr, 0x10, "VNDR");
            BoundConfigSpace bound = Bind(policy, image);

            Assert.Equal(0x5A, bound.ResetValue[0x47]);
            Assert.Equal(0x5A, bound.ResetValue[0x6F]);
            Assert.Equal(0xFF, bound.DenyMask[0x62]);
            Assert.Equal(0x00, bound.AuditMask[0x62]);

            policy.Capability(Vndr, "VNDR").Hide(Act.PassRo);
            BoundConfigSpace hidden = Bind(policy, image);
            Assert.Equal(BitOwnerKind.HiddenBody, hidden.OwnerKindOf(0x47, 0));
            Assert.Equal(0x00, hidden.DenyMask[0x62]);
        }

        [Fact]
        public void hidden_extended_capability_at_0x100_becomes_placeholder()
        {
            var policy = new PolicyBuilder();
            policy.Capability(0x01, "ERR", extended: true).Hide();
            var image = new ConfigImage(4096).AddExtended(0x100, 0x01, 2, 0x48, "ERR").AddExtended(0x150, 0x03, 1, 0x0C, "DSN");
            var h = new FirewallHarness(policy.Build(), image);

            Assert.Equal(0x1500_0000u, h.Read(0x100, 4));
            Assert.Equal(0u, h.Read(0x104, 4));
            Assert.Equal(0x0001_0003u, h.Read(0x150, 4));
            Assert.Equal(BitOwnerKind.ChainLink, h.Bound.OwnerKindOf(0x100, 0));
            Assert.Equal(BitOwnerKind.HiddenBody, h.Bound.OwnerKindOf(0x104, 0));
        }

        [Fact]
        public void hidden_extended_capabilities_after_the_head_are_skipped()
        {
            var policy = new PolicyBuilder();
            policy.Capability(0x03, "DSN", extended: true).Hide();
            var image = new ConfigImage(4096)
                .AddExtended(0x100, 0x01, 2, 0x48, "ERR")
                .AddExtended(0x150, 0x03, 1, 0x0C, "DSN")
                .AddExtended(0x160, 0x0B, 1, 0x10, "VNDR");
            var h = new FirewallHarness(policy.Build(), image);

            Assert.Equal(0x1602_0001u, h.Read(0x100, 4));
            Assert.Equal(0x1500_0000u | 0x0002_0001u, h.Hardware.Peek(0x100, 4));
        }

        [Fact]
        public void chain_link_bytes_read_their_values_at_open_and_ignore_writes()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.PassRw, unknown: Act.PassRw);
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            h.Write(0x50, 2, 0xFFFF);

            Assert.Equal(0x6005u, h.Read(0x50, 2));
            Assert.DoesNotContain(h.Hardware.Traffic, t => t.Kind == Simulation.HardwareAccessKind.Write);
            Assert.Equal(0, h.Bound.InitFromHardware[0x50]);
        }

        [Fact]
        public void write_hw_on_a_chain_link_reads_the_chains_value_and_sends_writes_to_the_hardware()
        {
            // VNDR at 0x40 -> MSI at 0x50 (hidden) -> EXP at 0x60: the VNDR's next pointer must skip the hidden MSI.
            var policy = new PolicyBuilder().Defaults(capability: Act.PassRw, unknown: Act.PassRw);
            policy.Capability(Vndr, "VNDR").Register(0x00, 2, "LINK").All(Act.VirtFromHardware(WriteSemantics.WriteHardware), out RuleOrigin rule);
            policy.Capability(Msi, "MSI").Hide();
            var image = new ConfigImage().Set16(0x06, 0x0010).AddCapability(0x40, Vndr, 0x10, "VNDR").AddCapability(0x50, Msi, 0x10, "MSI").AddCapability(0x60, Exp, 0x3C, "EXP");
            var h = new FirewallHarness(policy.Build(), image);

            Assert.Empty(h.Bound.Warnings);
            Assert.Equal(rule, h.Bound.OwnerOf(0x41, 0));
            Assert.Equal(0x6009u, h.Read(0x40, 2));                 // the chain's next pointer, not the hardware's 0x50
            Assert.Equal(0xFF, h.Bound.VirtMask[0x41]);
            Assert.Equal(0xFF, h.Bound.WriteMask[0x41]);

            h.Write(0x40, 2, 0x1234);
            Assert.Equal(0x1234u, h.Hardware.Peek(0x40, 2));        // the write reached the device
            Assert.Equal(0x6009u, h.Read(0x40, 2));                 // and the shadow kept the chain's value
            Assert.Equal(0x6009u, h.ShadowValue(0x40, 2));
        }

        [Fact]
        public void passthrough_ro_on_a_capability_id_reads_the_hardware_and_leaves_the_next_pointer_to_the_chain()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.PassRw, unknown: Act.PassRw);
            policy.Capability(Pm, "PM").Register(0x00, 2, "LINK").All(Act.PassRo, out RuleOrigin rule);
            var h = new FirewallHarness(policy.Build(), ThreeCapabilities());

            Assert.Equal(rule, h.Bound.OwnerOf(0x40, 0));
            Assert.Equal(BitOwnerKind.ChainLink, h.Bound.OwnerKindOf(0x41, 0));
            Assert.Equal(0x00, h.Bound.VirtMask[0x40]);
            Assert.Single(h.Bound.Warnings, w => w.Contains("chain link byte 0x41 passthrough", StringComparison.Ordinal));

            h.Hardware.SetDeviceValue(0x40, 2, 0x7777);
            Assert.Equal(0x5077u, h.Read(0x40, 2));                 // ID live from the device, next pointer from the chain
            h.Write(0x40, 1, 0xAA);
            Assert.Equal(0x7777u, h.Hardware.Peek(0x40, 2));        // read-only: nothing written
        }

        [Fact]
        public void write_hw_on_an_extended_header_keeps_the_skip_over_a_hidden_successor()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.PassRw, unknown: Act.PassRw);
            policy.Capability(0x0B, "VNDR", extended: true).Register(0x00, 4, "LINK").All(Act.VirtFromHardware(WriteSemantics.WriteHardware));
            policy.Capability(0x03, "DSN", extended: true).Hide();
            var image = new ConfigImage(4096)
                .AddExtended(0x100, 0x0B, 1, 0x10, "VNDR")
                .AddExtended(0x150, 0x03, 1, 0x0C, "DSN")
                .AddExtended(0x160, 0x01, 2, 0x48, "ERR");
            var h = new FirewallHarness(policy.Build(), image);

            Assert.Equal(0x1601_000Bu, h.Read(0x100, 4));
            h.Write(0x100, 4, 0xDEAD_BEEF);
            Assert.Equal(0xDEAD_BEEFu, h.Hardware.Peek(0x100, 4));
            Assert.Equal(0x1601_000Bu, h.Read(0x100, 4));
        }

        [Fact]
        public void a_not_equal_condition_binds_the_register_on_every_other_value()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.PassRo, unknown: Act.PassRw);
            policy.Capability(Exp, "EXP").Register(0x28, 2, "DEVCTL2").All(Act.PassRw).When(0x02, 2, 0x000F, 0x0001, notEqual: true);
            foreach ((uint version, byte expected) in new[] { (1u, (byte)0x00), (2u, (byte)0xFF), (3u, (byte)0xFF), (0u, (byte)0xFF) })
            {
                var image = ThreeCapabilities().Set16(0x62, (ushort)version);
                Assert.Equal(expected, Bind(policy, image).PassthroughWritable[0x60 + 0x28]);
            }
        }

        [Fact]
        public void a_device_specific_register_over_a_visible_capability_is_a_located_binding_error_and_is_not_applied()
        {
            var policy = new PolicyBuilder().Defaults(capability: Act.Deny(), unknown: Act.Deny());
            policy.Capability(Msi, "MSI").Register(0x02, 2, "FLAGS").All(Act.VirtRw(0));
            policy.DeviceSpecific(0x52, 2, "MY_CONTROL").All(Act.PassRw);
            policy.DeviceSpecific(0xA0, 4, "ELSEWHERE").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, ThreeCapabilities());

            BindingError error = Assert.Single(bound.Errors);
            Assert.Equal("VP0701", error.Code);
            Assert.Equal("register MY_CONTROL", error.Origin.Text);
            Assert.Contains("MY_CONTROL (0x52, 2 bytes) lies over capability MSI at 0x50-0x5f", error.Message);
            Assert.StartsWith("test.vfiopolicy(" + error.Origin.Line + ",", error.ToString());
            Assert.Equal(0xFF, bound.VirtMask[0x52]);                // the capability's rule stands
            Assert.Equal(0xFF, bound.PassthroughWritable[0xA0]);     // a register clear of every capability applies
        }

        [Fact]
        public void a_device_specific_register_over_a_hidden_capability_or_one_whose_condition_fails_is_no_error()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Msi, "MSI").Hide();
            policy.DeviceSpecific(0x52, 2, "MY_CONTROL").All(Act.PassRw);
            policy.DeviceSpecific(0x60, 2, "ONLY_ON_OTHERS").When(0x00, 2, 0xFFFF, 0xBEEF).All(Act.PassRw);
            Assert.Empty(Bind(policy, ThreeCapabilities()).Errors);
        }

        /// <summary>Binds with the real chain walk, as the runtime does, and returns what the consumer reads at <paramref name="offset"/>.</summary>
        private static uint ConsumerSees(BoundConfigSpace bound, byte[] config, int offset, int width)
        {
            var firewall = new AccessModel.Interpretation.PolicyInterpreter(bound, new AccessModel.Simulation.SimulatedConfigHardware(config), new AccessModel.Simulation.RecordingAuditSink(), null);
            Assert.Equal(AccessModel.Contracts.AccessStatus.Ok, firewall.Read(offset, width, out uint value));
            return value;
        }

        [Fact]
        public void a_standard_chain_that_loops_ends_where_the_walk_stopped()
        {
            byte[] config = ThreeCapabilities().Bytes;
            config[0x61] = 0x40;                                   // EXP points back to PM
            BoundConfigSpace bound = DeviceBinder.Bind(new PolicyBuilder().Build(), config);

            Assert.Contains(bound.Warnings, w => w.Contains("loops back to 0x40", StringComparison.Ordinal));
            Assert.Equal(0x0010u, ConsumerSees(bound, config, 0x60, 2));   // EXP's next pointer reads 0, not 0x40
            Assert.Equal(0x5001u, ConsumerSees(bound, config, 0x40, 2));   // the rest of the chain is as it was
            Assert.Equal(0x40u, ConsumerSees(bound, config, 0x34, 1));
        }

        [Fact]
        public void a_next_pointer_into_the_header_or_with_reserved_bits_reads_as_the_walk_followed_it()
        {
            byte[] config = ThreeCapabilities().Bytes;
            config[0x34] = 0x43;                                   // reserved low bits: the walk masks them (0x40)
            config[0x41] = 0x52;                                   // likewise: MSI at 0x50
            config[0x51] = 0x20;                                   // into the header: the walk stops after MSI
            BoundConfigSpace bound = DeviceBinder.Bind(new PolicyBuilder().Build(), config);

            Assert.Equal(0x40u, ConsumerSees(bound, config, 0x34, 1));
            Assert.Equal(0x5001u, ConsumerSees(bound, config, 0x40, 2));
            Assert.Equal(0x0005u, ConsumerSees(bound, config, 0x50, 2));
            Assert.Equal(0x10u, ConsumerSees(bound, config, 0x06, 1) & 0x10);
        }

        [Fact]
        public void a_capability_pointer_the_walk_cannot_follow_leaves_no_capability_list()
        {
            byte[] config = ThreeCapabilities().Bytes;
            config[0x34] = 0x10;                                   // into the header: nothing is walked
            BoundConfigSpace bound = DeviceBinder.Bind(new PolicyBuilder().Build(), config);

            Assert.DoesNotContain(bound.Capabilities, c => !c.Info.Extended);
            Assert.Equal(0x00u, ConsumerSees(bound, config, 0x34, 1));
            Assert.Equal(0x00u, ConsumerSees(bound, config, 0x06, 1) & 0x10);   // Status no longer claims a list
        }

        [Fact]
        public void an_extended_chain_that_loops_ends_where_the_walk_stopped()
        {
            var image = new ConfigImage(4096).AddCapability(0x40, Exp, 0x3C, "EXP").Set16(0x42, 0x0002)
                .AddExtended(0x100, 0x01, 2, 0x48, "ERR")
                .AddExtended(0x150, 0x03, 1, 0x0C, "DSN");
            byte[] config = image.Bytes;
            uint dsn = image.Get(0x150, 4);
            image.Set32(0x150, (dsn & 0x000F_FFFF) | (0x100u << 20));  // DSN points back to ERR
            BoundConfigSpace bound = DeviceBinder.Bind(new PolicyBuilder().Build(), config);

            Assert.Contains(bound.Warnings, w => w.Contains("loop", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(0x0001_0003u, ConsumerSees(bound, config, 0x150, 4));      // next 0: the chain ends at DSN
            Assert.Equal(0x1502_0001u, ConsumerSees(bound, config, 0x100, 4));
        }

        [Fact]
        public void rule_covering_a_chain_link_is_overridden_with_a_warning()
        {
            var policy = new PolicyBuilder();
            policy.Capability(Vndr, "VNDR").Register(0x00, 4, "HEAD").All(Act.PassRw, out RuleOrigin rule);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x40, Vndr, 0x10));

            Assert.Equal(
                new[]
                {
                    "rule at test.vfiopolicy:" + rule.Line + " would make chain link byte 0x40 passthrough; kept virtual",
                    "rule at test.vfiopolicy:" + rule.Line + " would make chain link byte 0x41 passthrough; kept virtual",
                },
                bound.Warnings);
            Assert.Equal(0, bound.PassthroughWritable[0x41]);
            Assert.Equal(0xFF, bound.PassthroughWritable[0x42]);
        }

        [Fact]
        public void walk_warnings_come_first_in_the_binding_warnings()
        {
            var policy = MsiPolicy(out _, out _, out _);
            var image = new ConfigImage().WalkWarning("standard chain loops back to 0x50").AddCapability(0x50, Msi, 13, "MSI").Set16(0x52, 0x0080);
            BoundConfigSpace bound = Bind(policy, image);

            Assert.Equal("standard chain loops back to 0x50", bound.Warnings[0]);
            Assert.Equal(2, bound.Warnings.Count);
        }

        [Fact]
        public void dominant_rule_prefers_the_owner_of_most_bits_then_the_lowest_bit()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "R")
                .Bits(0, 3, Act.PassRo, out RuleOrigin lowHalf).Bits(4, 7, Act.Deny(), out RuleOrigin highHalf)
                .Bits(8, 9, Act.PassRo, out RuleOrigin fewBits).Bits(10, 15, Act.Deny(), out RuleOrigin manyBits);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Equal(lowHalf, bound.DominantRule(0x40));
            Assert.Equal(manyBits, bound.DominantRule(0x41));
            Assert.NotEqual(highHalf, fewBits);
        }

        [Fact]
        public void behaviors_are_bound_at_absolute_offsets()
        {
            var policy = MsiPolicy(out _, out _, out _);
            policy.Header(0x04, 2, "COMMAND", Behavior.Command).All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage().AddCapability(0x50, Msi, 0x0C, "MSI"));

            Assert.Equal(new[] { (0x04, 2, Behavior.Command), (0x52, 2, Behavior.Msi) }, bound.Behaviors.Select(b => (b.Offset, b.Width, b.Behavior)).OrderBy(b => b.Item1));
            Assert.Equal(Behavior.Msi, bound.FindBehavior(0x53)?.Behavior);
            Assert.Null(bound.FindBehavior(0x54));
        }

        [Fact]
        public void device_specific_register_beyond_a_small_config_space_does_not_exist_there()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x400, 4, "FAR").All(Act.PassRw);
            BoundConfigSpace bound = Bind(policy, new ConfigImage());

            Assert.Empty(bound.Warnings);
            Assert.Equal(256, bound.Size);
        }

        [Theory]
        [InlineData(0)]
        [InlineData(63)]
        [InlineData(512)]
        public void bind_rejects_a_config_space_of_unexpected_size(int size)
        {
            var error = Assert.Throws<ArgumentException>(() => DeviceBinder.Bind(new PolicyBuilder().Build(), new byte[size], new ChainWalk(Array.Empty<CapabilityInfo>(), Array.Empty<string>())));
            Assert.Contains(size + ".", error.Message, StringComparison.Ordinal);
        }

        public static IEnumerable<object[]> MalformedWalks()
        {
            CapabilityInfo Std(int offset, int id, int length) => new CapabilityInfo(offset, id, false, null, length, "CAP");
            CapabilityInfo Ext(int offset, int id, int length) => new CapabilityInfo(offset, id, true, 1, length, "ECAP");
            yield return new object[] { "pointer into the header", new[] { Std(0x20, Msi, 0x10) } };
            yield return new object[] { "overlapping bodies", new[] { Std(0x40, Msi, 0x30), Std(0x50, Pm, 0x08), Std(0x48, Vndr, 0x40) } };
            yield return new object[] { "zero and negative lengths", new[] { Std(0x40, Msi, 0), Std(0x50, Pm, -4) } };
            yield return new object[] { "body past the end", new[] { Std(0xFE, Msi, 0x40), Std(0xFF, Pm, 2) } };
            yield return new object[] { "negative and huge offsets", new[] { Std(-8, Msi, 4), Std(int.MaxValue, Pm, int.MaxValue) } };
            yield return new object[] { "extended chain in a small space", new[] { Ext(0x100, 0x01, 0x48) } };
            yield return new object[] { "extended capability in standard space", new[] { Ext(0x40, 0x01, 0x48) } };
            yield return new object[] { "same capability twice", new[] { Std(0x40, Msi, 0x10), Std(0x40, Msi, 0x10) } };
        }

        [Theory]
        [MemberData(nameof(MalformedWalks))]
        public void malformed_chains_bind_without_exceptions(string description, CapabilityInfo[] capabilities)
        {
            var policy = MsiPolicy(out _, out _, out _);
            policy.Capability(Msi, "MSI").Hide();
            policy.Capability(Pm, "PM").Register(0x04, 4, "PMCSR").All(Act.PassRw);
            byte[] config = new byte[256];
            new Random(description.Length).NextBytes(config);

            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), config, new ChainWalk(capabilities, Array.Empty<string>()));

            AssertWellFormed(bound);
        }

        [Fact]
        public void random_devices_bind_through_the_real_walker_without_exceptions()
        {
            var random = new Random(20240611);
            var policy = MsiPolicy(out _, out _, out _).Defaults(unknown: Act.Deny(), hideUnknown: true);
            policy.Capability(Exp, "EXP").Register(0x08, 4, "DEVCTL").All(Act.PassRw);
            PolicyModel model = policy.Build();
            for (int i = 0; i < 300; i++)
            {
                byte[] config = new byte[i % 2 == 0 ? 256 : 4096];
                random.NextBytes(config);
                config[0x06] |= 0x10;
                config[0x34] = (byte)(0x40 + (random.Next(0x30) * 4));
                AssertWellFormed(DeviceBinder.Bind(model, config));
            }
        }

        private static void AssertWellFormed(BoundConfigSpace bound)
        {
            // Collected first and asserted once: an Assert per bit makes this test slow for nothing.
            var problems = new List<string>();
            for (int offset = 0; offset < bound.Size; offset++)
            {
                if ((bound.DenyMask[offset] & ~bound.VirtMask[offset]) != 0 || (bound.PassthroughWritable[offset] & bound.VirtMask[offset]) != 0
                    || (bound.AuditMask[offset] & ~bound.DenyMask[offset]) != 0)
                {
                    problems.Add("inconsistent masks at " + offset);
                }

                for (int bit = 0; bit < 8; bit++)
                {
                    int owner = bound.OwnerIndexOf(offset, bit);
                    if (owner < 0 || owner >= bound.Rules.Count)
                    {
                        problems.Add("no owner for bit " + bit + " of " + offset);
                    }
                }
            }

            Assert.Empty(problems);
        }
    }
}
