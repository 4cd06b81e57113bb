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
    /// The compile stage, in steps the pipeline caches apart: each file is scanned for its includes (<see cref="Scan"/>),
    /// each file becomes a unit of itself and the project files it reaches (<see cref="Units"/>), each unit is compiled
    /// on its own (<see cref="CompileUnit"/>), so an edit recompiles only the files that read the edited one; then the
    /// library is assembled (<see cref="Assemble"/>): complete policies without errors become
    /// <see cref="GeneratedPolicy"/> values, and every diagnostic is kept once even when several policies include the
    /// file it points into.
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

        /// <summary>Scans one file (a parse, no compilation): the project paths its includes read, and its policy name.</summary>
        public static ScannedPolicyFile Scan(PolicyText text)
        {
            var file = VfioPolicy.Grammar.Parsing.PolicyParser.Parse(new VfioPolicy.Grammar.Text.SourceFile(text.CompilerPath, text.Text)).File;
            if (file == null)
            {
                return new ScannedPolicyFile(text, EquatableArray<string>.Empty, null);
            }

            var resolver = new InMemoryPolicySource();
            var includes = new List<string>();
            foreach (VfioPolicy.Grammar.Syntax.IncludeStatement include in file.Statements.OfType<VfioPolicy.Grammar.Syntax.IncludeStatement>())
            {
                // The compiler's own resolution: what is not a library file is a project path (present or not).
                string? target = PolicyPaths.ResolveInclude(text.CompilerPath, include.Path.Value, include.FromLibrary, resolver);
                if (target != null && !StandardLibrary.IsLibraryPath(target))
                {
                    includes.Add(target);
                }
            }

            string? name = file.Statements.OfType<VfioPolicy.Grammar.Syntax.PolicyStatement>().FirstOrDefault()?.Name.Value;
            return new ScannedPolicyFile(text, includes.ToEquatableArray(), name);
        }

        /// <summary>One compile unit per file, in path order: the file and the project files its includes reach.</summary>
        public static ImmutableArray<CompileUnit> Units(ImmutableArray<ScannedPolicyFile> files, CancellationToken cancellation)
        {
            var byPath = new Dictionary<string, ScannedPolicyFile>(StringComparer.Ordinal);
            foreach (ScannedPolicyFile file in files.OrderBy(f => f.Text.CompilerPath, StringComparer.Ordinal))
            {
                // Two files under one compiler path: the compiler source keeps the last added, in path order, so do the same.
                byPath[file.Text.CompilerPath] = file;
            }

            var units = ImmutableArray.CreateBuilder<CompileUnit>(files.Length);
            foreach (ScannedPolicyFile file in files.OrderBy(f => f.Text.CompilerPath, StringComparer.Ordinal))
            {
                cancellation.ThrowIfCancellationRequested();
                var reached = new SortedDictionary<string, PolicyText>(StringComparer.Ordinal);
                var pending = new Stack<string>(file.Includes.Reverse());
                while (pending.Count > 0)
                {
                    string path = pending.Pop();
                    if (path == file.Text.CompilerPath || reached.ContainsKey(path) || !byPath.TryGetValue(path, out ScannedPolicyFile? included))
                    {
                        continue;
                    }

                    reached.Add(path, included.Text);
                    foreach (string next in included.Includes)
                    {
                        pending.Push(next);
                    }
                }

                units.Add(new CompileUnit(byPath[file.Text.CompilerPath].Text, file.PolicyName, reached.Values.ToEquatableArray()));
            }

            return units.MoveToImmutable();
        }

        /// <summary>Compiles one unit's root against the files it reaches: exactly what compiling it against the whole library reads.</summary>
        public static CompiledFile CompileUnit(CompileUnit unit, CancellationToken cancellation)
        {
            cancellation.ThrowIfCancellationRequested();
            var source = new InMemoryPolicySource
            {
                // The generator sees only the project's VfioPolicy items: a file that exists but is not listed is missing too.
                MissingFileHint = "a build compiles only the project's VfioPolicy items: if the file exists, list it (<VfioPolicy Include=\"PATH\" />)",
            };
            var fullPaths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (PolicyText text in unit.Reached.Concat(new[] { unit.Root }))
            {
                source.Add(text.CompilerPath, text.Text);
                fullPaths[text.CompilerPath] = text.FullPath;
            }

            CompilationResult result = PolicyCompiler.Compile(unit.Root.CompilerPath, source);
            var diagnostics = result.Diagnostics.Select(d => ToData(d, fullPaths)).ToEquatableArray();
            PolicyModel? model = result.IsComplete && result.Model != null ? result.Model : null;
            string? failed = result.Model == null ? unit.RootPolicyName : null;
            return new CompiledFile(unit.Root.CompilerPath, model, failed, diagnostics);
        }

        /// <summary>
        /// The library from its compiled files (in path order): the policies to generate, named together (so a
        /// policy's class name does not change when another one gains or loses an error), the placeholders, and every
        /// diagnostic once even when several policies include the file it points into.
        /// </summary>
        public static CompiledLibrary Assemble(ImmutableArray<CompiledFile> files, CancellationToken cancellation)
        {
            var models = new List<(string Path, PolicyModel Model)>();
            var failed = new List<(string Path, string Name)>();
            var diagnostics = new List<DiagnosticData>();
            var seen = new HashSet<DiagnosticData>();
            foreach (CompiledFile file in files.OrderBy(f => f.CompilerPath, StringComparer.Ordinal))
            {
                cancellation.ThrowIfCancellationRequested();
                foreach (DiagnosticData data in file.Diagnostics)
                {
                    if (seen.Add(data))
                    {
                        diagnostics.Add(data);
                    }
                }

                if (file.Model != null)
                {
                    models.Add((file.CompilerPath, file.Model));
                }
                else if (file.FailedPolicyName is string name)
                {
                    failed.Add((file.CompilerPath, name));
                }
            }

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
