using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using VfioPolicy.Generator;

namespace VfioPolicy.Generator.Tests
{
    /// <summary>An additional file held in memory.</summary>
    public sealed class InMemoryAdditionalText : AdditionalText
    {
        private readonly SourceText _text;

        public InMemoryAdditionalText(string path, string text)
        {
            Path = path;
            _text = SourceText.From(text);
        }

        public override string Path { get; }

        public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
    }

    /// <summary>The outcome of one generator run and of compiling its output.</summary>
    public sealed record GeneratorRun(
        ImmutableArray<Diagnostic> GeneratorDiagnostics,
        IReadOnlyList<(string HintName, string Text)> Sources,
        ImmutableArray<Diagnostic> CompilationDiagnostics,
        Compilation Output);

    /// <summary>Runs <see cref="PolicyGenerator"/> on in-memory policy files, offline, against the running runtime's assemblies.</summary>
    public static class GeneratorHarness
    {
        private static readonly Lazy<MetadataReference[]> References = new Lazy<MetadataReference[]>(() =>
        {
            string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
            // The test host's own assemblies (the policy library among them) would clash with what the run generates.
            var paths = trusted.Split(System.IO.Path.PathSeparator)
                .Where(p => p.Length > 0 && !System.IO.Path.GetFileName(p).StartsWith("VfioPolicy.", StringComparison.Ordinal))
                .ToList();
            paths.Add(typeof(VfioPolicy.AccessModel.Model.PolicyModel).Assembly.Location);
            return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
        });

        public static GeneratorRun Run(params (string Path, string Text)[] files) => RunWithCode(Array.Empty<string>(), files);

        /// <summary>As <see cref="Run"/>, in a compilation that also holds the application code <paramref name="csharp"/>.</summary>
        public static GeneratorRun RunWithCode(string[] csharp, params (string Path, string Text)[] files)
        {
            var compilation = CSharpCompilation.Create(
                "GeneratedPolicies",
                csharp.Select(code => CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest))),
                References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
            GeneratorDriver driver = CSharpGeneratorDriver.Create(
                new[] { new PolicyGenerator().AsSourceGenerator() },
                files.Select(f => (AdditionalText)new InMemoryAdditionalText(f.Path, f.Text)),
                parseOptions: new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose));
            driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
            GeneratorDriverRunResult result = driver.GetRunResult();
            var sources = result.Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).ToList();
            return new GeneratorRun(diagnostics, sources, output.GetDiagnostics(), output);
        }

        /// <summary>Every *.vfiopolicy of the repository's policies/ folder, under its real path.</summary>
        public static (string Path, string Text)[] Library()
            => Directory.EnumerateFiles(VfioPolicy.Testing.RepositoryPaths.Policies, "*.vfiopolicy", SearchOption.AllDirectories)
                .Where(p => !p.Contains(System.IO.Path.DirectorySeparatorChar + "obj" + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !p.Contains(System.IO.Path.DirectorySeparatorChar + "bin" + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal))
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => (p, File.ReadAllText(p)))
                .ToArray();
    }
}
