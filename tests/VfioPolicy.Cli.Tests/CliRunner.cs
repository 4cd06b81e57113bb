using System.IO;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>What one in-process run of <c>vfio-policy</c> produced.</summary>
    public sealed record CliRun(int ExitCode, string Stdout, string Stderr)
    {
        /// <summary>The whole run as one text for snapshots.</summary>
        public string Transcript => "exit " + ExitCode + "\n--- stdout\n" + Stdout + "--- stderr\n" + Stderr;

        /// <summary>Asserts a bad-input failure: exit 2, nothing on stdout, one "error:" line and no stack trace on stderr.</summary>
        public void AssertOneLineError(string expectedFragment)
        {
            Assert.Equal(2, ExitCode);
            Assert.Equal(string.Empty, Stdout);
            string[] lines = Stderr.TrimEnd('\n').Split('\n');
            Assert.Single(lines);
            Assert.StartsWith("error: ", lines[0]);
            Assert.Contains(expectedFragment, lines[0]);
            Assert.DoesNotContain("   at ", Stderr);
        }
    }

    /// <summary>Runs the CLI in-process with the repository root as working directory, so printed paths are repository-relative.</summary>
    public static class CliRunner
    {
        public static CliRun Run(params string[] args) => RunIn(RepositoryPaths.Root, args);

        public static CliRun RunIn(string workingDirectory, params string[] args)
        {
            var stdout = new StringWriter { NewLine = "\n" };
            var stderr = new StringWriter { NewLine = "\n" };
            int exit = Cli.Run(args, stdout, stderr, workingDirectory);
            return new CliRun(exit, stdout.ToString(), stderr.ToString());
        }
    }
}
