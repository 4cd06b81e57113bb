using System;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>Bad input of every kind ends in exit 2 and one "error:" line on stderr, never a stack trace.</summary>
    public sealed class ErrorPathTests : IDisposable
    {
        private const string Edu = "tests/corpus/qemu/vm2_08-03.0_1234-11e8.xxxx.txt";
        private const string E1000e = "tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt";
        private const string Strict = "policies/strict.vfiopolicy";

        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-errors-" + Guid.NewGuid().ToString("N"));

        public ErrorPathTests() => Directory.CreateDirectory(scratch);

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Fact]
        public void A_mistyped_option_is_named_with_the_option_it_probably_is()
        {
            CliRunner.Run("check", "--devise", Edu, "policies").AssertOneLineError("unknown option '--devise'; did you mean '--device'?");
            CliRunner.Run("map", "--polcy", Strict, "--device", Edu).AssertOneLineError("did you mean '--policy'?");
            CliRun unrelated = CliRunner.Run("check", "--frobnicate", "policies");
            Assert.DoesNotContain("did you mean", unrelated.Stderr);
        }

        [Fact]
        public void Missing_device_dump_is_named()
            => CliRunner.Run("caps", "--device", "no/such/dump.txt").AssertOneLineError("device dump not found: no/such/dump.txt");

        [Fact]
        public void Missing_policy_file_is_named()
            => CliRunner.Run("map", "--policy", "policies/none.vfiopolicy", "--device", Edu).AssertOneLineError("policy file not found: policies/none.vfiopolicy");

        [Fact]
        public void Missing_check_path_is_named()
            => CliRunner.Run("check", "policies/none.vfiopolicy").AssertOneLineError("path not found: policies/none.vfiopolicy");

        [Fact]
        public void Missing_script_is_named()
            => CliRunner.Run("simulate", "--policy", Strict, "--device", Edu, "--script", "nothing.txt").AssertOneLineError("script not found: nothing.txt");

        [Fact]
        public void Malformed_dump_reports_file_and_line()
        {
            File.WriteAllText(Path.Combine(scratch, "bad.txt"), "00: 34 12 e8 zz\n");
            CliRunner.RunIn(scratch, "caps", "--device", "bad.txt").AssertOneLineError("bad.txt:1: ");
        }

        [Fact]
        public void Slot_selects_one_device_of_a_dump_with_several()
        {
            string corpus = RepositoryPaths.Corpus;
            string both = File.ReadAllText(Path.Combine(corpus, "qemu", "vm2_08-03.0_1234-11e8.xxxx.txt")) + "\n"
                + File.ReadAllText(Path.Combine(corpus, "qemu", "vm1_00-02.0_1b36-000c_qemu-pcie-root-port.xxxx.txt"));
            File.WriteAllText(Path.Combine(scratch, "two.txt"), both);
            CliRun run = CliRunner.RunIn(scratch, "caps", "--device", "two.txt", "--slot", "00:02.0", "--format", "json");
            Assert.Equal(0, run.ExitCode);
            Assert.Contains("\"name\":\"Access Control Services\"", run.Stdout);
            Assert.DoesNotContain("\"offset\":64,\"id\":5,", run.Stdout);
        }

        [Fact]
        public void Unknown_slot_is_reported()
            => CliRunner.Run("caps", "--device", Edu, "--slot", "00:1f.7").AssertOneLineError("00:1f.7");

        [Theory]
        [InlineData("x 0x00 4", "script.txt:2: unknown command 'x'")]
        [InlineData("r 0x00", "script.txt:2: expected 'r OFFSET LEN', got 2 word(s)")]
        [InlineData("r 0x00 8", "script.txt:2: length must be 1 to 4, got 8")]
        [InlineData("w 0x04 2 0x10000", "script.txt:2: value 0x10000 does not fit in 2 byte(s)")]
        [InlineData("w 0x04 2 zero", "script.txt:2: bad value 'zero'")]
        [InlineData("r 0xg0 4", "script.txt:2: bad offset '0xg0'")]
        public void Bad_script_line_reports_script_and_line(string line, string expected)
        {
            string script = Path.Combine(scratch, "script.txt");
            File.WriteAllText(script, "# first line is a comment\n" + line + "\nr 0 4\n");
            CliRunner.RunIn(scratch, "simulate", "--policy", Path.Combine(RepositoryPaths.Root, Strict), "--device", Path.Combine(RepositoryPaths.Root, Edu), "--script", "script.txt")
                .AssertOneLineError(expected);
        }

        [Fact]
        public void Unknown_option_is_a_usage_error()
            => CliRunner.Run("caps", "--device", Edu, "--colour").AssertOneLineError("--colour");

        [Fact]
        public void Unknown_verb_is_a_usage_error()
            => CliRunner.Run("frobnicate").AssertOneLineError("frobnicate");

        [Fact]
        public void Missing_required_option_is_a_usage_error()
            => CliRunner.Run("map", "--device", Edu).AssertOneLineError("--policy");

        [Theory]
        [InlineData("check", "--bogus", "policies/strict.vfiopolicy")]
        [InlineData("fmt", "--chek", "policies/")]
        [InlineData("diff", "-x", "policies/strict.vfiopolicy", "policies/strict.vfiopolicy")]
        public void An_unknown_option_is_a_usage_error_not_a_path(params string[] args)
        {
            CliRun run = CliRunner.Run(args);
            run.AssertOneLineError("unknown option '" + args.First(a => a.StartsWith('-')) + "'");
            Assert.Equal(2, run.ExitCode);
        }

        [Fact]
        public void Bad_format_value_is_a_usage_error()
            => CliRunner.Run("caps", "--device", Edu, "--format", "yaml").AssertOneLineError("yaml");

        [Theory]
        [InlineData("--help")]
        [InlineData("map", "--help")]
        public void Help_goes_to_stdout_with_exit_0(params string[] args)
        {
            CliRun run = CliRunner.Run(args);
            Assert.Equal(0, run.ExitCode);
            Assert.Contains("Usage:", run.Stdout);
            Assert.Equal(string.Empty, run.Stderr);
        }

        [Fact]
        public void No_verb_points_to_demo_and_help()
            => CliRunner.Run().AssertOneLineError("no command given");

        [Fact]
        public void Policy_with_errors_prints_its_diagnostics_then_fails_with_exit_2()
        {
            CliRun run = CliRunner.Run("map", "--policy", "tests/VfioPolicy.Cli.Tests/Policies/bad/unknown-names.vfiopolicy", "--device", Edu);
            Assert.Equal(2, run.ExitCode);
            Assert.Equal(string.Empty, run.Stdout);
            Assert.Contains("tests/VfioPolicy.Cli.Tests/Policies/bad/unknown-names.vfiopolicy(9,", run.Stderr);
            int errors = CountOccurrences(run.Stderr, ": error VP");
            Assert.True(errors >= 3, run.Stderr);
            Assert.EndsWith("error: policy tests/VfioPolicy.Cli.Tests/Policies/bad/unknown-names.vfiopolicy has " + errors + " error(s)\n", run.Stderr);
            Assert.DoesNotContain("   at ", run.Stderr);
        }

        [Fact]
        public void Policy_that_does_not_match_the_device_lists_its_match_lines()
        {
            CliRun run = CliRunner.Run("map", "--policy", "tests/VfioPolicy.Cli.Tests/Policies/good/edu-minimal.vfiopolicy", "--device", E1000e);
            Assert.Equal(2, run.ExitCode);
            Assert.Contains("does not match device " + E1000e + " (vendor 0x8086 device 0x10d3", run.Stderr);
            Assert.Contains("tests/VfioPolicy.Cli.Tests/Policies/good/edu-minimal.vfiopolicy:3: match vendor 0x1234 device 0x11e8", run.Stderr);
            Assert.Contains("--force", run.Stderr);
        }

        [Fact]
        public void Force_applies_a_policy_that_does_not_match()
        {
            CliRun run = CliRunner.Run("map", "--policy", "tests/VfioPolicy.Cli.Tests/Policies/good/edu-minimal.vfiopolicy", "--device", E1000e, "--force", "--format", "json");
            Assert.Equal(0, run.ExitCode);
            Assert.StartsWith("{\"schema\":\"vfiopolicy.map/1\",\"device\":{\"vendor\":\"0x8086\",\"device\":\"0x10d3\"", run.Stdout);
            Assert.Contains("\"size\":4096,\"bytes\":[", run.Stdout);
        }

        private static int CountOccurrences(string text, string value)
        {
            int count = 0;
            for (int at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + 1, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }
    }
}
