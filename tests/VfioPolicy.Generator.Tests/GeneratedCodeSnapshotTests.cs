using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    /// <summary>
    /// The generated code of representative policies, compared with approved files in Baselines/&lt;case&gt;/ (one
    /// <c>&lt;hint name&gt;.verified.txt</c> per generated file; the set of files is checked too). A change to the
    /// emitter shows here as a readable diff for review; <c>VFIOPOLICY_ACCEPT=1</c> re-approves and deletes stale files.
    /// </summary>
    public sealed class GeneratedCodeSnapshotTests
    {
        private const string HostilePolicy =
            "# A policy whose every piece of text tries to escape into the generated code.\n" +
            // The name is longer than a line of generated code (the serializer once failed on long strings) and
            // tries string, verbatim and interpolated-string breakouts, a directive, keywords and line separators.
            "policy \"*/ \\\"q\\\" #line 9 \\\\u0022; class X {} // \u2028 namespace \u00e9\u540d"
            + " \\\"); global::System.Environment.Exit(1); /* @\\\"verbatim\\\" $\\\"{interpolated}\\\" \u0085 #error x"
            + " using static System.Console; public partial class Injected { } \\\\ end of a long hostile name\"\n" +
            "match any\n" +
            "default header deny 0\n" +
            "default capability deny 0\n" +
            "default gap deny 0\n" +
            "default unknown-capability hide body deny 0\n" +
            "header {\n" +
            "  register VENDOR_ID passthrough ro  # */ #line 1 \"x\" </summary>\n" +
            "  register COMMAND behavior command virtualize rw init 0 {\n" +
            "    field IO virtualize rw init 0  # \\u0022 */ class X {} \u0085 #pragma warning disable\n" +
            "  }\n" +
            "}\n";

        private static readonly Lazy<IReadOnlyList<(string HintName, string Text)>> LibraryOutput = new Lazy<IReadOnlyList<(string HintName, string Text)>>(
            () => Generate(RepositoryPaths.Policies, GeneratorHarness.Library()));

        public static IEnumerable<object[]> LibraryCases() => new[]
        {
            new object[] { "strict", "strict.vfiopolicy" },
            new object[] { "linux-vfio-default", "linux-vfio-default.vfiopolicy" },
            new object[] { "qemu-virtio-net", "devices/qemu-virtio-net.vfiopolicy" },
        };

        [Theory]
        [MemberData(nameof(LibraryCases))]
        public void Generated_code_of_a_library_policy_matches_its_approved_baseline(string caseName, string policyFile)
        {
            string hintPrefix = Path.GetFileName(policyFile).Replace('.', '_').Replace('-', '_') + ".";
            var sources = LibraryOutput.Value.Where(s => s.HintName.StartsWith(hintPrefix, StringComparison.Ordinal)).ToList();
            Assert.True(sources.Count == 1, "Expected one generated file for " + policyFile + " (hint " + hintPrefix + "*), got: " + string.Join(", ", LibraryOutput.Value.Select(s => s.HintName)));
            MatchCase(caseName, sources);
        }

        [Fact]
        public void Generated_code_of_a_policy_with_hostile_names_matches_its_approved_baseline()
        {
            var sources = Generate("/src", new[] { ("/src/hostile */ \"path\" #line.vfiopolicy", HostilePolicy) });
            Assert.Single(sources);
            MatchCase("hostile-names", sources);
        }

        [Fact]
        public void Generated_placeholder_of_a_policy_with_errors_matches_its_approved_baseline()
        {
            // The generator emits it for a policy with errors (see GeneratorTests); its text is pinned here.
            string placeholder = VfioPolicy.Compiler.Emit.HandlerEmitter.EmitPlaceholder("broken \"*/", "policies/broken.vfiopolicy", VfioPolicy.Compiler.Emit.HandlerEmitter.ClassName("broken \"*/"));
            MatchCase("policy-with-errors", new[] { ("broken.placeholder", placeholder) });
        }

        [Fact]
        public void Generated_code_of_a_policy_with_block_defaults_and_hidden_capabilities_matches_its_approved_baseline()
        {
            const string Policy = "policy \"hiding\"\nmatch vendor 0x1af4\ndefault header passthrough ro\ndefault capability deny 0\ndefault gap deny 0\n"
                + "default unknown-capability hide body deny 0xff\nhide capability VPD\nhide extended-capability SRIOV body passthrough ro\n"
                + "capability PM {\n  default passthrough ro\n  register CTRL behavior pm passthrough ro {\n    field STATE virtualize rw\n  }\n}\n"
                + "device-specific {\n  register 0x40 u32 DOORBELL passthrough rw\n}\n";
            var sources = Generate("/src", new[] { ("/src/hiding.vfiopolicy", Policy) });
            Assert.Single(sources);
            MatchCase("block-defaults", sources);
        }

        [Fact]
        public void Every_baseline_folder_belongs_to_a_case()
        {
            string[] cases = LibraryCases().Select(c => (string)c[0]).Append("hostile-names").Append("policy-with-errors").Append("block-defaults").ToArray();
            string[] folders = Directory.Exists(BaselineRoot())
                ? Directory.GetDirectories(BaselineRoot()).Select(Path.GetFileName).OfType<string>().ToArray()
                : Array.Empty<string>();
            Assert.Empty(folders.Except(cases, StringComparer.Ordinal));
        }

        private static void MatchCase(string caseName, IReadOnlyList<(string HintName, string Text)> sources)
        {
            string folder = Path.Combine(BaselineRoot(), caseName);
            foreach ((string hintName, string text) in sources)
            {
                Snapshot.MatchFile(text, Path.Combine(folder, hintName + ".verified.txt"));
            }

            Snapshot.AssertNoStale(folder, sources.Select(s => s.HintName));
        }

        private static string BaselineRoot([System.Runtime.CompilerServices.CallerFilePath] string testFile = "")
            => Path.Combine(Path.GetDirectoryName(testFile)!, "Baselines");

        /// <summary>Runs the generator as a build of a project in <paramref name="projectDirectory"/> would (paths relative to it).</summary>
        private static IReadOnlyList<(string HintName, string Text)> Generate(string projectDirectory, IEnumerable<(string Path, string Text)> files)
        {
            Compilation compilation = CSharpCompilation.Create(
                "Snapshots",
                Array.Empty<SyntaxTree>(),
                new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) },
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            GeneratorDriver driver = CSharpGeneratorDriver.Create(
                new[] { new PolicyGenerator().AsSourceGenerator() },
                files.Select(f => (AdditionalText)new InMemoryAdditionalText(f.Path, f.Text)),
                new CSharpParseOptions(LanguageVersion.Latest),
                new ProjectDirectoryOptions(projectDirectory));
            GeneratorRunResult result = Assert.Single(driver.RunGenerators(compilation).GetRunResult().Results);
            Assert.Null(result.Exception);
            Assert.DoesNotContain(result.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            return result.GeneratedSources.Select(s => (s.HintName, s.SourceText.ToString())).OrderBy(s => s.HintName, StringComparer.Ordinal).ToList();
        }

        /// <summary>Supplies <c>build_property.projectdir</c>, as MSBuild does for a real build.</summary>
        private sealed class ProjectDirectoryOptions : AnalyzerConfigOptionsProvider
        {
            private readonly Options _global;

            public ProjectDirectoryOptions(string projectDirectory)
                => _global = new Options(ImmutableDictionary<string, string>.Empty.Add("build_property.projectdir", projectDirectory.TrimEnd('/') + "/"));

            public override AnalyzerConfigOptions GlobalOptions => _global;

            public override AnalyzerConfigOptions GetOptions(SyntaxTree tree) => Options.Empty;

            public override AnalyzerConfigOptions GetOptions(AdditionalText textFile) => Options.Empty;

            private sealed class Options : AnalyzerConfigOptions
            {
                public static readonly Options Empty = new Options(ImmutableDictionary<string, string>.Empty);

                private readonly ImmutableDictionary<string, string> _values;

                public Options(ImmutableDictionary<string, string> values) => _values = values;

                public override bool TryGetValue(string key, [NotNullWhen(true)] out string? value) => _values.TryGetValue(key, out value);
            }
        }
    }
}
