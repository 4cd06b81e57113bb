using System;
using System.IO;
using Xunit;

namespace VfioPolicy.Cli.Tests.Authoring
{
    /// <summary>A reviewer's view of finishing a scaffold: <c>diff scaffold finished</c> shows what the author opened, and nothing else.</summary>
    public sealed class ScaffoldDiffTests
    {
        [Theory]
        [InlineData(AuthoringGoldenTests.E1000e, "policies/devices/qemu-e1000e.vfiopolicy", "2 changes: 1 widening, 0 narrowing, 1 neutral", "bits 0..1: virtualize rw init hw → passthrough rw")]
        [InlineData(AuthoringGoldenTests.Xhci, "policies/devices/qemu-xhci.vfiopolicy", "3 changes: 2 widening, 0 narrowing, 1 neutral", "bits 0..7: deny 0 (default gap) → passthrough ro")]
        [InlineData(AuthoringGoldenTests.Edu, "policies/devices/qemu-edu.vfiopolicy", "1 change: 0 widening, 0 narrowing, 1 neutral", "name: policy \"1234-11e8\" → policy \"qemu-edu\"")]
        public void Diff_from_scaffold_to_finished_policy_shows_only_the_decisions(string device, string finished, string summary, string change)
        {
            string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-scaffold-diff-" + Guid.NewGuid().ToString("N"));
            try
            {
                string scaffold = Path.Combine(folder, "scaffold.vfiopolicy");
                Assert.Equal(0, CliRunner.Run("init", "--device", device, "--output", scaffold).ExitCode);
                CliRun diff = CliRunner.Run("diff", scaffold, finished);
                Assert.True(diff.ExitCode == 1, diff.Transcript);
                Assert.Contains(summary, diff.Stdout);
                Assert.Contains(change, diff.Stdout);
                Assert.Equal(string.Empty, diff.Stderr);
            }
            finally
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }
    }
}
