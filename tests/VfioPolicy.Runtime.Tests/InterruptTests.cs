using System.Threading;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    public sealed class InterruptTests
    {
        private const int Command = 0x04;
        private const int EduMsi = 0x40;

        [Fact]
        public void INTx_is_armed_at_open_and_needs_an_unmask_after_each_interrupt()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            device.WriteConfig(Command, 2, 0x2);
            VfioBar bar0 = device.Bar(0);
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);

            for (int round = 0; round < 2; round++)
            {
                bar0.Write(0x60, 4, 1);
                Assert.True(device.Intx!.Wait(1000));
                bar0.Write(0x60, 4, 1); // masked by VFIO until unmasked: nothing arrives
                Assert.False(device.Intx.Wait(0));
                bar0.Write(0x64, 4, 1); // acknowledge on the device, then unmask
                device.UnmaskIntx();
            }

            Assert.False(edu.IntxMasked);
        }

        [Fact]
        public void INTx_Disable_in_Command_takes_the_line_down_and_clearing_it_brings_it_back()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));

            device.WriteConfig(Command, 2, 0x0402);
            Assert.Equal(VfioInterruptMode.None, device.InterruptMode);
            Assert.Null(edu.EnabledIrqIndex);
            device.Bar(0).Write(0x60, 4, 1);
            Assert.False(device.Intx!.Wait(0));

            device.WriteConfig(Command, 2, 0x0002);
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);
            Assert.True(device.Intx.Wait(1000)); // the line was still asserted: it fires once armed
        }

        [Fact]
        public void Enabling_MSI_in_the_virtual_capability_programs_VFIO_and_the_interrupt_reaches_the_eventfd()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            device.WriteConfig(Command, 2, 0x6);
            device.WriteConfig(EduMsi + 4, 4, 0xFEE0_1000);
            device.WriteConfig(EduMsi + 12, 2, 0x4041);
            device.WriteConfig(EduMsi + 2, 2, 0x0001);

            Assert.Equal(VfioInterruptMode.Msi, device.InterruptMode);
            Assert.Equal(1, device.ActiveVectorCount);
            Assert.Equal(VfioConstants.MsiIrqIndex, edu.EnabledIrqIndex);
            Assert.Equal(0xFEE0_1000UL, device.MsiVectors[0].MessageAddress);
            Assert.Equal(0x4041u, device.MsiVectors[0].MessageData);
            Assert.Equal(0u, edu.PeekConfig(EduMsi + 2, 2) & 1); // the hardware enable is VFIO's business

            for (int i = 0; i < 3; i++)
            {
                device.Bar(0).Write(0x60, 4, 1);
                Assert.True(device.MsiVectors[0].Wait(1000));
            }

            Assert.False(device.Intx!.Wait(0));
            device.WriteConfig(EduMsi + 2, 2, 0x0000);
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);
        }

        [Fact]
        public void Multiple_Message_Enable_decides_the_vector_count_up_to_what_the_device_offers()
        {
            byte[] image = Devices.EduImage();
            image[EduMsi + 2] = 0x86; // 64-bit, Multiple Message Capable = 8 vectors
            SimulatedPciDevice edu = Devices.Edu(image);
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            Assert.Equal(8, device.MsiVectors.Count);

            device.WriteConfig(EduMsi + 2, 2, 0x0021); // enable, MME = 2: 4 vectors
            Assert.Equal(4, device.ActiveVectorCount);
            Assert.Equal(4, edu.VectorEventFds.Length);

            device.WriteConfig(EduMsi + 2, 2, 0x0031); // MME = 3: 8 vectors; VFIO needs a disable first
            Assert.Equal(8, device.ActiveVectorCount);
            Assert.Equal(8, edu.VectorEventFds.Length);

            edu.RaiseInterrupt(5);
            Assert.True(device.MsiVectors[5].Wait(1000));
            Assert.False(device.MsiVectors[4].Wait(0));
        }

        [Theory]
        [InlineData("strict")]
        [InlineData("linux-vfio-default")]
        public void Multiple_Message_Enable_reads_back_clamped_to_Multiple_Message_Capable(string policy)
        {
            byte[] image = Devices.EduImage();
            image[EduMsi + 2] = 0x84; // 64-bit, Multiple Message Capable = 4 vectors
            SimulatedPciDevice edu = Devices.Edu(image);
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu), policy);

            // A driver's read-modify-write: 64-bit and Capable as read, enable, MME = 5: 32 vectors asked, 4 offered.
            device.WriteConfig(EduMsi + 2, 2, 0x00D5);

            Assert.Equal(0x0021u, device.ReadConfig(EduMsi + 2, 2) & 0x0071); // MME reads 2, what was set up
            Assert.Equal(4, device.ActiveVectorCount);

            device.WriteConfig(EduMsi + 2, 2, 0x0095); // MME = 1, within what is offered: kept as written
            Assert.Equal(0x0011u, device.ReadConfig(EduMsi + 2, 2) & 0x0071);
        }

        [Fact]
        public void MSI_X_vectors_follow_the_emulated_table_and_the_function_mask()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            device.WriteConfig(Command, 2, 0x6);
            VfioBar table = device.Bar(3);
            int msix = nic.Capability(0x11)!.Value;

            device.WriteConfig(msix + 2, 2, 0x8000);
            Assert.Equal(VfioInterruptMode.Msix, device.InterruptMode);
            Assert.Equal(5, device.ActiveVectorCount);
            for (int i = 0; i < 5; i++)
            {
                // every entry starts masked: routed to the runtime's own eventfd, not the consumer's
                Assert.NotEqual(-1, nic.VectorEventFds[i]);
                Assert.NotEqual(device.MsixVectors[i].EventFd, nic.VectorEventFds[i]);
            }

            table.Write(0x10, 8, 0xFEE0_2000);
            table.Write(0x18, 4, 0x51);
            table.Write(0x1C, 4, 0); // unmask vector 1
            Assert.Equal(device.MsixVectors[1].EventFd, nic.VectorEventFds[1]);
            Assert.True(device.MsixVectors[1].Armed);
            Assert.Equal(0xFEE0_2000UL, device.MsixVectors[1].MessageAddress);
            Assert.Equal(0x51u, device.MsixVectors[1].MessageData);
            nic.RaiseInterrupt(1);
            Assert.True(device.MsixVectors[1].Wait(1000));

            device.WriteConfig(msix + 2, 2, 0xC000); // function mask
            Assert.NotEqual(device.MsixVectors[1].EventFd, nic.VectorEventFds[1]);
            Assert.False(device.MsixVectors[1].Armed);
            nic.RaiseInterrupt(1);
            Assert.False(device.MsixVectors[1].Wait(0));

            device.WriteConfig(msix + 2, 2, 0x8000);
            Assert.Equal(1UL, device.MsixVectors[1].Consume()); // held while the function was masked, sent on unmask
            table.Write(0x1C, 4, 1); // mask vector 1 again
            Assert.NotEqual(device.MsixVectors[1].EventFd, nic.VectorEventFds[1]);
            Assert.False(device.MsixVectors[1].Armed);

            device.WriteConfig(msix + 2, 2, 0x0000);
            Assert.Equal(VfioInterruptMode.Intx, device.InterruptMode);
        }

        [Fact]
        public void A_masked_MSI_X_vector_that_fires_sets_its_PBA_bit_and_is_sent_once_on_unmask()
        {
            (SimulatedPciDevice nic, VfioDevice device, VfioBar table, VfioBar pba, long pbaOffset) = OpenE1000eWithMsix();
            using (device)
            {
                table.Write(0x1C, 4, 1); // vector 1 stays masked
                nic.RaiseInterrupt(1);
                nic.RaiseInterrupt(1);
                Assert.Equal(0b10UL, pba.Read(pbaOffset, 8));
                Assert.Equal(0b10UL, pba.Read(pbaOffset, 1));
                Assert.Equal(0UL, device.MsixVectors[1].Consume());

                pba.Write(pbaOffset, 8, 0); // the PBA is read-only
                Assert.Equal(0b10UL, pba.Read(pbaOffset, 8));

                table.Write(0x1C, 4, 0); // unmask: one message for the pending bit, however many firings it stands for
                Assert.Equal(1UL, device.MsixVectors[1].Consume());
                Assert.Equal(0UL, pba.Read(pbaOffset, 8));
                Assert.Equal(device.MsixVectors[1].EventFd, nic.VectorEventFds[1]);
            }
        }

        [Fact]
        public void The_MSI_X_function_mask_holds_interrupts_in_the_PBA_until_it_clears()
        {
            (SimulatedPciDevice nic, VfioDevice device, VfioBar table, VfioBar pba, long pbaOffset) = OpenE1000eWithMsix();
            using (device)
            {
                int msix = nic.Capability(0x11)!.Value;
                table.Write(0x1C, 4, 0); // vector 1 unmasked, vector 3 masked per vector
                device.WriteConfig(msix + 2, 2, 0xC000);
                nic.RaiseInterrupt(1);
                nic.RaiseInterrupt(3);
                Assert.Equal(0b1010UL, pba.Read(pbaOffset, 4));
                Assert.Equal(0UL, device.MsixVectors[1].Consume());

                device.WriteConfig(msix + 2, 2, 0x8000); // function unmasked: vector 1 is sent, vector 3 stays pending
                Assert.Equal(1UL, device.MsixVectors[1].Consume());
                Assert.Equal(0UL, device.MsixVectors[3].Consume());
                Assert.Equal(0b1000UL, pba.Read(pbaOffset, 4));
            }
        }

        [Fact]
        public void An_unmasked_MSI_X_vector_is_delivered_without_a_PBA_bit()
        {
            (SimulatedPciDevice nic, VfioDevice device, VfioBar table, VfioBar pba, long pbaOffset) = OpenE1000eWithMsix();
            using (device)
            {
                table.Write(0x1C, 4, 0);
                nic.RaiseInterrupt(1);
                Assert.Equal(0UL, pba.Read(pbaOffset, 8));
                Assert.Equal(1UL, device.MsixVectors[1].Consume());
            }
        }

        [Fact]
        public void A_reset_clears_pending_MSI_X_bits()
        {
            (SimulatedPciDevice nic, VfioDevice device, VfioBar _, VfioBar pba, long pbaOffset) = OpenE1000eWithMsix();
            using (device)
            {
                nic.RaiseInterrupt(2);
                device.Reset();
                device.WriteConfig(Command, 2, 0x6);
                Assert.Equal(0UL, pba.Read(pbaOffset, 8));
                Assert.Equal(0UL, device.MsixVectors[2].Consume());
            }
        }

        /// <summary>e1000e with memory decode and MSI-X enabled, every vector masked (its reset state).</summary>
        private static (SimulatedPciDevice Nic, VfioDevice Device, VfioBar Table, VfioBar Pba, long PbaOffset) OpenE1000eWithMsix()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            device.WriteConfig(Command, 2, 0x6);
            int msix = nic.Capability(0x11)!.Value;
            device.WriteConfig(msix + 2, 2, 0x8000);
            uint tableRegister = nic.PeekConfig(msix + 4, 4);
            uint pbaRegister = nic.PeekConfig(msix + 8, 4);
            Assert.Equal(3u, tableRegister & 7);
            return (nic, device, device.Bar((int)(tableRegister & 7)), device.Bar((int)(pbaRegister & 7)), pbaRegister & ~7u);
        }

        [Fact]
        public void Unmasking_INTx_outside_INTx_mode_is_InvalidAccess()
        {
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(Devices.Edu()));
            device.WriteConfig(EduMsi + 2, 2, 0x0001);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.UnmaskIntx()).Kind);
        }

        [Fact]
        public void A_failing_SET_IRQS_during_a_consumer_write_is_recorded_and_the_write_still_succeeds()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice device = Devices.OpenEdu(kernel);
            VfioException? raised = null;
            device.BehaviorFailed += (_, error) => raised = error;
            kernel.InjectFault("VFIO_DEVICE_SET_IRQS", VfioConstants.EINVAL);

            device.WriteConfig(EduMsi + 2, 2, 0x0001);

            VfioException recorded = Assert.Single(device.BehaviorErrors);
            Assert.Same(recorded, raised);
            Assert.Equal(VfioErrorKind.Kernel, recorded.Kind);
            Assert.Contains("VFIO_DEVICE_SET_IRQS", recorded.Operation);
            Assert.Equal(VfioConstants.EINVAL, recorded.Errno);
            Assert.Equal(1u, device.ReadConfig(EduMsi + 2, 2) & 1);
        }

        [Fact]
        public void Error_and_request_notifications_surface_as_events()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            int errors = 0;
            int requests = 0;
            device.ErrorReported += (_, _) => errors++;
            device.ReleaseRequested += (_, _) => requests++;

            Assert.Equal(0, device.PollNotifications(0));
            nic.ReportError();
            Assert.Equal(1, device.PollNotifications(1000));
            nic.RequestRelease();
            Assert.Equal(1, device.PollNotifications(1000));
            Assert.Equal((1, 1), (errors, requests));
        }

        [Fact]
        public void The_notification_monitor_raises_the_request_event_from_its_thread()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            using var requested = new ManualResetEventSlim();
            device.ReleaseRequested += (_, _) => requested.Set();
            device.StartNotificationMonitor();

            edu.RequestRelease();

            Assert.True(requested.Wait(5000));
        }
    }
}
