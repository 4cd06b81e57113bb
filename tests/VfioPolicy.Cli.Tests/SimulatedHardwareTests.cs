using System;
using System.IO;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>
    /// simulate and explain play a device that behaves as hardware does: a status bit the specification makes
    /// write-1-to-clear is cleared by a written 1 even where the policy does not mark it hw-rw1c.
    /// </summary>
    public sealed class SimulatedHardwareTests : IDisposable
    {
        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-w1c-" + Guid.NewGuid().ToString("N"));

        public SimulatedHardwareTests()
        {
            Directory.CreateDirectory(scratch);

            // The edu with Detected Parity Error (Status bit 15) set, as a device reports an error.
            string edu = File.ReadAllText(Path.Combine(RepositoryPaths.Corpus, "qemu", "vm2_08-03.0_1234-11e8.xxxx.txt"));
            File.WriteAllText(Path.Combine(scratch, "edu-parity.txt"), edu.Replace("00: 34 12 e8 11 03 01 10 00", "00: 34 12 e8 11 03 01 10 80", StringComparison.Ordinal));

            // Status passed through whole, with no hw-rw1c: the policy does not say the bits are W1C.
            File.WriteAllText(Path.Combine(scratch, "status-passthrough.vfiopolicy"), string.Join("\n",
                "policy \"status-passthrough\"",
                "match any",
                "default header passthrough ro",
                "default capability passthrough ro",
                "default gap passthrough ro",
                "default unknown-capability passthrough ro",
                "header {",
                "  register STATUS passthrough rw",
                "}",
                string.Empty));
            File.WriteAllText(Path.Combine(scratch, "script.txt"), "w 0x06 2 0x0100\nr 0x06 2\nw 0x06 2 0x8000\nr 0x06 2\n");
        }

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Fact]
        public void A_passed_through_status_bit_keeps_its_value_on_a_written_0_and_clears_on_a_written_1()
        {
            CliRun run = CliRunner.RunIn(scratch, "simulate", "--policy", "status-passthrough.vfiopolicy", "--device", "edu-parity.txt", "--script", "script.txt");

            Assert.Equal(0, run.ExitCode);
            string[] lines = run.Stdout.Split('\n');
            int first = Array.FindIndex(lines, l => l.Contains("2: r 0x06 2", StringComparison.Ordinal));
            int second = Array.FindIndex(lines, l => l.Contains("4: r 0x06 2", StringComparison.Ordinal));
            Assert.Contains("-> 0x8", lines[first]);                   // writing 0 to bit 15 left it set
            Assert.Matches(@"-> 0x0[0-9a-f]{3}\b", lines[second]);     // writing 1 cleared it
        }

        [Fact]
        public void Explain_writes_all_ones_and_shows_the_hardware_status_bit_cleared()
        {
            CliRun run = CliRunner.RunIn(scratch, "explain", "--policy", "status-passthrough.vfiopolicy", "--device", "edu-parity.txt", "0x06");

            Assert.Equal(0, run.ExitCode);
            Assert.Contains("the hardware holds 0x8010", run.Stdout);
            Assert.Matches("afterwards the consumer reads 0x[0-7][0-9a-f]{3}, the hardware holds 0x[0-7][0-9a-f]{3}", run.Stdout); // bit 15 cleared
        }
    }
}
