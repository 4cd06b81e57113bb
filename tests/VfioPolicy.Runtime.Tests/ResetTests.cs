using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    public sealed class ResetTests
    {
        private const int Command = 0x04;

        [Fact]
        public void Reset_restores_hardware_BARs_and_Command_keeps_the_consumer_BARs_and_resets_virtual_fields()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            device.WriteConfig(0x10, 4, 0xC000_0000);
            device.WriteConfig(Command, 2, 0x0006);
            device.WriteConfig(0x0c, 1, 0x10);
            uint hardwareCommand = edu.PeekConfig(Command, 2);

            device.Reset();

            Assert.Equal(1, edu.ResetCount);
            Assert.Equal(1, device.ResetCount);
            Assert.Equal(0xFE60_0000u, edu.PeekConfig(0x10, 4)); // the simulated FLR cleared it; the runtime put it back
            Assert.Equal(hardwareCommand, edu.PeekConfig(Command, 2));
            Assert.Equal(0xC000_0000u, device.ReadConfig(0x10, 4));
            Assert.Equal(0u, device.ReadConfig(Command, 2) & 0x2); // Memory: virtual, reset value 0
            Assert.Equal(0u, device.ReadConfig(0x0c, 1)); // cache line size: back to the hardware's value at reset
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);

            device.WriteConfig(Command, 2, 0x0002);
            Assert.Equal((ulong)SimulatedEduModel.Identification, device.Bar(0).Read(0, 4));
        }

        [Fact]
        public void Reset_with_MSI_enabled_returns_to_INTx_as_the_reset_registers_say()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            device.WriteConfig(0x42, 2, 0x0001);
            Assert.Equal(VfioInterruptMode.Msi, device.InterruptMode);

            device.Reset();

            Assert.Equal(0u, device.ReadConfig(0x42, 2) & 1);
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);
            Assert.Equal(VfioConstants.IntxIrqIndex, edu.EnabledIrqIndex);
        }

        [Fact]
        public void A_device_that_cannot_reset_says_so_clearly()
        {
            // On the root bus: no reset of its own, and no bridge above it whose secondary bus reset could reset it.
            SimulatedPciDevice edu = Devices.Edu(address: "0000:00:10.0");
            edu.CanReset = false;
            using VfioDevice device = VfioDevice.Open(edu.Address, Devices.Policy("strict"), new SimulatedVfioKernel(edu));

            VfioException error = Assert.Throws<VfioException>(() => device.Reset());

            Assert.Equal(VfioErrorKind.CannotReset, error.Kind);
            Assert.Contains("on 0000:00:10.0", error.Message);
            Assert.Contains("root bus", error.Message);
            Assert.Equal(VfioConstants.ENODEV, error.Errno);
            Assert.False(device.CanReset);
            Assert.Equal(0, edu.ResetCount);
        }

        [Fact]
        public void A_kernel_that_refuses_the_reset_is_CannotReset_with_its_errno_and_interrupts_survive()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice device = Devices.OpenEdu(kernel);
            kernel.InjectFault("VFIO_DEVICE_RESET", VfioConstants.EINVAL, times: 1);

            VfioException error = Assert.Throws<VfioException>(() => device.Reset());

            Assert.Equal(VfioErrorKind.CannotReset, error.Kind);
            Assert.Equal(VfioConstants.EINVAL, error.Errno);
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);
        }

        /// <summary>QEMU's e1000e does not advertise FLR; the same device with Device Capabilities' FLR Capable set.</summary>
        private static SimulatedPciDevice E1000eWithFlr()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            int capabilities = nic.Capability(0x10)!.Value + 4;
            nic.PokeConfig(capabilities, 4, nic.PeekConfig(capabilities, 4) | 0x1000_0000); // PCI_EXP_DEVCAP_FLR
            return nic;
        }

        [Fact]
        public void Initiate_FLR_in_PCIe_Device_Control_resets_through_VFIO_and_reads_back_zero()
        {
            SimulatedPciDevice nic = E1000eWithFlr();
            var audit = new RecordingAuditSink();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic), new VfioDeviceOptions { Audit = audit });
            int express = nic.Capability(0x10)!.Value;

            device.WriteConfig(express + 8, 2, 0x8000);

            Assert.Equal(1, nic.ResetCount);
            Assert.Equal(0u, device.ReadConfig(express + 8, 2) & 0x8000);
            Assert.Equal(0xFE84_0000u, nic.PeekConfig(0x10, 4));
            Assert.Empty(device.BehaviorErrors);
            Assert.Empty(audit.Events);
        }

        [Fact]
        public void Initiate_FLR_on_a_function_that_does_not_advertise_FLR_is_dropped_audited_and_reads_zero()
        {
            SimulatedPciDevice nic = Devices.E1000e(); // DevCap: FLReset-, as QEMU builds it
            var audit = new RecordingAuditSink();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("linux-vfio-default"), new SimulatedVfioKernel(nic), new VfioDeviceOptions { Audit = audit });
            int express = nic.Capability(0x10)!.Value;

            device.WriteConfig(express + 8, 2, 0x8000);

            Assert.Equal(0, nic.ResetCount);
            Assert.Equal(0, device.ResetCount);
            Assert.Equal(0u, device.ReadConfig(express + 8, 2) & 0x8000);
            AuditEvent recorded = Assert.Single(audit.Events);
            Assert.Equal((express + 8, 2, 0x8000u), (recorded.Offset, recorded.Width, recorded.Value));
            Assert.Contains("DEVCTL", recorded.Rule.Text);
            Assert.Empty(device.BehaviorErrors);
        }

        [Fact]
        public void AF_Initiate_FLR_needs_both_TP_and_FLR_advertised()
        {
            // The Intel function of the pciutils AF dump, with its AF capability's TP and FLR bits set in turn.
            foreach ((byte capabilities, int resets) in new[] { ((byte)0x03, 1), ((byte)0x02, 0), ((byte)0x01, 0) })
            {
                byte[] image = Devices.PciutilsImage("cap-pci-af.txt", "00:1d.0");
                int af = new SimulatedPciDevice(Devices.EduAddress, image).Capability(0x13)!.Value;
                image[af + 3] = capabilities;
                var function = new SimulatedPciDevice(Devices.EduAddress, image);
                var audit = new RecordingAuditSink();
                using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("linux-vfio-default"), new SimulatedVfioKernel(function), new VfioDeviceOptions { Audit = audit });

                device.WriteConfig(af + 4, 1, 0x01);

                Assert.Equal(resets, function.ResetCount);
                Assert.Equal(0u, device.ReadConfig(af + 4, 1) & 1);
                Assert.Equal(1 - resets, audit.Events.Count);
            }
        }

        [Fact]
        public void An_FLR_on_a_device_that_cannot_reset_is_recorded_and_the_write_itself_succeeds()
        {
            SimulatedPciDevice nic = E1000eWithFlr();
            nic.CanReset = false;
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            int express = nic.Capability(0x10)!.Value;

            device.WriteConfig(express + 8, 2, 0x8000);

            Assert.Equal(VfioErrorKind.CannotReset, Assert.Single(device.BehaviorErrors).Kind);
            Assert.Equal(0, nic.ResetCount);
        }

        [Theory]
        [InlineData("strict")]
        [InlineData("linux-vfio-default")] // the state bits are passthrough ro there: the write acts through the pm behavior
        public void In_D3hot_BAR_access_is_blocked_and_counted_until_D0(string policy)
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy(policy), new SimulatedVfioKernel(nic));
            int pm = nic.Capability(0x01)!.Value;
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | 0x0006);
            VfioBar bar0 = device.Bar(0);
            bar0.Write(0x100, 4, 0x1234_5678);

            device.WriteConfig(pm + 4, 2, 0x0003);

            Assert.Equal(3, nic.PowerState);
            Assert.Equal(3u, device.ReadConfig(pm + 4, 2) & 3);
            Assert.Equal(0xFFFF_FFFFUL, bar0.Read(0x100, 4));
            bar0.Write(0x100, 4, 0xDEAD_BEEF);
            Assert.Equal(2, bar0.BlockedAccesses);

            device.WriteConfig(pm + 4, 2, 0x0000);

            Assert.Equal(0, nic.PowerState);
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | 0x0006);
            Assert.NotEqual(0xDEAD_BEEFUL, bar0.Read(0x100, 4));        // the blocked write never reached the device
            bar0.Write(0x100, 4, 0x0BAD_F00D);
            Assert.Equal(0x0BAD_F00DUL, bar0.Read(0x100, 4));
            Assert.Equal(2, bar0.BlockedAccesses);
        }

        [Fact]
        public void A_power_state_write_acts_on_the_written_value_only_when_it_covers_the_state_byte()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("linux-vfio-default"), new SimulatedVfioKernel(nic));
            int pm = nic.Capability(0x01)!.Value;

            device.WriteConfig(pm + 5, 1, 0x03);                         // PMCSR's upper byte: not the state
            Assert.Equal(0, nic.PowerState);

            device.WriteConfig(pm + 4, 4, 0x0000_0003);                  // a dword write that covers it
            Assert.Equal(3, nic.PowerState);
        }

        [Fact]
        public void D3hot_to_D0_without_No_Soft_Reset_restores_the_device()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            int pm = nic.Capability(0x01)!.Value;
            device.WriteConfig(0x10, 4, 0xD000_0000);

            device.WriteConfig(pm + 4, 2, 0x0003);
            Assert.Equal(3, nic.PowerState);
            Assert.Equal(3u, device.ReadConfig(pm + 4, 2) & 3);

            device.WriteConfig(pm + 4, 2, 0x0000);

            Assert.Equal(0, nic.PowerState);
            Assert.Equal(1, nic.ResetCount); // the device lost its state on the way back to D0
            Assert.Equal(1, device.ResetCount);
            Assert.Equal(0xFE84_0000u, nic.PeekConfig(0x10, 4));
            Assert.Equal(0xD000_0000u, device.ReadConfig(0x10, 4));
        }

        [Fact]
        public void D3hot_to_D0_with_No_Soft_Reset_restores_nothing()
        {
            byte[] image = Devices.E1000eImage();
            SimulatedPciDevice probe = new SimulatedPciDevice(Devices.E1000eAddress, image);
            int pm = probe.Capability(0x01)!.Value;
            image[pm + 4] |= 0x08; // No_Soft_Reset
            var nic = new SimulatedPciDevice(Devices.E1000eAddress, image) { IommuGroup = 6 };
            nic.Bars[0] = new SimulatedBar(0x20000);
            nic.WritableMask[pm + 4] = 0x03; // only the power state is writable
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));

            device.WriteConfig(pm + 4, 2, 0x0003);
            device.WriteConfig(pm + 4, 2, 0x0000);

            Assert.Equal(0, nic.ResetCount);
            Assert.Equal(0, device.ResetCount);
        }
    }
}
