using System.Collections.Generic;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Diagnostics
{
    /// <summary>Collects diagnostics from every stage of one compilation, in the order they are found.</summary>
    internal sealed class DiagnosticBag
    {
        private readonly List<Diagnostic> _items = new List<Diagnostic>();

        public IReadOnlyList<Diagnostic> Items => _items;

        public bool HasErrors { get; private set; }

        public void Add(Diagnostic diagnostic)
        {
            _items.Add(diagnostic);
            HasErrors |= diagnostic.IsError;
        }

        public void AddRange(IEnumerable<Diagnostic> diagnostics)
        {
            foreach (Diagnostic diagnostic in diagnostics)
            {
                Add(diagnostic);
            }
        }

        public void Report(DiagnosticDescriptor descriptor, SourceSpan span, string message) => Add(new Diagnostic(descriptor.Id, descriptor.Severity, message, span));
    }
}
