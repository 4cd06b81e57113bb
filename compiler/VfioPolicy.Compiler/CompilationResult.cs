using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Compiler
{
    /// <summary>
    /// The outcome of compiling one policy file with everything it includes.
    /// <see cref="Model"/> is null when any diagnostic is an error, and for a fragment (a file without
    /// <c>policy</c>), which is checked but cannot be lowered on its own.
    /// </summary>
    /// <param name="Model">The lowered policy, or null.</param>
    /// <param name="Diagnostics">Every diagnostic, ordered by file (in the order first read) and position.</param>
    /// <param name="Files">Every file read, the compiled one first, as normalised paths.</param>
    public sealed record CompilationResult(PolicyModel? Model, IReadOnlyList<Diagnostic> Diagnostics, IReadOnlyList<string> Files)
    {
        /// <summary>True when the compiled file has a <c>policy</c> line.</summary>
        public bool IsComplete { get; init; }

        /// <summary>True when the compiled file was read and parsed and has no <c>policy</c> line: a library fragment.</summary>
        public bool IsFragment { get; init; }

        /// <summary>Every bit an <c>override</c> took from an earlier rule, in include order (empty without a model); <c>explain</c> shows them.</summary>
        public IReadOnlyList<Explaining.RuleOverride> Overrides { get; init; } = System.Array.Empty<Explaining.RuleOverride>();

        /// <summary>True when some diagnostic is an error.</summary>
        public bool HasErrors => Diagnostics.Any(d => d.IsError);

        /// <summary>True when there is no error (warnings allowed): a complete policy has a model, a fragment checked clean.</summary>
        public bool Succeeded => !HasErrors;
    }
}
