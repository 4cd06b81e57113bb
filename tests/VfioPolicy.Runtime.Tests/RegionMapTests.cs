using System;
using System.Linq;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>The rest of a region map: the system's page size, MSIX_MAPPABLE, the VGA and device-specific regions, the ROM.</summary>
    public sealed class RegionMapTests
    {
        private const int Command = 0x04;

        [Fact]
        public void The_MSI_X_pages_are_kept_out_of_the_mapping_at_the_systems_page_size()
        {
            // e1000e's BAR3 (16 KiB) holds the table at 0x0 and the PBA at 0x2000; the kernel offers 0x1000 and 0x3000.
            SimulatedPciDevice small = Devices.E1000e();
            using (VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(small)))
            {
                Assert.Equal(
                    new[]
                    {
                        new BarRange(0x0, 0x50, BarAccessPath.Emulated),
                        new BarRange(0x50, 0xFB0, BarAccessPath.Trapped),
                        new BarRange(0x1000, 0x1000, BarAccessPath.Mapped),
                        new BarRange(0x2000, 0x8, BarAccessPath.Emulated),
                        new BarRange(0x2008, 0xFF8, BarAccessPath.Trapped),
                        new BarRange(0x3000, 0x1000, BarAccessPath.Mapped),
                    },
                    device.Bar(3).Layout);
            }

            // With 16 KiB pages the table's page is the whole BAR: nothing of it may be mapped.
            SimulatedPciDevice large = Devices.E1000e();
            var kernel = new SimulatedVfioKernel(large) { PageSize = 16384 };
            using (VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), kernel))
            {
                Assert.DoesNotContain(device.Bar(3).Layout, r => r.Path == BarAccessPath.Mapped);
                Assert.Empty(device.Bar(3).MapFailures);
                Assert.Equal(BarAccessPath.Trapped, device.Bar(3).PathOf(0x1000));
            }
        }

        [Fact]
        public void MSIX_MAPPABLE_maps_the_pages_around_the_table_and_the_table_is_still_emulated()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            nic.Bars[3] = new SimulatedBar(0x4000) { MsixMappable = true };
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            device.WriteConfig(Command, 2, 0x6);
            VfioBar bar3 = device.Bar(3);

            Assert.Equal(
                new[]
                {
                    new BarRange(0x0, 0x50, BarAccessPath.Emulated),
                    new BarRange(0x50, 0x1FB0, BarAccessPath.Mapped),
                    new BarRange(0x2000, 0x8, BarAccessPath.Emulated),
                    new BarRange(0x2008, 0x1FF8, BarAccessPath.Mapped),
                },
                bar3.Layout);

            bar3.Write(0x08, 4, 0x4242); // entry 0's data: emulated, never on the device
            bar3.Write(0x100, 4, 0x1234_5678); // a register sharing the table's page: through the mapping
            Assert.Equal(0x4242UL, bar3.Read(0x08, 4));
            Assert.Equal(0, nic.Bars[3]!.Memory[0x08]);
            Assert.Equal(0x1234_5678UL, bar3.Read(0x100, 4));
            Assert.Equal(0x78, nic.Bars[3]!.Memory[0x100]);
            Assert.Equal(0, nic.Bars[3]!.TrappedAccesses);
            Assert.Equal(2, nic.Bars[3]!.MappedAccesses);
        }

        [Fact]
        public void The_VGA_and_device_specific_regions_are_listed_with_their_types_and_reached_by_pread()
        {
            SimulatedPciDevice edu = Devices.Edu();
            edu.ExtraRegions[VfioConstants.VgaRegionIndex] = new SimulatedRegion(0xC0000, null, readable: true, writable: true);
            var opRegion = new SimulatedRegion(0x2000, new VfioRegionType(VfioRegionType.PciVendorType | 0x8086, 1));
            "IntelGraphicsMem"u8.CopyTo(opRegion.Memory);
            edu.ExtraRegions[9] = opRegion;
            edu.ExtraRegions[10] = new SimulatedRegion(0x100, new VfioRegionType(VfioRegionType.PciVendorType | 0x10de, 7));
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(edu));

            Assert.Equal(new[] { "BAR0", "config", "VGA", "Intel IGD OpRegion", "PCI vendor 10de type, subtype 7" }, device.Regions.Select(r => r.Name));
            Span<byte> signature = stackalloc byte[16];
            device.Region(9).Read(0, signature);
            Assert.Equal("IntelGraphicsMem"u8.ToArray(), signature.ToArray());

            device.Region(VfioConstants.VgaRegionIndex).Write(0xB8000, new byte[] { 0x41, 0x07 });
            Assert.Equal(0x41, edu.ExtraRegions[VfioConstants.VgaRegionIndex].Memory[0xB8000]);

            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(9).Write(0, new byte[] { 1 })).Kind); // read-only
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(9).Read(0x1FFF, new byte[2])).Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(9).Read(-1, new byte[1])).Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(0)).Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(VfioConstants.ConfigRegionIndex)).Kind);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(11)).Kind);
        }

        [Fact]
        public void A_device_without_a_VGA_region_lists_none()
        {
            using VfioDevice device = Devices.OpenEdu(new SimulatedVfioKernel(Devices.Edu()));
            Assert.DoesNotContain(device.Regions, r => r.Index == VfioConstants.VgaRegionIndex);
            Assert.Equal(VfioErrorKind.InvalidAccess, Assert.Throws<VfioException>(() => device.Region(VfioConstants.VgaRegionIndex)).Kind);
        }

        [Fact]
        public void ROM_reads_come_from_the_ROM_region_once_the_consumer_enables_it()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            byte[] image = Enumerable.Range(0, 0x40000).Select(i => (byte)(i * 7)).ToArray();
            image[0] = 0x55;
            image[1] = 0xAA;
            image.CopyTo(nic.Bars[6]!.Memory);
            using VfioDevice device = VfioDevice.Open(Devices.E1000eAddress, Devices.Policy("strict"), new SimulatedVfioKernel(nic));
            VfioBar rom = device.Rom!;
            device.WriteConfig(Command, 2, 0x2);

            Assert.Equal(0xFFFFUL, rom.Read(0, 2)); // ROM enable still clear: a master abort
            device.WriteConfig(0x30, 4, 0xFEB0_0001);
            Assert.Equal(0xAA55UL, rom.Read(0, 2));
            Assert.Equal(BitConverter.ToUInt64(image, 0x3FFF8), rom.Read(0x3FFF8, 8));
            Assert.Equal(BarAccessPath.Trapped, rom.PathOf(0));
            Assert.Equal(2, nic.Bars[6]!.TrappedAccesses);
        }
    }
}
