using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Emit;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>emit --policy P [--root DIR]</c>: prints the C# the source generator produces for one policy file, to
    /// standard output. The generator shows paths relative to the project folder holding the policies, so
    /// <c>emit</c> does the same: the root is <c>--root</c>, else the nearest folder above the policy with a
    /// <c>*.csproj</c>, else the policy's own folder. Class names are decided among every policy under the root,
    /// as the generator decides them among its AdditionalFiles. Policy errors: diagnostics on standard error, exit 2.
    /// </summary>
    public static class EmitCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> policy = CommonOptions.Policy();
            var root = new Option<string?>("--root") { Description = "The folder generated paths are relative to (default: the nearest folder with a *.csproj)" };
            var command = new Command("emit", "Print the C# handler the source generator builds for a policy")
            {
                policy,
                root,
            };
            command.SetAction(parseResult => Run(context, parseResult.GetValue(policy)!, parseResult.GetValue(root)));
            return command;
        }

        private static int Run(CliContext context, string policyPath, string? rootOption)
        {
            string full = InputFiles.RequireFile(context, policyPath, "policy file");
            string root = rootOption != null ? context.Resolve(rootOption) : FindRoot(full);
            if (!Directory.Exists(root))
            {
                throw new CommandFailedException("root folder not found: " + context.Display(root));
            }

            string relative = Path.GetRelativePath(root, full).Replace(Path.DirectorySeparatorChar, '/');
            if (relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative))
            {
                throw new CommandFailedException("policy " + context.Display(full) + " does not lie below the root " + context.Display(root));
            }

            var source = new RootedSource(root);
            CompilationResult result = PolicyCompiler.Compile(relative, source);
            var printer = new DiagnosticPrinter(context);
            printer.Print(result.Diagnostics.Select(d => d with { Span = d.Span with { Path = Path.Combine(root, d.Span.Path) } }).ToList(), context.Error);
            if (result.HasErrors)
            {
                throw new CommandFailedException(string.Format(CultureInfo.InvariantCulture, "policy {0} has {1} error(s)", context.Display(full), printer.Errors));
            }

            if (result.Model == null)
            {
                throw new CommandFailedException("policy " + context.Display(full) + " is a fragment (it has no policy line): only complete policies are generated");
            }

            string className = HandlerEmitter.ClassNames(LibraryPolicies(root, source, relative, result.Model))[relative];
            context.Output.Write(HandlerEmitter.Emit(result.Model, relative, className));
            return ExitCodes.Success;
        }

        /// <summary>Every complete, error-free policy under <paramref name="root"/> (path → name), as the generator would see them.</summary>
        private static IEnumerable<KeyValuePair<string, string>> LibraryPolicies(string root, IPolicySource source, string emitted, PolicyModel model)
        {
            yield return new KeyValuePair<string, string>(emitted, model.Name);
            var files = Directory.EnumerateFiles(root, "*.vfiopolicy", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/'))
                .Where(f => f != emitted && !f.StartsWith("bin/", StringComparison.Ordinal) && !f.StartsWith("obj/", StringComparison.Ordinal))
                .OrderBy(f => f, StringComparer.Ordinal);
            foreach (string file in files)
            {
                CompilationResult other = PolicyCompiler.Compile(file, source);
                if (other.IsComplete && other.Model != null)
                {
                    yield return new KeyValuePair<string, string>(file, other.Model.Name);
                }
            }
        }

        private static string FindRoot(string policyFile)
        {
            string folder = Path.GetDirectoryName(policyFile)!;
            for (string? candidate = folder; candidate != null; candidate = Path.GetDirectoryName(candidate))
            {
                if (Directory.EnumerateFiles(candidate, "*.csproj").Any())
                {
                    return candidate;
                }
            }

            return folder;
        }

        /// <summary>Policy files read below one folder, under paths relative to it (the generator's view).</summary>
        private sealed class RootedSource : IPolicySource
        {
            private readonly FileSystemPolicySource _files = new FileSystemPolicySource();
            private readonly string _root;

            public RootedSource(string root) => _root = root;

            public bool TryRead(string path, out string text) => _files.TryRead(Path.Combine(_root, path), out text);

            public string Resolve(string includingFile, string includePath) => _files.Resolve(includingFile, includePath);
        }
    }
}
