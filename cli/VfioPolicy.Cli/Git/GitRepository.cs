using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler.Sources;

namespace VfioPolicy.Cli.Git
{
    /// <summary>How a file changed between two revisions.</summary>
    /// <param name="OldPath">The path at the base revision, or null when the file was added.</param>
    /// <param name="NewPath">The path at the head (or work tree), or null when the file was removed.</param>
    public sealed record GitFileChange(string? OldPath, string? NewPath);

    /// <summary>
    /// A git repository read through the <c>git</c> executable, each call one process started with an argument
    /// list (never a shell, so no path or revision is ever interpreted as shell syntax). Paths are repository-relative
    /// with '/' separators, as git prints them.
    /// </summary>
    public sealed class GitRepository
    {
        private GitRepository(string root)
        {
            Root = root;
        }

        /// <summary>The repository's top-level folder.</summary>
        public string Root { get; }

        /// <summary>The repository containing <paramref name="folder"/>.</summary>
        /// <exception cref="CommandFailedException">git is missing, or the folder is not in a repository.</exception>
        public static GitRepository Open(string folder)
        {
            GitOutput output = Run(folder, "rev-parse", "--show-toplevel");
            if (output.ExitCode != 0)
            {
                throw new CommandFailedException("not in a git repository (" + FirstLine(output.Error) + ")");
            }

            return new GitRepository(Path.GetFullPath(output.Text.Trim()));
        }

        /// <summary>The full commit ID <paramref name="revision"/> names.</summary>
        /// <exception cref="CommandFailedException">The revision does not name a commit.</exception>
        public string ResolveCommit(string revision)
        {
            if (revision.Length == 0 || revision.StartsWith("-", StringComparison.Ordinal))
            {
                throw new CommandFailedException("not a git revision: '" + revision + "'");
            }

            GitOutput output = Run(Root, "rev-parse", "--verify", "--quiet", "--end-of-options", revision + "^{commit}");
            if (output.ExitCode != 0)
            {
                throw new CommandFailedException("unknown git revision '" + revision + "'");
            }

            return output.Text.Trim();
        }

        /// <summary>Reads <paramref name="path"/> at <paramref name="commit"/>; false when the revision has no such file.</summary>
        public bool TryReadFile(string commit, string path, out string text)
        {
            GitOutput output = Run(Root, "cat-file", "blob", commit + ":" + path);
            text = output.ExitCode == 0 ? output.Text : string.Empty;
            return output.ExitCode == 0;
        }

        /// <summary>Every <c>*.vfiopolicy</c> file at <paramref name="commit"/>, or in the work tree (tracked and untracked, not ignored) when it is null.</summary>
        public IReadOnlyList<string> ListPolicies(string? commit)
        {
            GitOutput output = commit == null
                ? Run(Root, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "*" + PolicyFiles.Extension)
                : Run(Root, "ls-tree", "-r", "-z", "--name-only", commit, "--", ".");
            Require(output, "list files");
            return Split(output.Text)
                .Where(p => p.EndsWith(PolicyFiles.Extension, StringComparison.Ordinal))
                .Where(p => commit != null || File.Exists(Path.Combine(Root, p)))
                .Distinct(StringComparer.Ordinal)
                .OrderBy(p => p, StringComparer.Ordinal)
                .ToList();
        }

        /// <summary>
        /// Files that differ between <paramref name="baseCommit"/> and <paramref name="headCommit"/> (the work tree when
        /// null, untracked files counted as added), renames paired.
        /// </summary>
        public IReadOnlyList<GitFileChange> ChangedFiles(string baseCommit, string? headCommit)
        {
            var arguments = new List<string> { "diff", "--name-status", "-z", "--find-renames", "--no-ext-diff", "--no-textconv", baseCommit };
            if (headCommit != null)
            {
                arguments.Add(headCommit);
            }

            arguments.Add("--");
            GitOutput output = Run(Root, arguments.ToArray());
            Require(output, "compare revisions");
            var changes = new List<GitFileChange>();
            List<string> fields = Split(output.Text).ToList();
            for (int i = 0; i < fields.Count; i++)
            {
                string status = fields[i];
                char kind = status.Length > 0 ? status[0] : ' ';
                if ((kind == 'R' || kind == 'C') && i + 2 < fields.Count)
                {
                    changes.Add(new GitFileChange(kind == 'R' ? fields[i + 1] : null, fields[i + 2]));
                    i += 2;
                }
                else if (i + 1 < fields.Count)
                {
                    string path = fields[i + 1];
                    changes.Add(kind == 'A' ? new GitFileChange(null, path) : kind == 'D' ? new GitFileChange(path, null) : new GitFileChange(path, path));
                    i += 1;
                }
            }

            if (headCommit == null)
            {
                GitOutput untracked = Run(Root, "ls-files", "-z", "--others", "--exclude-standard");
                Require(untracked, "list untracked files");
                changes.AddRange(Split(untracked.Text).Select(p => new GitFileChange(null, p)));
            }

            return changes;
        }

        /// <summary>A repository-relative path for <paramref name="path"/> given relative to <paramref name="folder"/> (or absolute); null when it lies outside the repository.</summary>
        public string? RelativePath(string folder, string path)
        {
            string full = Path.GetFullPath(Path.Combine(folder, path));
            string relative = Path.GetRelativePath(Root, full).Replace(Path.DirectorySeparatorChar, '/');
            return relative == ".." || relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative) ? null : PolicyPaths.Normalize(relative);
        }

        private static void Require(GitOutput output, string what)
        {
            if (output.ExitCode != 0)
            {
                throw new CommandFailedException("git could not " + what + ": " + FirstLine(output.Error));
            }
        }

        private static IEnumerable<string> Split(string zeroSeparated) => zeroSeparated.Split('\0').Where(s => s.Length > 0);

        private static string FirstLine(string text)
        {
            string trimmed = text.Trim();
            int newline = trimmed.IndexOf('\n');
            return newline < 0 ? trimmed : trimmed.Substring(0, newline);
        }

        private static GitOutput Run(string folder, params string[] arguments)
        {
            var start = new ProcessStartInfo("git")
            {
                WorkingDirectory = folder,
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                StandardOutputEncoding = new UTF8Encoding(false),
                StandardErrorEncoding = new UTF8Encoding(false),
            };
            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            // Output must not depend on the user's pager, language or prompts.
            start.Environment["GIT_PAGER"] = "cat";
            start.Environment["LC_ALL"] = "C";
            start.Environment["GIT_TERMINAL_PROMPT"] = "0";
            try
            {
                using Process process = Process.Start(start) ?? throw new CommandFailedException("could not start git");
                process.StandardInput.Close();
                var error = process.StandardError.ReadToEndAsync();
                string text = process.StandardOutput.ReadToEnd();
                process.WaitForExit();
                return new GitOutput(process.ExitCode, text, error.Result);
            }
            catch (Win32Exception exception)
            {
                throw new CommandFailedException("cannot run git (" + exception.Message + "); is it installed and on PATH?");
            }
        }

        private sealed record GitOutput(int ExitCode, string Text, string Error);
    }
}
