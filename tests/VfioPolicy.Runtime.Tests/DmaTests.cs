using System;
using System.Linq;
using System.Runtime.InteropServices;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>DMA mappings on the group/container path (the default), exercised through edu's DMA engine.</summary>
    public sealed class DmaTests
    {
        private const ulong Page = 0x1000;
        private const ulong IovaA = 0x0010_0000; // below edu's 28-bit DMA mask
        private const ulong IovaB = 0x0020_0000;

        [Fact]
        public void IommuInfo_appears_with_the_first_device_and_reports_the_page_sizes_the_two_IOVA_ranges_and_the_mapping_limit()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            Assert.Null(container.IommuInfo);
            Assert.Equal(VfioOpenPath.Auto, container.OpenPath);

            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));

            VfioIommuInfo info = Assert.IsType<VfioIommuInfo>(container.IommuInfo);
            Assert.Equal(VfioOpenPath.Container, container.OpenPath);
            Assert.Equal(0x4020_1000UL, info.PageSizes); // 4 KiB, 2 MiB, 1 GiB
            Assert.Equal(0x1000UL, info.MinimumPageSize);
            Assert.Equal(
                new[] { new VfioIovaRange(0, 0xFEDF_FFFF), new VfioIovaRange(0xFEF0_0000, (1UL << 39) - 1) },
                info.IovaRanges.ToArray());
            Assert.Equal(65535, info.DmaMappingLimit);
        }

        [Fact]
        public void A_round_trip_through_edu_copies_buffer_A_into_buffer_B_through_the_IOMMU()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            EduDma.EnableBusMaster(device, edu);
            using VfioDmaBuffer a = container.AllocateDmaBuffer(EduDma.Length);
            using VfioDmaBuffer b = container.AllocateDmaBuffer(EduDma.Length);
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x31);
            a.Write(0, pattern);
            using VfioDmaMapping readable = container.MapDma(IovaA, a, VfioDmaAccess.Read);
            using VfioDmaMapping writable = container.MapDma(IovaB, b, VfioDmaAccess.Write);
            long before = edu.DmaBytes;

            EduDma.HostToEdu(device, IovaA, 0, EduDma.Length);
            Assert.Equal(pattern, EduDma.Model(edu).DmaBuffer.ToArray());
            EduDma.EduToHost(device, 0, IovaB, EduDma.Length);

            Assert.Equal(pattern, b.ToArray(0, EduDma.Length));
            Assert.Equal(before + (2 * EduDma.Length), edu.DmaBytes);
            Assert.Empty(kernel.IommuFaults);
            Assert.Equal(0, EduDma.Model(edu).FailedTransfers);
            Assert.Equal(
                new[] { (IovaA, (ulong)EduDma.Length, VfioDmaAccess.Read), (IovaB, (ulong)EduDma.Length, VfioDmaAccess.Write) },
                kernel.ContainerMappings.OrderBy(m => m.Iova).ToArray());
            Assert.Equal(new[] { IovaA, IovaB }, container.DmaMappings.Select(m => m.Iova).ToArray());
        }

        [Fact]
        public void A_device_write_to_an_unmapped_IOVA_faults_in_the_IOMMU_and_reaches_no_memory()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            EduDma.EnableBusMaster(device, edu);
            using VfioDmaBuffer b = container.AllocateDmaBuffer(EduDma.Length);
            byte[] original = EduDma.Pattern(EduDma.Length, 0x5A);
            b.Write(0, original);
            using VfioDmaMapping mapping = container.MapDma(IovaB, b, VfioDmaAccess.ReadWrite);
            EduDma.Pattern(EduDma.Length, 0x77).CopyTo(EduDma.Model(edu).DmaBuffer);
            const ulong unmapped = 0x0030_0000;

            EduDma.EduToHost(device, 0, unmapped, EduDma.Length);

            Assert.Equal(original, b.ToArray(0, EduDma.Length));
            SimulatedIommuFault fault = Assert.Single(kernel.IommuFaults);
            Assert.Equal(edu.Address, fault.Address);
            Assert.Equal(unmapped, fault.Iova);
            Assert.Equal(EduDma.Length, fault.Length);
            Assert.True(fault.Write);
            Assert.Contains("0x300000", fault.Reason);
            Assert.Equal(0L, edu.DmaBytes);
            Assert.Equal(1, EduDma.Model(edu).FailedTransfers);
        }

        [Fact]
        public void A_device_write_into_a_read_only_mapping_faults_and_leaves_the_memory_unchanged()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            EduDma.EnableBusMaster(device, edu);
            using VfioDmaBuffer b = container.AllocateDmaBuffer(EduDma.Length);
            byte[] original = EduDma.Pattern(EduDma.Length, 0x5A);
            b.Write(0, original);
            using VfioDmaMapping mapping = container.MapDma(IovaB, b, VfioDmaAccess.Read);
            EduDma.Pattern(EduDma.Length, 0x77).CopyTo(EduDma.Model(edu).DmaBuffer);

            EduDma.EduToHost(device, 0, IovaB, EduDma.Length);

            Assert.Equal(original, b.ToArray(0, EduDma.Length));
            SimulatedIommuFault fault = Assert.Single(kernel.IommuFaults);
            Assert.Equal(edu.Address, fault.Address);
            Assert.Equal(IovaB, fault.Iova);
            Assert.True(fault.Write);
            Assert.Contains("does not allow the device to write", fault.Reason);
            Assert.Equal(0L, edu.DmaBytes);

            // The same mapping still lets the device read.
            EduDma.HostToEdu(device, IovaB, 0, EduDma.Length);
            Assert.Equal(original, EduDma.Model(edu).DmaBuffer.ToArray());
            Assert.Single(kernel.IommuFaults);
        }

        [Fact]
        public void An_overlapping_mapping_is_DmaOverlap_naming_the_existing_mapping_and_maps_nothing()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer first = fixture.Container.AllocateDmaBuffer(2 * (long)Page);
            using VfioDmaBuffer second = fixture.Container.AllocateDmaBuffer((long)Page);
            using VfioDmaMapping existing = fixture.Container.MapDma(IovaA, first, VfioDmaAccess.Read);
            var before = fixture.Kernel.ContainerMappings.ToArray();

            VfioException error = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA + Page, second, VfioDmaAccess.ReadWrite));

            Assert.Equal(VfioErrorKind.DmaOverlap, error.Kind);
            Assert.Contains(existing.ToString(), error.Message);
            Assert.Contains("IOVA [0x100000, 0x101fff]", error.Message);
            Assert.Equal(before, fixture.Kernel.ContainerMappings.ToArray());
            Assert.Equal(new[] { existing }, fixture.Container.DmaMappings.ToArray());

            // The buffer that failed to map is not held by a phantom mapping: disposing it frees it at once.
            second.Dispose();
            Assert.Equal(1, fixture.Kernel.LiveAllocationCount);
        }

        [Fact]
        public void IOVAs_the_IOMMU_does_not_allow_and_ranges_that_wrap_or_leave_the_buffer_are_DmaOutOfRange()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer(2 * (long)Page);
            using VfioDmaMapping existing = fixture.Container.MapDma(IovaA, buffer, 0, (long)Page, VfioDmaAccess.Read);
            var before = fixture.Kernel.ContainerMappings.ToArray();

            VfioException msi = Assert.Throws<VfioException>(() => fixture.Container.MapDma(0xFEE0_0000, buffer, (long)Page, (long)Page, VfioDmaAccess.Write));
            Assert.Equal(VfioErrorKind.DmaOutOfRange, msi.Kind);
            Assert.Contains("0xfee00000", msi.Message);

            VfioException wraps = Assert.Throws<VfioException>(() => fixture.Container.MapDma(0xFFFF_FFFF_FFFF_F000, buffer, VfioDmaAccess.Write));
            Assert.Equal(VfioErrorKind.DmaOutOfRange, wraps.Kind);

            VfioException outside = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaB, buffer, (long)Page, 2 * (long)Page, VfioDmaAccess.Write));
            Assert.Equal(VfioErrorKind.DmaOutOfRange, outside.Kind);
            Assert.Contains("8192-byte buffer", outside.Message);

            Assert.Equal(before, fixture.Kernel.ContainerMappings.ToArray());
            Assert.Equal(new[] { existing }, fixture.Container.DmaMappings.ToArray());
        }

        [Fact]
        public void An_unaligned_IOVA_length_or_buffer_offset_is_DmaUnaligned_and_maps_nothing()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer(2 * (long)Page);

            VfioException iova = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA + 0x800, buffer, VfioDmaAccess.Read));
            VfioException length = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, buffer, 0, 0x800, VfioDmaAccess.Read));
            VfioException offset = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, buffer, 0x800, (long)Page, VfioDmaAccess.Read));

            Assert.Equal(VfioErrorKind.DmaUnaligned, iova.Kind);
            Assert.Equal(VfioErrorKind.DmaUnaligned, length.Kind);
            Assert.Equal(VfioErrorKind.DmaUnaligned, offset.Kind);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Empty(fixture.Container.DmaMappings);
        }

        [Fact]
        public void A_mapping_the_device_can_neither_read_nor_write_is_InvalidAccess()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer((long)Page);

            VfioException none = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.None));
            VfioException unknown = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, buffer, (VfioDmaAccess)4));

            Assert.Equal(VfioErrorKind.InvalidAccess, none.Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, unknown.Kind);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Empty(fixture.Container.DmaMappings);
        }

        [Fact]
        public void A_host_address_that_is_not_memory_from_the_kernel_is_refused_with_EFAULT_as_InvalidAccess()
        {
            using var fixture = new Fixture();

            // A pinned managed array: memory of this process, but not an allocation the (simulated) kernel can pin.
            byte[] managed = GC.AllocateArray<byte>(3 * (int)Page, pinned: true);
            nint start = Marshal.UnsafeAddrOfPinnedArrayElement(managed, 0);
            nint aligned = (nint)(((ulong)start + Page - 1) & ~(Page - 1));

            VfioException error = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, aligned, Page, VfioDmaAccess.ReadWrite));

            Assert.Equal(VfioErrorKind.InvalidAccess, error.Kind);
            Assert.Contains("EFAULT", error.Message);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Empty(fixture.Container.DmaMappings);
            GC.KeepAlive(managed);
        }

        [Fact]
        public void Past_the_kernels_DMA_entry_limit_a_mapping_is_DmaLimitReached()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu) { DmaEntryLimit = 2 };
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            Assert.Equal(2, container.IommuInfo!.DmaMappingLimit);
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(3 * (long)Page);
            using VfioDmaMapping first = container.MapDma(IovaA, buffer, 0, (long)Page, VfioDmaAccess.Read);
            using VfioDmaMapping second = container.MapDma(IovaA + Page, buffer, (long)Page, (long)Page, VfioDmaAccess.Read);
            var before = kernel.ContainerMappings.ToArray();

            VfioException error = Assert.Throws<VfioException>(() => container.MapDma(IovaA + (2 * Page), buffer, 2 * (long)Page, (long)Page, VfioDmaAccess.Read));

            Assert.Equal(VfioErrorKind.DmaLimitReached, error.Kind);
            Assert.Equal(2, before.Length);
            Assert.Equal(before, kernel.ContainerMappings.ToArray());
            Assert.Equal(2, container.DmaMappings.Count);

            // Unmapping one makes room again.
            second.Dispose();
            using VfioDmaMapping third = container.MapDma(IovaA + (2 * Page), buffer, 2 * (long)Page, (long)Page, VfioDmaAccess.Read);
            Assert.Equal(2, kernel.ContainerMappings.Count);
        }

        [Fact]
        public void Mapping_before_any_device_is_open_is_InvalidAccess_because_there_is_no_IOMMU_yet()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu());
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer((long)Page);

            VfioException error = Assert.Throws<VfioException>(() => container.MapDma(IovaA, buffer, VfioDmaAccess.ReadWrite));

            Assert.Equal(VfioErrorKind.InvalidAccess, error.Kind);
            Assert.Contains("no IOMMU yet", error.Message);
            Assert.Empty(kernel.ContainerMappings);
            Assert.Empty(container.DmaMappings);
            Assert.Equal(VfioOpenPath.Auto, container.OpenPath);
        }

        [Fact]
        public void Unmapping_a_range_never_mapped_is_DmaNotMapped_and_one_that_cuts_a_mapping_is_DmaUnaligned_and_keeps_it()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer(2 * (long)Page);
            using VfioDmaMapping mapping = fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.ReadWrite);

            VfioException notMapped = Assert.Throws<VfioException>(() => fixture.Container.UnmapDma(IovaB, Page));
            VfioException cuts = Assert.Throws<VfioException>(() => fixture.Container.UnmapDma(IovaA, Page));
            VfioException cutsTheEnd = Assert.Throws<VfioException>(() => fixture.Container.UnmapDma(IovaA + Page, 2 * Page));

            Assert.Equal(VfioErrorKind.DmaNotMapped, notMapped.Kind);
            Assert.Equal(VfioErrorKind.DmaUnaligned, cuts.Kind);
            Assert.Equal(VfioErrorKind.DmaUnaligned, cutsTheEnd.Kind);
            Assert.True(mapping.IsMapped);
            Assert.Equal(new[] { (IovaA, 2 * Page, VfioDmaAccess.ReadWrite) }, fixture.Kernel.ContainerMappings.ToArray());
            Assert.Equal(new[] { mapping }, fixture.Container.DmaMappings.ToArray());
        }

        [Fact]
        public void Unmapping_with_an_unaligned_IOVA_or_length_is_DmaUnaligned_and_keeps_the_mapping()
        {
            // DmaUnaligned is documented as "IOVA, length or host address not a multiple of the IOMMU page size";
            // MapDma checks it before the kernel, so UnmapDma should too rather than pass type1's EINVAL through.
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer((long)Page);
            using VfioDmaMapping mapping = fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.ReadWrite);

            VfioException length = Assert.Throws<VfioException>(() => fixture.Container.UnmapDma(IovaA, Page + 0x800));
            VfioException iova = Assert.Throws<VfioException>(() => fixture.Container.UnmapDma(IovaA - 0x800, 2 * Page));

            Assert.Equal(VfioErrorKind.DmaUnaligned, length.Kind);
            Assert.Equal(VfioErrorKind.DmaUnaligned, iova.Kind);
            Assert.True(mapping.IsMapped);
            Assert.Equal(new[] { (IovaA, Page, VfioDmaAccess.ReadWrite) }, fixture.Kernel.ContainerMappings.ToArray());
        }

        [Fact]
        public void Unmapping_a_range_that_covers_two_whole_mappings_unmaps_both_and_Dispose_twice_is_harmless()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer(2 * (long)Page);
            VfioDmaMapping low = fixture.Container.MapDma(IovaA, buffer, 0, (long)Page, VfioDmaAccess.Read);
            VfioDmaMapping high = fixture.Container.MapDma(IovaA + (4 * Page), buffer, (long)Page, (long)Page, VfioDmaAccess.Write);
            Assert.Equal(2, fixture.Kernel.ContainerMappings.Count);

            fixture.Container.UnmapDma(IovaA, 5 * Page); // the gap between them is not mapped: fine

            Assert.False(low.IsMapped);
            Assert.False(high.IsMapped);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Empty(fixture.Container.DmaMappings);

            low.Dispose();
            low.Dispose();
            high.Dispose();
            Assert.Empty(fixture.Kernel.ContainerMappings);

            // Dispose of a live mapping twice: unmapped once, and the range is free again.
            VfioDmaMapping again = fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.ReadWrite);
            again.Dispose();
            again.Dispose();
            Assert.False(again.IsMapped);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Equal(VfioErrorKind.DmaNotMapped, Assert.Throws<VfioException>(() => fixture.Container.UnmapDma(IovaA, 2 * Page)).Kind);

            // The buffer holds no mapping any more: disposing it frees it.
            buffer.Dispose();
            Assert.Equal(0, fixture.Kernel.LiveAllocationCount);
        }

        [Fact]
        public void Kernel_refusals_of_a_mapping_are_translated_EEXIST_to_DmaOverlap_and_ENOSPC_to_DmaLimitReached()
        {
            using var fixture = new Fixture();
            using VfioDmaBuffer buffer = fixture.Container.AllocateDmaBuffer((long)Page);

            fixture.Kernel.InjectFault("VFIO_IOMMU_MAP_DMA", VfioConstants.EEXIST, times: 1);
            VfioException overlap = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.Read));
            Assert.Equal(VfioErrorKind.DmaOverlap, overlap.Kind);
            Assert.Contains("EEXIST", overlap.Message);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Empty(fixture.Container.DmaMappings);

            fixture.Kernel.InjectFault("VFIO_IOMMU_MAP_DMA", VfioConstants.ENOSPC, times: 1);
            VfioException limit = Assert.Throws<VfioException>(() => fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.Read));
            Assert.Equal(VfioErrorKind.DmaLimitReached, limit.Kind);
            Assert.Contains("ENOSPC", limit.Message);
            Assert.Empty(fixture.Kernel.ContainerMappings);
            Assert.Empty(fixture.Container.DmaMappings);

            // Neither refusal left the buffer counted as mapped, and the same mapping now succeeds.
            using VfioDmaMapping mapping = fixture.Container.MapDma(IovaA, buffer, VfioDmaAccess.Read);
            Assert.Single(fixture.Kernel.ContainerMappings);
        }

        [Fact]
        public void A_disposed_buffer_stays_allocated_and_reachable_by_the_device_until_its_mapping_goes()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            EduDma.EnableBusMaster(device, edu);
            VfioDmaBuffer buffer = container.AllocateDmaBuffer(EduDma.Length);
            VfioDmaMapping mapping = container.MapDma(IovaA, buffer, VfioDmaAccess.ReadWrite);
            Assert.Equal(1, kernel.LiveAllocationCount);

            buffer.Dispose();

            Assert.True(buffer.IsDisposed);
            Assert.Equal(1, kernel.LiveAllocationCount);
            Assert.Throws<ObjectDisposedException>(() => buffer.ToArray(0, 16));
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x11);
            SimulatedEduModel model = EduDma.Model(edu);
            pattern.CopyTo(model.DmaBuffer);
            EduDma.EduToHost(device, 0, IovaA, EduDma.Length); // into the disposed, still mapped memory
            model.DmaBuffer.Clear();
            EduDma.HostToEdu(device, IovaA, 0, EduDma.Length); // and back out again
            Assert.Equal(pattern, model.DmaBuffer.ToArray());
            Assert.Empty(kernel.IommuFaults);
            Assert.Equal(2L * EduDma.Length, edu.DmaBytes);

            mapping.Dispose();

            Assert.False(mapping.IsMapped);
            Assert.Equal(0, kernel.LiveAllocationCount);
            Assert.Empty(kernel.ContainerMappings);
        }

        [Fact]
        public void Disposing_the_container_unmaps_everything_frees_disposed_buffers_and_closes_every_descriptor()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            int descriptorsBefore = kernel.OpenDescriptorCount;
            VfioContainer container = VfioContainer.Create(kernel);
            VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            VfioDmaBuffer shared = container.AllocateDmaBuffer(2 * (long)Page, shareable: true);
            VfioDmaBuffer anonymous = container.AllocateDmaBuffer((long)Page);
            VfioDmaBuffer unmappedShared = container.AllocateDmaBuffer((long)Page, shareable: true);
            Assert.True(shared.Fd >= 0);
            Assert.True(unmappedShared.Fd >= 0);
            Assert.Equal(-1, anonymous.Fd);
            VfioDmaMapping sharedLow = container.MapDma(IovaA, shared, 0, (long)Page, VfioDmaAccess.Read);
            VfioDmaMapping sharedHigh = container.MapDma(IovaA + Page, shared, (long)Page, (long)Page, VfioDmaAccess.Write);
            VfioDmaMapping anonymousMapping = container.MapDma(IovaB, anonymous, VfioDmaAccess.ReadWrite);
            shared.Dispose(); // still mapped twice: kept, memfd included
            Assert.True(shared.Fd >= 0);
            unmappedShared.Dispose(); // not mapped: freed, memfd closed at once
            Assert.Equal(-1, unmappedShared.Fd);
            Assert.Equal(2, kernel.LiveAllocationCount);

            container.Dispose();

            Assert.Empty(kernel.ContainerMappings);
            Assert.Empty(container.DmaMappings);
            Assert.False(sharedLow.IsMapped);
            Assert.False(sharedHigh.IsMapped);
            Assert.False(anonymousMapping.IsMapped);
            Assert.Equal(-1, shared.Fd);
            Assert.Equal(1, kernel.LiveAllocationCount); // the anonymous buffer was never disposed
            Assert.Equal(descriptorsBefore, kernel.OpenDescriptorCount);
            Assert.Null(container.IommuInfo);
            Assert.Equal(VfioErrorKind.Closed, Assert.Throws<VfioException>(() => device.ReadConfig(0, 4)).Kind);
            Assert.Equal(VfioErrorKind.Closed, Assert.Throws<VfioException>(() => container.AllocateDmaBuffer((long)Page)).Kind);

            anonymous.Dispose();
            Assert.Equal(0, kernel.LiveAllocationCount);
            container.Dispose(); // idempotent
            sharedLow.Dispose();
            Assert.Equal(descriptorsBefore, kernel.OpenDescriptorCount);
        }

        [Fact]
        public void On_the_container_path_closing_the_last_device_unmaps_everything_and_a_new_device_brings_a_fresh_IOMMU()
        {
            SimulatedPciDevice edu = Devices.Edu();
            var kernel = new SimulatedVfioKernel(edu);
            using VfioContainer container = VfioContainer.Create(kernel);
            VfioDevice device = container.OpenDevice(edu.Address, Devices.Policy("strict"));
            using VfioDmaBuffer a = container.AllocateDmaBuffer(EduDma.Length);
            using VfioDmaBuffer b = container.AllocateDmaBuffer(EduDma.Length);
            VfioDmaMapping readable = container.MapDma(IovaA, a, VfioDmaAccess.Read);
            VfioDmaMapping writable = container.MapDma(IovaB, b, VfioDmaAccess.Write);

            device.Dispose();

            Assert.False(readable.IsMapped);
            Assert.False(writable.IsMapped);
            Assert.Empty(container.DmaMappings);
            Assert.Empty(kernel.ContainerMappings);
            Assert.Null(container.IommuInfo);
            Assert.Empty(container.Devices);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => container.MapDma(IovaA, a, VfioDmaAccess.Read)).Kind);

            using VfioDevice again = container.OpenDevice(edu.Address, Devices.Policy("strict"));

            Assert.NotNull(container.IommuInfo);
            Assert.Equal(VfioOpenPath.Container, again.OpenPath);
            using VfioDmaMapping readableAgain = container.MapDma(IovaA, a, VfioDmaAccess.Read);
            using VfioDmaMapping writableAgain = container.MapDma(IovaB, b, VfioDmaAccess.Write);
            Assert.Equal(2, kernel.ContainerMappings.Count);
            EduDma.EnableBusMaster(again, edu);
            byte[] pattern = EduDma.Pattern(EduDma.Length, 0x42);
            a.Write(0, pattern);
            EduDma.HostToEdu(again, IovaA, 0, EduDma.Length);
            EduDma.EduToHost(again, 0, IovaB, EduDma.Length);
            Assert.Equal(pattern, b.ToArray(0, EduDma.Length));
            Assert.Empty(kernel.IommuFaults);
        }

        /// <summary>One edu open in a container of its own making, for the mapping-error tests.</summary>
        private sealed class Fixture : IDisposable
        {
            public Fixture()
            {
                Edu = Devices.Edu();
                Kernel = new SimulatedVfioKernel(Edu);
                Container = VfioContainer.Create(Kernel);
                Device = Container.OpenDevice(Edu.Address, Devices.Policy("strict"));
            }

            public SimulatedPciDevice Edu { get; }

            public SimulatedVfioKernel Kernel { get; }

            public VfioContainer Container { get; }

            public VfioDevice Device { get; }

            public void Dispose() => Container.Dispose();
        }
    }

    /// <summary>Drives edu's DMA engine through BAR0, as a driver would (shared by the DMA, iommufd and shared-container tests).</summary>
    internal static class EduDma
    {
        /// <summary>One transfer: the whole edu buffer.</summary>
        public const int Length = SimulatedEduModel.DmaBufferSize;

        private const int Command = 0x04;
        private const uint MemoryAndBusMaster = 0x6;
        private const uint BusMaster = 0x4;
        private const ulong Start = 0x1;
        private const ulong ToHost = 0x2;

        public static SimulatedEduModel Model(SimulatedPciDevice edu) => (SimulatedEduModel)edu.Bars[0]!.Model!;

        /// <summary>An edu at <paramref name="address"/> in IOMMU group <paramref name="group"/> with no reset of its own (hot reset only).</summary>
        public static SimulatedPciDevice WithoutReset(string address, int group)
        {
            SimulatedPciDevice edu = Devices.Edu(address: address);
            edu.IommuGroup = group;
            edu.CanReset = false;
            return edu;
        }

        /// <summary>The consumer enables Memory and Bus Master; Bus Master is passthrough under strict and must reach the hardware.</summary>
        public static void EnableBusMaster(VfioDevice device, SimulatedPciDevice edu)
        {
            device.WriteConfig(Command, 2, MemoryAndBusMaster);
            Assert.Equal(BusMaster, edu.PeekConfig(Command, 2) & BusMaster);
        }

        /// <summary>edu reads <paramref name="count"/> bytes of host memory at <paramref name="iova"/> into its buffer at <paramref name="bufferOffset"/>.</summary>
        public static void HostToEdu(VfioDevice device, ulong iova, int bufferOffset, int count) =>
            Run(device, iova, SimulatedEduModel.DmaBufferStart + (ulong)bufferOffset, count, Start);

        /// <summary>edu writes <paramref name="count"/> bytes of its buffer at <paramref name="bufferOffset"/> to host memory at <paramref name="iova"/>.</summary>
        public static void EduToHost(VfioDevice device, int bufferOffset, ulong iova, int count) =>
            Run(device, SimulatedEduModel.DmaBufferStart + (ulong)bufferOffset, iova, count, Start | ToHost);

        public static byte[] Pattern(int length, byte seed)
        {
            byte[] bytes = new byte[length];
            for (int i = 0; i < length; i++)
            {
                bytes[i] = (byte)(seed + (i * 7) + (i >> 8));
            }

            return bytes;
        }

        private static void Run(VfioDevice device, ulong source, ulong destination, int count, ulong command)
        {
            VfioBar bar = device.Bar(0);
            bar.Write(0x80, 8, source);
            bar.Write(0x88, 8, destination);
            bar.Write(0x90, 8, (ulong)count);
            bar.Write(0x98, 8, command);
            Assert.Equal(0UL, bar.Read(0x98, 8) & Start); // the simulated engine completes at once
        }
    }
}
