using System.Collections.Generic;
using System.Linq;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Grammar.Parsing
{
    /// <summary>
    /// What <see cref="PolicyParser.Parse"/> returns: the syntax tree, or null when the file has a syntax error; and
    /// the diagnostics in source order (several when the parser could go on at a later line).
    /// </summary>
    /// <param name="File">The syntax tree; null exactly when <see cref="Diagnostics"/> holds an error.</param>
    /// <param name="Diagnostics">Syntax diagnostics (VP0xxx), ordered by position.</param>
    public sealed record ParseResult(PolicyFile? File, IReadOnlyList<Diagnostic> Diagnostics)
    {
        /// <summary>True when the file parsed without errors.</summary>
        public bool Succeeded => File != null && !Diagnostics.Any(d => d.IsError);
    }
}
