using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>
    /// The CLI's output, verb by verb and format by format, pinned in Snapshots/NAME.verified.txt (exit code, stdout
    /// and stderr together). Re-baseline with VFIOPOLICY_ACCEPT=1 and review the diff.
    /// </summary>
    public sealed class GoldenOutputTests
    {
        private const string Edu = "tests/corpus/qemu/vm2_08-03.0_1234-11e8.xxxx.txt";
        private const string E1000e = "tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt";
        private const string RootPort = "tests/corpus/qemu/vm1_00-02.0_1b36-000c_qemu-pcie-root-port.xxxx.txt";
        private const string VirtioNet = "tests/corpus/qemu/vm1_06-00.0_1af4-1041_virtio-1-0-network-device.xxxx.txt";
        private const string BrokenEcaps = "tests/corpus/pciutils/broken-ecaps.txt";
        private const string Strict = "policies/strict.vfiopolicy";
        private const string LinuxDefault = "policies/linux-vfio-default.vfiopolicy";
        private const string TestFolder = "tests/VfioPolicy.Cli.Tests";

        private static readonly (string Name, string[] Args)[] Cases =
        {
            ("caps-edu-text", new[] { "caps", "--device", Edu }),
            ("caps-edu-json", new[] { "caps", "--device", Edu, "--format", "json" }),
            ("caps-e1000e-text", new[] { "caps", "--device", E1000e }),
            ("caps-e1000e-json", new[] { "caps", "--device", E1000e, "--format", "json" }),
            ("caps-root-port-text", new[] { "caps", "--device", RootPort }),
            ("caps-root-port-json", new[] { "caps", "--device", RootPort, "--format", "json" }),
            ("caps-broken-ecaps-text", new[] { "caps", "--device", BrokenEcaps }),
            ("map-edu-strict-text", new[] { "map", "--policy", Strict, "--device", Edu }),
            ("map-edu-strict-json", new[] { "map", "--policy", Strict, "--device", Edu, "--format", "json" }),
            ("map-edu-linux-text", new[] { "map", "--policy", LinuxDefault, "--device", Edu }),
            ("map-edu-linux-json", new[] { "map", "--policy", LinuxDefault, "--device", Edu, "--format", "json" }),
            ("map-e1000e-strict-text", new[] { "map", "--policy", Strict, "--device", E1000e }),
            ("map-e1000e-strict-json", new[] { "map", "--policy", Strict, "--device", E1000e, "--format", "json" }),
            ("map-e1000e-linux-text", new[] { "map", "--policy", LinuxDefault, "--device", E1000e }),
            ("map-e1000e-linux-json", new[] { "map", "--policy", LinuxDefault, "--device", E1000e, "--format", "json" }),
            ("map-virtio-net-device-policy-text", new[] { "map", "--policy", "policies/devices/qemu-virtio-net.vfiopolicy", "--device", VirtioNet }),
            ("simulate-edu-strict-script", new[] { "simulate", "--policy", Strict, "--device", Edu, "--script", TestFolder + "/Scripts/edu-session.txt" }),
            ("simulate-e1000e-linux-script", new[] { "simulate", "--policy", LinuxDefault, "--device", E1000e, "--script", TestFolder + "/Scripts/e1000e-session.txt" }),
            ("simulate-edu-strict-builtin", new[] { "simulate", "--policy", Strict, "--device", Edu }),
            ("check-bad-policy", new[] { "check", TestFolder + "/Policies/bad" }),
            ("check-good-policy", new[] { "check", TestFolder + "/Policies/good" }),
            ("fmt-check-unformatted", new[] { "fmt", "--check", TestFolder + "/Policies/unformatted.vfiopolicy" }),
            ("demo", new[] { "demo" }),
        };

        public static IEnumerable<object[]> CaseNames => Cases.Select(c => new object[] { c.Name });

        [Theory]
        [MemberData(nameof(CaseNames))]
        public void Output_matches_the_approved_snapshot(string name)
        {
            string[] args = Cases.Single(c => c.Name == name).Args;
            Snapshot.Match(CliRunner.Run(args).Transcript, name, "Snapshots");
        }

        [Fact]
        public void Every_approved_snapshot_belongs_to_a_case()
        {
            string folder = Path.Combine(RepositoryPaths.InRepository(TestFolder), "Snapshots");
            Snapshot.AssertNoStale(folder, Cases.Select(c => c.Name));
        }
    }
}
