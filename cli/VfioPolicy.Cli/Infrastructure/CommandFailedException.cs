using System;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>
    /// A command cannot go on because of its input (a missing file, a policy with errors, a device the policy does
    /// not match). The top-level handler prints <see cref="Exception.Message"/> (when not empty) and exits with
    /// <see cref="ExitCode"/>; no stack trace.
    /// </summary>
    public sealed class CommandFailedException : Exception
    {
        /// <summary>Creates the failure; <paramref name="message"/> is one line, or empty when details were already printed.</summary>
        public CommandFailedException(string message, int exitCode = ExitCodes.BadInput)
            : base(message)
        {
            ExitCode = exitCode;
        }

        /// <summary>The process exit code.</summary>
        public int ExitCode { get; }
    }

    /// <summary>The exit codes of <c>vfio-policy</c>.</summary>
    public static class ExitCodes
    {
        /// <summary>Success: nothing to report (warnings allowed).</summary>
        public const int Success = 0;

        /// <summary>The command ran and found problems: policy errors in <c>check</c>, files to reformat in <c>fmt --check</c>.</summary>
        public const int Findings = 1;

        /// <summary>Bad input: usage errors, missing or malformed files, a policy that does not compile or match.</summary>
        public const int BadInput = 2;

        /// <summary>A bug in the tool (EX_SOFTWARE).</summary>
        public const int InternalError = 70;
    }
}
