using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Emit;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Generator
{
    /// <summary>
    /// The compile stage: every policy file is compiled against all the others (so includes resolve among the
    /// additional files), complete policies without errors become <see cref="GeneratedPolicy"/> values, fragments are
    /// checked, and every diagnostic is kept once even when several policies include the file it points into.
    /// </summary>
    internal static class LibraryCompilation
    {
        /// <summary>The path the compiler reads <paramref name="fullPath"/> under: normalised, relative to <paramref name="projectDirectory"/> when below it.</summary>
        public static string CompilerPath(string fullPath, string projectDirectory)
        {
            string normalized = PolicyPaths.Normalize(fullPath);
            if (projectDirectory.Length == 0)
            {
                return normalized;
            }

            string root = PolicyPaths.Normalize(projectDirectory).TrimEnd('/') + "/";
            return normalized.StartsWith(root, StringComparison.Ordinal) ? normalized.Substring(root.Length) : normalized;
        }

        public static CompiledLibrary Compile(ImmutableArray<PolicyText> texts, CancellationToken cancellation)
        {
            var ordered = texts.OrderBy(t => t.CompilerPath, StringComparer.Ordinal).ToList();
            var source = new InMemoryPolicySource
            {
                // The generator sees only the project's VfioPolicy items: a file that exists but is not listed is missing too.
                MissingFileHint = "a build compiles only the project's VfioPolicy items: if the file exists, list it (<VfioPolicy Include=\"PATH\" />)",
            };
            var fullPaths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (PolicyText text in ordered)
            {
                source.Add(text.CompilerPath, text.Text);
                fullPaths[text.CompilerPath] = text.FullPath;
            }

            var models = new List<(string Path, PolicyModel Model)>();
            var failed = new List<(string Path, string Name)>();
            var diagnostics = new List<DiagnosticData>();
            var seen = new HashSet<DiagnosticData>();
            foreach (PolicyText text in ordered)
            {
                cancellation.ThrowIfCancellationRequested();
                CompilationResult result = PolicyCompiler.Compile(text.CompilerPath, source);
                foreach (Diagnostic diagnostic in result.Diagnostics)
                {
                    DiagnosticData data = ToData(diagnostic, fullPaths);
                    if (seen.Add(data))
                    {
                        diagnostics.Add(data);
                    }
                }

                if (result.IsComplete && result.Model != null)
                {
                    models.Add((text.CompilerPath, result.Model));
                }
                else if (result.Model == null && PolicyName(text) is string name)
                {
                    failed.Add((text.CompilerPath, name));
                }
            }

            // Named together, so a policy's class name does not change when another one gains or loses an error.
            IReadOnlyDictionary<string, string> classNames = HandlerEmitter.ClassNames(
                models.Select(m => new KeyValuePair<string, string>(m.Path, m.Model.Name)).Concat(failed.Select(f => new KeyValuePair<string, string>(f.Path, f.Name))));
            var policies = models
                .Select(m => new GeneratedPolicy(m.Path, HandlerEmitter.HintName(m.Path), classNames[m.Path], m.Model))
                .ToEquatableArray();
            var placeholders = failed
                .Select(f => new FailedPolicy(f.Path, HandlerEmitter.HintName(f.Path), classNames[f.Path], f.Name))
                .ToEquatableArray();
            var sorted = diagnostics
                .OrderBy(d => d.Path, StringComparer.Ordinal)
                .ThenBy(d => d.Start)
                .ThenBy(d => d.Id, StringComparer.Ordinal)
                .ThenBy(d => d.Message, StringComparer.Ordinal)
                .ToEquatableArray();
            return new CompiledLibrary(policies, sorted, placeholders);
        }

        // The name on a complete policy's `policy` line, when the file parses far enough to have one.
        private static string? PolicyName(PolicyText text)
            => VfioPolicy.Grammar.Parsing.PolicyParser.Parse(new VfioPolicy.Grammar.Text.SourceFile(text.CompilerPath, text.Text))
                .File?.Statements.OfType<VfioPolicy.Grammar.Syntax.PolicyStatement>().FirstOrDefault()?.Name.Value;

        private static DiagnosticData ToData(Diagnostic diagnostic, Dictionary<string, string> fullPaths)
        {
            var span = diagnostic.Span;
            string path = fullPaths.TryGetValue(span.Path, out string? full) ? full : span.Path;
            return new DiagnosticData(
                diagnostic.Id,
                diagnostic.Severity,
                diagnostic.Message,
                path,
                span.Start.Offset,
                Math.Max(0, span.End.Offset - span.Start.Offset),
                Math.Max(0, span.Start.Line - 1),
                Math.Max(0, span.Start.Column - 1),
                Math.Max(0, span.End.Line - 1),
                Math.Max(0, span.End.Column - 1));
        }
    }
}
