using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Hardening.Fuzzing
{
    /// <summary>How one fuzz input ended.</summary>
    internal enum FuzzVerdict
    {
        /// <summary>Accepted, or rejected with located diagnostics / the documented exception.</summary>
        Handled,

        /// <summary>An exception escaped that the contract does not allow.</summary>
        Crash,

        /// <summary>The input took longer than the time limit.</summary>
        Hang,

        /// <summary>A diagnostic without a valid line/column in its file.</summary>
        Unlocated,
    }

    /// <summary>The outcome of one input: its verdict and, when not handled, why.</summary>
    internal readonly record struct FuzzOutcome(FuzzVerdict Verdict, string Detail)
    {
        public static FuzzOutcome Handled { get; } = new FuzzOutcome(FuzzVerdict.Handled, string.Empty);
    }

    /// <summary>
    /// The library on disk, read once: includes of a fuzzed file resolve to the real library files, and the fuzzed
    /// file itself (the overlay) is whatever text the fuzzer made of it.
    /// </summary>
    internal sealed class CachedLibrarySource : IPolicySource
    {
        private readonly FileSystemPolicySource _disk = new FileSystemPolicySource();
        private readonly Dictionary<string, (bool Found, string Text)> _cache = new Dictionary<string, (bool, string)>(StringComparer.Ordinal);
        private readonly object _gate = new object();

        public bool TryRead(string path, out string text)
        {
            lock (_gate)
            {
                if (!_cache.TryGetValue(path, out (bool Found, string Text) entry))
                {
                    entry.Found = _disk.TryRead(path, out string read);
                    entry.Text = read;
                    _cache[path] = entry;
                }

                text = entry.Text;
                return entry.Found;
            }
        }

        public string Resolve(string includingFile, string includePath) => _disk.Resolve(includingFile, includePath);
    }

    /// <summary>The fuzz targets: the policy parser and compiler, and the device-dump readers (with the chain walk and binder behind them).</summary>
    internal static class FuzzTargets
    {
        /// <summary>How long one input may take before it counts as a hang.</summary>
        public static TimeSpan TimeLimit { get; set; } = TimeSpan.FromSeconds(5);

        /// <summary>Parses <paramref name="text"/> as <paramref name="path"/>, then compiles it with includes from <paramref name="library"/>.</summary>
        public static FuzzOutcome Policy(string path, string text, IPolicySource library, bool compile = true)
            => Bounded(() =>
            {
                ParseResult parsed = PolicyParser.Parse(new SourceFile(path, text));
                FuzzOutcome located = CheckLocated(parsed.Diagnostics, p => p == path ? text : null);
                if (located.Verdict != FuzzVerdict.Handled || !compile)
                {
                    return located;
                }

                CompilationResult compiled = PolicyCompiler.CompileText(path, text, library);
                if (compiled.Model is null && !compiled.HasErrors && compiled.IsComplete)
                {
                    return new FuzzOutcome(FuzzVerdict.Unlocated, "a complete policy compiled to no model and no error");
                }

                return CheckLocated(compiled.Diagnostics, p => p == path ? text : (library.TryRead(p, out string included) ? included : null));
            });

        /// <summary>Parses <paramref name="text"/> as lspci output; each image is walked and bound to <paramref name="model"/>.</summary>
        public static FuzzOutcome LspciText(string text, PolicyModel? model)
            => Bounded(() =>
            {
                try
                {
                    foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(text, "fuzz.txt"))
                    {
                        Exercise(image, model);
                    }
                }
                catch (DeviceDumpException)
                {
                    // The documented rejection.
                }

                return FuzzOutcome.Handled;
            });

        /// <summary>Reads <paramref name="bytes"/> as a binary config file; the image is walked and bound to <paramref name="model"/>.</summary>
        public static FuzzOutcome BinaryConfig(byte[] bytes, PolicyModel? model)
            => Bounded(() =>
            {
                try
                {
                    Exercise(ConfigDumpReader.ReadBinary(bytes, "fuzz.bin"), model);
                }
                catch (DeviceDumpException)
                {
                }

                return FuzzOutcome.Handled;
            });

        /// <summary>Loads <paramref name="path"/> (text or binary, by content) with <paramref name="slot"/>.</summary>
        public static FuzzOutcome LoadFile(string path, string? slot, PolicyModel? model)
            => Bounded(() =>
            {
                try
                {
                    Exercise(ConfigDumpReader.Load(path, slot), model);
                }
                catch (DeviceDumpException)
                {
                }

                return FuzzOutcome.Handled;
            });

        private static void Exercise(ConfigSpaceImage image, PolicyModel? model)
        {
            ChainWalk walk = CapabilityWalker.Walk(image.Bytes);
            _ = image.Identity;
            if (model is not null)
            {
                DeviceBinder.Bind(model, image.Bytes, walk);
            }
        }

        /// <summary>Every error must point at a real line and column of the file it names.</summary>
        private static FuzzOutcome CheckLocated(IReadOnlyList<Diagnostic> diagnostics, Func<string, string?> textOf)
        {
            foreach (Diagnostic diagnostic in diagnostics)
            {
                SourceSpan span = diagnostic.Span;
                string? text = span is null || string.IsNullOrEmpty(span.Path) ? null : textOf(span.Path);
                if (text is null)
                {
                    return new FuzzOutcome(FuzzVerdict.Unlocated, "diagnostic in no known file: " + diagnostic);
                }

                int lines = 1 + text.Count(c => c == '\n');
                SourcePosition start = span!.Start;
                if (start.Line < 1 || start.Line > lines || start.Column < 1 || start.Offset < 0 || start.Offset > text.Length
                    || span.End.Offset < start.Offset || span.End.Offset > text.Length)
                {
                    return new FuzzOutcome(
                        FuzzVerdict.Unlocated,
                        string.Format(CultureInfo.InvariantCulture, "diagnostic at line {0} col {1} (offset {2}..{3}) outside its {4}-line, {5}-char file: {6}", start.Line, start.Column, start.Offset, span.End.Offset, lines, text.Length, diagnostic));
                }
            }

            return FuzzOutcome.Handled;
        }

        private static FuzzOutcome Bounded(Func<FuzzOutcome> run)
        {
            // A dedicated thread, not the pool: callers run inputs in parallel on pool threads that block here, and a
            // pool-queued input could wait behind them long enough to look like a hang (tests/fuzz saw exactly that).
            Task<FuzzOutcome> task = Task.Factory.StartNew(() => Guarded(run), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return task.Wait(TimeLimit)
                ? task.Result
                : new FuzzOutcome(FuzzVerdict.Hang, "no result within " + TimeLimit.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s");
        }

        private static FuzzOutcome Guarded(Func<FuzzOutcome> run)
        {
            try
            {
                return run();
            }
            catch (Exception error)
            {
                return new FuzzOutcome(FuzzVerdict.Crash, error.GetType().FullName + ": " + error.Message + Environment.NewLine + error.StackTrace);
            }
        }
    }
}
