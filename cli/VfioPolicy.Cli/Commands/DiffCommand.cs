using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Git;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Rendering;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Diff;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>diff OLD NEW</c> (each a path or <c>REV:path</c>) and <c>diff --git BASE [HEAD]</c>: the semantic difference
    /// of policies, every change classified widening, narrowing or neutral (docs/reviewing-policies.md). Exit 0 no
    /// semantic change, 1 changes, 2 errors, 3 a widening change under <c>--fail-on widening</c>.
    /// </summary>
    public static class DiffCommand
    {
        /// <summary>Exit code when <c>--fail-on widening</c> is given and some change widens.</summary>
        public const int WideningExitCode = 3;

        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var sides = new Argument<string[]>("OLD NEW")
            {
                Description = "Two policies, each a file path or REV:path read from git; with --git, BASE and optionally HEAD revisions",
                Arity = new ArgumentArity(1, 7),
            };
            var external = new Option<bool>("--git-external-diff") { Description = "Run as git's external diff driver: PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE; includes resolve in the work tree; exit 0 unless an error" };
            var git = new Option<bool>("--git") { Description = "Compare every policy that changed between revisions BASE and HEAD (the work tree when HEAD is omitted)" };
            var format = new Option<string>("--format", "-f")
            {
                Description = "Output format: text, markdown, json, or html (a self-contained page: old and new byte grids of the --device side by side, changed bytes outlined, the entries below)",
                DefaultValueFactory = _ => "text",
                HelpName = "text|markdown|json|html",
            };
            format.AcceptOnlyFromAmong("text", "markdown", "json", "html");
            var color = new Option<string>("--color") { Description = "Colour text output (auto: only on a terminal, and not when NO_COLOR is set)", DefaultValueFactory = _ => "auto", HelpName = "auto|always|never" };
            color.AcceptOnlyFromAmong("auto", "always", "never");
            var failOn = new Option<string?>("--fail-on") { Description = "Exit 3 when some change widens the consumer's reach", HelpName = "widening" };
            failOn.AcceptOnlyFromAmong("widening");
            Option<string?> device = new Option<string?>("--device", "-d") { Description = "Also compare both policies bound to this device dump, at absolute offsets", HelpName = "DUMP" };
            Option<string?> slot = CommonOptions.Slot();
            var command = new Command("diff", "Show the semantic difference between two versions of a policy, classified for review")
            {
                sides,
                git,
                external,
                format,
                color,
                failOn,
                device,
                slot,
            };
            command.SetAction(parseResult =>
            {
                var options = new DiffOptions(
                    parseResult.GetValue(format)!,
                    UseColor(context, parseResult.GetValue(color)!),
                    parseResult.GetValue(failOn) == "widening",
                    parseResult.GetValue(device),
                    parseResult.GetValue(slot));
                string[] arguments = parseResult.GetValue(sides)!;
                if (options.Slot != null && options.Device == null)
                {
                    throw new CommandFailedException("--slot needs --device");
                }

                // The page is a picture of bytes, so it needs the bytes: a policy alone has no offsets for its capabilities.
                if (options.Format == "html" && options.Device == null)
                {
                    throw new CommandFailedException("--format html draws both policies on a device: give --device DUMP (e.g. policies/dumps/qemu-edu.lspci-xxx.txt)");
                }

                if (parseResult.GetValue(external))
                {
                    if (options.Format == "html")
                    {
                        throw new CommandFailedException("--format html is not for --git-external-diff (git shows a driver's output as text); run vfio-policy diff --git BASE --device DUMP --format html");
                    }

                    return RunExternal(context, arguments, options);
                }

                if (parseResult.GetValue(git))
                {
                    return RunGit(context, arguments[0], arguments.Length > 1 ? arguments[1] : null, options);
                }

                if (arguments.Length != 2)
                {
                    throw new CommandFailedException("diff needs two policies, OLD and NEW (or --git BASE [HEAD])");
                }

                return RunPair(context, arguments[0], arguments[1], options);
            });
            return command;
        }

        private static int RunPair(CliContext context, string oldArgument, string newArgument, DiffOptions options)
        {
            var errors = new ErrorLog(context);
            PolicySide oldSide = Open(context, oldArgument);
            PolicySide newSide = Open(context, newArgument);
            PolicyModel? before = Compile(oldSide, errors);
            PolicyModel? after = Compile(newSide, errors);
            if (before == null || after == null)
            {
                throw new CommandFailedException(string.Empty);
            }

            PolicyDiff diff = PolicyDiffer.Compare(before, after, oldSide.Label, newSide.Label);
            LoadedDevice? loaded = options.Device == null ? null : DeviceLoader.Load(context, options.Device, options.Slot);
            return Report(context, new[] { WithDevice(context, diff, before, after, loaded) }, options, errors, loaded);
        }

        // git runs the driver with PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE, from the repository's top;
        // the files are temporary copies (or /dev/null), so both are compiled as PATH with includes from the work tree.
        private static int RunExternal(CliContext context, string[] arguments, DiffOptions options)
        {
            if (arguments.Length != 7)
            {
                throw new CommandFailedException("--git-external-diff needs the 7 arguments git passes (PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE)");
            }

            string path = arguments[0];
            var errors = new ErrorLog(context);
            string text = IsAbsent(arguments[4]) ? (IsAbsent(arguments[1]) ? string.Empty : InputFiles.ReadText(context, arguments[1], "policy file")) : InputFiles.ReadText(context, arguments[4], "policy file");
            if (PolicyCompiler.CompileText(path, text, new WorkingDirectorySource(context)).IsFragment)
            {
                // A fragment has no meaning of its own; failing here would stop the whole `git diff`.
                context.Output.WriteLine(path + ": a fragment (no 'policy' line); its changes show in the policies that include it: vfio-policy diff --git HEAD");
                return ExitCodes.Success;
            }

            PolicyModel? before = CompileAs(context, path, arguments[1], "a/" + path, errors);
            PolicyModel? after = CompileAs(context, path, arguments[4], "b/" + path, errors);
            var diffs = new List<BoundDiff>();
            if (before != null && after != null)
            {
                diffs.Add(new BoundDiff(PolicyDiffer.Compare(before, after, "a/" + path, "b/" + path), null, null));
            }
            else if (after != null && IsAbsent(arguments[1]))
            {
                diffs.Add(new BoundDiff(PolicyDiffer.Added(after, "b/" + path), null, null));
            }
            else if (before != null && IsAbsent(arguments[4]))
            {
                diffs.Add(new BoundDiff(PolicyDiffer.Removed(before, "a/" + path), null, null));
            }

            int exit = Report(context, diffs, options with { FailOnWidening = false }, errors, loaded: null);

            // git stops at a driver that exits non-zero, so only errors do.
            return exit == ExitCodes.BadInput ? exit : ExitCodes.Success;
        }

        private static bool IsAbsent(string file) => file == "/dev/null" || file == "nul";

        private static PolicyModel? CompileAs(CliContext context, string path, string file, string label, ErrorLog errors)
        {
            if (IsAbsent(file))
            {
                return null;
            }

            string text = InputFiles.ReadText(context, file, "policy file");
            CompilationResult result = PolicyCompiler.CompileText(path, text, new WorkingDirectorySource(context));
            return Checked(result, label, null, errors);
        }

        private static int RunGit(CliContext context, string baseRevision, string? headRevision, DiffOptions options)
        {
            GitRepository repository = GitRepository.Open(context.WorkingDirectory);
            string baseCommit = repository.ResolveCommit(baseRevision);
            string? headCommit = headRevision == null ? null : repository.ResolveCommit(headRevision);
            LoadedDevice? loaded = options.Device == null ? null : DeviceLoader.Load(context, options.Device, options.Slot);
            IReadOnlyList<GitFileChange> changed = repository.ChangedFiles(baseCommit, headCommit);
            var changedPaths = new HashSet<string>(changed.SelectMany(c => new[] { c.OldPath, c.NewPath }).Where(p => p != null).Select(p => p!), StringComparer.Ordinal);
            var renamedFrom = changed.Where(c => c.OldPath != null && c.NewPath != null && c.OldPath != c.NewPath).ToDictionary(c => c.NewPath!, c => c.OldPath!, StringComparer.Ordinal);
            var renamedAway = new HashSet<string>(renamedFrom.Values, StringComparer.Ordinal);

            var baseFiles = new HashSet<string>(repository.ListPolicies(baseCommit), StringComparer.Ordinal);
            var headFiles = new HashSet<string>(repository.ListPolicies(headCommit), StringComparer.Ordinal);
            var baseSource = new GitPolicySource(repository, baseCommit);
            var headSource = new GitPolicySource(repository, headCommit);
            string baseLabel = baseRevision;
            string headLabel = headRevision ?? "work tree";
            var errors = new ErrorLog(context);
            var diffs = new List<BoundDiff>();
            foreach (string path in headFiles.Union(baseFiles.Where(p => !renamedAway.Contains(p))).OrderBy(p => p, StringComparer.Ordinal))
            {
                string oldPath = renamedFrom.TryGetValue(path, out string? from) ? from : path;
                CompilationResult? oldResult = baseFiles.Contains(oldPath) ? PolicyCompiler.Compile(oldPath, baseSource) : null;
                CompilationResult? newResult = headFiles.Contains(path) ? PolicyCompiler.Compile(path, headSource) : null;
                bool touched = Touches(oldResult, changedPaths) || Touches(newResult, changedPaths);
                bool complete = (oldResult?.IsComplete ?? false) || (newResult?.IsComplete ?? false);
                if (!touched || !complete)
                {
                    // Fragments are diffed through the policies that include them; untouched policies did not change.
                    continue;
                }

                string oldLabel = baseLabel + ":" + oldPath;
                string newLabel = headRevision == null ? path : headLabel + ":" + path;
                PolicyModel? before = oldResult == null ? null : Checked(oldResult, oldLabel, baseLabel, errors);
                PolicyModel? after = newResult == null ? null : Checked(newResult, newLabel, headRevision, errors);
                if ((oldResult != null && before == null) || (newResult != null && after == null))
                {
                    continue;
                }

                if (before != null && after != null)
                {
                    diffs.Add(WithDevice(context, PolicyDiffer.Compare(before, after, oldLabel, newLabel), before, after, loaded));
                }
                else if (after != null)
                {
                    diffs.Add(new BoundDiff(PolicyDiffer.Added(after, newLabel), null, null));
                }
                else if (before != null)
                {
                    diffs.Add(new BoundDiff(PolicyDiffer.Removed(before, oldLabel), null, null));
                }
            }

            context.Error.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "compared {0} between {1} and {2}",
                DiffSummary.Plural(diffs.Count, "policy"),
                baseLabel,
                headLabel));
            return Report(context, diffs, options, errors, loaded);
        }

        private static bool Touches(CompilationResult? result, HashSet<string> changedPaths)
            => result != null && result.Files.Any(changedPaths.Contains);

        // Both bindings are kept with the diff: the html page draws them.
        private static BoundDiff WithDevice(CliContext context, PolicyDiff diff, PolicyModel before, PolicyModel after, LoadedDevice? loaded)
        {
            if (loaded == null)
            {
                return new BoundDiff(diff, null, null);
            }

            BoundConfigSpace oldBound = PolicyLoader.Bind(context, before, loaded);
            BoundConfigSpace newBound = PolicyLoader.Bind(context, after, loaded);
            return new BoundDiff(diff with { Device = DeviceDiffer.Compare(oldBound, newBound, loaded.Title) }, oldBound, newBound);
        }

        private static int Report(CliContext context, IReadOnlyList<BoundDiff> bound, DiffOptions options, ErrorLog errors, LoadedDevice? loaded)
        {
            IReadOnlyList<PolicyDiff> diffs = bound.Select(b => b.Diff).ToList();
            string output = options.Format switch
            {
                "markdown" => DiffMarkdownRenderer.Render(diffs),
                "json" => DiffJsonRenderer.Render(diffs),
                "html" when loaded != null => HtmlDiffRenderer.Render(bound, loaded, context),
                _ => DiffTextRenderer.Render(diffs, options.Color),
            };
            context.Output.Write(output);
            if (errors.Count > 0)
            {
                context.Error.WriteLine("error: " + DiffSummary.Plural(errors.Count, "policy") + " could not be compiled");
                return ExitCodes.BadInput;
            }

            if (options.FailOnWidening && diffs.Any(d => d.HasWidening))
            {
                return WideningExitCode;
            }

            return diffs.Any(d => d.HasChanges) ? ExitCodes.Findings : ExitCodes.Success;
        }

        // A path that exists is a file; otherwise REV:path names a file in git. A drive letter (C:\…) is a path.
        private static PolicySide Open(CliContext context, string argument)
        {
            string full = context.Resolve(argument);
            int colon = argument.IndexOf(':');
            bool looksLikeRevision = colon > 0 && !(colon == 1 && char.IsLetter(argument[0]) && argument.Length > 2 && (argument[2] == '\\' || argument[2] == '/'));
            if (File.Exists(full) || !looksLikeRevision)
            {
                string file = InputFiles.RequireFile(context, argument, "policy file");
                string shown = context.Display(file);
                return new PolicySide(shown, shown, new WorkingDirectorySource(context), null);
            }

            string revision = argument.Substring(0, colon);
            string path = argument.Substring(colon + 1);
            GitRepository repository = GitRepository.Open(context.WorkingDirectory);
            string commit = repository.ResolveCommit(revision);

            // As in git: "REV:path" is relative to the repository's top, "REV:./path" to the current folder.
            string? inRepository = path.StartsWith("./", StringComparison.Ordinal) || path.StartsWith("../", StringComparison.Ordinal)
                ? repository.RelativePath(context.WorkingDirectory, path)
                : repository.RelativePath(repository.Root, path);
            if (inRepository == null)
            {
                throw new CommandFailedException(argument + " lies outside the repository " + repository.Root);
            }

            var source = new GitPolicySource(repository, commit);
            if (!source.TryRead(inRepository, out _))
            {
                throw new CommandFailedException("no file " + inRepository + " at revision " + revision);
            }

            return new PolicySide(revision + ":" + inRepository, inRepository, source, revision);
        }

        private static PolicyModel? Compile(PolicySide side, ErrorLog errors)
            => Checked(PolicyCompiler.Compile(side.CompilePath, side.Source), side.Label, side.Revision, errors);

        private static PolicyModel? Checked(CompilationResult result, string label, string? revision, ErrorLog errors)
        {
            if (result.Model != null && !result.HasErrors)
            {
                return result.Model;
            }

            errors.Add(label, result, revision);
            return null;
        }

        private static bool UseColor(CliContext context, string choice) => choice switch
        {
            "always" => true,
            "never" => false,
            _ => string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"))
                 && ReferenceEquals(context.Output, Console.Out)
                 && !Console.IsOutputRedirected,
        };

        private sealed record DiffOptions(string Format, bool Color, bool FailOnWidening, string? Device, string? Slot);

        /// <summary>One side of a pair: its label, the path the compiler reads, where from, and the revision (null for the disk).</summary>
        private sealed record PolicySide(string Label, string CompilePath, IPolicySource Source, string? Revision);

        /// <summary>Policies that did not compile: their diagnostics go to standard error, each policy once.</summary>
        private sealed class ErrorLog
        {
            private readonly CliContext _context;
            private readonly DiagnosticPrinter _printer;

            public ErrorLog(CliContext context)
            {
                _context = context;
                _printer = new DiagnosticPrinter(context);
            }

            public int Count { get; private set; }

            public void Add(string label, CompilationResult result, string? revision)
            {
                Count++;
                IEnumerable<Diagnostic> diagnostics = result.Diagnostics.Where(d => d.IsError || revision == null);
                if (revision == null)
                {
                    _printer.Print(diagnostics, _context.Error);
                }
                else
                {
                    // Files read from git are named REV:path, so the location says which version is broken.
                    foreach (Diagnostic diagnostic in diagnostics)
                    {
                        _context.Error.WriteLine(revision + ":" + diagnostic);
                    }
                }

                string reason = result.HasErrors ? " has errors" : result.IsFragment ? " is a fragment (no 'policy' line), not a complete policy" : " has no model";
                _context.Error.WriteLine("error: " + label + reason);
            }
        }
    }
}
