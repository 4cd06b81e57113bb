using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Explaining;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Cli.LanguageServer
{
    /// <summary>Go to definition (include and extends targets, the rules an override replaces) and whole-document formatting.</summary>
    internal static class NavigationProvider
    {
        /// <summary>
        /// On an <c>include</c>/<c>extends</c> line, the file it names; on a rule that overrides, every rule whose bits
        /// it took, as the compiler's override table records them (so only once the policy compiles).
        /// </summary>
        public static JsonArray? Definition(PolicyWorkspace workspace, OpenDocument document, int offset, int line)
        {
            IncludeStatement? include = document.Syntax?.Statements.OfType<IncludeStatement>().FirstOrDefault(i => HoverProvider.Contains(i.Span, offset));
            if (include is not null)
            {
                string? file;
                if (include.FromLibrary)
                {
                    string? libraryPath = StandardLibrary.PathOf(include.Path.Value);
                    file = libraryPath is null ? null : FileOf(workspace, libraryPath);
                }
                else
                {
                    string target = workspace.Source.Resolve(document.Key, include.Path.Value);
                    file = workspace.Source.TryRead(target, out _) ? workspace.Context.Resolve(target) : null;
                }

                return file is null ? null : new JsonArray(LspText.Location(LspText.UriOf(file), LspText.Range(0, 0, 0, 0)));
            }

            IReadOnlyList<RuleOverride> overrides = document.Compiled?.Overrides ?? Array.Empty<RuleOverride>();
            var seen = new HashSet<(string, int)>();
            var locations = new JsonArray();
            foreach (RuleOverride entry in overrides.Where(o => o.Rule.Line == line + 1 && PolicyPaths.Normalize(o.Rule.Path) == document.Key))
            {
                RuleOrigin origin = entry.Overridden;
                if (origin.Line <= 0 || !seen.Add((origin.Path, origin.Line)))
                {
                    continue;
                }

                string? file = FileOf(workspace, origin.Path);
                if (file is null)
                {
                    continue;
                }

                int column = Math.Max(0, origin.Column - 1);
                locations.Add(LspText.Location(LspText.UriOf(file), LspText.Range(origin.Line - 1, column, origin.Line - 1, column)));
            }

            return locations.Count == 0 ? null : locations;
        }

        // A compiler path as a file an editor can open: the standard library's files are the copies shipped beside the
        // tool (the same text the compiler carries), everything else a path in the workspace.
        private static string? FileOf(PolicyWorkspace workspace, string compilerPath)
        {
            if (!StandardLibrary.IsLibraryPath(compilerPath))
            {
                return workspace.Context.Resolve(compilerPath);
            }

            string shipped = System.IO.Path.Combine(AppContext.BaseDirectory, "policies", compilerPath.Substring(StandardLibrary.Root.Length).Replace('/', System.IO.Path.DirectorySeparatorChar));
            return System.IO.File.Exists(shipped) ? shipped : null;
        }

        /// <summary>What <c>vfio-policy fmt</c> writes, as one edit over the whole document; nothing when it is already formatted or does not parse.</summary>
        public static JsonArray Format(OpenDocument document)
        {
            string? formatted = Commands.FormatCommand.Format(document.AbsolutePath, document.Text, out _);
            if (formatted is null)
            {
                return new JsonArray();
            }

            if (string.Equals(formatted, document.Text, StringComparison.Ordinal))
            {
                return new JsonArray();
            }

            (int endLine, int endCharacter) = LspText.ToPosition(document.Text, document.Text.Length);
            return new JsonArray(new JsonObject
            {
                ["range"] = LspText.Range(0, 0, endLine, endCharacter),
                ["newText"] = formatted,
            });
        }
    }
}
