using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using BenchmarkDotNet.Attributes;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using VfioPolicy.Generator;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// The source generator as a build runs it (Roslyn's incremental driver), on the whole policy library: one edit
    /// of one device policy per operation (a register added to or taken from <c>qemu-edu</c>, alternately), so each
    /// operation re-runs exactly what that edit needs. Issue 14, item 4: at most 20 ms. Warmed up in the setup.
    /// </summary>
    [MemoryDiagnoser]
    public class GeneratorEditBenchmarks
    {
        /// <summary>The edited policy, relative to policies/.</summary>
        public const string EditedPolicy = "devices/qemu-edu.vfiopolicy";

        private const string AddedRegister = "\ndevice-specific {\n  register 0x80 u32 BENCH_EDIT deny 0\n}\n";

        private static readonly CSharpParseOptions ParseOptions = new CSharpParseOptions(LanguageVersion.Latest);

        private GeneratorDriver _driver = null!;
        private Compilation _compilation = null!;
        private PolicyFile _original = null!;
        private PolicyFile _edited = null!;
        private bool _isEdited;

        /// <summary>Runs the generator once on the library, as a first build does.</summary>
        [GlobalSetup]
        public void Setup()
        {
            string root = System.IO.Path.Combine(BenchDevice.RepositoryRoot(), "policies");
            (string Path, string Text)[] files = GeneratorBenchmarks.LibraryFiles();
            var texts = files.Select(f => new PolicyFile(System.IO.Path.Combine(root, f.Path), f.Text)).ToList();
            _original = texts.Single(t => t.Path.EndsWith(EditedPolicy, StringComparison.Ordinal));
            _edited = new PolicyFile(_original.Path, _original.Text + AddedRegister);
            _compilation = CSharpCompilation.Create(
                "Edit",
                new[] { CSharpSyntaxTree.ParseText("namespace App { public class Program { } }", ParseOptions) },
                new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) },
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary));
            _driver = CSharpGeneratorDriver.Create(
                new[] { new PolicyGenerator().AsSourceGenerator() },
                texts,
                ParseOptions,
                optionsProvider: null,
                driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: false));
            _driver = _driver.RunGenerators(_compilation);
            Check(_driver, expectedSources: 9);

            // Warm up, as GeneratorBenchmarks does: an even number of edits, so the library is back as it was.
            for (int run = 0; run < 2 * GeneratorBenchmarks.WarmUpRuns; run++)
            {
                EditOneDevicePolicy();
            }

            Check(_driver, expectedSources: 9);
        }

        /// <summary>One edit of <see cref="EditedPolicy"/> (a register added or taken away), then the generator's run.</summary>
        [Benchmark]
        public int EditOneDevicePolicy()
        {
            PolicyFile from = _isEdited ? _edited : _original;
            PolicyFile to = _isEdited ? _original : _edited;
            _isEdited = !_isEdited;
            _driver = _driver.ReplaceAdditionalText(from, to).RunGenerators(_compilation);
            return _driver.GetRunResult().Results[0].GeneratedSources.Length;
        }

        private static void Check(GeneratorDriver driver, int expectedSources)
        {
            GeneratorRunResult result = driver.GetRunResult().Results.Single();
            if (result.Exception != null || result.GeneratedSources.Length < expectedSources || result.Diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
            {
                throw new InvalidOperationException(
                    "The generator did not compile the library: " + result.Exception?.Message + " "
                    + string.Join("; ", result.Diagnostics.Select(d => d.ToString())) + " (" + result.GeneratedSources.Length + " sources)");
            }
        }

        /// <summary>A policy file handed to the driver as an additional file.</summary>
        private sealed class PolicyFile : AdditionalText
        {
            private readonly SourceText _text;

            public PolicyFile(string path, string text)
            {
                Path = path;
                Text = text;
                _text = SourceText.From(text);
            }

            public override string Path { get; }

            public string Text { get; }

            public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
        }
    }
}
