using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using VfioPolicy.AccessModel.Tests.Interpretation.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Interpretation
{
    // One test per rule of docs/access-model.md ("One access", dispositions, resets, behaviors). The policies are
    // built in C# so that the interpreter is tested independently of the parser and compiler.
    public sealed class PolicyInterpreterTests
    {
        private static FirewallHarness Open(PolicyBuilder policy, ConfigImage? image = null, byte[]? hardwareRw1c = null)
            => new FirewallHarness(policy.Build(), image ?? new ConfigImage(), hardwareRw1c);

        [Fact]
        public void read_of_passthrough_bits_returns_the_hardware_value()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").All(Act.PassRo);
            var h = Open(policy, new ConfigImage().Set32(0x40, 0xCAFEF00D));

            Assert.Equal(0xCAFEF00Du, h.Read(0x40, 4));
            Assert.Equal(new[] { "read 4@0x040 = 0xcafef00d" }, h.TrafficText());
        }

        [Fact]
        public void read_merges_hardware_bits_with_virtualized_bits_of_the_same_piece()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "R").Bits(0, 7, Act.PassRo).Bits(8, 15, Act.VirtRo(0x5A));
            var h = Open(policy, new ConfigImage().Set16(0x40, 0x1234));

            Assert.Equal(0x5A34u, h.Read(0x40, 2));
        }

        [Fact]
        public void read_of_fully_virtual_piece_does_not_read_hardware()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "V").All(Act.VirtRo(0xBEEF));
            policy.DeviceSpecific(0x42, 2, "P").Bits(0, 0, Act.PassRo).Bits(1, 15, Act.Deny());
            var h = Open(policy, new ConfigImage().Set32(0x40, 0xFFFF_FFFF));

            Assert.Equal(0xBEEFu, h.Read(0x40, 2));
            Assert.Empty(h.Hardware.Traffic);

            // One passthrough bit is enough to make the piece read the hardware, once.
            Assert.Equal(0x0001u, h.Read(0x42, 2));
            Assert.Equal(new[] { "read 2@0x042 = 0xffff" }, h.TrafficText());
        }

        [Fact]
        public void denied_bits_read_as_the_rule_constant_right_aligned_to_the_rule()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "R").Bits(0, 3, Act.PassRo).Bits(4, 7, Act.Deny(0x3));
            var h = Open(policy, new ConfigImage().Set8(0x40, 0xFF));

            Assert.Equal(0x3Fu, h.Read(0x40, 1));
        }

        [Fact]
        public void read_assembles_a_little_endian_value_across_pieces()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "A").All(Act.PassRo);
            policy.DeviceSpecific(0x44, 4, "B").All(Act.VirtRo(0x8877_6655));
            var h = Open(policy, new ConfigImage().Set32(0x40, 0x4433_2211));

            Assert.Equal(0x6655_4433u, h.Read(0x42, 4));
            Assert.Equal(new[] { "read 2@0x042 = 0x4433" }, h.TrafficText());
        }

        [Fact]
        public void write_to_virtualized_rw_bits_updates_shadow_and_never_touches_hardware()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").All(Act.VirtRw(0x1122_3344));
            var h = Open(policy, new ConfigImage().Set32(0x40, 0xAAAA_AAAA));

            Assert.Equal(0x1122_3344u, h.Read(0x40, 4));
            h.Write(0x40, 4, 0xDEAD_BEEF);

            Assert.Equal(0xDEAD_BEEFu, h.Read(0x40, 4));
            Assert.Equal(0xAAAA_AAAAu, h.Hardware.Peek(0x40, 4));
            Assert.Empty(h.Hardware.Traffic);
        }

        [Fact]
        public void write_to_virtualized_ro_bits_is_ignored()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "R").All(Act.VirtRo(0x0102));
            var h = Open(policy);

            h.Write(0x40, 2, 0xFFFF);

            Assert.Equal(0x0102u, h.Read(0x40, 2));
            Assert.Empty(h.Hardware.Traffic);
            Assert.Empty(h.Audit.Events);
        }

        [Fact]
        public void virtualized_rw1c_clears_on_one()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "S").All(Act.VirtRw1c(0xFF));
            var h = Open(policy);

            h.Write(0x40, 1, 0x0F);
            Assert.Equal(0xF0u, h.Read(0x40, 1));

            h.Write(0x40, 1, 0x00);
            Assert.Equal(0xF0u, h.Read(0x40, 1));
            Assert.Empty(h.Hardware.Traffic);
        }

        [Fact]
        public void write_to_passthrough_read_only_bits_never_touches_hardware()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").All(Act.PassRo);
            var h = Open(policy, new ConfigImage().Set32(0x40, 0x1111_1111));

            h.Write(0x40, 4, 0xFFFF_FFFF);

            Assert.Empty(h.Hardware.Traffic);
            Assert.Equal(0x1111_1111u, h.Hardware.Peek(0x40, 4));
        }

        [Fact]
        public void passthrough_write_is_one_read_modify_write_that_keeps_other_bits_hardware_values()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").Bits(0, 7, Act.PassRw).Bits(8, 15, Act.VirtRw(0)).Bits(16, 31, Act.PassRo);
            var h = Open(policy, new ConfigImage().Set32(0x40, 0x1122_3344));

            h.Write(0x40, 4, 0xFFFF_FFFF);

            Assert.Equal(new[] { "read 4@0x040 = 0x11223344", "write 4@0x040 = 0x112233ff" }, h.TrafficText());
            Assert.Equal(0x1122_33FFu, h.Hardware.Peek(0x40, 4));
            Assert.Equal(0x1122_FFFFu, h.Read(0x40, 4));
        }

        [Fact]
        public void write_of_a_fully_writable_passthrough_piece_does_not_read_hardware_first()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").All(Act.PassRw);
            var h = Open(policy);

            h.Write(0x40, 4, 0x0BAD_F00D);

            Assert.Equal(new[] { "write 4@0x040 = 0x0badf00d" }, h.TrafficText());
        }

        [Fact]
        public void four_byte_write_to_devctl_does_not_clear_devsta_w1c_bits()
        {
            // PCIe capability at 0x40: Device Control at +8 is the consumer's, Device Status at +0xA holds
            // write-1-to-clear error bits. A guest reads the dword and writes it back with a new DEVCTL value.
            var policy = new PolicyBuilder();
            CapabilityBuilder exp = policy.Capability(0x10, "EXP");
            exp.Register(0x08, 2, "DEVCTL").All(Act.PassRw);
            exp.Register(0x0A, 2, "DEVSTA").Bits(0, 3, Act.PassRo, hardwareRw1c: true).Bits(4, 15, Act.PassRo);
            var image = new ConfigImage().AddCapability(0x40, 0x10, 0x3C, "EXP").Set16(0x48, 0x2810).Set16(0x4A, 0x000F);
            var w1c = new byte[256];
            w1c[0x4A] = 0x0F;
            var h = Open(policy, image, w1c);

            uint dword = h.Read(0x48, 4);
            Assert.Equal(0x000F_2810u, dword);
            h.Write(0x48, 4, (dword & 0xFFFF_0000) | 0x2830);

            Assert.Equal(0x2830u, h.Hardware.Peek(0x48, 2));
            Assert.Equal(0x000Fu, h.Hardware.Peek(0x4A, 2));
            Assert.Equal("write 4@0x048 = 0x00002830", h.TrafficText().Last());
        }

        [Fact]
        public void consumer_may_clear_a_hardware_rw1c_bit_it_is_allowed_to_write()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "CTL").All(Act.PassRw);
            policy.DeviceSpecific(0x42, 2, "STA").Bits(0, 3, Act.PassRw, hardwareRw1c: true).Bits(4, 15, Act.PassRo);
            var image = new ConfigImage().Set16(0x42, 0x000F);
            var w1c = new byte[256];
            w1c[0x42] = 0x0F;
            var h = Open(policy, image, w1c);

            h.Write(0x40, 4, 0x0001_0000);

            Assert.Equal(0x000Eu, h.Hardware.Peek(0x42, 2));
        }

        [Fact]
        public void unaligned_access_is_split_into_natural_pieces()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "A").All(Act.PassRw);
            policy.DeviceSpecific(0x44, 4, "B").All(Act.PassRw);
            var h = Open(policy);

            h.Write(0x43, 4, 0xAABB_CCDD);
            Assert.Equal(new[] { "write 1@0x043 = 0xdd", "write 2@0x044 = 0xbbcc", "write 1@0x046 = 0xaa" }, h.TrafficText());

            h.Hardware.ClearTraffic();
            Assert.Equal(0xAABB_CCDDu, h.Read(0x43, 4));
            Assert.Equal(new[] { "read 1@0x043 = 0xdd", "read 2@0x044 = 0xbbcc", "read 1@0x046 = 0xaa" }, h.TrafficText());

            h.Hardware.ClearTraffic();
            Assert.Equal(0xBBCC_DDu, h.Read(0x43, 3));
            Assert.Equal(new[] { "read 1@0x043 = 0xdd", "read 2@0x044 = 0xbbcc" }, h.TrafficText());
        }

        [Theory]
        [InlineData(0xFE, 4)]
        [InlineData(0xFF, 2)]
        [InlineData(0x100, 1)]
        [InlineData(-1, 1)]
        [InlineData(int.MaxValue, 4)]
        [InlineData(int.MinValue, 4)]
        public void access_crossing_config_end_is_out_of_range_and_changes_nothing(int offset, int length)
        {
            var policy = new PolicyBuilder().Defaults(gap: Act.VirtRw(0x00));
            var h = Open(policy);

            Assert.Equal(AccessStatus.OutOfRange, h.Firewall.Read(offset, length, out uint value));
            Assert.Equal(0u, value);
            Assert.Equal(AccessStatus.OutOfRange, h.Firewall.Write(offset, length, 0xFFFF_FFFF));

            Assert.Empty(h.Hardware.Traffic);
            Assert.Empty(h.Audit.Events);
            Assert.Empty(h.Behaviors.Calls);
            Assert.All(h.Interpreter.Shadow.ToArray().Skip(0x40), b => Assert.Equal(0, b));
        }

        [Fact]
        public void last_dword_of_config_space_is_in_range()
        {
            var h = Open(new PolicyBuilder().Defaults(gap: Act.VirtRw(0x5A)));

            Assert.Equal(0x5A5A_5A5Au, h.Read(0xFC, 4));
        }

        [Theory]
        [InlineData(0)]
        [InlineData(5)]
        [InlineData(8)]
        [InlineData(-1)]
        public void length_other_than_one_to_four_is_invalid_and_changes_nothing(int length)
        {
            var h = Open(new PolicyBuilder().Defaults(gap: Act.PassRw));

            Assert.Equal(AccessStatus.InvalidLength, h.Firewall.Read(0x40, length, out _));
            Assert.Equal(AccessStatus.InvalidLength, h.Firewall.Write(0x40, length, 1));
            Assert.Empty(h.Hardware.Traffic);
        }

        [Fact]
        public void denied_write_audits_once_per_piece_with_rule_location()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").Bits(0, 15, Act.Deny(), out RuleOrigin low).Bits(16, 31, Act.Deny(), out RuleOrigin high);
            var h = Open(policy);

            h.Write(0x41, 4, 0xFFFF_FFFF);

            Assert.Equal(
                new[]
                {
                    new AuditEvent(0x41, 1, 0xFF, low, "test-policy"),
                    new AuditEvent(0x42, 2, 0xFFFF, high, "test-policy"),
                    new AuditEvent(0x44, 1, 0xFF, policy.GapDefault.Origin, "test-policy"),
                },
                h.Audit.Events);
            Assert.Equal("test.vfiopolicy:" + low.Line, h.Audit.Events[0].Rule.Location);
        }

        [Fact]
        public void audit_event_names_the_rule_of_the_lowest_changed_bit()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").Bits(0, 7, Act.Deny(), out RuleOrigin first).Bits(8, 15, Act.Deny(), out RuleOrigin second).Bits(16, 31, Act.PassRw);
            var h = Open(policy);

            h.Write(0x40, 4, 0x0000_FF00);
            h.Write(0x40, 4, 0x0000_FFFF);

            Assert.Equal(new[] { second, first }, h.Audit.Events.Select(e => e.Rule));
            Assert.All(h.Audit.Events, e => Assert.Equal((0x40, 4), (e.Offset, e.Width)));
        }

        [Fact]
        public void denied_write_is_dropped_not_failed()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "R").All(Act.Deny(0x1234));
            var h = Open(policy, new ConfigImage().Set32(0x40, 0x9999_9999));

            Assert.Equal(AccessStatus.Ok, h.Firewall.Write(0x40, 4, 0xFFFF_FFFF));

            Assert.Equal(0x1234u, h.Read(0x40, 4));
            Assert.Equal(0x9999_9999u, h.Hardware.Peek(0x40, 4));
            Assert.Empty(h.Hardware.Traffic);
        }

        [Fact]
        public void silent_deny_drops_without_audit()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "R").All(Act.DenySilent(0x7));
            var h = Open(policy);

            h.Write(0x40, 1, 0xFF);

            Assert.Empty(h.Audit.Events);
            Assert.Equal(0x7u, h.Read(0x40, 1));
        }

        [Fact]
        public void rewriting_the_read_value_of_denied_bits_is_not_audited()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 1, "R").All(Act.Deny(0xA5));
            var h = Open(policy);

            h.Write(0x40, 1, 0xA5);
            Assert.Empty(h.Audit.Events);

            h.Write(0x40, 1, 0xA4);
            Assert.Single(h.Audit.Events);
        }

        [Fact]
        public void hardware_failure_leaves_shadow_unchanged()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "V").All(Act.VirtRw(0));
            policy.DeviceSpecific(0x42, 2, "P").All(Act.PassRw);
            var h = Open(policy);
            h.Hardware.FailWritesAt(0x42);

            Assert.Equal(AccessStatus.HardwareError, h.Firewall.Write(0x40, 4, 0x1234_5678));

            Assert.Equal(0u, h.ShadowValue(0x40, 2));
            Assert.Empty(h.Audit.Events);
            Assert.Empty(h.Behaviors.Calls);
        }

        [Fact]
        public void failing_hardware_read_during_a_write_writes_nothing()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "V").All(Act.VirtRw(0));
            policy.DeviceSpecific(0x42, 2, "P").Bits(0, 7, Act.PassRw).Bits(8, 15, Act.PassRo);
            var h = Open(policy);
            h.Hardware.FailReadsAt(0x43);

            Assert.Equal(AccessStatus.HardwareError, h.Firewall.Write(0x41, 4, 0xFFFF_FFFF));

            Assert.DoesNotContain(h.Hardware.Traffic, t => t.Kind == HardwareAccessKind.Write);
            Assert.Equal(0u, h.ShadowValue(0x40, 2));
            Assert.Empty(h.Audit.Events);
        }

        [Fact]
        public void failing_hardware_read_fails_the_read()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "P").All(Act.PassRo);
            var h = Open(policy);
            h.Hardware.FailReadsAt(0x40);

            Assert.Equal(AccessStatus.HardwareError, h.Firewall.Read(0x40, 4, out uint value));
            Assert.Equal(0u, value);
        }

        [Fact]
        public void virtualized_fields_initialised_from_hardware_read_whole_dwords_at_open()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x46, 2, "V").All(Act.VirtFromHardware(WriteSemantics.ReadWrite));
            var image = new ConfigImage().Set32(0x44, 0xABCD_0000);
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
            var hardware = new SimulatedConfigHardware(image.Bytes);

            var interpreter = new PolicyInterpreter(bound, hardware, new RecordingAuditSink());

            Assert.Equal(new[] { "read 4@0x044 = 0xabcd0000" }, hardware.Traffic.Select(t => t.ToString()));
            Assert.Equal(AccessStatus.Ok, interpreter.Read(0x46, 2, out uint value));
            Assert.Equal(0xABCDu, value);
        }

        [Fact]
        public void opening_fails_clearly_when_a_needed_hardware_read_fails()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x44, 4, "V").All(Act.VirtFromHardware(WriteSemantics.ReadOnly));
            var image = new ConfigImage();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
            var hardware = new SimulatedConfigHardware(image.Bytes);
            hardware.FailReadsAt(0x45);

            var error = Assert.Throws<InvalidOperationException>(() => new PolicyInterpreter(bound, hardware, new RecordingAuditSink()));
            Assert.Contains("0x044", error.Message, StringComparison.Ordinal);
            Assert.Contains("test-policy", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void reset_restores_virtualized_reset_values()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "LIT").All(Act.VirtRw(0x1234));
            policy.DeviceSpecific(0x44, 2, "HW").All(Act.VirtFromHardware(WriteSemantics.ReadWrite));
            policy.DeviceSpecific(0x48, 1, "C").All(Act.VirtRw1c(0xF0));
            var h = Open(policy, new ConfigImage().Set16(0x44, 0x1111));
            h.Write(0x40, 2, 0xFFFF);
            h.Write(0x44, 2, 0xFFFF);
            h.Write(0x48, 1, 0xFF);
            h.Hardware.SetDeviceValue(0x44, 2, 0x2222);

            Assert.Equal(AccessStatus.Ok, h.Firewall.ResetShadow());

            Assert.Equal(0x1234u, h.Read(0x40, 2));
            Assert.Equal(0x2222u, h.Read(0x44, 2));
            Assert.Equal(0xF0u, h.Read(0x48, 1));
        }

        [Fact]
        public void reset_with_failing_hardware_keeps_the_shadow()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 2, "LIT").All(Act.VirtRw(0x1234));
            policy.DeviceSpecific(0x44, 2, "HW").All(Act.VirtFromHardware(WriteSemantics.ReadWrite));
            var h = Open(policy);
            h.Write(0x40, 2, 0xFFFF);
            h.Hardware.FailReadsAt(0x44);

            Assert.Equal(AccessStatus.HardwareError, h.Firewall.ResetShadow());

            Assert.Equal(0xFFFFu, h.Read(0x40, 2));
        }

        [Fact]
        public void behavior_is_called_after_the_shadow_update()
        {
            var policy = new PolicyBuilder();
            policy.Header(0x04, 2, "COMMAND", Behavior.Command).All(Act.VirtRw(0));
            var h = Open(policy);

            h.Write(0x04, 2, 0x0006);

            Assert.Equal(new[] { (Behavior.Command, 0x04, 0x04, 2, 0x0006u, 0x0006u) }, h.Behaviors.Calls);
        }

        [Fact]
        public void behavior_is_called_once_per_register_the_write_overlaps_with_the_touched_part()
        {
            var policy = new PolicyBuilder();
            policy.Header(0x10, 4, "BASE_ADDRESS_0", Behavior.Bar).All(Act.VirtRw(0));
            policy.Header(0x14, 4, "BASE_ADDRESS_1", Behavior.Bar).All(Act.VirtRw(0));
            var h = Open(policy);

            h.Write(0x12, 4, 0xAABB_CCDD);

            Assert.Equal(
                new[] { (Behavior.Bar, 0x10, 0x12, 2, 0xCCDDu, 0xCCDDu), (Behavior.Bar, 0x14, 0x14, 2, 0xAABBu, 0xAABBu) },
                h.Behaviors.Calls);
        }

        [Fact]
        public void behavior_is_not_called_for_reads_or_other_registers()
        {
            var policy = new PolicyBuilder();
            policy.Header(0x04, 2, "COMMAND", Behavior.Command).All(Act.VirtRw(0));
            policy.Header(0x0C, 1, "CACHE_LINE_SIZE").All(Act.VirtRw(0));
            var h = Open(policy);

            h.Read(0x04, 2);
            h.Write(0x0C, 1, 0x10);
            h.Write(0x06, 2, 0xFFFF);

            Assert.Empty(h.Behaviors.Calls);
        }

        [Fact]
        public void reads_and_unaudited_writes_do_not_allocate()
        {
            var policy = new PolicyBuilder().Defaults(gap: Act.PassRw);
            policy.DeviceSpecific(0x40, 4, "V").Bits(0, 15, Act.VirtRw(0)).Bits(16, 31, Act.PassRw);
            policy.Header(0x04, 2, "COMMAND", Behavior.Command).All(Act.VirtRw(0));
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), new ConfigImage().Bytes, new ConfigImage().Walk());
            var firewall = new PolicyInterpreter(bound, new CountingHardware(), new RecordingAuditSink());

            void Exercise()
            {
                for (int i = 0; i < 200; i++)
                {
                    firewall.Write(0x41, 4, (uint)i);
                    firewall.Read(0x41, 4, out _);
                    firewall.Write(0x04, 2, (uint)i);
                }
            }

            Exercise();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Exercise();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(0, allocated);
        }

        /// <summary>Hardware that answers without logging, so the allocation test measures the interpreter alone.</summary>
        private sealed class CountingHardware : IHardwareConfig
        {
            private readonly byte[] _bytes = new byte[256];

            public bool TryRead(int offset, int width, out uint value)
            {
                value = _bytes[offset];
                return true;
            }

            public bool TryWrite(int offset, int width, uint value)
            {
                _bytes[offset] = (byte)value;
                return true;
            }
        }
    }
}
