using System.Linq;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>The iommufd path: /dev/iommu, one IOAS, the device cdev (kernel.OffersIommufd).</summary>
    public sealed class IommufdTests
    {
        private const ulong IovaA = 0x0010_0000;
        private const ulong IovaB = 0x0020_0000;

        [Fact]
        public void Auto_opens_through_iommufd_and_the_device_cdev_without_holding_the_group()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu) { OffersIommufd = true };

            using VfioDevice device = Devices.OpenEdu(kernel);

            Assert.Equal(VfioOpenPath.Iommufd, device.OpenPath);
            Assert.Equal(VfioOpenPath.Iommufd, device.Container.OpenPath);
            Assert.Contains("/dev/iommu", device.Container.OpenPathReason);
            Assert.Contains("vfio" + edu.CdevNumber, device.Container.OpenPathReason);
            Assert.Equal(0x11e8_1234u, device.ReadConfig(0, 4));
            Assert.Equal(0x0010u, device.ReadConfig(0x06, 2) & 0x0010); // Status: capability list, from the hardware
            Assert.NotNull(device.Container.IommuInfo);
            Assert.Null(device.Container.IommuInfo!.DmaMappingLimit);

            // No group descriptor: the same device opened on the group/container path holds /dev/vfio/vfio,
            // /dev/vfio/5 and the device fd; on the iommufd path it holds /dev/iommu and the cdev. Everything else
            // (eventfds for INTx, MSI, the request notification) is the same on both paths, so the iommufd path holds
            // exactly one descriptor fewer: the group's.
            var containerKernel = new SimulatedVfioKernel(Devices.Edu()) { OffersIommufd = true };
            using VfioDevice throughGroup = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), containerKernel, ForcedPath(VfioOpenPath.Container));
            Assert.Equal(VfioOpenPath.Container, throughGroup.OpenPath);
            Assert.Equal(containerKernel.OpenDescriptorCount - 1, kernel.OpenDescriptorCount);

            device.Dispose();
            Assert.Equal(0, kernel.OpenDescriptorCount);
        }

        [Fact]
        public void The_edu_DMA_round_trip_works_through_the_IOAS()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu) { OffersIommufd = true };
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            Assert.Equal(VfioOpenPath.Iommufd, container.OpenPath);
            EduDma.EnableBusMaster(device, edu);
            using VfioDmaBuffer a = container.AllocateDmaBuffer(EduDma.Length);
            using VfioDmaBuffer b = container.AllocateDmaBuffer(EduDma.Length);
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x23);
            a.Write(0, pattern);
            using VfioDmaMapping readable = container.MapDma(IovaA, a, VfioDmaAccess.Read);
            using VfioDmaMapping writable = container.MapDma(IovaB, b, VfioDmaAccess.Write);

            EduDma.HostToEdu(device, IovaA, 0, EduDma.Length);
            EduDma.EduToHost(device, 0, IovaB, EduDma.Length);

            Assert.Equal(pattern, b.ToArray(0, EduDma.Length));
            Assert.Equal(2L * EduDma.Length, edu.DmaBytes);
            Assert.Empty(kernel.IommuFaults);
            Assert.Equal(
                new[] { (IovaA, (ulong)EduDma.Length, VfioDmaAccess.Read), (IovaB, (ulong)EduDma.Length, VfioDmaAccess.Write) },
                kernel.IoasMappings.OrderBy(m => m.Iova).ToArray());
            Assert.Empty(kernel.ContainerMappings);
        }

        [Fact]
        public void Container_forced_on_an_iommufd_kernel_takes_the_container_path_and_says_it_was_forced()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu()) { OffersIommufd = true };

            using VfioDevice device = VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, ForcedPath(VfioOpenPath.Container));

            Assert.Equal(VfioOpenPath.Container, device.OpenPath);
            Assert.Contains("forced", device.Container.OpenPathReason);
            Assert.Contains("also offers iommufd", device.Container.OpenPathReason);
            Assert.Equal(0x11e8_1234u, device.ReadConfig(0, 4));
        }

        [Fact]
        public void Auto_on_a_kernel_without_iommufd_takes_the_container_path_and_names_CONFIG_IOMMUFD()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());

            using VfioDevice device = Devices.OpenEdu(kernel);

            Assert.Equal(VfioOpenPath.Container, device.OpenPath);
            Assert.Contains("CONFIG_IOMMUFD", device.Container.OpenPathReason);
            Assert.Contains("/dev/iommu", device.Container.OpenPathReason);
        }

        [Fact]
        public void Iommufd_forced_on_a_kernel_without_it_is_UnsupportedKernel_and_leaves_nothing_open()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());

            VfioException error = Assert.Throws<VfioException>(() => VfioDevice.Open(Devices.EduAddress, Devices.Policy("strict"), kernel, ForcedPath(VfioOpenPath.Iommufd)));

            Assert.Equal(VfioErrorKind.UnsupportedKernel, error.Kind);
            Assert.Contains("CONFIG_IOMMUFD", error.Message);
            Assert.Equal(0, kernel.OpenDescriptorCount);

            // A shared container stays undecided after the refusal, and opens the device once the path is not forced.
            using VfioContainer container = VfioContainer.Create(kernel, new VfioContainerOptions { OpenPath = VfioOpenPath.Iommufd });
            Assert.Equal(VfioErrorKind.UnsupportedKernel, Assert.Throws<VfioException>(() => container.OpenDevice(Devices.EduAddress, Devices.Policy("strict"))).Kind);
            Assert.Equal(VfioOpenPath.Auto, container.OpenPath);
            Assert.Equal(0, kernel.OpenDescriptorCount);
        }

        [Fact]
        public void Iommufd_mappings_survive_closing_the_last_device_and_go_with_the_container()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu) { OffersIommufd = true };
            VfioContainer container = VfioContainer.Create(kernel);
            VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(2L * EduDma.Length);
            VfioDmaMapping low = container.MapDma(IovaA, buffer, 0, EduDma.Length, VfioDmaAccess.Read);
            VfioDmaMapping high = container.MapDma(IovaB, buffer, EduDma.Length, EduDma.Length, VfioDmaAccess.Write);

            device.Dispose();

            Assert.True(low.IsMapped);
            Assert.True(high.IsMapped);
            Assert.Equal(2, kernel.IoasMappings.Count);
            Assert.Equal(new[] { low, high }, container.DmaMappings.ToArray());
            Assert.Empty(container.Devices);

            // A device opened again finds them in place.
            using (VfioDevice again = container.OpenDevice(edu.Address, Devices.Policy("strict")))
            {
                EduDma.EnableBusMaster(again, edu);
                byte[] pattern = EduDma.Pattern(EduDma.Length, 0x66);
                buffer.Write(0, pattern);
                EduDma.HostToEdu(again, IovaA, 0, EduDma.Length);
                EduDma.EduToHost(again, 0, IovaB, EduDma.Length);
                Assert.Equal(pattern, buffer.ToArray(EduDma.Length, EduDma.Length));
                Assert.Empty(kernel.IommuFaults);
            }

            container.Dispose();

            Assert.False(low.IsMapped);
            Assert.False(high.IsMapped);
            Assert.Empty(kernel.IoasMappings);
            Assert.Empty(container.DmaMappings);
            Assert.Equal(0, kernel.OpenDescriptorCount);
            buffer.Dispose();
            Assert.Equal(0, kernel.LiveAllocationCount);
        }

        [Fact]
        public void A_failure_in_any_iommufd_step_of_the_open_is_a_typed_error_naming_the_step_and_leaks_no_descriptor()
        {
            // The operation names the simulated kernel checks: Open's "open" (the first file opened is /dev/iommu),
            // then AllocateIoas, BindIommufd and AttachIommufdPageTable.
            (string Operation, string Names)[] steps =
            {
                ("open", "/dev/iommu"),
                ("IOMMU_IOAS_ALLOC", "IOMMU_IOAS_ALLOC"),
                ("VFIO_DEVICE_BIND_IOMMUFD", "VFIO_DEVICE_BIND_IOMMUFD"),
                ("VFIO_DEVICE_ATTACH_IOMMUFD_PT", "VFIO_DEVICE_ATTACH_IOMMUFD_PT"),
            };

            foreach ((string operation, string names) in steps)
            {
                var kernel = new SimulatedVfioKernel(Devices.Edu()) { OffersIommufd = true };
                kernel.InjectFault(operation, VfioConstants.EIO, times: 1);

                VfioException error = Assert.Throws<VfioException>(() => Devices.OpenEdu(kernel));

                Assert.Equal((operation, VfioErrorKind.Kernel, VfioConstants.EIO), (operation, error.Kind, error.Errno));
                Assert.Contains(names, error.Operation);
                Assert.Equal((operation, 0), (operation, kernel.OpenDescriptorCount));

                // The fault was used up: the same kernel opens the device now.
                using VfioDevice device = Devices.OpenEdu(kernel);
                Assert.Equal(VfioOpenPath.Iommufd, device.OpenPath);
            }

            // A refused open of /dev/iommu says how to fix it.
            var denied = new SimulatedVfioKernel(Devices.Edu()) { OffersIommufd = true };
            denied.InjectFault("open", VfioConstants.EACCES, times: 1);
            VfioException permission = Assert.Throws<VfioException>(() => Devices.OpenEdu(denied));
            Assert.Equal(VfioErrorKind.PermissionDenied, permission.Kind);
            Assert.Contains("/dev/iommu", permission.Operation);
            Assert.Equal(0, denied.OpenDescriptorCount);
        }

        [Fact]
        public void An_open_whose_IOAS_range_query_fails_leaves_no_device_behind_in_a_shared_container()
        {
            // OpenDevice's contract: "Nothing stays open" when it throws. The IOAS's ranges are read again once the
            // device is attached (IOMMU_IOAS_IOVA_RANGES): if that fails, the device must not stay in the container.
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu) { OffersIommufd = true };
            using VfioContainer container = VfioContainer.Create(kernel);
            kernel.InjectFault("IOMMU_IOAS_IOVA_RANGES", VfioConstants.EIO, times: 1);

            VfioException error = Assert.Throws<VfioException>(() => container.OpenDevice(edu.Address, Devices.Policy("strict")));

            Assert.Equal(VfioErrorKind.Kernel, error.Kind);
            Assert.Contains("IOMMU_IOAS_IOVA_RANGES", error.Operation);
            Assert.Empty(container.Devices);
            Assert.Equal(1, kernel.OpenDescriptorCount); // only the container's iommufd, which lives as long as the container
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            Assert.Equal(0x11e8_1234u, device.ReadConfig(0, 4));
        }

        [Fact]
        public void A_hot_reset_through_the_cdev_path_resets_both_functions_on_the_bus_and_restores_both()
        {
            SimulatedPciDevice first = EduDma.WithoutReset("0000:05:01.0", 7);
            SimulatedPciDevice second = EduDma.WithoutReset("0000:05:02.0", 7);
            var kernel = new SimulatedVfioKernel(first, second) { OffersIommufd = true };
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice one = container.OpenDevice(first.Address, Devices.Policy("strict"));
            using VfioDevice two = container.OpenDevice(second.Address, Devices.Policy("strict"));
            Assert.Equal(VfioOpenPath.Iommufd, container.OpenPath);
            Assert.False(one.CanReset);
            uint firstBar = first.PeekConfig(0x10, 4);
            uint secondBar = second.PeekConfig(0x10, 4);

            one.Reset();

            Assert.Equal(1, first.ResetCount);
            Assert.Equal(1, second.ResetCount);
            Assert.Equal(1, kernel.HotResetCount);
            Assert.Equal(1, one.ResetCount);
            Assert.Equal(1, two.ResetCount);
            Assert.Equal(firstBar, first.PeekConfig(0x10, 4));
            Assert.Equal(secondBar, second.PeekConfig(0x10, 4));
            Assert.Equal(VfioInterruptMode.Intx, two.InterruptMode);
            Assert.Equal(VfioConstants.IntxIrqIndex, second.EnabledIrqIndex);
        }

        [Fact]
        public void Two_devices_of_one_group_in_different_iommufd_containers_are_GroupInUse()
        {
            SimulatedPciDevice first = EduDma.WithoutReset("0000:05:01.0", 7);
            SimulatedPciDevice second = EduDma.WithoutReset("0000:05:02.0", 7);
            var kernel = new SimulatedVfioKernel(first, second) { OffersIommufd = true };
            using VfioContainer one = VfioContainer.Create(kernel);
            using VfioContainer other = VfioContainer.Create(kernel);
            using VfioDevice device = one.OpenDevice(first.Address, Devices.Policy("strict"));
            int open = kernel.OpenDescriptorCount;

            VfioException error = Assert.Throws<VfioException>(() => other.OpenDevice(second.Address, Devices.Policy("strict")));

            Assert.Equal(VfioErrorKind.GroupInUse, error.Kind);
            Assert.Contains("VFIO_DEVICE_BIND_IOMMUFD", error.Operation);
            Assert.Equal(open, kernel.OpenDescriptorCount); // the second container closed the iommufd its failed first open made
        }

        [Fact]
        public void A_mapping_in_a_window_the_next_devices_IOMMU_reserves_refuses_its_attach_and_says_why()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu) { OffersIommufd = true };
            using VfioContainer container = VfioContainer.Create(kernel);
            container.OpenDevice(edu.Address, Devices.Policy("strict")).Dispose();
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(0x1000);
            using VfioDmaMapping msiWindow = container.MapDma(0xfee00000, buffer, VfioDmaAccess.ReadWrite); // an empty IOAS allows it

            VfioException error = Assert.Throws<VfioException>(() => container.OpenDevice(edu.Address, Devices.Policy("strict")));

            Assert.Equal(VfioErrorKind.DmaOutOfRange, error.Kind);
            Assert.Contains("VFIO_DEVICE_ATTACH_IOMMUFD_PT", error.Operation);
            Assert.Contains("MSI window", error.Message);
            msiWindow.Dispose();
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
        }

        private static VfioDeviceOptions ForcedPath(VfioOpenPath path) => new VfioDeviceOptions { Container = new VfioContainerOptions { OpenPath = path } };
    }
}
