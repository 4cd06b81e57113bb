using System;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Compiler.Sources;
using Xunit;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>Path normalisation, the disk source, and the diagnostics catalogue page.</summary>
    public sealed class SourceTests
    {
        [Theory]
        [InlineData("a/b/../c.vfiopolicy", "a/c.vfiopolicy")]
        [InlineData("./a//b/./c.vfiopolicy", "a/b/c.vfiopolicy")]
        [InlineData("a\\b\\c.vfiopolicy", "a/b/c.vfiopolicy")]
        [InlineData("../../x.vfiopolicy", "../../x.vfiopolicy")]
        [InlineData("/p/../../x.vfiopolicy", "/x.vfiopolicy")]
        public void Paths_normalise_to_forward_slashes_without_dot_segments(string path, string expected)
            => Assert.Equal(expected, PolicyPaths.Normalize(path));

        [Theory]
        [InlineData("policies/devices/d.vfiopolicy", "../strict.vfiopolicy", "policies/strict.vfiopolicy")]
        [InlineData("d.vfiopolicy", "lib/a.vfiopolicy", "lib/a.vfiopolicy")]
        [InlineData("policies/d.vfiopolicy", "/etc/vfio/a.vfiopolicy", "/etc/vfio/a.vfiopolicy")]
        public void Includes_resolve_against_the_including_files_folder(string including, string include, string expected)
            => Assert.Equal(expected, PolicyPaths.Combine(including, include));

        [Fact]
        public void The_disk_source_reads_files_and_reports_missing_ones()
        {
            string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-compiler-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(Path.Combine(folder, "lib"));
            try
            {
                File.WriteAllText(Path.Combine(folder, "lib", "cmd.vfiopolicy"), TestPolicies.Lines("header {", "  register COMMAND passthrough ro", "}"));
                File.WriteAllText(Path.Combine(folder, "p.vfiopolicy"), TestPolicies.Policy("include \"lib/cmd.vfiopolicy\""));

                CompilationResult result = PolicyCompiler.Compile(Path.Combine(folder, "p.vfiopolicy"), new FileSystemPolicySource());

                Assert.Empty(result.Diagnostics);
                Assert.Equal(new[] { PolicyPaths.Normalize(Path.Combine(folder, "p.vfiopolicy")), PolicyPaths.Normalize(Path.Combine(folder, "lib", "cmd.vfiopolicy")) }, result.Files);
                Assert.False(new FileSystemPolicySource().TryRead(Path.Combine(folder, "none.vfiopolicy"), out string text));
                Assert.Equal(string.Empty, text);
                Assert.False(new FileSystemPolicySource().TryRead(folder, out _));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Fact]
        public void Every_compiler_diagnostic_has_an_entry_in_the_catalogue_page()
        {
            string page = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "diagnostics.md"));
            string[] missing = CompilerDiagnostics.All.Select(d => d.Id).Where(id => !page.Contains("<a id=\"" + id + "\"></a>\n### " + id + " ")).ToArray();
            Assert.Empty(missing);
            Assert.Equal(CompilerDiagnostics.All.Count, CompilerDiagnostics.All.Select(d => d.Id).Distinct().Count());
        }

        private static string RepositoryRoot([CallerFilePath] string thisFile = "")
            => Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", ".."));
    }
}
