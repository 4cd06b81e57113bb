using System.Linq;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    public sealed class BarTests
    {
        private const int Command = 0x04;
        private const uint MemoryEnable = 0x2;
        private const uint IoEnable = 0x1;

        [Fact]
        public void Sizing_a_memory_BAR_answers_the_size_mask_and_never_touches_the_hardware_BAR()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));

            device.WriteConfig(0x10, 4, 0xFFFF_FFFF);
            Assert.Equal(0xFFF0_0000u, device.ReadConfig(0x10, 4)); // 1 MiB, 32-bit, non-prefetchable

            device.WriteConfig(0x10, 4, 0xC000_0000);
            Assert.Equal(0xC000_0000u, device.ReadConfig(0x10, 4));
            device.WriteConfig(0x10, 4, 0xC001_2345);
            Assert.Equal(0xC000_0000u, device.ReadConfig(0x10, 4)); // bits below the size read 0

            Assert.Equal(0xFE60_0000u, edu.PeekConfig(0x10, 4));
        }

        [Fact]
        public void Sizing_an_unimplemented_BAR_reads_zero()
        {
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(Devices.Edu()));
            device.WriteConfig(0x14, 4, 0xFFFF_FFFF);
            Assert.Equal(0u, device.ReadConfig(0x14, 4));
        }

        [Fact]
        public void Sizing_a_64_bit_prefetchable_BAR_sizes_both_halves()
        {
            byte[] image = Devices.EduImage();
            image[0x10] = 0x0C; // 64-bit, prefetchable
            SimulatedPciDevice edu = Devices.Edu(image);
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));

            device.WriteConfig(0x10, 4, 0xFFFF_FFFF);
            device.WriteConfig(0x14, 4, 0xFFFF_FFFF);

            Assert.Equal(0xFFF0_000Cu, device.ReadConfig(0x10, 4));
            Assert.Equal(0xFFFF_FFFFu, device.ReadConfig(0x14, 4));
            Assert.True(device.Bar(0).Is64Bit);
            Assert.True(device.Bar(0).IsPrefetchable);
        }

        [Fact]
        public void Sizing_an_IO_BAR_and_the_ROM_BAR()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));

            device.WriteConfig(0x18, 4, 0xFFFF_FFFF);
            Assert.Equal(0xFFFF_FFE1u, device.ReadConfig(0x18, 4)); // 32 bytes of I/O
            Assert.True(device.Bar(2).IsIo);

            device.WriteConfig(0x30, 4, 0xFFFF_F800);
            Assert.Equal(0xFFFC_0000u, device.ReadConfig(0x30, 4)); // 256 KiB, disabled
            Assert.Equal(0xFE80_0000u, nic.PeekConfig(0x30, 4));
        }

        [Fact]
        public void Memory_decode_off_gates_the_BAR_like_a_master_abort()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            VfioBar bar0 = device.Bar(0);

            Assert.Equal(0xFFFF_FFFFUL, bar0.Read(0, 4)); // strict: the consumer's Memory bit starts at 0
            bar0.Write(0x04, 4, 0x1234);
            Assert.Equal(2, bar0.BlockedAccesses);
            Assert.Equal(0, edu.Bars[0]!.MappedAccesses + edu.Bars[0]!.TrappedAccesses);

            device.WriteConfig(Command, 2, MemoryEnable);
            Assert.Equal((ulong)SimulatedEduModel.Identification, bar0.Read(0, 4));

            device.WriteConfig(Command, 2, 0);
            Assert.Equal(0xFFUL, bar0.Read(0, 1));
        }

        [Fact]
        public void Edu_BAR0_is_mapped_and_its_registers_work()
        {
            SimulatedPciDevice edu = Devices.Edu();
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            device.WriteConfig(Command, 2, MemoryEnable);
            VfioBar bar0 = device.Bar(0);

            Assert.Equal(BarAccessPath.Mapped, bar0.PathOf(0));
            Assert.Equal((ulong)SimulatedEduModel.Identification, bar0.Read(0, 4));
            bar0.Write(0x04, 4, 0x1234_5678);
            Assert.Equal(~0x1234_5678u, (uint)bar0.Read(0x04, 4));
            bar0.Write(0x08, 4, 5);
            Assert.Equal(120UL, bar0.Read(0x08, 4));
            Assert.Equal(5, edu.Bars[0]!.MappedAccesses);
            Assert.Equal(0, edu.Bars[0]!.TrappedAccesses);
        }

        [Fact]
        public void A_BAR_that_cannot_be_mapped_is_trapped_through_pread_and_pwrite()
        {
            SimulatedPciDevice edu = Devices.Edu(mappable: false);
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));
            device.WriteConfig(Command, 2, MemoryEnable);

            Assert.Equal(BarAccessPath.Trapped, device.Bar(0).PathOf(0));
            Assert.Equal((ulong)SimulatedEduModel.Identification, device.Bar(0).Read(0, 4));
            device.Bar(0).Write(0x08, 4, 4);
            Assert.Equal(24UL, device.Bar(0).Read(0x08, 4));
            Assert.Equal(3, edu.Bars[0]!.TrappedAccesses);
        }

        [Fact]
        public void The_MSI_X_table_and_PBA_are_emulated_and_only_the_sparse_areas_are_mapped()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            device.WriteConfig(Command, 2, MemoryEnable | IoEnable);
            VfioBar bar3 = device.Bar(3);

            Assert.Equal(
                new[] { (0x0L, 0x50L, BarAccessPath.Emulated), (0x50L, 0xFB0L, BarAccessPath.Trapped), (0x1000L, 0x1000L, BarAccessPath.Mapped), (0x2000L, 0x8L, BarAccessPath.Emulated), (0x2008L, 0xFF8L, BarAccessPath.Trapped), (0x3000L, 0x1000L, BarAccessPath.Mapped) },
                bar3.Layout.Select(r => (r.Offset, r.Size, r.Path)));
            Assert.Equal(1UL, bar3.Read(0x0C, 4)); // vector 0 starts masked
            bar3.Write(0x00, 4, 0xFEE0_0000);
            Assert.Equal(0xFEE0_0000UL, bar3.Read(0x00, 4));
            Assert.Equal(0UL, bar3.Read(0x2000, 8));
            Assert.Equal(0, nic.Bars[3]!.MappedAccesses + nic.Bars[3]!.TrappedAccesses);
            Assert.Equal(0UL, (ulong)nic.Bars[3]!.Memory[0]);

            bar3.Write(0x1000, 4, 0xAB);
            Assert.Equal(1, nic.Bars[3]!.MappedAccesses);
            Assert.Equal(BarAccessPath.Trapped, device.Bar(2).PathOf(0));
        }

        [Fact]
        public void The_ROM_reads_only_while_enabled_and_is_read_only()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            nic.Bars[6]!.Memory[0] = 0x55;
            nic.Bars[6]!.Memory[1] = 0xAA;
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            device.WriteConfig(Command, 2, MemoryEnable);
            VfioBar rom = device.Rom!;

            Assert.Equal(0xFFFFUL, rom.Read(0, 2)); // ROM enable bit clear
            device.WriteConfig(0x30, 4, 0xC000_0001);
            Assert.Equal(0xAA55UL, rom.Read(0, 2));
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => rom.Write(0, 2, 0)).Kind);
        }

        [Theory]
        [InlineData(0x100000L, 4)]
        [InlineData(-4L, 4)]
        [InlineData(0x2L, 4)]
        [InlineData(0x0L, 3)]
        public void A_malformed_BAR_access_is_InvalidAccess(long offset, int width)
        {
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(Devices.Edu()));
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Bar(0).Read(offset, width)).Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Bar(0).Write(offset, width, 0)).Kind);
        }

        [Fact]
        public void An_unimplemented_BAR_is_InvalidAccess()
        {
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(Devices.Edu()));
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Bar(1)).Kind);
            Assert.Null(device.Rom);
        }

        [Fact]
        public void A_failing_trapped_access_names_the_region_and_errno()
        {
            var kernel = new SimulatedVfioKernel(Devices.Edu(mappable: false));
            using VfioDevice device = Devices.OpenEdu(kernel);
            device.WriteConfig(Command, 2, MemoryEnable);
            kernel.InjectFault("pread", VfioPolicy.Runtime.Kernel.VfioConstants.EIO, times: 1);
            VfioException error = Assert.Throws<VfioException>(() => device.Bar(0).Read(0, 4));
            Assert.Equal(VfioErrorKind.Kernel, error.Kind);
            Assert.Equal(VfioPolicy.Runtime.Kernel.VfioConstants.EIO, error.Errno);
            Assert.Contains("region 0", error.Operation);
        }
    }
}
