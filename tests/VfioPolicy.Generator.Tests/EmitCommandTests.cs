using System;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    /// <summary><c>vfio-policy emit</c> prints exactly what the generator adds to the build.</summary>
    public sealed class EmitCommandTests
    {
        private static (int ExitCode, string Output, string Error) Emit(params string[] arguments)
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int exitCode = VfioPolicy.Cli.Cli.Run(new[] { "emit" }.Concat(arguments).ToArray(), output, error, RepositoryPaths.Root);
            return (exitCode, output.ToString(), error.ToString());
        }

        [Theory]
        [InlineData("strict.vfiopolicy")]
        [InlineData("linux-vfio-default.vfiopolicy")]
        public void Emit_prints_the_generators_source_for_the_file(string file)
        {
            // The generator sees the library relative to the policies project's folder, as the real build does.
            var library = GeneratorHarness.Library()
                .Select(f => (Path.GetRelativePath(RepositoryPaths.Policies, f.Path).Replace(Path.DirectorySeparatorChar, '/'), f.Text))
                .ToArray();
            GeneratorRun run = GeneratorHarness.Run(library);
            string expected = run.Sources.Single(s => s.HintName.StartsWith(file.Replace('.', '_').Replace('-', '_') + ".", StringComparison.Ordinal)).Text;

            (int exitCode, string output, string error) = Emit("--policy", "policies/" + file);

            Assert.Equal(0, exitCode);
            Assert.Equal(string.Empty, error);
            Assert.Equal(expected, output);
        }

        [Fact]
        public void Emit_of_a_fragment_fails_with_exit_2()
        {
            (int exitCode, string output, string error) = Emit("--policy", "policies/standard/capabilities/msi.vfiopolicy");

            Assert.Equal(2, exitCode);
            Assert.Equal(string.Empty, output);
            Assert.Contains("is a fragment", error, StringComparison.Ordinal);
        }

        [Fact]
        public void Emit_of_a_policy_with_errors_prints_its_diagnostics_and_exits_2()
        {
            string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-emit-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            try
            {
                File.WriteAllText(Path.Combine(folder, "bad.vfiopolicy"), "policy \"bad\"\nmatch any\nbogus\n");

                (int exitCode, string output, string error) = Emit("--policy", Path.Combine(folder, "bad.vfiopolicy"));

                Assert.Equal(2, exitCode);
                Assert.Equal(string.Empty, output);
                Assert.Contains("bad.vfiopolicy(3,1): error VP0001:", error, StringComparison.Ordinal);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
