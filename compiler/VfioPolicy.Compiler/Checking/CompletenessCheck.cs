using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Binding;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Checking
{
    /// <summary>
    /// A complete policy (one with a <c>policy</c> line) must state all four defaults somewhere in its include
    /// chain (VP0401) and have at least one match line (VP0404). Fragments are exempt: the policy that includes them
    /// completes them.
    /// </summary>
    internal static class CompletenessCheck
    {
        private static readonly (DefaultTarget Target, string Spelling)[] Targets =
        {
            (DefaultTarget.Header, "default header"),
            (DefaultTarget.Capability, "default capability"),
            (DefaultTarget.Gap, "default gap"),
            (DefaultTarget.UnknownCapability, "default unknown-capability"),
        };

        public static void Run(BoundPolicy policy, DiagnosticBag diagnostics)
        {
            if (policy.Name == null || policy.NameSpan == null)
            {
                return;
            }

            SourceSpan span = policy.NameSpan;
            var missing = new List<string>();
            foreach ((DefaultTarget target, string spelling) in Targets)
            {
                if (!policy.Defaults.ContainsKey(target))
                {
                    missing.Add(spelling);
                }
            }

            if (missing.Count > 0)
            {
                diagnostics.Report(CompilerDiagnostics.MissingDefaults, span, "policy \"" + policy.Name + "\" does not state " + string.Join(", ", missing) + "; every byte must be covered by a rule or a stated default");
            }

            if (policy.MatchLineCount == 0)
            {
                diagnostics.Report(CompilerDiagnostics.MissingMatch, span, "policy \"" + policy.Name + "\" has no match line; add 'match any' or 'match vendor V device D'");
            }
        }
    }
}
