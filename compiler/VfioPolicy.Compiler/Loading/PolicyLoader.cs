using System.Collections.Generic;
using System.Linq;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Loading
{
    /// <summary>
    /// Reads and parses the include graph of one policy, depth first in the order of the include lines, and returns
    /// the files in include order: every file comes after everything it includes, so an included file's rules come
    /// before the including file's. A file reached along two paths (a diamond) is loaded once, at its first place.
    /// </summary>
    internal sealed class PolicyLoader
    {
        private readonly IPolicySource _source;
        private readonly System.Func<SourceFile, ParseResult> _parse;
        private readonly DiagnosticBag _diagnostics;
        private readonly List<LoadedFile> _ordered = new List<LoadedFile>();
        private readonly Dictionary<string, LoadedFile?> _visited = new Dictionary<string, LoadedFile?>(System.StringComparer.Ordinal);
        private readonly List<string> _stack = new List<string>();
        private readonly List<string> _read = new List<string>();

        public PolicyLoader(IPolicySource source, DiagnosticBag diagnostics, System.Func<SourceFile, ParseResult> parse)
        {
            _source = source;
            _parse = parse;
            _diagnostics = diagnostics;
        }

        /// <summary>Files in include order; the root (if it parsed) is last.</summary>
        public IReadOnlyList<LoadedFile> Files => _ordered;

        /// <summary>Every path read, in the order first read.</summary>
        public IReadOnlyList<string> FilesRead => _read;

        /// <summary>The root file, or null when it could not be read or parsed.</summary>
        public LoadedFile? Root { get; private set; }

        public void Load(string rootPath)
        {
            string path = PolicyPaths.Normalize(rootPath);
            if (!Read(path, out string text))
            {
                _diagnostics.Report(CompilerDiagnostics.FileNotFound, SourceSpan.At(path, new SourcePosition(0, 1, 1)), "cannot read '" + path + "'" + MissingHint());
                return;
            }

            Root = Visit(path, text);
        }

        private LoadedFile? Visit(string path, string text)
        {
            _read.Add(path);
            ParseResult parsed = _parse(new SourceFile(path, text));
            _diagnostics.AddRange(parsed.Diagnostics);
            if (parsed.File == null)
            {
                _visited[path] = null;
                return null;
            }

            var file = new LoadedFile(path, parsed.File);
            _visited[path] = file;
            _stack.Add(path);
            foreach (IncludeStatement include in parsed.File.Statements.OfType<IncludeStatement>())
            {
                VisitInclude(file, include);
            }

            _stack.RemoveAt(_stack.Count - 1);
            _ordered.Add(file);
            return file;
        }

        private void VisitInclude(LoadedFile includingFile, IncludeStatement include)
        {
            string keyword = include.IsExtends ? "extends" : "include";
            string? target = Resolve(includingFile.Path, include);
            if (target == null)
            {
                _diagnostics.Report(CompilerDiagnostics.FileNotFound, include.Path.Span, include.FromLibrary
                    ? "'" + include.Path.Value + "' cannot name a library file (a name such as \"strict\" or \"standard/capabilities/pm\"; the library has " + string.Join(", ", StandardLibrary.Policies.Select(p => "\"" + p + "\"")) + ")"
                    : "'" + include.Path.Value + "' leaves the policy library, which " + includingFile.Path + " belongs to");
                return;
            }

            int onStack = _stack.IndexOf(target);
            if (onStack >= 0)
            {
                IEnumerable<string> cycle = _stack.Skip(onStack).Concat(new[] { target });
                _diagnostics.Report(CompilerDiagnostics.IncludeCycle, include.Path.Span, keyword + " cycle: " + string.Join(" -> ", cycle));
                return;
            }

            LoadedFile? loaded;
            if (!_visited.TryGetValue(target, out loaded))
            {
                if (!Read(target, out string text))
                {
                    _diagnostics.Report(CompilerDiagnostics.FileNotFound, include.Path.Span, StandardLibrary.IsLibraryPath(target)
                        ? "the policy library has no '" + include.Path.Value + "'" + LibrarySuggestion(include.Path.Value) + " (its policies: " + string.Join(", ", StandardLibrary.Policies.Select(p => "\"" + p + "\"")) + "; its fragments are under standard/)"
                        : "cannot read '" + include.Path.Value + "' (resolved to '" + target + "')" + MissingHint());
                    return;
                }

                loaded = Visit(target, text);
            }

            if (loaded == null)
            {
                // The file did not parse; its syntax errors are reported already.
                return;
            }

            if (include.IsExtends && !loaded.IsComplete)
            {
                _diagnostics.Report(CompilerDiagnostics.ExtendsFragment, include.Path.Span, "'" + target + "' is a fragment (it has no policy line): use include, not extends");
            }
            else if (!include.IsExtends && loaded.IsComplete)
            {
                _diagnostics.Report(CompilerDiagnostics.IncludeOfPolicy, include.Path.Span, "'" + target + "' is a complete policy (it has a policy line): use extends, not include");
            }
        }

        // A library file's relative includes stay in the library; `library "NAME"` reaches it from anywhere.
        private string? Resolve(string includingFile, IncludeStatement include)
            => PolicyPaths.ResolveInclude(includingFile, include.Path.Value, include.FromLibrary, _source);

        private static string LibrarySuggestion(string name)
        {
            string? closest = VfioPolicy.Grammar.Text.NameSuggestions.Closest(StandardLibrary.WithoutExtension(name), StandardLibrary.LibraryNames);
            return closest == null ? string.Empty : "; did you mean \"" + closest + "\"?";
        }

        private bool Read(string path, out string text)
            => StandardLibrary.IsLibraryPath(path) ? StandardLibrary.TryRead(path, out text) : _source.TryRead(path, out text);

        private string MissingHint() => _source is InMemoryPolicySource { MissingFileHint: { } hint } ? "; " + hint : string.Empty;
    }
}
