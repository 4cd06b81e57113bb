using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;

namespace VfioPolicy.Packaging.Tests
{
    /// <summary>The output of one <c>dotnet</c> command.</summary>
    public sealed record CommandResult(string CommandLine, int ExitCode, string Output)
    {
        /// <summary>The command and everything it printed, for assertion messages.</summary>
        public string Transcript => "$ " + CommandLine + " (exit " + ExitCode + ")\n" + Output;
    }

    /// <summary>
    /// Runs the <c>dotnet</c> CLI as a child process, isolated from the test host's own build: no MSBuild variables of
    /// the `dotnet test` that started us, no build servers left behind (they would outlive the test and keep the
    /// output pipes open), and an optional private NuGet package folder.
    /// </summary>
    public static class DotnetCli
    {
        private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

        /// <summary>The arguments that keep MSBuild and the compiler from leaving server processes behind.</summary>
        public static readonly string[] NoBuildServers = { "-nodeReuse:false", "-p:UseSharedCompilation=false" };

        /// <summary>Runs <c>dotnet</c> with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
        /// <param name="workingDirectory">The folder the command runs in.</param>
        /// <param name="nugetPackages">The NuGet global packages folder to use, or null for the machine's.</param>
        /// <param name="arguments">The command line after <c>dotnet</c>.</param>
        public static CommandResult Run(string workingDirectory, string? nugetPackages, params string[] arguments)
            => RunProgram(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet", workingDirectory, nugetPackages, arguments);

        /// <summary>Runs <paramref name="program"/> (an installed tool's command, or dotnet) as <see cref="Run"/> runs dotnet.</summary>
        public static CommandResult RunProgram(string program, string workingDirectory, string? nugetPackages, params string[] arguments)
        {
            var start = new ProcessStartInfo(program)
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in arguments)
            {
                start.ArgumentList.Add(argument);
            }

            foreach (string inherited in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
            {
                start.Environment.Remove(inherited);
            }

            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            start.Environment["DOTNET_NOLOGO"] = "1";
            start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
            start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
            start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
            if (nugetPackages != null)
            {
                start.Environment["NUGET_PACKAGES"] = nugetPackages;
            }

            var output = new StringBuilder();
            using var process = new Process { StartInfo = start };
            process.OutputDataReceived += (_, e) => Append(output, e.Data);
            process.ErrorDataReceived += (_, e) => Append(output, e.Data);
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            string commandLine = System.IO.Path.GetFileName(program) + " " + string.Join(" ", arguments);
            if (!process.WaitForExit((int)Timeout.TotalMilliseconds))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                throw new TimeoutException(commandLine + " did not finish within " + Timeout + ":\n" + Snapshot(output));
            }

            process.WaitForExit(); // drains the asynchronous output readers
            return new CommandResult(commandLine, process.ExitCode, Snapshot(output));
        }

        private static void Append(StringBuilder output, string? line)
        {
            if (line == null)
            {
                return;
            }

            lock (output)
            {
                output.Append(line).Append('\n');
            }
        }

        private static string Snapshot(StringBuilder output)
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }
}
