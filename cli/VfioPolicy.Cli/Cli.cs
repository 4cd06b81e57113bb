using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Cli.Commands;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Simulation;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Cli
{
    /// <summary>
    /// The <c>vfio-policy</c> command line. <see cref="Run(string[], TextWriter, TextWriter, string)"/> is the whole
    /// tool: <c>Main</c> only passes the console to it, and tests call it in-process.
    /// </summary>
    public static class Cli
    {
        /// <summary>Runs the tool in the process's current directory.</summary>
        /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
        public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
            => Run(args, stdout, stderr, Directory.GetCurrentDirectory());

        /// <summary>Runs the tool with <paramref name="workingDirectory"/> as the folder relative paths mean.</summary>
        /// <returns>The exit code (see <see cref="ExitCodes"/>).</returns>
        public static int Run(string[] args, TextWriter stdout, TextWriter stderr, string workingDirectory)
        {
            var context = new CliContext(stdout, stderr, workingDirectory);
            try
            {
                RootCommand root = CreateRootCommand(context);
                ParseResult parsed = root.Parse(args);
                if (parsed.Errors.Count > 0 && !IsHelpRequest(parsed))
                {
                    // One line, no help dump: scripts grep stderr, people re-run with --help.
                    string? mistyped = parsed.UnmatchedTokens.FirstOrDefault(t => t.Length > 1 && t[0] == '-');
                    stderr.WriteLine("error: " + string.Join("; ", parsed.Errors.Select(e => OneLine(e.Message)))
                        + (mistyped is null ? string.Empty : OptionHint(parsed, mistyped)) + " (see '" + Verb(parsed, root) + " --help')");
                    return ExitCodes.BadInput;
                }

                // A verb's path arguments would take "--bogus" as a path: an unknown option is a usage error instead.
                string? unknown = parsed.CommandResult.Children.OfType<System.CommandLine.Parsing.ArgumentResult>()
                    .SelectMany(a => a.Tokens).Select(t => t.Value).FirstOrDefault(v => v.Length > 1 && v[0] == '-' && !File.Exists(Path.Combine(workingDirectory, v)));
                if (unknown is not null && !IsHelpRequest(parsed))
                {
                    stderr.WriteLine("error: unknown option '" + unknown + "'" + OptionHint(parsed, unknown)
                        + " (see '" + Verb(parsed, root) + " --help'; a path that starts with '-' is written ./" + unknown + ")");
                    return ExitCodes.BadInput;
                }

                var invocation = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
                return parsed.Invoke(invocation);
            }
            catch (Exception exception)
            {
                return Report(exception, context);
            }
        }

        /// <summary>Builds the command tree; each verb lives in its own file under Commands/.</summary>
        public static RootCommand CreateRootCommand(CliContext context)
        {
            var root = new RootCommand("vfio-policy: check, format, map and simulate VfioPolicy config-space policies.");
            root.Subcommands.Add(CheckCommand.Create(context));
            root.Subcommands.Add(FormatCommand.Create(context));
            root.Subcommands.Add(CapsCommand.Create(context));
            root.Subcommands.Add(MapCommand.Create(context));
            root.Subcommands.Add(SimulateCommand.Create(context));
            root.Subcommands.Add(DemoCommand.Create(context));
            root.Subcommands.Add(DiffCommand.Create(context));
            root.Subcommands.Add(ExplainCommand.Create(context));
            root.Subcommands.Add(InitCommand.Create(context));
            root.Subcommands.Add(EmitCommand.Create(context));
            root.Subcommands.Add(AttachCommand.Create(context));
            root.Subcommands.Add(ServeCommand.Create(context));
            root.Subcommands.Add(LspCommand.Create(context));
            root.SetAction(parseResult =>
            {
                context.Error.WriteLine("error: no command given; try 'vfio-policy demo' or 'vfio-policy --help'");
                return ExitCodes.BadInput;
            });
            return root;
        }

        // A near miss of one of the verb's options ('--polcy') gets the option it probably is.
        private static string OptionHint(ParseResult parsed, string token)
        {
            IEnumerable<string> options = parsed.CommandResult.Command.Options.SelectMany(o => new[] { o.Name }.Concat(o.Aliases)).Where(o => o.StartsWith("--", StringComparison.Ordinal));
            string? meant = NameSuggestions.Closest(token.TrimStart('-'), options.Select(o => o.Substring(2)));
            return meant is null ? string.Empty : "; did you mean '--" + meant + "'?";
        }

        private static string Verb(ParseResult parsed, RootCommand root) =>
            parsed.CommandResult.Command == root ? "vfio-policy" : "vfio-policy " + parsed.CommandResult.Command.Name;

        // System.CommandLine lists alternatives on lines of their own; keep the message on one line.
        private static string OneLine(string message)
        {
            string[] lines = message.Replace("\r\n", "\n").Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
            return lines.Length <= 1 ? string.Concat(lines) : lines[0] + " " + string.Join(", ", lines.Skip(1));
        }

        private static bool IsHelpRequest(ParseResult parsed)
            => parsed.Action is System.CommandLine.Help.HelpAction;

        // The one place exceptions become messages. Known input problems get their message and exit 2; anything
        // else is a bug in the tool, reported as such (exit 70) but still without a stack trace.
        private static int Report(Exception exception, CliContext context)
        {
            TextWriter stderr = context.Error;
            switch (exception)
            {
                case CommandFailedException failed:
                    if (failed.Message.Length > 0)
                    {
                        stderr.WriteLine("error: " + failed.Message);
                    }

                    return failed.ExitCode;
                case ScriptException script:
                    stderr.WriteLine("error: " + script.Message);
                    return ExitCodes.BadInput;
                case DeviceDumpException dump:
                    string where = context.Display(dump.SourceName) + (dump.Line is int line ? ":" + line.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
                    stderr.WriteLine("error: " + where + ": " + dump.Problem);
                    return ExitCodes.BadInput;
                case FileNotFoundException missing:
                    stderr.WriteLine("error: file not found: " + (missing.FileName ?? missing.Message));
                    return ExitCodes.BadInput;
                case DirectoryNotFoundException missingFolder:
                    stderr.WriteLine("error: " + missingFolder.Message);
                    return ExitCodes.BadInput;
                case UnauthorizedAccessException denied:
                    stderr.WriteLine("error: " + denied.Message);
                    return ExitCodes.BadInput;
                case IOException io:
                    stderr.WriteLine("error: " + io.Message);
                    return ExitCodes.BadInput;
                default:
                    stderr.WriteLine("internal error: " + exception.GetType().Name + ": " + exception.Message);
                    return ExitCodes.InternalError;
            }
        }
    }
}
