using System;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.Authoring
{
    /// <summary>What init promises (a draft that checks clean and is already canonical) and what the finished device policies keep.</summary>
    public sealed class ScaffoldAndDevicePolicyTests
    {
        public static TheoryData<string> ScaffoldNames()
        {
            var names = new TheoryData<string>();
            foreach (var scaffold in AuthoringGoldenTests.Scaffolds)
            {
                names.Add(scaffold.Name);
            }

            return names;
        }

        [Theory]
        [MemberData(nameof(ScaffoldNames))]
        public void Scaffold_checks_clean_as_it_stands_and_is_canonical(string name)
        {
            var scaffold = AuthoringGoldenTests.Scaffolds.Single(s => s.Name == name);
            string text = CliRunner.Run("init", "--device", scaffold.Device).Stdout;

            // Compiled where init would put it by default: policies/devices/, beside the finished policy.
            CompilationResult result = PolicyCompiler.CompileText(RepositoryPaths.InRepository("policies/devices/scaffold-under-test.vfiopolicy"), text, new FileSystemPolicySource());
            Assert.Empty(result.Diagnostics);
            Assert.NotNull(result.Model);

            ParseResult parsed = PolicyParser.Parse(new SourceFile("scaffold.vfiopolicy", text));
            Assert.Equal(text, PolicyFormatter.Format(parsed.File!));

            // The scaffold matches the device it came from and no other corpus device.
            byte[] device = ConfigDumpReader.Load(RepositoryPaths.InRepository(scaffold.Device), null).Bytes;
            Assert.True(DeviceMatching.Matches(result.Model!, device));
            foreach (var other in AuthoringGoldenTests.Scaffolds.Where(s => s.Name != name))
            {
                Assert.False(DeviceMatching.Matches(result.Model!, ConfigDumpReader.Load(RepositoryPaths.InRepository(other.Device), null).Bytes));
            }
        }

        [Theory]
        [MemberData(nameof(ScaffoldNames))]
        public void Finished_device_policy_checks_clean_is_canonical_and_matches_its_device(string name)
        {
            var scaffold = AuthoringGoldenTests.Scaffolds.Single(s => s.Name == name);
            string path = RepositoryPaths.InRepository(scaffold.Finished);
            CompilationResult result = PolicyCompiler.Compile(path, new FileSystemPolicySource());
            Assert.Empty(result.Diagnostics);
            string text = File.ReadAllText(path);
            Assert.Equal(text, PolicyFormatter.Format(PolicyParser.Parse(new SourceFile(path, text)).File!));
            Assert.True(DeviceMatching.Matches(result.Model!, ConfigDumpReader.Load(RepositoryPaths.InRepository(scaffold.Device), null).Bytes));
        }

        [Fact]
        public void Init_writes_the_file_with_an_extends_path_relative_to_it_and_will_not_overwrite()
        {
            string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-init-" + Guid.NewGuid().ToString("N"));
            try
            {
                string output = Path.Combine(folder, "nested", "edu.vfiopolicy");
                CliRun first = CliRunner.Run("init", "--device", AuthoringGoldenTests.Edu, "--output", output);
                Assert.Equal(0, first.ExitCode);
                Assert.Contains("wrote ", first.Stderr);
                string text = File.ReadAllText(output);
                string expectedExtends = Path.GetRelativePath(Path.GetDirectoryName(output)!, RepositoryPaths.InRepository("policies/strict.vfiopolicy")).Replace('\\', '/');
                Assert.Contains("extends \"" + expectedExtends + "\"\n", text);

                // It compiles where it was written, through that relative path.
                CompilationResult result = PolicyCompiler.Compile(output, new FileSystemPolicySource());
                Assert.Empty(result.Diagnostics);

                CliRunner.Run("init", "--device", AuthoringGoldenTests.Edu, "--output", output).AssertOneLineError("exists; use --force to overwrite it");
                Assert.Equal(0, CliRunner.Run("init", "--device", AuthoringGoldenTests.Edu, "--output", output, "--force").ExitCode);
            }
            finally
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        [Fact]
        public void Explain_reports_the_rule_an_override_replaced()
        {
            CliRun run = CliRunner.Run("explain", "--policy", "policies/devices/qemu-e1000e.vfiopolicy", "--device", AuthoringGoldenTests.E1000e, "EXP+0x10:1");
            Assert.Equal(0, run.ExitCode);
            string[] lines = run.Stdout.Split('\n');
            int decided = Array.FindIndex(lines, l => l.Contains("decided by policies/devices/qemu-e1000e.vfiopolicy:"));
            Assert.True(decided > 0, run.Stdout);
            Assert.StartsWith("  overrides  policies/standard/capabilities/exp.vfiopolicy:", lines[decided + 1]);
            Assert.Contains("field ASPMC virtualize rw init hw", lines[decided + 1]);
        }

        [Fact]
        public void Map_pictures_encode_what_comes_from_files()
        {
            // A policy in a folder whose name is markup: the path lands in titles and headings and must stay text.
            string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-<b>&\"x'-" + Guid.NewGuid().ToString("N"));
            try
            {
                Directory.CreateDirectory(folder);
                string policy = Path.Combine(folder, "p.vfiopolicy");
                File.WriteAllText(policy, "policy \"p\"\nmatch any\n\nextends \"" + RepositoryPaths.InRepository("policies/strict.vfiopolicy").Replace('\\', '/') + "\"\n");
                foreach (string format in new[] { "html", "svg" })
                {
                    CliRun run = CliRunner.Run("map", "--policy", policy, "--device", AuthoringGoldenTests.Edu, "--format", format);
                    Assert.Equal(0, run.ExitCode);
                    Assert.DoesNotContain("<b>", run.Stdout);
                    Assert.Contains("&lt;b&gt;&amp;&quot;x&#39;", run.Stdout);
                    // The html picture folds uniform rows: its cells and the bytes its folds stand for are the 256 together.
                    int folded = System.Text.RegularExpressions.Regex.Matches(run.Stdout, "data-first=\"0x([0-9a-f]+)\" data-last=\"0x([0-9a-f]+)\"")
                        .Sum(m => Convert.ToInt32(m.Groups[2].Value, 16) - Convert.ToInt32(m.Groups[1].Value, 16) + 1);
                    Assert.Equal(256, run.Stdout.Split(format == "html" ? "<div class=\"c " : "<g><title>").Length - 1 + folded);
                }
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
