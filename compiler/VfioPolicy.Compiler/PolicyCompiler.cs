using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Binding;
using VfioPolicy.Compiler.Checking;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Compiler.Loading;
using VfioPolicy.Compiler.Lowering;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler
{
    /// <summary>
    /// Compiles a policy: load the include graph, bind names, run the checks, lower to a <see cref="PolicyModel"/>.
    /// Deterministic (the same files give the same model and the same diagnostics in the same order) and never
    /// throws on bad input: every problem is a diagnostic.
    /// </summary>
    public static class PolicyCompiler
    {
        /// <summary>Compiles the file at <paramref name="path"/>, reading it and its includes from <paramref name="source"/>.</summary>
        /// <remarks>
        /// A file's parse is reused while its text is the same string instance (held weakly, so the cache lives no longer
        /// than the texts): a library compiles the same fragments into every policy, and the generator keeps unchanged
        /// files' texts across runs.
        /// </remarks>
        public static CompilationResult Compile(string path, IPolicySource source) => Compile(path, source, ParseCache.Parse);

        /// <summary>
        /// Compiles with another parse step. Tests use it to hand the binder syntax trees the grammar would not
        /// produce today: the tree admits any identifier, so the binder checks names again rather than trusting it.
        /// </summary>
        internal static CompilationResult Compile(string path, IPolicySource source, System.Func<SourceFile, ParseResult> parse)
        {
            var diagnostics = new DiagnosticBag();
            var loader = new PolicyLoader(source, diagnostics, parse);
            loader.Load(path);
            LoadedFile? root = loader.Root;
            if (root == null)
            {
                return new CompilationResult(null, Order(diagnostics.Items, loader.FilesRead), loader.FilesRead.ToArray());
            }

            BoundPolicy policy = new PolicyBinder(diagnostics).Bind(loader.Files, root);

            // The passes, in order: ownership of every bit first, since the later checks and the lowering read it.
            OverrideResolution.Run(policy, diagnostics);
            RegisterOverlapCheck.Run(policy, diagnostics);
            BehaviorOwnershipCheck.Run(policy, diagnostics);
            if (root.IsComplete)
            {
                CompletenessCheck.Run(policy, diagnostics);
            }

            PolicyModel? model = root.IsComplete && !diagnostics.HasErrors ? PolicyLowerer.Lower(policy) : null;
            return new CompilationResult(model, Order(diagnostics.Items, loader.FilesRead), loader.FilesRead.ToArray())
            {
                IsComplete = root.IsComplete,
                IsFragment = !root.IsComplete,
                Overrides = model == null ? System.Array.Empty<Explaining.RuleOverride>() : Explaining.RuleOverrideTable.Build(policy),
            };
        }

        /// <summary>Compiles <paramref name="text"/> as the file <paramref name="path"/>; includes are resolved against <paramref name="source"/> when given, otherwise any include is missing.</summary>
        public static CompilationResult CompileText(string path, string text, IPolicySource? source = null)
            => Compile(path, new OverlaySource(PolicyPaths.Normalize(path), text, source));

        private static IReadOnlyList<Diagnostic> Order(IReadOnlyList<Diagnostic> diagnostics, IReadOnlyList<string> files)
        {
            // Stable: diagnostics at the same position keep the order the passes found them in.
            return diagnostics
                .Select((diagnostic, index) => (diagnostic, index))
                .OrderBy(d => FileRank(files, d.diagnostic.Span.Path))
                .ThenBy(d => d.diagnostic.Span.Start.Offset)
                .ThenBy(d => d.index)
                .Select(d => d.diagnostic)
                .ToArray();
        }

        private static int FileRank(IReadOnlyList<string> files, string path)
        {
            for (int i = 0; i < files.Count; i++)
            {
                if (files[i] == path)
                {
                    return i;
                }
            }

            return files.Count;
        }

        /// <summary>One file in memory over an optional underlying source.</summary>
        private sealed class OverlaySource : IPolicySource
        {
            private readonly string _path;
            private readonly string _text;
            private readonly IPolicySource? _inner;

            public OverlaySource(string path, string text, IPolicySource? inner)
            {
                _path = path;
                _text = text;
                _inner = inner;
            }

            public bool TryRead(string path, out string text)
            {
                if (PolicyPaths.Normalize(path) == _path)
                {
                    text = _text;
                    return true;
                }

                text = string.Empty;
                return _inner != null && _inner.TryRead(path, out text);
            }

            public string Resolve(string includingFile, string includePath) => _inner?.Resolve(includingFile, includePath) ?? PolicyPaths.Combine(includingFile, includePath);
        }

        /// <summary>
        /// Parses reused by text identity: a <see cref="ConditionalWeakTable{TKey, TValue}"/> keyed by the text string, so
        /// an entry lives only as long as its text does and a text that changed is a new key. The syntax trees are
        /// immutable records, so every compilation may share them.
        /// </summary>
        private static class ParseCache
        {
            private static readonly ConditionalWeakTable<string, ParsedFile> Parsed = new ConditionalWeakTable<string, ParsedFile>();

            public static ParseResult Parse(SourceFile file)
            {
                if (Parsed.TryGetValue(file.Text, out ParsedFile? cached) && cached.Path == file.Path)
                {
                    return cached.Result;
                }

                ParseResult result = PolicyParser.Parse(file);
                lock (Parsed)
                {
                    // The same text under another path (its spans name the path) replaces the entry.
                    Parsed.Remove(file.Text);
                    Parsed.Add(file.Text, new ParsedFile(file.Path, result));
                }

                return result;
            }

            private sealed record ParsedFile(string Path, ParseResult Result);
        }
    }
}
