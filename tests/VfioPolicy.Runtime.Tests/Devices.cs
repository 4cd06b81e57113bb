using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>Simulated QEMU devices built from the project's config dumps, and the compiled policies.</summary>
    internal static class Devices
    {
        public const string EduAddress = "0000:01:00.0";
        public const string E1000eAddress = "0000:02:00.0";

        public static ICompiledPolicy Policy(string name) => PolicyLibrary.All.Single(p => p.Name == name);

        public static byte[] EduImage() => ConfigDumpReader.Load(RepositoryPaths.InRepository("policies/dumps/qemu-edu.lspci-xxx.txt"), null).Bytes;

        public static byte[] E1000eImage() => ConfigDumpReader.Load(RepositoryPaths.InRepository("policies/dumps/qemu-e1000e.lspci-xxxx.txt"), null).Bytes;

        /// <summary>One function of a pciutils dump of real hardware in tests/corpus/pciutils.</summary>
        public static byte[] PciutilsImage(string file, string slot)
            => ConfigDumpReader.Load(System.IO.Path.Combine(RepositoryPaths.Corpus, "pciutils", file), slot).Bytes;

        /// <summary>edu: BAR0 1 MiB with the edu registers, MSI at 0x40 (one vector), INTx pin A.</summary>
        public static SimulatedPciDevice Edu(byte[]? image = null, bool mappable = true, string address = EduAddress)
        {
            var device = new SimulatedPciDevice(address, image ?? EduImage());
            device.Bars[0] = new SimulatedBar(0x100000, mappable, new SimulatedEduModel());
            return device;
        }

        /// <summary>e1000e: BAR0/1 128 KiB, BAR2 I/O 32 bytes, BAR3 16 KiB with the MSI-X table (0x0) and PBA (0x2000), ROM 256 KiB.</summary>
        public static SimulatedPciDevice E1000e()
        {
            var device = new SimulatedPciDevice(E1000eAddress, E1000eImage()) { IommuGroup = 6 };
            device.Bars[0] = new SimulatedBar(0x20000);
            device.Bars[1] = new SimulatedBar(0x20000);
            device.Bars[2] = new SimulatedBar(0x20, mappable: false);
            device.Bars[3] = new SimulatedBar(0x4000)
            {
                SparseAreas = new[] { new VfioSparseArea(0x1000, 0x1000), new VfioSparseArea(0x3000, 0x1000) },
            };
            device.Bars[6] = new SimulatedBar(0x40000, mappable: false);
            return device;
        }

        public static VfioDevice OpenEdu(SimulatedVfioKernel kernel, string policy = "strict") => VfioDevice.Open(EduAddress, Policy(policy), kernel);
    }
}
