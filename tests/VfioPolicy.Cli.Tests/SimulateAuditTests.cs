using System;
using System.IO;
using System.Linq;
using System.Text;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>
    /// simulate audits through the runtime's default, bounded sink (issue 14, item 2): a rule records its burst (16),
    /// every further denied write is dropped by the rule's rate limit, and the transcript shows each drop and the
    /// totals. Time stands still in a simulation, so the split does not depend on the machine's speed.
    /// </summary>
    public sealed class SimulateAuditTests : IDisposable
    {
        private const string Edu = "tests/corpus/qemu/vm2_08-03.0_1234-11e8.xxxx.txt";
        private const string Strict = "policies/strict.vfiopolicy";

        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-audit-" + Guid.NewGuid().ToString("N"));

        public SimulateAuditTests() => Directory.CreateDirectory(scratch);

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Fact]
        public void A_storm_of_denied_writes_records_the_rules_burst_and_counts_the_drops()
        {
            var script = new StringBuilder();
            for (int i = 0; i < 20; i++)
            {
                script.Append("w 0x0c 4 0xffffffff\n");
            }

            File.WriteAllText(Path.Combine(scratch, "storm.txt"), script.ToString());
            CliRun run = CliRunner.RunIn(
                scratch, "simulate", "--policy", Path.Combine(RepositoryPaths.Root, Strict), "--device", Path.Combine(RepositoryPaths.Root, Edu), "--script", "storm.txt");

            Assert.Equal(0, run.ExitCode);
            string[] lines = run.Stdout.Split('\n');
            Assert.Equal(16, lines.Count(l => l.Contains("audit: denied write 4@0x00c = 0xffffffff", StringComparison.Ordinal)));
            Assert.Equal(4, lines.Count(l => l.Contains("audit: denied write dropped by the audit sink (1 by its rule's rate limit, 0 by its capacity)", StringComparison.Ordinal)));
            Assert.Contains("20 access(es): 0 hardware access(es), 0 behavior call(s), 16 audit event(s), 4 dropped by the audit sink (4 by rate, 0 by capacity)", run.Stdout);
        }
    }
}
