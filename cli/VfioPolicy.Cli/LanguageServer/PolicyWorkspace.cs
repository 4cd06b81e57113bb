using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Cli.LanguageServer
{
    /// <summary>One document the editor has open, with its last compilation.</summary>
    internal sealed class OpenDocument
    {
        public OpenDocument(string uri, string absolutePath, string key, string text)
        {
            Uri = uri;
            AbsolutePath = absolutePath;
            Key = key;
            this.text = text;
        }

        /// <summary>The URI as the client sent it (answers go back under the same string).</summary>
        public string Uri { get; }

        public string AbsolutePath { get; }

        /// <summary>The path the compiler is given: relative to the workspace root when below it, as <c>check</c> prints it.</summary>
        public string Key { get; }

        public string Text
        {
            get => text;
            set
            {
                text = value;
                syntax = null;
            }
        }

        public CompilationResult? Compiled { get; set; }

        /// <summary>The syntax tree of <see cref="Text"/>, or null when it does not parse at all; parsed once per text, not per request.</summary>
        public PolicyFile? Syntax => (syntax ??= new Lazy<PolicyFile?>(() => PolicyParser.Parse(new SourceFile(Key, text)).File)).Value;

        private string text;
        private Lazy<PolicyFile?>? syntax;
    }

    /// <summary>
    /// The open documents over the files on disk, compiled the way <c>vfio-policy check</c> compiles them: same source
    /// (paths relative to the workspace root, so messages that name other files read the same), same compiler, same
    /// de-duplication. Unsaved text of open documents wins over the disk, so an include edited but not saved counts.
    /// </summary>
    internal sealed class PolicyWorkspace
    {
        private readonly Dictionary<string, OpenDocument> byUri = new Dictionary<string, OpenDocument>(StringComparer.Ordinal);

        public PolicyWorkspace(string root)
        {
            Context = new CliContext(TextWriter.Null, TextWriter.Null, root);
            Source = new OpenDocumentSource(this, new WorkingDirectorySource(Context));
        }

        /// <summary>The root relative paths mean, with output going nowhere: the server speaks only JSON-RPC.</summary>
        public CliContext Context { get; }

        public IPolicySource Source { get; }

        public IEnumerable<OpenDocument> Documents => byUri.Values;

        public OpenDocument? Find(string? uri) => uri is not null && byUri.TryGetValue(uri, out OpenDocument? document) ? document : null;

        /// <summary>Opens (or replaces) a document; null for a URI that is not a local file.</summary>
        public OpenDocument? Open(string? uri, string text)
        {
            string? path = LspText.PathOf(uri);
            if (uri is null || path is null)
            {
                return null;
            }

            var document = new OpenDocument(uri, path, PolicyPaths.Normalize(Context.Display(path)), text);
            byUri[uri] = document;
            return document;
        }

        public void Close(string? uri)
        {
            if (uri is not null)
            {
                byUri.Remove(uri);
            }
        }

        /// <summary>Compiles <paramref name="document"/> (and keeps the result for hover and definition) and returns its LSP diagnostics.</summary>
        public JsonArray Diagnose(OpenDocument document)
        {
            CompilationResult result = PolicyCompiler.Compile(document.Key, Source);
            document.Compiled = result;
            var printer = new DiagnosticPrinter(Context);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var diagnostics = new JsonArray();
            IReadOnlyList<IncludeStatement> includes = document.Syntax?.Statements.OfType<IncludeStatement>().ToArray() ?? Array.Empty<IncludeStatement>();
            foreach (Diagnostic diagnostic in result.Diagnostics)
            {
                // check prints each distinct line once; so does the editor.
                string line = printer.FormatDiagnostic(diagnostic);
                if (!seen.Add(line))
                {
                    continue;
                }

                bool own = PolicyPaths.Normalize(diagnostic.Span.Path) == document.Key;
                JsonObject item = own ? Convert(diagnostic, LspText.Range(diagnostic.Span), diagnostic.Message) : Summarize(document, diagnostic, line, includes);
                diagnostics.Add(item);
            }

            return diagnostics;
        }

        private static JsonObject Convert(Diagnostic diagnostic, JsonObject range, string message) => new JsonObject
        {
            ["range"] = range,
            ["severity"] = diagnostic.Severity switch
            {
                DiagnosticSeverity.Error => 1,
                DiagnosticSeverity.Warning => 2,
                _ => 3,
            },
            ["code"] = diagnostic.Id,
            ["source"] = "vfio-policy",
            ["message"] = message,
        };

        // A problem in an included file is shown on the include line that brings that file in (or the first include when
        // it comes in deeper), worded as check prints it, with a related location at the real place. Publishing to the
        // included file's own URI would fight with that file's own diagnostics when it is open too.
        private JsonObject Summarize(OpenDocument document, Diagnostic diagnostic, string line, IReadOnlyList<IncludeStatement> includes)
        {
            string target = PolicyPaths.Normalize(diagnostic.Span.Path);
            IncludeStatement? anchor = includes.FirstOrDefault(i => Source.Resolve(document.Key, i.Path.Value) == target) ?? includes.FirstOrDefault();
            JsonObject range = anchor is null ? LspText.Range(0, 0, 0, 0) : LspText.Range(anchor.Span);
            JsonObject item = Convert(diagnostic, range, line);
            item["relatedInformation"] = new JsonArray(new JsonObject
            {
                ["location"] = LspText.Location(LspText.UriOf(Context.Resolve(diagnostic.Span.Path)), LspText.Range(diagnostic.Span)),
                ["message"] = diagnostic.Message,
            });
            return item;
        }

        /// <summary>Files on disk under the open documents' unsaved text.</summary>
        private sealed class OpenDocumentSource : IPolicySource
        {
            private readonly PolicyWorkspace workspace;
            private readonly IPolicySource files;

            public OpenDocumentSource(PolicyWorkspace workspace, IPolicySource files)
            {
                this.workspace = workspace;
                this.files = files;
            }

            public bool TryRead(string path, out string text)
            {
                string key = PolicyPaths.Normalize(path);
                OpenDocument? open = workspace.byUri.Values.FirstOrDefault(d => d.Key == key);
                if (open is not null)
                {
                    text = open.Text;
                    return true;
                }

                return files.TryRead(path, out text);
            }

            public string Resolve(string includingFile, string includePath) => files.Resolve(includingFile, includePath);
        }
    }
}
