using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Compiler.Diagnostics
{
    /// <summary>A diagnostic's stable identity: ID, severity and a one-line title (the catalogue entry in docs/diagnostics.md).</summary>
    public sealed record DiagnosticDescriptor(string Id, DiagnosticSeverity Severity, string Title);
}
