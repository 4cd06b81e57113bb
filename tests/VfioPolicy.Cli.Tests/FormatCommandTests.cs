using System;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>fmt rewrites in place only what parses, and --check never writes.</summary>
    public sealed class FormatCommandTests : IDisposable
    {
        private const string Canonical =
            "policy \"cli-test-unformatted\"\n"
            + "match vendor 0x1234 device 0x11e8\n"
            + "default header passthrough ro\n"
            + "default capability deny 0\n"
            + "default gap deny 0\n"
            + "default unknown-capability hide\n"
            + "header {\n"
            + "  register COMMAND {\n"
            + "    field MEMORY passthrough rw\n"
            + "  }\n"
            + "}\n";

        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-fmt-" + Guid.NewGuid().ToString("N"));

        public FormatCommandTests()
        {
            Directory.CreateDirectory(Path.Combine(scratch, "nested"));
            File.Copy(RepositoryPaths.InRepository("tests/VfioPolicy.Cli.Tests/Policies/unformatted.vfiopolicy"), Path.Combine(scratch, "nested", "a.vfiopolicy"));
            File.WriteAllText(Path.Combine(scratch, "b.vfiopolicy"), Canonical.Replace("cli-test-unformatted", "already-canonical"));
        }

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Fact]
        public void Check_lists_the_file_that_would_change_and_writes_nothing()
        {
            string before = File.ReadAllText(Path.Combine(scratch, "nested", "a.vfiopolicy"));
            CliRun run = CliRunner.RunIn(scratch, "fmt", "--check", ".");
            Assert.Equal(1, run.ExitCode);
            Assert.Equal("would reformat nested/a.vfiopolicy\n", run.Stdout);
            Assert.Equal(before, File.ReadAllText(Path.Combine(scratch, "nested", "a.vfiopolicy")));
        }

        [Fact]
        public void Check_with_diff_prints_a_unified_diff_that_turns_the_file_into_the_canonical_one()
        {
            string path = Path.Combine(scratch, "nested", "a.vfiopolicy");
            string before = File.ReadAllText(path);
            CliRun run = CliRunner.RunIn(scratch, "fmt", "--check", "--diff", "nested/a.vfiopolicy");

            Assert.Equal(1, run.ExitCode);
            Assert.Equal(before, File.ReadAllText(path));
            Assert.StartsWith("--- a/nested/a.vfiopolicy\n+++ b/nested/a.vfiopolicy\n@@ ", run.Stdout);

            // Applying the hunks to the file's lines gives exactly the canonical text (the oracle: the formatter's
            // own output, which the plain fmt test pins against the approved canonical file).
            string[] lines = before.TrimEnd('\n').Split('\n');
            var result = new System.Collections.Generic.List<string>();
            int next = 0;
            foreach (string line in run.Stdout.Split('\n').Skip(2).TakeWhile(l => !l.StartsWith("would reformat", StringComparison.Ordinal)))
            {
                if (line.StartsWith("@@ -", StringComparison.Ordinal))
                {
                    int start = int.Parse(line.Substring(4, line.IndexOfAny(new[] { ',', ' ' }, 4) - 4), System.Globalization.CultureInfo.InvariantCulture) - 1;
                    result.AddRange(lines.Skip(next).Take(start - next));
                    next = start;
                }
                else if (line.StartsWith("-", StringComparison.Ordinal))
                {
                    Assert.Equal(lines[next], line.Substring(1));
                    next++;
                }
                else if (line.StartsWith("+", StringComparison.Ordinal))
                {
                    result.Add(line.Substring(1));
                }
                else if (line.StartsWith(" ", StringComparison.Ordinal))
                {
                    Assert.Equal(lines[next], line.Substring(1));
                    result.Add(lines[next++]);
                }
            }

            result.AddRange(lines.Skip(next));
            Assert.Equal(Canonical, string.Join("\n", result) + "\n");
        }

        [Fact]
        public void Fmt_rewrites_into_the_canonical_layout_and_then_check_is_clean()
        {
            CliRun run = CliRunner.RunIn(scratch, "fmt", ".");
            Assert.Equal(0, run.ExitCode);
            Assert.Equal("formatted nested/a.vfiopolicy\n", run.Stdout);
            Assert.Equal(Canonical, File.ReadAllText(Path.Combine(scratch, "nested", "a.vfiopolicy")));
            Assert.Empty(Directory.GetFiles(scratch, "*.tmp", SearchOption.AllDirectories));

            CliRun again = CliRunner.RunIn(scratch, "fmt", "--check", ".");
            Assert.Equal(0, again.ExitCode);
            Assert.Equal(string.Empty, again.Stdout);
        }

        [Fact]
        public void A_file_with_syntax_errors_is_reported_and_never_rewritten()
        {
            string broken = "policy \"x\"\nheader {\n   register COMMAND passthrough sideways\n}\n";
            File.WriteAllText(Path.Combine(scratch, "broken.vfiopolicy"), broken);
            CliRun run = CliRunner.RunIn(scratch, "fmt", "broken.vfiopolicy", "nested/a.vfiopolicy");
            Assert.Equal(1, run.ExitCode);
            Assert.StartsWith("broken.vfiopolicy(3,", run.Stdout);
            Assert.Contains(": error VP", run.Stdout);
            Assert.Contains("formatted nested/a.vfiopolicy\n", run.Stdout);
            Assert.Equal(broken, File.ReadAllText(Path.Combine(scratch, "broken.vfiopolicy")));
        }

        [Fact]
        public void A_folder_without_policy_files_is_bad_input()
        {
            Directory.CreateDirectory(Path.Combine(scratch, "empty"));
            CliRunner.RunIn(scratch, "fmt", "empty").AssertOneLineError("no .vfiopolicy files in empty");
        }
    }
}
