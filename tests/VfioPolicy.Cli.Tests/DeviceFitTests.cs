using System;
using System.IO;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>
    /// A policy that selects a device but does not fit its layout (VP0701: a device-specific register lying over one
    /// of the device's capabilities) is refused where it is bound: map and simulate exit 2 naming the policy line,
    /// and check --device reports it as an error, so CI catches it before a runtime would refuse to open the device.
    /// </summary>
    public sealed class DeviceFitTests : IDisposable
    {
        private const string E1000e = "tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt";
        private const string Expected = "error VP0701: device-specific register MY_CONTROL (0xa0, 2 bytes) lies over capability MSI-X at 0xa0-0xab on this device";

        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-fit-" + Guid.NewGuid().ToString("N"));

        public DeviceFitTests()
        {
            Directory.CreateDirectory(scratch);
            File.Copy(Path.Combine(RepositoryPaths.Policies, "strict.vfiopolicy"), Path.Combine(scratch, "strict.vfiopolicy"));
            string standard = Path.Combine(RepositoryPaths.Policies, "standard");
            foreach (string fragment in Directory.GetFiles(standard, "*.vfiopolicy", SearchOption.AllDirectories))
            {
                string copy = Path.Combine(scratch, "standard", Path.GetRelativePath(standard, fragment));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(fragment, copy);
            }

            // Written for a device that keeps a control register at 0xa0; the 82574L has its MSI-X capability there.
            File.WriteAllText(Path.Combine(scratch, "other-layout.vfiopolicy"), string.Join("\n",
                "policy \"other-layout\"",
                "match vendor 0x8086 device 0x10d3",
                "extends \"strict.vfiopolicy\"",
                "device-specific {",
                "  register 0xa0 u16 MY_CONTROL passthrough rw",
                "}",
                string.Empty));
            File.Copy(Path.Combine(RepositoryPaths.Root, E1000e), Path.Combine(scratch, "e1000e.txt"));
        }

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Theory]
        [InlineData("map")]
        [InlineData("simulate")]
        [InlineData("explain")]
        public void A_tool_that_binds_the_policy_refuses_it_with_the_located_error(string verb)
        {
            string[] args = verb == "explain"
                ? new[] { verb, "--policy", "other-layout.vfiopolicy", "--device", "e1000e.txt", "0xa0" }
                : new[] { verb, "--policy", "other-layout.vfiopolicy", "--device", "e1000e.txt" };
            CliRun run = CliRunner.RunIn(scratch, args);

            Assert.Equal(2, run.ExitCode);
            Assert.Equal(string.Empty, run.Stdout);
            Assert.Contains("other-layout.vfiopolicy(5,3): " + Expected, run.Stderr);
            Assert.Contains("error: policy \"other-layout\" does not fit device e1000e.txt: 1 binding error(s)", run.Stderr);
            Assert.DoesNotContain("   at ", run.Stderr);
        }

        [Fact]
        public void Check_with_a_device_reports_the_binding_error_and_fails()
        {
            CliRun run = CliRunner.RunIn(scratch, "check", "other-layout.vfiopolicy", "--device", "e1000e.txt");

            Assert.Equal(1, run.ExitCode);
            Assert.Contains("other-layout.vfiopolicy(5,3): " + Expected, run.Stdout);
            Assert.Contains("1 error(s)", run.Stderr);
        }

        [Fact]
        public void Check_without_a_device_cannot_see_it_and_a_policy_that_does_not_select_the_device_is_not_bound()
        {
            Assert.Equal(0, CliRunner.RunIn(scratch, "check", "other-layout.vfiopolicy").ExitCode);

            File.WriteAllText(Path.Combine(scratch, "other-layout.vfiopolicy"), File.ReadAllText(Path.Combine(scratch, "other-layout.vfiopolicy")).Replace("device 0x10d3", "device 0x10d4"));
            CliRun run = CliRunner.RunIn(scratch, "check", "other-layout.vfiopolicy", "--device", "e1000e.txt");
            Assert.Equal(0, run.ExitCode);
            Assert.Contains("does not select e1000e.txt; not bound", run.Stderr);
        }

        [Fact]
        public void Every_library_policy_fits_every_corpus_device_it_selects()
        {
            foreach (string dump in Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt"))
            {
                CliRun run = CliRunner.Run("check", "policies", "--device", Path.GetRelativePath(RepositoryPaths.Root, dump));
                Assert.True(run.ExitCode == 0, dump + "\n" + run.Transcript);
            }
        }
    }
}
