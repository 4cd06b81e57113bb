using System;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    /// <summary>
    /// SR-IOV virtual functions in dumps (tests/corpus/sriov: QEMU's NVMe PF and its two VFs as the guest kernel read
    /// them). Expected values are the dump's own bytes, read by hand: SR-IOV at 0x120, TotalVFs 2, NumVFs 2, First VF
    /// Offset 1, VF Stride 1, VF Device ID 0x0010, VF BAR 0 = 0xfd604004 (64-bit memory).
    /// </summary>
    public sealed class VirtualFunctionTests : IDisposable
    {
        private static readonly string Dump = Path.Combine(RepositoryPaths.Corpus, "sriov", "vm3_06-00.x_1b36-0010_qemu-nvme-sriov-pf-and-2-vfs.xxxx.txt");

        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-vf-" + Guid.NewGuid().ToString("N"));

        public VirtualFunctionTests() => Directory.CreateDirectory(scratch);

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        private static ConfigSpaceImage Raw(string slot) => ConfigDumpReader.SelectSlot(ConfigDumpReader.ParseLspci(File.ReadAllText(Dump), Dump), slot, Dump);

        [Fact]
        public void The_physical_functions_sriov_capability_describes_its_virtual_functions()
        {
            SriovCapability sriov = VirtualFunctions.Describe(Raw("06:00.0").Bytes)!;

            Assert.Equal((0x120, 2, 2, 1, 1, (ushort)0x0010), (sriov.CapabilityOffset, sriov.TotalVfs, sriov.NumVfs, sriov.FirstVfOffset, sriov.VfStride, sriov.VfDeviceId));
            Assert.Equal(0xfd60_4004u, sriov.VfBars[0]);
            Assert.Equal(new[] { "0000:06:00.1", "0000:06:00.2" }, VirtualFunctions.Slots("06:00.0", sriov));
            Assert.Null(VirtualFunctions.Describe(Raw("06:00.1").Bytes));
        }

        [Fact]
        public void Routing_ids_follow_first_vf_offset_and_stride_across_device_and_bus_numbers()
        {
            var sriov = new SriovCapability(0x160, 8, 3, 0x80, 2, 0x1234, new uint[6]);
            Assert.Equal(new[] { "0000:3b:10.0", "0000:3b:10.2", "0000:3b:10.4" }, VirtualFunctions.Slots("3b:00.0", sriov));
            Assert.Equal(new[] { "0002:04:00.0", "0002:04:00.2", "0002:04:00.4" }, VirtualFunctions.Slots("0002:03:00.0", sriov with { FirstVfOffset = 0x100 }));
        }

        [Fact]
        public void A_virtual_function_is_told_from_a_device_and_from_an_absent_one()
        {
            Assert.True(VirtualFunctions.LooksLikeVirtualFunction(Raw("06:00.1").Bytes));
            Assert.False(VirtualFunctions.LooksLikeVirtualFunction(Raw("06:00.0").Bytes));
            byte[] absent = Enumerable.Repeat((byte)0xFF, 256).ToArray();
            Assert.False(VirtualFunctions.LooksLikeVirtualFunction(absent));
        }

        [Fact]
        public void Loading_a_virtual_function_gives_what_vfio_pci_presents()
        {
            byte[] own = Raw("06:00.1").Bytes;
            ConfigSpaceImage presented = ConfigDumpReader.Load(Dump, "06:00.1");

            Assert.Equal(0xFFFF_FFFFu, BitConverter.ToUInt32(own, 0));
            Assert.Equal(0x0010_1b36u, BitConverter.ToUInt32(presented.Bytes, 0));     // PF vendor, VF Device ID
            Assert.Equal(1, own[0x3d]);                                                 // QEMU's VF claims INTx pin A
            Assert.Equal(0, presented.Bytes[0x3d]);                                     // vfio-pci presents none
            Assert.Equal(0x0000_0004u, BitConverter.ToUInt32(presented.Bytes, 0x10));  // 64-bit memory, from the VF BAR
            Assert.Equal(0u, BitConverter.ToUInt32(presented.Bytes, 0x14));             // its upper half
            Assert.Contains("SR-IOV virtual function of 06:00.0", presented.Description);
            Assert.Equal(own.Skip(0x40), presented.Bytes.Skip(0x40));                   // capabilities are the VF's own
            Assert.Equal(Raw("06:00.0").Bytes, ConfigDumpReader.Load(Dump, "06:00.0").Bytes);
        }

        [Fact]
        public void A_virtual_function_dumped_alone_needs_its_physical_function_named()
        {
            string[] lines = File.ReadAllLines(Dump);
            int vf = Array.FindIndex(lines, l => l.StartsWith("06:00.1", StringComparison.Ordinal));
            int next = Array.FindIndex(lines, vf + 1, l => l.StartsWith("06:00.2", StringComparison.Ordinal));
            string alone = Path.Combine(scratch, "vf.txt");
            string pf = Path.Combine(scratch, "pf.txt");
            File.WriteAllLines(alone, lines.Skip(vf).Take(next - vf));
            File.WriteAllLines(pf, lines.Take(vf));

            DeviceDumpException error = Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(alone, null));
            Assert.Contains("06:00.1 reads vendor and device 0xffff: an SR-IOV virtual function", error.Message);
            Assert.Contains("--pf DUMP", error.Message);

            Assert.Equal(ConfigDumpReader.Load(Dump, "06:00.1").Bytes, ConfigDumpReader.Load(alone, null, pf).Bytes);
            Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(alone, null, alone));        // a VF is no PF
        }
    }
}
