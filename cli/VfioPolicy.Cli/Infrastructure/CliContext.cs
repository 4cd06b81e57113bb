using System;
using System.IO;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>
    /// Where a command writes and which folder its relative paths mean. Commands never touch <see cref="Console"/>
    /// or the process's current directory, so tests can run the whole CLI in-process.
    /// </summary>
    public sealed class CliContext
    {
        /// <summary>Creates a context; <paramref name="workingDirectory"/> is made absolute.</summary>
        public CliContext(TextWriter output, TextWriter error, string workingDirectory)
        {
            Output = output;
            Error = error;
            WorkingDirectory = Path.GetFullPath(workingDirectory);
        }

        /// <summary>Standard output: the command's results.</summary>
        public TextWriter Output { get; }

        /// <summary>Standard error: summaries, warnings and error messages.</summary>
        public TextWriter Error { get; }

        /// <summary>The folder relative paths on the command line are resolved against and printed relative to.</summary>
        public string WorkingDirectory { get; }

        /// <summary>
        /// Where live PCI functions are read when <c>--device</c> names an address: <c>/sys/bus/pci/devices</c>, or the
        /// folder <c>VFIOPOLICY_SYSFS_PCI_DEVICES</c> names (tests point it at a tree of their own).
        /// </summary>
        public string SysfsPciDevices { get; } = Environment.GetEnvironmentVariable("VFIOPOLICY_SYSFS_PCI_DEVICES") is { Length: > 0 } root ? root : "/sys/bus/pci/devices";

        /// <summary>The absolute form of a path the user gave.</summary>
        public string Resolve(string path) => Path.GetFullPath(Path.Combine(WorkingDirectory, path));

        /// <summary>
        /// A path for printing: relative to the working directory when it lies below it, else absolute; always with
        /// '/' separators so output is the same on every platform. Non-file paths such as <c>&lt;chain&gt;</c> pass unchanged.
        /// </summary>
        public string Display(string path)
        {
            if (path.Length == 0 || path.StartsWith("<", StringComparison.Ordinal))
            {
                return path;
            }

            string full = Resolve(path);
            string relative = Path.GetRelativePath(WorkingDirectory, full);
            string shown = relative == ".." || relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) || Path.IsPathRooted(relative) ? full : relative;
            return shown.Replace(Path.DirectorySeparatorChar, '/');
        }
    }
}
