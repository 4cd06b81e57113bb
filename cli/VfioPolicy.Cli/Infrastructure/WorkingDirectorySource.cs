using System.IO;
using VfioPolicy.Compiler.Sources;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>
    /// Policy files read relative to the CLI's working directory rather than the process's, so the compiler can be
    /// handed paths as the user wrote them and every diagnostic, rule origin and message carries that short form.
    /// </summary>
    public sealed class WorkingDirectorySource : IPolicySource
    {
        private readonly FileSystemPolicySource files = new FileSystemPolicySource();
        private readonly string workingDirectory;

        /// <summary>Creates the source for <paramref name="context"/>'s working directory.</summary>
        public WorkingDirectorySource(CliContext context)
        {
            workingDirectory = context.WorkingDirectory;
        }

        /// <inheritdoc />
        public bool TryRead(string path, out string text) => files.TryRead(Path.Combine(workingDirectory, path), out text);

        /// <inheritdoc />
        public string Resolve(string includingFile, string includePath) => files.Resolve(includingFile, includePath);
    }
}
