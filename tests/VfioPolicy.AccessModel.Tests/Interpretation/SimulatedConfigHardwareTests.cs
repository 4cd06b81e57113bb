using System;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Simulation;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Interpretation
{
    public sealed class SimulatedConfigHardwareTests
    {
        [Fact]
        public void writes_store_except_read_only_bits_and_a_written_one_clears_rw1c_bits()
        {
            var image = new byte[256];
            image[0x40] = 0xF0;
            var w1c = new byte[256];
            w1c[0x40] = 0xF0;
            var readOnly = new byte[256];
            readOnly[0x41] = 0xFF;
            image[0x41] = 0x77;
            var hardware = new SimulatedConfigHardware(image, w1c, readOnly);

            Assert.True(hardware.TryWrite(0x40, 2, 0x0030));

            Assert.Equal(0x77C0u, hardware.Peek(0x40, 2));
            Assert.Equal(0xF0, image[0x40]);
        }

        [Fact]
        public void injected_faults_fail_and_are_logged()
        {
            var hardware = new SimulatedConfigHardware(new byte[256]);
            hardware.FailReadsAt(0x42);
            hardware.FailWritesAt(0x10);

            Assert.False(hardware.TryRead(0x40, 4, out _));
            Assert.True(hardware.TryRead(0x44, 4, out _));
            Assert.False(hardware.TryWrite(0x10, 1, 0xFF));
            Assert.Equal(0u, hardware.Peek(0x10, 1));
            Assert.Equal(
                new[] { "read 4@0x040 = 0x00000000 (failed)", "read 4@0x044 = 0x00000000", "write 1@0x010 = 0xff (failed)" },
                Array.ConvertAll(ToArray(hardware), t => t.ToString()));

            hardware.ClearFaults();
            Assert.True(hardware.TryRead(0x40, 4, out _));
        }

        [Theory]
        [InlineData(0x41, 2)]
        [InlineData(0x42, 4)]
        [InlineData(0x40, 3)]
        [InlineData(0xFE, 4)]
        [InlineData(-4, 4)]
        public void accesses_that_break_the_hardware_contract_are_rejected(int offset, int width)
        {
            var hardware = new SimulatedConfigHardware(new byte[256]);

            Assert.Throws<ArgumentException>(() => hardware.TryRead(offset, width, out _));
            Assert.Throws<ArgumentException>(() => hardware.TryWrite(offset, width, 0));
        }

        [Fact]
        public void a_mask_must_match_the_image_size()
        {
            var error = Assert.Throws<ArgumentException>(() => new SimulatedConfigHardware(new byte[256], new byte[64]));
            Assert.StartsWith("The mask has 64 bytes; the config space has 256.", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void recording_audit_sink_keeps_events_in_order()
        {
            var sink = new RecordingAuditSink();
            var first = new AuditEvent(0x40, 1, 1, Model.RuleOrigin.Chain, "p");
            var second = new AuditEvent(0x44, 4, 2, Model.RuleOrigin.Chain, "p");

            sink.Record(first);
            sink.Record(second);

            Assert.Equal(new[] { first, second }, sink.Events);
            sink.Clear();
            Assert.Empty(sink.Events);
        }

        private static HardwareAccess[] ToArray(SimulatedConfigHardware hardware)
        {
            var result = new HardwareAccess[hardware.Traffic.Count];
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = hardware.Traffic[i];
            }

            return result;
        }
    }
}
