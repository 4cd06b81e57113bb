using System;
using System.CommandLine;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.LanguageServer;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>lsp</c>: a Language Server Protocol server on standard input and output, for editors (see docs/editor.md).
    /// Diagnostics are those of <c>check</c>, hover is <c>explain</c>, formatting is <c>fmt</c>.
    /// </summary>
    public static class LspCommand
    {
        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            var command = new Command("lsp", "Serve the Language Server Protocol on standard input/output (for editors)");
            command.SetAction(_ =>
            {
                // The protocol is bytes with Content-Length headers: the raw standard streams, not the context's text
                // writers (which stay for messages on standard error).
                using var input = Console.OpenStandardInput();
                using var output = Console.OpenStandardOutput();
                return PolicyLanguageServer.RunAsync(input, output, context.WorkingDirectory, context.Error).GetAwaiter().GetResult();
            });
            return command;
        }
    }
}
