using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>
    /// Interrupts owned by the VMM (VfioInterruptOwner.Vmm): the VMM's eventfds and SET_IRQS with vfio-pci's contract,
    /// while the firewall keeps config space; and the route events of runtime-owned interrupts.
    /// </summary>
    public sealed class VmmInterruptTests
    {
        private const int Command = 0x04;
        private const int EduMsi = 0x40;
        private const int EduRaise = 0x60;
        private const int EduAcknowledge = 0x64;

        private static readonly VfioDeviceOptions VmmOwned = new VfioDeviceOptions { Interrupts = VfioInterruptOwner.Vmm };

        [Fact]
        public void The_VMM_attaches_its_own_eventfd_to_MSI_and_the_device_interrupt_reaches_it()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            Assert.Equal(VfioInterruptOwner.Vmm, device.InterruptOwner);
            Assert.Null(device.Intx);
            Assert.Empty(device.MsiVectors);
            Assert.Null(edu.EnabledIrqIndex); // nothing is armed until the VMM asks
            device.WriteConfig(Command, 2, 0x6);
            int vmmFd = kernel.CreateEventFd();

            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { vmmFd }));

            Assert.Equal(VfioInterruptMode.Msi, device.InterruptMode);
            Assert.Equal(VfioConstants.MsiIrqIndex, edu.EnabledIrqIndex);
            Assert.Equal(new[] { vmmFd }, edu.VectorEventFds);

            // The guest then programs its (virtual) MSI registers and Command, as it does under QEMU: the VMM's setup stays.
            device.WriteConfig(EduMsi + 4, 4, 0xFEE0_1000);
            device.WriteConfig(EduMsi + 2, 2, 0x0001);
            device.WriteConfig(EduMsi + 2, 2, 0x0000);
            device.WriteConfig(Command, 2, 0x0406);
            Assert.Equal(VfioInterruptMode.Msi, device.InterruptMode);
            Assert.Equal(VfioConstants.MsiIrqIndex, edu.EnabledIrqIndex);
            Assert.Equal(new[] { vmmFd }, edu.VectorEventFds);
            device.Bar(0).Write(EduRaise, 4, 1);
            Assert.True(kernel.TryReadEventFd(vmmFd, out ulong count));
            Assert.Equal(1UL, count);

            device.SetIrqs(VfioIrqSet.Disable(VfioConstants.MsiIrqIndex));
            Assert.Equal(VfioInterruptMode.None, device.InterruptMode);
            Assert.Null(edu.EnabledIrqIndex);
        }

        [Fact]
        public void With_VMM_owned_interrupts_the_consumer_MSI_registers_stay_virtual_and_program_nothing()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            int requests = edu.IrqRequests.Count;

            device.WriteConfig(EduMsi + 4, 4, 0xFEE0_1000);
            device.WriteConfig(EduMsi + 12, 2, 0x4041);
            device.WriteConfig(EduMsi + 2, 2, 0x0001);
            device.WriteConfig(Command, 2, 0x0406); // INTx Disable, Memory, Bus Master

            // Read back as written, as the kernel's vfio-pci virtualizes them; no SET_IRQS reached the kernel.
            Assert.Equal(1u, device.ReadConfig(EduMsi + 2, 2) & 1);
            Assert.Equal(0xFEE0_1000u, device.ReadConfig(EduMsi + 4, 4));
            Assert.Equal(0x4041u, device.ReadConfig(EduMsi + 12, 2));
            Assert.Equal(requests, edu.IrqRequests.Count);
            Assert.Null(edu.EnabledIrqIndex);
            Assert.Equal(0u, edu.PeekConfig(EduMsi + 2, 2) & 1);
            Assert.Equal(VfioInterruptMode.None, device.InterruptMode);
        }

        [Fact]
        public void INTx_with_a_resample_eventfd_is_unmasked_by_signalling_it()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            device.WriteConfig(Command, 2, 0x6);
            int trigger = kernel.CreateEventFd();
            int resample = kernel.CreateEventFd();
            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.IntxIrqIndex, 0, new[] { trigger }));
            device.SetIrqs(new VfioIrqSet(VfioConstants.IntxIrqIndex, VfioIrqAction.Unmask, 0, 1, new[] { resample }));
            VfioBar bar0 = device.Bar(0);

            bar0.Write(EduRaise, 4, 1);
            Assert.Equal(1UL, Drain(kernel, trigger));
            bar0.Write(EduAcknowledge, 4, 1);
            bar0.Write(EduRaise, 4, 1); // the line is masked by the kernel until the VMM resamples
            Assert.Equal(0UL, Drain(kernel, trigger));

            bar0.Write(EduAcknowledge, 4, 1);
            kernel.WriteEventFd(resample, 1); // what KVM's resampler does after the guest's EOI
            Assert.False(edu.IntxMasked);
            bar0.Write(EduRaise, 4, 1);
            Assert.Equal(1UL, Drain(kernel, trigger));
        }

        [Fact]
        public void INTx_masks_and_unmasks_with_DATA_NONE_and_DATA_BOOL_and_a_still_asserted_line_fires_on_unmask()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            device.WriteConfig(Command, 2, 0x6);
            int trigger = kernel.CreateEventFd();
            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.IntxIrqIndex, 0, new[] { trigger }));

            device.SetIrqs(VfioIrqSet.Mask(VfioConstants.IntxIrqIndex, 0));
            device.Bar(0).Write(EduRaise, 4, 1);
            Assert.Equal(0UL, Drain(kernel, trigger));
            device.SetIrqs(new VfioIrqSet(VfioConstants.IntxIrqIndex, VfioIrqAction.Unmask, 0, 1, null) { Bools = new[] { false } });
            Assert.True(edu.IntxMasked); // a false flag leaves the vector alone
            device.SetIrqs(new VfioIrqSet(VfioConstants.IntxIrqIndex, VfioIrqAction.Unmask, 0, 1, null) { Bools = new[] { true } });
            Assert.Equal(1UL, Drain(kernel, trigger));
        }

        [Fact]
        public void MSI_is_not_maskable_through_VFIO_and_the_kernel_error_keeps_its_errno()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { kernel.CreateEventFd() }));

            VfioException error = Assert.Throws<VfioException>(() => device.SetIrqs(VfioIrqSet.Mask(VfioConstants.MsiIrqIndex, 0)));

            Assert.Equal(VfioErrorKind.Kernel, error.Kind);
            Assert.Equal(VfioConstants.ENOTTY, error.Errno);
            Assert.Contains("MSI", error.Operation);
        }

        [Fact]
        public void A_loopback_trigger_signals_the_armed_vector()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            int fd = kernel.CreateEventFd();
            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { fd }));

            device.SetIrqs(new VfioIrqSet(VfioConstants.MsiIrqIndex, VfioIrqAction.Trigger, 0, 1, null));

            Assert.Equal(1UL, Drain(kernel, fd));
        }

        [Theory]
        [InlineData(VfioConstants.MsiIrqIndex, 0, 2)] // edu offers one MSI vector (Multiple Message Capable 0)
        [InlineData(VfioConstants.MsiIrqIndex, 1, 1)]
        [InlineData(VfioConstants.IntxIrqIndex, 0, 2)]
        [InlineData(7, 0, 1)] // no such index
        public void Vectors_beyond_what_the_consumer_sees_are_refused_before_the_kernel(int index, int start, int count)
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            int requests = edu.IrqRequests.Count;
            int fd = kernel.CreateEventFd();

            VfioException error = Assert.Throws<VfioException>(() => device.SetIrqs(new VfioIrqSet(index, VfioIrqAction.Trigger, start, count, Enumerable.Repeat(fd, count).ToArray())));

            Assert.Equal(VfioErrorKind.InvalidAccess, error.Kind);
            Assert.Equal(requests, edu.IrqRequests.Count);
        }

        [Fact]
        public void Malformed_requests_are_refused_before_the_kernel()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            int requests = edu.IrqRequests.Count;
            var malformed = new[]
            {
                new VfioIrqSet(VfioConstants.MsiIrqIndex, VfioIrqAction.Trigger, 0, 1, new[] { 3, 4 }), // two fds for one vector
                new VfioIrqSet(VfioConstants.MsiIrqIndex, VfioIrqAction.Trigger, -1, 1, new[] { 3 }),
                new VfioIrqSet(VfioConstants.MsiIrqIndex, VfioIrqAction.Trigger, 0, 1, new[] { -7 }),
                new VfioIrqSet(VfioConstants.MsiIrqIndex, VfioIrqAction.Trigger, int.MaxValue, 2, new[] { 3, 3 }),
                new VfioIrqSet(VfioConstants.MsiIrqIndex, VfioIrqAction.Trigger, 0, 1, new[] { 3 }) { Bools = new[] { true } },
            };

            foreach (VfioIrqSet request in malformed)
            {
                Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.SetIrqs(request)).Kind);
            }

            Assert.Equal(requests, edu.IrqRequests.Count);
        }

        [Fact]
        public void A_capability_the_policy_hides_has_no_vectors_for_the_VMM()
        {
            string folder = Directory.CreateTempSubdirectory("vfiopolicy-hide-msi-").FullName;
            try
            {
                string path = Path.Combine(folder, "hide-msi.vfiopolicy");
                File.WriteAllText(path, "policy \"hide-msi\"\nmatch any\n\nextends \"" + Path.Combine(RepositoryPaths.Policies, "strict.vfiopolicy") + "\"\n\noverride hide capability MSI\n");
                CompilationResult compiled = PolicyCompiler.Compile(path, new FileSystemPolicySource());
                PolicyModel model = compiled.Model ?? throw new InvalidOperationException(string.Join("\n", compiled.Diagnostics));
                SimulatedPciDevice edu = Devices.Edu();
                var kernel = new SimulatedVfioKernel(edu);
                using VfioDevice device = VfioDevice.Open(Devices.EduAddress, model, kernel, VmmOwned);

                VfioException error = Assert.Throws<VfioException>(() => device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { kernel.CreateEventFd() })));

                Assert.Equal(VfioErrorKind.InvalidAccess, error.Kind);
                Assert.Null(edu.EnabledIrqIndex);
                device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.IntxIrqIndex, 0, new[] { kernel.CreateEventFd() })); // INTx stays available
                Assert.Equal(VfioConstants.IntxIrqIndex, edu.EnabledIrqIndex);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Fact]
        public void The_VMM_gets_the_request_notification_on_its_own_eventfd_and_the_runtime_still_sees_it()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            using var seen = new ManualResetEventSlim();
            device.ReleaseRequested += (_, _) => seen.Set();
            int vmmFd = kernel.CreateEventFd();

            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.ReqIrqIndex, 0, new[] { vmmFd }));
            edu.RequestRelease();

            Assert.True(seen.Wait(5000));
            Span<bool> ready = stackalloc bool[1];
            Assert.Equal(1, kernel.Poll(new[] { vmmFd }, 5000, ready));
            Assert.Equal(1UL, Drain(kernel, vmmFd));
        }

        [Fact]
        public void With_VMM_owned_interrupts_the_MSI_X_table_reads_all_ones_and_the_PBA_is_the_devices()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            var kernel = new SimulatedVfioKernel(nic);
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), kernel, VmmOwned);
            device.WriteConfig(Command, 2, 0x6);
            VfioBar bar3 = device.Bar(3);
            nic.Bars[3]!.Memory[0x2000] = 0x5A; // the device's own PBA byte

            bar3.Write(0x08, 4, 0x1234);

            Assert.Equal(0xFFFF_FFFFUL, bar3.Read(0x08, 4));
            Assert.Equal(0, nic.Bars[3]!.Memory[0x08]); // the write reached neither an emulation nor the device
            Assert.Equal(BarAccessPath.Emulated, bar3.PathOf(0x0));
            Assert.NotEqual(BarAccessPath.Emulated, bar3.PathOf(0x2000));
            Assert.Equal(0x5AUL, bar3.Read(0x2000, 1));
        }

        [Fact]
        public void A_reset_leaves_the_VMM_interrupt_setup_alone()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            int fd = kernel.CreateEventFd();
            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { fd }));

            device.Reset();

            Assert.Equal(1, edu.ResetCount);
            Assert.Equal(VfioConstants.MsiIrqIndex, edu.EnabledIrqIndex);
            Assert.Equal(VfioInterruptMode.Msi, device.InterruptMode);
        }

        [Fact]
        public void Closing_a_VMM_owned_device_disables_what_the_VMM_enabled()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            int before = kernel.OpenDescriptorCount;
            VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            int fd = kernel.CreateEventFd();
            device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { fd }));

            device.Dispose();

            Assert.Null(edu.EnabledIrqIndex);
            Assert.Equal(before + 1, kernel.OpenDescriptorCount); // only the VMM's own eventfd is left: it is the VMM's to close
        }

        [Fact]
        public void The_two_owners_keep_to_their_own_calls()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using (VfioDevice runtimeOwned = Devices.OpenEdu(kernel))
            {
                Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => runtimeOwned.SetIrqs(VfioIrqSet.Disable(VfioConstants.IntxIrqIndex))).Kind);
            }

            using VfioDevice vmmOwned = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, VmmOwned);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => vmmOwned.UnmaskIntx()).Kind);
        }

        [Fact]
        public void Runtime_owned_MSI_raises_a_route_event_on_enable_on_a_data_change_and_on_disable()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioDevice device = Devices.OpenEdu(kernel);
            var routes = new List<VfioVectorRoute>();
            device.VectorRouteChanged += (_, route) => routes.Add(route);

            device.WriteConfig(EduMsi + 4, 4, 0xFEE0_1000);
            device.WriteConfig(EduMsi + 12, 2, 0x4041);
            Assert.Empty(routes); // not enabled: no route yet
            device.WriteConfig(EduMsi + 2, 2, 0x0001);
            device.WriteConfig(EduMsi + 12, 2, 0x4042);
            device.WriteConfig(EduMsi + 12, 2, 0x4042); // unchanged: no event
            device.WriteConfig(EduMsi + 2, 2, 0x0000);

            Assert.Equal(
                new[]
                {
                    new VfioVectorRoute(VfioConstants.MsiIrqIndex, 0, 0xFEE0_1000, 0x4041, true),
                    new VfioVectorRoute(VfioConstants.MsiIrqIndex, 0, 0xFEE0_1000, 0x4042, true),
                    new VfioVectorRoute(VfioConstants.MsiIrqIndex, 0, 0xFEE0_1000, 0x4042, false),
                },
                routes);
        }

        [Fact]
        public void Runtime_owned_MSI_X_raises_a_route_event_when_an_entry_is_unmasked_reprogrammed_or_masked()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            device.WriteConfig(Command, 2, 0x6);
            int msix = nic.Capability(0x11)!.Value;
            device.WriteConfig(msix + 2, 2, 0x8000);
            var routes = new List<VfioVectorRoute>();
            device.VectorRouteChanged += (_, route) => routes.Add(route);
            VfioBar table = device.Bar(3);

            table.Write(0x10, 8, 0xFEE0_2000);
            table.Write(0x18, 4, 0x51);
            Assert.Empty(routes); // still masked
            table.Write(0x1C, 4, 0);
            table.Write(0x18, 4, 0x52);
            table.Write(0x1C, 4, 1);

            Assert.Equal(
                new[]
                {
                    new VfioVectorRoute(VfioConstants.MsixIrqIndex, 1, 0xFEE0_2000, 0x51, true),
                    new VfioVectorRoute(VfioConstants.MsixIrqIndex, 1, 0xFEE0_2000, 0x52, true),
                    new VfioVectorRoute(VfioConstants.MsixIrqIndex, 1, 0xFEE0_2000, 0x52, false),
                },
                routes);
        }

        private static ulong Drain(SimulatedVfioKernel kernel, int fd) => kernel.TryReadEventFd(fd, out ulong count) ? count : 0;
    }
}
