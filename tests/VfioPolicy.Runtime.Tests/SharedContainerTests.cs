using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>Several devices in one <see cref="VfioContainer"/> on the group/container path: shared groups, shared mappings, hot reset.</summary>
    public sealed class SharedContainerTests
    {
        private const string First = "0000:05:01.0";
        private const string Second = "0000:05:02.0";
        private const int Group = 7;
        private const int Command = 0x04;
        private const int Bar0 = 0x10;
        private const int EduMsi = 0x40;
        private const ulong Iova = 0x0010_0000;

        [Fact]
        public void Two_functions_of_one_IOMMU_group_open_in_one_container_through_one_group_descriptor()
        {
            SimulatedPciDevice first = EduDma.WithoutReset(First, Group);
            SimulatedPciDevice second = EduDma.WithoutReset(Second, Group);
            var kernel = new SimulatedVfioKernel(first, second);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(First, Devices.Policy("strict"));
            int withOne = kernel.OpenDescriptorCount;

            // The group is open in the container: a container of its own cannot have it, and leaks nothing trying.
            VfioException inUse = Assert.Throws<VfioException>(() => VfioDevice.Open(Second, Devices.Policy("strict"), kernel));
            Assert.Equal(VfioErrorKind.GroupInUse, inUse.Kind);
            Assert.Contains("/dev/vfio/7", inUse.Operation);
            Assert.Equal(withOne, kernel.OpenDescriptorCount);

            using VfioDevice two = container.OpenDevice(Second, Devices.Policy("strict"));

            Assert.Equal(new[] { First, Second }, container.Devices.Select(d => d.Address).OrderBy(a => a).ToArray());
            Assert.Equal(Group, one.IommuGroup);
            Assert.Equal(Group, two.IommuGroup);
            Assert.Same(container, two.Container);

            // The second device added its own descriptors (device fd, eventfds) but neither a container nor a group:
            // the first device's total again, less the two it shares.
            Assert.Equal((2 * withOne) - 2, kernel.OpenDescriptorCount);
            one.WriteConfig(Command, 2, 0x2);
            two.WriteConfig(Command, 2, 0x2);
            Assert.Equal((ulong)SimulatedEduModel.Identification, one.Bar(0).Read(0, 4));
            Assert.Equal((ulong)SimulatedEduModel.Identification, two.Bar(0).Read(0, 4));
            Assert.Equal(1, first.Bars[0]!.MappedAccesses + first.Bars[0]!.TrappedAccesses);
            Assert.Equal(1, second.Bars[0]!.MappedAccesses + second.Bars[0]!.TrappedAccesses);
        }

        [Fact]
        public void Devices_of_different_groups_in_one_container_share_its_mappings()
        {
            SimulatedPciDevice first = Devices.Edu(address: "0000:01:00.0");
            SimulatedPciDevice second = Devices.Edu(address: "0000:03:00.0");
            first.IommuGroup = 5;
            second.IommuGroup = 6;
            var kernel = new SimulatedVfioKernel(first, second);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(first.Address, Devices.Policy("strict"));
            using VfioDevice two = container.OpenDevice(second.Address, Devices.Policy("strict"));
            EduDma.EnableBusMaster(one, first);
            EduDma.EnableBusMaster(two, second);
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(EduDma.Length);
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x3C);
            buffer.Write(0, pattern);

            using VfioDmaMapping mapping = container.MapDma(Iova, buffer, VfioDmaAccess.Read);

            Assert.Single(kernel.ContainerMappings);
            EduDma.HostToEdu(one, Iova, 0, EduDma.Length);
            EduDma.HostToEdu(two, Iova, 0, EduDma.Length);
            Assert.Equal(pattern, EduDma.Model(first).DmaBuffer.ToArray());
            Assert.Equal(pattern, EduDma.Model(second).DmaBuffer.ToArray());
            Assert.Equal((long)EduDma.Length, first.DmaBytes);
            Assert.Equal((long)EduDma.Length, second.DmaBytes);
            Assert.Empty(kernel.IommuFaults);

            // Closing one device keeps the mapping: the other group still holds the IOMMU.
            two.Dispose();
            Assert.True(mapping.IsMapped);
            Assert.Single(kernel.ContainerMappings);
            EduDma.Model(first).DmaBuffer.Clear();
            EduDma.HostToEdu(one, Iova, 0, EduDma.Length);
            Assert.Equal(pattern, EduDma.Model(first).DmaBuffer.ToArray());
        }

        [Fact]
        public void Opening_the_same_device_twice_in_one_container_is_InvalidAccess_and_the_first_stays_usable()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            int descriptors = kernel.OpenDescriptorCount;

            VfioException error = Assert.Throws<VfioException>(() => container.OpenDevice("01:00.0", Devices.Policy("strict")));

            Assert.Equal(VfioErrorKind.InvalidAccess, error.Kind);
            Assert.Contains(edu.Address, error.Message);
            Assert.Equal(descriptors, kernel.OpenDescriptorCount);
            Assert.Single(container.Devices);
            Assert.Equal(0x11e8_1234u, device.ReadConfig(0, 4));
            device.WriteConfig(Command, 2, 0x2);
            Assert.Equal((ulong)SimulatedEduModel.Identification, device.Bar(0).Read(0, 4));
            Assert.NotNull(container.IommuInfo);
        }

        [Fact]
        public void Closing_one_device_of_the_group_keeps_the_other_working_and_closing_both_releases_the_group()
        {
            SimulatedPciDevice first = EduDma.WithoutReset(First, Group);
            SimulatedPciDevice second = EduDma.WithoutReset(Second, Group);
            var kernel = new SimulatedVfioKernel(first, second);
            var container = VfioContainer.Create(kernel);
            VfioDevice one = container.OpenDevice(First, Devices.Policy("strict"));
            VfioDevice two = container.OpenDevice(Second, Devices.Policy("strict"));
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(EduDma.Length);
            VfioDmaMapping mapping = container.MapDma(Iova, buffer, VfioDmaAccess.ReadWrite);

            one.Dispose();

            Assert.Equal(new[] { two }, container.Devices.ToArray());
            Assert.True(mapping.IsMapped);
            Assert.NotNull(container.IommuInfo);
            two.WriteConfig(Command, 2, 0x6);
            Assert.Equal((ulong)SimulatedEduModel.Identification, two.Bar(0).Read(0, 4));
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x19);
            buffer.Write(0, pattern);
            EduDma.HostToEdu(two, Iova, 0, EduDma.Length);
            Assert.Equal(pattern, EduDma.Model(second).DmaBuffer.ToArray());

            // The group is still this container's.
            Assert.Equal(VfioErrorKind.GroupInUse, Assert.Throws<VfioException>(() => VfioDevice.Open(First, Devices.Policy("strict"), kernel)).Kind);

            two.Dispose();

            Assert.False(mapping.IsMapped);
            Assert.Null(container.IommuInfo);
            using (VfioDevice elsewhere = VfioDevice.Open(First, Devices.Policy("strict"), kernel))
            {
                Assert.Equal(0x11e8_1234u, elsewhere.ReadConfig(0, 4));
            }

            container.Dispose();
            Assert.Equal(0, kernel.OpenDescriptorCount);
        }

        [Fact]
        public void A_hot_reset_of_one_function_resets_both_and_restores_each_device()
        {
            SimulatedPciDevice first = EduDma.WithoutReset(First, Group);
            SimulatedPciDevice second = EduDma.WithoutReset(Second, Group);
            var kernel = new SimulatedVfioKernel(first, second);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(First, Devices.Policy("strict"));
            using VfioDevice two = container.OpenDevice(Second, Devices.Policy("strict"));
            Assert.False(one.CanReset);
            Assert.False(two.CanReset);
            int scratch = VirtualizedScratchByte(one.Binding);
            Assert.Equal(scratch, VirtualizedScratchByte(two.Binding));
            uint oneResetValue = one.ReadConfig(scratch, 1);
            uint twoResetValue = two.ReadConfig(scratch, 1);
            foreach ((VfioDevice device, SimulatedPciDevice edu) in new[] { (one, first), (two, second) })
            {
                device.WriteConfig(Command, 2, 0x6);
                device.WriteConfig(Bar0, 4, 0xC000_0000);
                device.WriteConfig(scratch, 1, 0xA5);
                Assert.Equal(0xA5u, device.ReadConfig(scratch, 1));
            }

            uint[] hardwareBars = new[] { first, second }.SelectMany(e => Enumerable.Range(0, 7).Select(i => e.PeekConfig(i == 6 ? 0x30 : Bar0 + (4 * i), 4))).ToArray();
            uint firstCommand = first.PeekConfig(Command, 2);
            uint secondCommand = second.PeekConfig(Command, 2);
            Assert.NotEqual(0xA5u, oneResetValue);

            one.Reset();

            Assert.Equal(1, first.ResetCount);
            Assert.Equal(1, second.ResetCount);
            Assert.Equal(1, kernel.HotResetCount);
            Assert.Equal(1, one.ResetCount);
            Assert.Equal(1, two.ResetCount);
            Assert.Equal(oneResetValue, one.ReadConfig(scratch, 1));
            Assert.Equal(twoResetValue, two.ReadConfig(scratch, 1));
            Assert.Equal(hardwareBars, new[] { first, second }.SelectMany(e => Enumerable.Range(0, 7).Select(i => e.PeekConfig(i == 6 ? 0x30 : Bar0 + (4 * i), 4))).ToArray());
            Assert.Equal(firstCommand, first.PeekConfig(Command, 2));
            Assert.Equal(secondCommand, second.PeekConfig(Command, 2));
            Assert.Equal(0xC000_0000u, one.ReadConfig(Bar0, 4)); // the consumer's BAR addresses are kept
            Assert.Equal(0xC000_0000u, two.ReadConfig(Bar0, 4));
            Assert.Equal(0u, one.ReadConfig(Command, 2) & 0x2); // Memory: virtual, back to its reset value
            Assert.Equal(0u, two.ReadConfig(Command, 2) & 0x2);
            Assert.Equal(VfioInterruptMode.Intx, one.InterruptMode);
            Assert.Equal(VfioInterruptMode.Intx, two.InterruptMode);
            one.WriteConfig(Command, 2, 0x2);
            two.WriteConfig(Command, 2, 0x2);
            Assert.Equal((ulong)SimulatedEduModel.Identification, one.Bar(0).Read(0, 4));
            Assert.Equal((ulong)SimulatedEduModel.Identification, two.Bar(0).Read(0, 4));
        }

        [Fact]
        public void A_hot_reset_that_would_reach_a_function_the_container_does_not_own_is_CannotReset_naming_it()
        {
            SimulatedPciDevice first = EduDma.WithoutReset(First, Group);
            SimulatedPciDevice second = EduDma.WithoutReset(Second, Group);
            var kernel = new SimulatedVfioKernel(first, second);
            kernel.AddGroupMember("0000:05:03.0", 9, "e1000e");
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(First, Devices.Policy("strict"));
            using VfioDevice two = container.OpenDevice(Second, Devices.Policy("strict"));

            VfioException error = Assert.Throws<VfioException>(() => one.Reset());

            Assert.Equal(VfioErrorKind.CannotReset, error.Kind);
            Assert.Equal(new[] { "0000:05:03.0" }, error.BlockingDevices.ToArray());
            Assert.Contains("0000:05:03.0", error.Message);
            Assert.Contains("e1000e", error.Message);
            Assert.Contains("IOMMU group 9", error.Message);
            Assert.Equal(0, first.ResetCount);
            Assert.Equal(0, second.ResetCount);
            Assert.Equal(0, kernel.HotResetCount);
            Assert.Equal(0, one.ResetCount);
            Assert.Equal(0, two.ResetCount);
            Assert.Equal(VfioInterruptMode.Intx, one.InterruptMode);
            Assert.Equal(VfioConstants.IntxIrqIndex, first.EnabledIrqIndex);
        }

        [Fact]
        public void A_vfio_pci_function_on_the_bus_that_is_not_open_here_blocks_the_hot_reset_too()
        {
            SimulatedPciDevice first = EduDma.WithoutReset(First, Group);
            SimulatedPciDevice other = EduDma.WithoutReset("0000:05:03.0", 8);
            var kernel = new SimulatedVfioKernel(first, other);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(First, Devices.Policy("strict"));

            VfioException error = Assert.Throws<VfioException>(() => one.Reset());

            Assert.Equal(VfioErrorKind.CannotReset, error.Kind);
            Assert.Equal(new[] { "0000:05:03.0" }, error.BlockingDevices.ToArray());
            Assert.Contains("not opened through this container", error.Message);
            Assert.Equal(0, first.ResetCount);
            Assert.Equal(0, other.ResetCount);
            Assert.Equal(0, kernel.HotResetCount);

            // Opened in the same container, it no longer blocks.
            using VfioDevice three = container.OpenDevice(other.Address, Devices.Policy("strict"));
            one.Reset();
            Assert.Equal(1, first.ResetCount);
            Assert.Equal(1, other.ResetCount);
            Assert.Equal(1, three.ResetCount);
            Assert.Equal(1, kernel.HotResetCount);
        }

        [Fact]
        public void A_hot_reset_the_kernel_refuses_is_CannotReset_and_both_devices_keep_their_interrupt_mode()
        {
            SimulatedPciDevice first = EduDma.WithoutReset(First, Group);
            SimulatedPciDevice second = EduDma.WithoutReset(Second, Group);
            var kernel = new SimulatedVfioKernel(first, second);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(First, Devices.Policy("strict"));
            using VfioDevice two = container.OpenDevice(Second, Devices.Policy("strict"));
            one.WriteConfig(Command, 2, 0x6);
            one.WriteConfig(EduMsi + 4, 4, 0xFEE0_1000);
            one.WriteConfig(EduMsi + 12, 2, 0x4041);
            one.WriteConfig(EduMsi + 2, 2, 0x0001);
            Assert.Equal(VfioInterruptMode.Msi, one.InterruptMode);
            Assert.Equal(VfioInterruptMode.Intx, two.InterruptMode);
            kernel.InjectFault("VFIO_DEVICE_PCI_HOT_RESET", VfioConstants.EINVAL, times: 1);

            VfioException error = Assert.Throws<VfioException>(() => one.Reset());

            Assert.Equal(VfioErrorKind.CannotReset, error.Kind);
            Assert.Equal(VfioConstants.EINVAL, error.Errno);
            Assert.Equal(0, first.ResetCount);
            Assert.Equal(0, second.ResetCount);
            Assert.Equal(0, kernel.HotResetCount);
            Assert.Equal(0, one.ResetCount);
            Assert.Equal(0, two.ResetCount);
            Assert.Equal(VfioInterruptMode.Msi, one.InterruptMode);
            Assert.Equal(VfioInterruptMode.Intx, two.InterruptMode);
            Assert.Equal(VfioConstants.MsiIrqIndex, first.EnabledIrqIndex);
            Assert.Equal(VfioConstants.IntxIrqIndex, second.EnabledIrqIndex);
            Assert.Empty(one.BehaviorErrors);
            Assert.Empty(two.BehaviorErrors);

            // The interrupts really work: MSI on the first, INTx on the second.
            one.Bar(0).Write(0x60, 4, 1);
            Assert.True(one.MsiVectors[0].Wait(1000));
            two.WriteConfig(Command, 2, 0x2);
            two.Bar(0).Write(0x60, 4, 1);
            Assert.True(two.Intx!.Wait(1000));
        }

        /// <summary>
        /// A header byte the policy fully virtualizes, lets the consumer write, and attaches no behavior to (under
        /// strict: cache line size, latency timer, interrupt line): a reset must put its reset value back.
        /// </summary>
        private static int VirtualizedScratchByte(BoundConfigSpace binding)
        {
            for (int at = 0; at < 0x40; at++)
            {
                if (binding.VirtMask[at] == 0xFF && binding.WriteMask[at] == 0xFF && binding.ShadowReadWrite[at] == 0xFF
                    && !binding.Behaviors.Any(b => b.Contains(at)))
                {
                    return at;
                }
            }

            Assert.Fail("strict virtualizes no writable header byte without a behavior");
            return -1;
        }
    }
}
