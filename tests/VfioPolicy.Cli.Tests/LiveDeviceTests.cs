using System;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>
    /// <c>--device ADDRESS</c> reads the function's live config space from sysfs, here a tree of the test's own
    /// (VFIOPOLICY_SYSFS_PCI_DEVICES) holding QEMU's NVMe PF and a VF as the sriov corpus captured them.
    /// </summary>
    [Collection(nameof(LiveDeviceTests))]
    public sealed class LiveDeviceTests : IDisposable
    {
        private const string Dump = "tests/corpus/sriov/vm3_06-00.x_1b36-0010_qemu-nvme-sriov-pf-and-2-vfs.xxxx.txt";

        private readonly string sysfs = Path.Combine(Path.GetTempPath(), "vfiopolicy-sysfs-" + Guid.NewGuid().ToString("N"));

        public LiveDeviceTests()
        {
            var images = ConfigDumpReader.ParseLspci(File.ReadAllText(Path.Combine(RepositoryPaths.Root, Dump)), Dump);
            foreach (ConfigSpaceImage image in images)
            {
                string folder = Path.Combine(sysfs, "0000:" + image.Slot);
                Directory.CreateDirectory(folder);
                File.WriteAllBytes(Path.Combine(folder, "config"), image.Bytes);
            }

            Directory.CreateSymbolicLink(Path.Combine(sysfs, "0000:06:00.1", "physfn"), "../0000:06:00.0");
            Environment.SetEnvironmentVariable("VFIOPOLICY_SYSFS_PCI_DEVICES", sysfs);
        }

        public void Dispose()
        {
            Environment.SetEnvironmentVariable("VFIOPOLICY_SYSFS_PCI_DEVICES", null);
            Directory.Delete(sysfs, recursive: true);
        }

        [Fact]
        public void An_address_reads_the_functions_config_from_sysfs()
        {
            CliRun run = CliRunner.Run("caps", "--device", "06:00.0");
            Assert.Equal(0, run.ExitCode);
            Assert.StartsWith("device 0000:06:00.0", run.Stdout);
            Assert.Contains("Single Root I/O Virtualization", run.Stdout);
        }

        [Fact]
        public void A_virtual_function_comes_with_its_physical_function_through_physfn()
        {
            CliRun run = CliRunner.Run("init", "--device", "0000:06:00.1");
            Assert.Equal(0, run.ExitCode);
            Assert.Contains("match vendor 0x1b36 device 0x0010", run.Stdout);
            Assert.Contains("SR-IOV virtual function of", run.Stdout);
        }

        [Fact]
        public void An_address_nobody_has_is_a_clear_error()
            => CliRunner.Run("caps", "--device", "0000:7f:1f.7").AssertOneLineError("no PCI function 0000:7f:1f.7 (looked for ");
    }
}
