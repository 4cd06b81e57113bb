using System.Collections.Generic;
using System.Globalization;
using System.IO;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>
    /// Prints diagnostics as <c>path(line,col): error VP0101: message</c> with paths relative to the working directory,
    /// each distinct diagnostic once (a fragment's error is reached both directly and through every policy including it).
    /// </summary>
    public sealed class DiagnosticPrinter
    {
        private readonly CliContext context;
        private readonly HashSet<string> printed = new HashSet<string>();
        private readonly List<Rendering.CheckFinding> findings = new List<Rendering.CheckFinding>();

        /// <summary>Creates a printer for <paramref name="context"/>.</summary>
        public DiagnosticPrinter(CliContext context)
        {
            this.context = context;
        }

        /// <summary>Every distinct diagnostic printed so far, located, for the structured formats.</summary>
        public IReadOnlyList<Rendering.CheckFinding> Findings => findings;

        /// <summary>Distinct errors printed so far.</summary>
        public int Errors { get; private set; }

        /// <summary>Distinct warnings printed so far.</summary>
        public int Warnings { get; private set; }

        /// <summary>One diagnostic in the common format with a display path.</summary>
        public string FormatDiagnostic(Diagnostic diagnostic)
        {
            string severity = Severity(diagnostic.Severity);
            return string.Format(
                CultureInfo.InvariantCulture,
                "{0}({1},{2}): {3} {4}: {5}",
                context.Display(diagnostic.Span.Path),
                diagnostic.Span.Start.Line,
                diagnostic.Span.Start.Column,
                severity,
                diagnostic.Id,
                diagnostic.Message);
        }

        /// <summary>Prints <paramref name="diagnostics"/> not printed before, in the compiler's order, to <paramref name="writer"/>.</summary>
        public void Print(IEnumerable<Diagnostic> diagnostics, TextWriter writer)
        {
            foreach (Diagnostic diagnostic in diagnostics)
            {
                string line = FormatDiagnostic(diagnostic);
                if (!printed.Add(line))
                {
                    continue;
                }

                writer.WriteLine(line);
                findings.Add(new Rendering.CheckFinding(
                    diagnostic.Id,
                    Severity(diagnostic.Severity),
                    context.Display(diagnostic.Span.Path),
                    diagnostic.Span.Start.Line,
                    diagnostic.Span.Start.Column,
                    diagnostic.Span.End.Line,
                    diagnostic.Span.End.Column,
                    diagnostic.Message));
                if (diagnostic.Severity == DiagnosticSeverity.Error)
                {
                    Errors++;
                }
                else if (diagnostic.Severity == DiagnosticSeverity.Warning)
                {
                    Warnings++;
                }
            }
        }

        /// <summary>Prints binding errors (a policy that does not fit a device) in the same format, counted as errors.</summary>
        public void Print(IEnumerable<AccessModel.Binding.BindingError> errors, TextWriter writer)
        {
            foreach (AccessModel.Binding.BindingError error in errors)
            {
                string line = error.ToString();
                if (printed.Add(line))
                {
                    writer.WriteLine(line);
                    findings.Add(new Rendering.CheckFinding(error.Code, "error", error.Origin.Path, error.Origin.Line, error.Origin.Column, error.Origin.Line, error.Origin.Column, error.Message));
                    Errors++;
                }
            }
        }

        private static string Severity(DiagnosticSeverity severity) => severity switch
        {
            DiagnosticSeverity.Error => "error",
            DiagnosticSeverity.Warning => "warning",
            _ => "info",
        };

        /// <summary>"N error(s), N warning(s)".</summary>
        public string Summary()
            => string.Format(CultureInfo.InvariantCulture, "{0} error(s), {1} warning(s)", Errors, Warnings);
    }
}
