using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Attributes;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Emit;
using VfioPolicy.Compiler.Sources;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// The generator's own work on the whole policy library (policies/): what its compile and emit stages do in a
    /// build, minus Roslyn's plumbing: every file compiled against the others (includes resolve among them), and
    /// every complete policy emitted as C#.
    /// </summary>
    [MemoryDiagnoser]
    public class GeneratorBenchmarks
    {
        private (string Path, string Text)[] _files = null!;

        /// <summary>Operations run in the setup, so that what is measured is the warm generator (its code JIT-compiled at its final tier).</summary>
        public const int WarmUpRuns = 20;

        /// <summary>Reads the library's files once, then warms the generator up.</summary>
        /// <remarks>
        /// The generator runs thousands of methods once each per operation; the JIT compiles their optimised tier only
        /// after a quiet spell of about 100 ms without new first-tier methods, so the first dozen operations ran at two
        /// to three times the warm figure. A job with few 100 ms iterations (<c>--quick</c>) measured exactly those.
        /// </remarks>
        [GlobalSetup]
        public void Setup()
        {
            _files = LibraryFiles();
            for (int run = 0; run < WarmUpRuns; run++)
            {
                CompileAndEmit(_files);
            }
        }

        /// <summary>Compiles and emits the whole library; returns the emitted characters.</summary>
        [Benchmark]
        public int CompileAndEmitLibrary() => CompileAndEmit(_files);

        /// <summary>The library's policy files, as paths relative to policies/ and their text.</summary>
        public static (string Path, string Text)[] LibraryFiles()
        {
            string root = Path.Combine(BenchDevice.RepositoryRoot(), "policies");
            return Directory.EnumerateFiles(root, "*.vfiopolicy", SearchOption.AllDirectories)
                .Where(p => !p.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !p.Contains(Path.DirectorySeparatorChar + "bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => (Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/'), File.ReadAllText(p)))
                .ToArray();
        }

        /// <summary>Compiles every file and emits every complete policy; returns the emitted characters.</summary>
        /// <exception cref="InvalidOperationException">A library policy does not compile.</exception>
        public static int CompileAndEmit((string Path, string Text)[] files)
        {
            // Fresh copies of the texts: the compiler reuses a parse while a text is the same string instance, so
            // the same instances on every operation would measure parsing once, not once per operation. Within one
            // operation each file is parsed once and shared by every policy that includes it, as in a build.
            var source = new InMemoryPolicySource();
            foreach ((string path, string text) in files)
            {
                source.Add(path, new string(text.ToCharArray()));
            }

            var models = new List<(string Path, PolicyModel Model)>();
            foreach ((string path, _) in files)
            {
                CompilationResult result = PolicyCompiler.Compile(path, source);
                if (result.HasErrors)
                {
                    throw new InvalidOperationException("The library policy " + path + " does not compile.");
                }

                if (result.IsComplete && result.Model != null)
                {
                    models.Add((path, result.Model));
                }
            }

            IReadOnlyDictionary<string, string> classNames = HandlerEmitter.ClassNames(models.Select(m => new KeyValuePair<string, string>(m.Path, m.Model.Name)));
            int characters = 0;
            foreach ((string path, PolicyModel model) in models)
            {
                characters += HandlerEmitter.Emit(model, path, classNames[path]).Length;
            }

            return characters;
        }
    }
}
