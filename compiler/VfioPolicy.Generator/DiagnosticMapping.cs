using System;
using System.Collections.Concurrent;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using PolicySeverity = VfioPolicy.Grammar.Diagnostics.DiagnosticSeverity;
using RoslynDiagnostic = Microsoft.CodeAnalysis.Diagnostic;
using RoslynSeverity = Microsoft.CodeAnalysis.DiagnosticSeverity;

namespace VfioPolicy.Generator
{
    /// <summary>
    /// Turns policy diagnostics (plain data) into Roslyn diagnostics located in the .vfiopolicy file, so the build
    /// prints <c>file.vfiopolicy(3,12): error VP0101: …</c>. Descriptors are made per VP ID with the compiler's own
    /// severity: the policy compiler's catalogue stays the one place IDs are defined.
    /// </summary>
    internal static class DiagnosticMapping
    {
        /// <summary>The ID of the generator's own error: a policy compiled but its handler could not be generated.</summary>
        public const string EmitFailureId = "VP9001";

        private const string Category = "VfioPolicy";
        private static readonly ConcurrentDictionary<(string Id, RoslynSeverity Severity), DiagnosticDescriptor> Descriptors =
            new ConcurrentDictionary<(string Id, RoslynSeverity Severity), DiagnosticDescriptor>();

        public static RoslynDiagnostic ToRoslyn(DiagnosticData data)
        {
            RoslynSeverity severity = data.Severity switch
            {
                PolicySeverity.Error => RoslynSeverity.Error,
                PolicySeverity.Warning => RoslynSeverity.Warning,
                _ => RoslynSeverity.Info,
            };
            var lines = new LinePositionSpan(new LinePosition(data.StartLine, data.StartColumn), new LinePosition(data.EndLine, data.EndColumn));
            Location location = Location.Create(data.Path, new TextSpan(data.Start, data.Length), lines);
            return RoslynDiagnostic.Create(Descriptor(data.Id, severity), location, data.Message);
        }

        public static RoslynDiagnostic EmitFailure(GeneratedPolicy policy, Exception exception)
            => RoslynDiagnostic.Create(
                Descriptor(EmitFailureId, RoslynSeverity.Error),
                Location.None,
                "the handler for policy '" + policy.Model.Name + "' (" + policy.CompilerPath + ") could not be generated: " + exception.GetType().Name + ": " + exception.Message);

        // No help link: the project publishes no web site, and a link to one that does not exist is worse than none.
        // The description names the page and the anchor every ID has there (docs/diagnostics.md#VP0101), which ships
        // in the repository and in the package.
        private static DiagnosticDescriptor Descriptor(string id, RoslynSeverity severity)
            => Descriptors.GetOrAdd((id, severity), key => new DiagnosticDescriptor(
                key.Id,
                "VfioPolicy " + key.Id,
                "{0}",
                Category,
                key.Severity,
                isEnabledByDefault: true,
                description: "What " + key.Id + " means and how to fix it: docs/diagnostics.md#" + key.Id + " (VfioPolicy's diagnostics page)."));
    }
}
