using System.Globalization;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Diagnostics
{
    /// <summary>How bad a diagnostic is.</summary>
    public enum DiagnosticSeverity
    {
        /// <summary>The policy is invalid: nothing is generated.</summary>
        Error,

        /// <summary>The policy works but probably not as intended.</summary>
        Warning,

        /// <summary>Worth knowing; nothing is wrong.</summary>
        Info,
    }

    /// <summary>
    /// A diagnostic as plain data: stable ID, severity, message and exact span. Printed everywhere in the one format
    /// Roslyn also uses, <c>path(line,col): error VP0101: message</c>, so build errors and CLI errors look alike.
    /// </summary>
    public sealed record Diagnostic(string Id, DiagnosticSeverity Severity, string Message, SourceSpan Span)
    {
        /// <summary>True for <see cref="DiagnosticSeverity.Error"/>.</summary>
        public bool IsError => Severity == DiagnosticSeverity.Error;

        /// <inheritdoc />
        public override string ToString()
        {
            string severity = Severity switch
            {
                DiagnosticSeverity.Error => "error",
                DiagnosticSeverity.Warning => "warning",
                _ => "info",
            };
            return string.Format(CultureInfo.InvariantCulture, "{0}({1},{2}): {3} {4}: {5}", Span.Path, Span.Start.Line, Span.Start.Column, severity, Id, Message);
        }
    }
}
