using System;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>The tools take an SR-IOV virtual function as vfio-pci presents it, from a dump with its PF or with --pf.</summary>
    public sealed class VirtualFunctionCliTests : IDisposable
    {
        private const string Dump = "tests/corpus/sriov/vm3_06-00.x_1b36-0010_qemu-nvme-sriov-pf-and-2-vfs.xxxx.txt";

        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-vf-" + Guid.NewGuid().ToString("N"));

        public VirtualFunctionCliTests()
        {
            Directory.CreateDirectory(scratch);
            string[] lines = File.ReadAllLines(Path.Combine(RepositoryPaths.Root, Dump));
            int vf = Array.FindIndex(lines, l => l.StartsWith("06:00.1", StringComparison.Ordinal));
            int next = Array.FindIndex(lines, vf + 1, l => l.StartsWith("06:00.2", StringComparison.Ordinal));
            File.WriteAllLines(Path.Combine(scratch, "vf.txt"), lines.Skip(vf).Take(next - vf));
            File.WriteAllLines(Path.Combine(scratch, "pf.txt"), lines.Take(vf));
        }

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Fact]
        public void Map_and_init_see_the_identity_vfio_pci_presents()
        {
            CliRun map = CliRunner.Run("map", "--policy", "policies/devices/qemu-nvme.vfiopolicy", "--device", Dump, "--slot", "06:00.2");
            Assert.Equal(0, map.ExitCode);
            Assert.Contains("SR-IOV virtual function of 06:00.0, as vfio-pci presents it", map.Stdout);

            CliRun init = CliRunner.Run("init", "--device", Dump, "--slot", "06:00.1");
            Assert.Equal(0, init.ExitCode);
            Assert.Contains("match vendor 0x1b36 device 0x0010", init.Stdout);
        }

        [Fact]
        public void A_virtual_function_dumped_alone_is_refused_until_its_physical_function_is_named()
        {
            CliRunner.RunIn(scratch, "caps", "--device", "vf.txt").AssertOneLineError("06:00.1 reads vendor and device 0xffff: an SR-IOV virtual function");

            CliRun named = CliRunner.RunIn(scratch, "caps", "--device", "vf.txt", "--pf", "pf.txt");
            Assert.Equal(0, named.ExitCode);
            Assert.Contains("SR-IOV virtual function of 06:00.0", named.Stdout);

            CliRunner.RunIn(scratch, "caps", "--device", "vf.txt", "--pf", "missing.txt").AssertOneLineError("physical function dump not found: missing.txt");
        }

        [Fact]
        public void Check_binds_the_library_to_a_virtual_function()
        {
            CliRun run = CliRunner.Run("check", "policies", "--device", Dump, "--slot", "06:00.1");
            Assert.True(run.ExitCode == 0, run.Transcript);
        }
    }
}
