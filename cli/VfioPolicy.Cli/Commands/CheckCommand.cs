using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>check PATH...</c>: compiles every policy file (folders recursively) and prints its diagnostics, one per
    /// line on standard output, then a summary on standard error. Files without a <c>policy</c> line are checked as
    /// fragments. Exit 0 when there is no error (warnings allowed), 1 otherwise.
    /// </summary>
    public static class CheckCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var paths = new Argument<string[]>("PATH")
            {
                Description = "Policy files, or folders searched recursively for *.vfiopolicy",
                Arity = ArgumentArity.OneOrMore,
            };
            var command = new Command("check", "Compile policy files and report their diagnostics")
            {
                paths,
            };
            command.SetAction(parseResult => Run(context, parseResult.GetValue(paths)!));
            return command;
        }

        private static int Run(CliContext context, IEnumerable<string> paths)
        {
            IReadOnlyList<string> files = PolicyFiles.Expand(context, paths);
            var printer = new DiagnosticPrinter(context);
            var source = new WorkingDirectorySource(context);
            foreach (string file in files)
            {
                CompilationResult result = PolicyCompiler.Compile(context.Display(file), source);
                printer.Print(result.Diagnostics, context.Output);
            }

            context.Error.WriteLine(string.Format(CultureInfo.InvariantCulture, "checked {0} file(s): {1}", files.Count, printer.Summary()));
            return printer.Errors > 0 ? ExitCodes.Findings : ExitCodes.Success;
        }
    }
}
