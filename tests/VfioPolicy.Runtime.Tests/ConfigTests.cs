using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    public sealed class ConfigTests
    {
        [Fact]
        public void Passthrough_reads_come_from_the_config_region()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            Assert.Equal(edu.PeekConfig(0, 4), device.ReadConfig(0, 4));
            Assert.Equal(edu.PeekConfig(0x2c, 4), device.ReadConfig(0x2c, 4));
            edu.PokeConfig(0x06, 2, 0x0010 | 0x2000); // the device latches Received Master Abort
            Assert.Equal(0x2000u, device.ReadConfig(0x06, 2) & 0x2000u);
        }

        [Fact]
        public void A_denied_write_never_reaches_the_device_and_is_audited()
        {
            SimulatedPciDevice edu = Devices.Edu();
            edu.WritableMask[0x0f] = 0xFF; // BIST would be writable on the device
            var audit = new RecordingAuditSink();
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), new SimulatedVfioKernel(edu), new VfioDeviceOptions { Audit = audit });

            device.WriteConfig(0x0f, 1, 0x40);

            Assert.Equal(0u, edu.PeekConfig(0x0f, 1));
            Assert.Equal(0u, device.ReadConfig(0x0f, 1));
            AuditEvent recorded = Assert.Single(audit.Events);
            Assert.Equal(0x0f, recorded.Offset);
            Assert.Equal("strict", recorded.Policy);
        }

        [Fact]
        public void The_default_audit_sink_is_bounded_and_the_device_shows_its_drops()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            var sink = Assert.IsType<AccessModel.Audit.BoundedAuditSink>(device.Audit);
            int burst = sink.Limits.BurstPerRule;

            for (int i = 0; i < burst + 5; i++)
            {
                device.WriteConfig(0x0f, 1, 0x40);
            }

            // Within a second the rule's bucket refills by at most one event: its burst recorded, the rest dropped.
            AccessModel.Audit.AuditCounts counts = Assert.NotNull(device.AuditCounts);
            Assert.Equal(burst + 5, counts.Recorded + counts.Dropped);
            Assert.InRange(counts.Recorded, burst, burst + 1);
            Assert.Equal(counts.Dropped, counts.DroppedByRate);
            Assert.Equal(counts.Recorded, counts.Held);
            Assert.All(sink.Drain(), e => Assert.Equal((0x0f, "strict"), (e.Offset, e.Policy)));
            Assert.Equal(0, device.AuditCounts!.Value.Held);
        }

        [Fact]
        public void A_device_with_a_sink_of_its_callers_has_no_audit_counts()
        {
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), new SimulatedVfioKernel(Devices.Edu()), new VfioDeviceOptions { Audit = new RecordingAuditSink() });
            Assert.Null(device.AuditCounts);
        }

        [Fact]
        public void A_virtualized_write_reads_back_but_never_reaches_the_device()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));

            device.WriteConfig(0x0c, 1, 0x10);

            Assert.Equal(0x10u, device.ReadConfig(0x0c, 1));
            Assert.Equal(0u, edu.PeekConfig(0x0c, 1));
        }

        [Fact]
        public void A_passthrough_write_reaches_the_device_without_clearing_status_bits()
        {
            SimulatedPciDevice edu = Devices.Edu();
            edu.PokeConfig(0x06, 2, 0x2010); // Received Master Abort latched
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));

            device.WriteConfig(0x04, 4, 0x0000_0004); // Bus Master on; a 4-byte write also covers Status

            Assert.Equal(0x4u, edu.PeekConfig(0x04, 2) & 0x4u);
            Assert.Equal(0x2000u, edu.PeekConfig(0x06, 2) & 0x2000u);
        }

        [Fact]
        public void The_interpreter_and_the_generated_handler_give_the_consumer_the_same_view()
        {
            var compiledKernel = new SimulatedVfioKernel(Devices.Edu());
            var interpretedKernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice compiled = Devices.OpenEdu(compiledKernel);
            using VfioDevice interpreted = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict").Model, interpretedKernel);

            for (int offset = 0; offset < 256; offset += 4)
            {
                Assert.Equal(compiled.ReadConfig(offset, 4), interpreted.ReadConfig(offset, 4));
            }
        }

        [Fact]
        public void The_linux_default_policy_opens_and_passes_the_header_through()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu), "linux-vfio-default");
            Assert.Equal(edu.PeekConfig(0, 4), device.ReadConfig(0, 4));
            Assert.Equal(edu.PeekConfig(0x08, 4), device.ReadConfig(0x08, 4));
        }

        [Fact]
        public void A_failing_config_region_is_a_typed_error_and_changes_nothing()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice device = Devices.OpenEdu(kernel);
            kernel.InjectFault("pread", VfioConstants.EIO, times: 1);

            Assert.Equal(AccessStatus.HardwareError, device.TryReadConfig(0, 4, out _));
            kernel.InjectFault("pread", VfioConstants.EIO, times: 1);
            VfioException error = Assert.Throws<VfioException>(() => device.ReadConfig(0, 4));
            Assert.Equal(VfioErrorKind.Kernel, error.Kind);
            Assert.Equal(VfioConstants.EIO, error.Errno);
            Assert.Equal(0x11e81234u, device.ReadConfig(0, 4));
        }

        [Theory]
        [InlineData(0xfe, 4)]
        [InlineData(0x100, 1)]
        [InlineData(-1, 1)]
        [InlineData(0, 5)]
        [InlineData(0, 0)]
        public void An_access_outside_config_space_or_of_a_bad_length_is_InvalidAccess(int offset, int length)
        {
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(Devices.Edu()));
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.ReadConfig(offset, length)).Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.WriteConfig(offset, length, 0)).Kind);
        }
    }
}
