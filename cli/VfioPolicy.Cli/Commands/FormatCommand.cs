using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>fmt [--check] [--diff] PATH...</c>: rewrites policy files in the canonical layout. A file with syntax errors
    /// is reported with its diagnostics and never rewritten (exit 1); <c>--check</c> writes nothing and lists the files
    /// that would change (exit 1 if any); <c>--diff</c> also prints, per file, the unified diff of the change.
    /// </summary>
    public static class FormatCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var paths = new Argument<string[]>("PATH")
            {
                Description = "Policy files, or folders searched recursively for *.vfiopolicy",
                Arity = ArgumentArity.OneOrMore,
            };
            var check = new Option<bool>("--check")
            {
                Description = "Write nothing; list the files that are not canonically formatted and exit 1 if any",
            };
            var diff = new Option<bool>("--diff")
            {
                Description = "Print the unified diff of each file that changes (or would change, with --check)",
            };
            var command = new Command("fmt", "Format policy files canonically")
            {
                paths,
                check,
                diff,
            };
            command.SetAction(parseResult => Run(context, parseResult.GetValue(paths)!, parseResult.GetValue(check), parseResult.GetValue(diff)));
            return command;
        }

        private static int Run(CliContext context, IEnumerable<string> paths, bool checkOnly, bool showDiff)
        {
            IReadOnlyList<string> files = PolicyFiles.Expand(context, paths);
            var printer = new DiagnosticPrinter(context);
            int changed = 0;
            int unparsable = 0;
            foreach (string file in files)
            {
                string display = context.Display(file);
                string text = File.ReadAllText(file);
                string? formatted = Format(file, text, out IReadOnlyList<Diagnostic> syntaxErrors);
                if (formatted == null)
                {
                    printer.Print(syntaxErrors, context.Output);
                    unparsable++;
                    continue;
                }

                if (string.Equals(formatted, text, StringComparison.Ordinal))
                {
                    continue;
                }

                changed++;
                if (showDiff)
                {
                    // a/ and b/ prefixes as git prints them, so the output applies with patch -p1 or git apply.
                    // Both end in a newline (the formatter always writes one): diff the lines, not an empty last one.
                    string unified = new DiffPlex.Renderer.UnidiffRenderer(null, 3).Generate(text.TrimEnd('\n'), formatted.TrimEnd('\n'), "a/" + display, "b/" + display, false, false);
                    context.Output.Write(unified.EndsWith('\n') ? unified : unified + "\n");
                }

                if (checkOnly)
                {
                    context.Output.WriteLine("would reformat " + display);
                }
                else
                {
                    WriteAtomically(file, formatted);
                    context.Output.WriteLine("formatted " + display);
                }
            }

            context.Error.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "{0} file(s): {1} {2}, {3} with syntax errors",
                files.Count,
                changed,
                checkOnly ? "would be reformatted" : "reformatted",
                unparsable));
            return unparsable > 0 || (checkOnly && changed > 0) ? ExitCodes.Findings : ExitCodes.Success;
        }

        /// <summary>
        /// The formatted text of <paramref name="text"/>, or null (with the parser's diagnostics) when it does not parse:
        /// a file with syntax errors is never rewritten. The language server's formatting goes through here too.
        /// </summary>
        internal static string? Format(string path, string text, out IReadOnlyList<Diagnostic> diagnostics)
        {
            VfioPolicy.Grammar.Parsing.ParseResult parsed = PolicyParser.Parse(new SourceFile(path, text));
            diagnostics = parsed.Diagnostics;
            return parsed.File == null || parsed.Diagnostics.Any(d => d.IsError) ? null : PolicyFormatter.Format(parsed.File);
        }

        // A crash or a full disk mid-write must never leave half a policy behind: write beside it, then rename over it.
        private static void WriteAtomically(string path, string text)
        {
            string temporary = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".fmt-" + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                File.WriteAllText(temporary, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                File.Move(temporary, path, overwrite: true);
            }
            finally
            {
                if (File.Exists(temporary))
                {
                    File.Delete(temporary);
                }
            }
        }
    }
}
