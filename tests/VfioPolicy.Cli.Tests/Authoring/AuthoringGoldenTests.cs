using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.Authoring
{
    /// <summary>
    /// explain, init and the map pictures, every format, pinned in Authoring/Snapshots (exit code, stdout and stderr).
    /// The init-* snapshots are the raw scaffolds the device policies in policies/devices/ were finished from.
    /// </summary>
    public sealed class AuthoringGoldenTests
    {
        internal const string Edu = "tests/corpus/qemu/vm2_08-03.0_1234-11e8.xxxx.txt";
        internal const string E1000e = "tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt";
        internal const string Nvme = "tests/corpus/qemu/vm1_02-00.0_1b36-0010_qemu-nvm-express-controller.xxxx.txt";
        internal const string Xhci = "tests/corpus/qemu/vm1_05-00.0_1b36-000d_qemu-xhci-host-controller.xxxx.txt";
        internal const string VirtioNet = "tests/corpus/qemu/vm1_06-00.0_1af4-1041_virtio-1-0-network-device.xxxx.txt";
        internal const string RootPort = "tests/corpus/qemu/vm1_00-02.0_1b36-000c_qemu-pcie-root-port.xxxx.txt";
        private const string Strict = "policies/strict.vfiopolicy";
        private const string SnapshotFolder = "tests/VfioPolicy.Cli.Tests/Authoring/Snapshots";

        /// <summary>Cases whose snapshot is the whole transcript.</summary>
        private static readonly (string Name, string[] Args)[] Transcripts =
        {
            ("explain-e1000e-lnkctl-override-text", new[] { "explain", "--policy", "policies/devices/qemu-e1000e.vfiopolicy", "--device", E1000e, "EXP+0x10" }),
            ("explain-e1000e-lnkctl-override-json", new[] { "explain", "--policy", "policies/devices/qemu-e1000e.vfiopolicy", "--device", E1000e, "EXP+0x10", "--format", "json" }),
            ("explain-edu-command-text", new[] { "explain", "--policy", Strict, "--device", Edu, "0x04" }),
            ("explain-edu-command-json", new[] { "explain", "--policy", Strict, "--device", Edu, "0x04", "--format", "json" }),
            ("explain-edu-msi-chain-byte-text", new[] { "explain", "--policy", Strict, "--device", Edu, "0x40:2" }),
            ("explain-xhci-device-specific-text", new[] { "explain", "--policy", "policies/devices/qemu-xhci.vfiopolicy", "--device", Xhci, "0x60:2" }),
            ("explain-no-device-msi-flags-text", new[] { "explain", "--policy", Strict, "MSI+0x02" }),
            ("explain-no-device-msi-flags-json", new[] { "explain", "--policy", Strict, "MSI+0x02", "--format", "json" }),
            ("explain-no-device-header-status-text", new[] { "explain", "--policy", Strict, "0x06" }),
            ("explain-no-device-past-header-error", new[] { "explain", "--policy", Strict, "0x50" }),
            ("explain-bad-target-error", new[] { "explain", "--policy", Strict, "COMMAND+4" }),
            ("explain-missing-capability-error", new[] { "explain", "--policy", Strict, "--device", Edu, "EXP+0x10" }),
            ("init-root-port-refused", new[] { "init", "--device", RootPort }),
            ("init-edu-linux-vfio-default", new[] { "init", "--device", Edu, "--base", "linux-vfio-default" }),
            ("map-edu-strict-html", new[] { "map", "--policy", Strict, "--device", Edu, "--format", "html" }),
            ("map-edu-strict-svg", new[] { "map", "--policy", Strict, "--device", Edu, "--format", "svg" }),
        };

        /// <summary>The scaffold of each corpus device, as init writes it over strict (stdout only: the file a diff would read).</summary>
        internal static readonly (string Name, string Device, string Finished)[] Scaffolds =
        {
            ("init-qemu-edu", Edu, "policies/devices/qemu-edu.vfiopolicy"),
            ("init-qemu-e1000e", E1000e, "policies/devices/qemu-e1000e.vfiopolicy"),
            ("init-qemu-nvme", Nvme, "policies/devices/qemu-nvme.vfiopolicy"),
            ("init-qemu-xhci", Xhci, "policies/devices/qemu-xhci.vfiopolicy"),
            ("init-qemu-virtio-net", VirtioNet, "policies/devices/qemu-virtio-net.vfiopolicy"),
        };

        public static IEnumerable<object[]> TranscriptNames => Transcripts.Select(c => new object[] { c.Name });

        public static IEnumerable<object[]> ScaffoldNames => Scaffolds.Select(c => new object[] { c.Name });

        [Theory]
        [MemberData(nameof(TranscriptNames))]
        public void Output_matches_the_approved_snapshot(string name)
        {
            string[] args = Transcripts.Single(c => c.Name == name).Args;
            Snapshot.Match(CliRunner.Run(args).Transcript, name, "Snapshots");
        }

        [Theory]
        [MemberData(nameof(ScaffoldNames))]
        public void Scaffold_matches_the_approved_snapshot(string name)
        {
            CliRun run = CliRunner.Run("init", "--device", Scaffolds.Single(s => s.Name == name).Device);
            Assert.Equal(string.Empty, run.Stderr);
            Assert.Equal(0, run.ExitCode);
            Snapshot.Match(run.Stdout, name, "Snapshots");
        }

        [Fact]
        public void Every_approved_snapshot_belongs_to_a_case()
        {
            Snapshot.AssertNoStale(RepositoryPaths.InRepository(SnapshotFolder), Transcripts.Select(c => c.Name).Concat(Scaffolds.Select(s => s.Name)));
        }

        [Fact]
        public void Explain_without_a_width_narrows_an_unaligned_target_to_what_starts_there()
        {
            CliRun run = CliRunner.Run("explain", "--policy", Strict, "--device", Edu, "0x05");
            Assert.Equal(0, run.ExitCode);
            Assert.StartsWith("0x005 u8 (header)", run.Stdout, StringComparison.Ordinal);
        }

        [Fact]
        public void Explain_errors_are_one_line()
        {
            CliRunner.Run("explain", "--policy", Strict, "0x50").AssertOneLineError("give --device DUMP, or name the capability as CAP+OFFSET");
            CliRunner.Run("explain", "--policy", Strict, "0x04:3").AssertOneLineError("width 3 is not 1, 2 or 4 bytes");
            CliRunner.Run("explain", "--policy", Strict, "NOPE+0x02").AssertOneLineError("unknown capability 'NOPE'");
            CliRunner.Run("explain", "--policy", Strict, "0x3e:4").AssertOneLineError("4 bytes at 0x3e are not naturally aligned");
            CliRunner.Run("explain", "--policy", Strict, "--device", Edu, "0x05:2").AssertOneLineError("2 bytes at 0x5 are not naturally aligned: a 2-byte access starts at a multiple of 2 (0x4:2, or 0x5:1)");
            CliRunner.Run("explain", "--policy", Strict, "MSI+0x03:2").AssertOneLineError("2 bytes at 0x3 are not naturally aligned");
            CliRunner.Run("explain", "--policy", Strict, "--device", Edu, "0x100").AssertOneLineError("past the device's 256-byte config space");
        }
    }
}
