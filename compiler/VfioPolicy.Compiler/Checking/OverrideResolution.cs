using System.Collections.Generic;
using System.Linq;
using VfioPolicy.Compiler.Binding;
using VfioPolicy.Compiler.Diagnostics;

namespace VfioPolicy.Compiler.Checking
{
    /// <summary>
    /// Decides which rule owns each bit, in include order, and checks the override discipline:
    /// a later rule that gives bits a different action must say <c>override</c> (VP0301); an exact repeat is a
    /// warning (VP0302); an override with nothing under it is a warning (VP0303); a rule whose every bit later
    /// overrides in the same file take is unreachable (VP0304, like Capirca's shade check). Overrides from another
    /// file (a device policy over a library) are the point of overrides and never make a rule unreachable.
    /// </summary>
    internal static class OverrideResolution
    {
        public static void Run(BoundPolicy policy, DiagnosticBag diagnostics)
        {
            foreach (BoundBlock block in policy.AllBlocks())
            {
                foreach (BoundRegister register in block.Registers)
                {
                    Resolve(register, diagnostics);
                }
            }
        }

        private static void Resolve(BoundRegister register, DiagnosticBag diagnostics)
        {
            BoundRule?[] owners = register.Owners;
            foreach (BoundRule rule in register.Rules)
            {
                // The earlier owners under this rule's bits, each with the bits it holds, in bit order.
                var overlaps = new List<(BoundRule Earlier, uint Bits)>();
                uint free = 0;
                for (int bit = 0; bit < owners.Length; bit++)
                {
                    uint bitMask = 1u << bit;
                    if ((rule.Mask & bitMask) == 0)
                    {
                        continue;
                    }

                    BoundRule? owner = owners[bit];
                    if (owner == null)
                    {
                        free |= bitMask;
                        continue;
                    }

                    int index = overlaps.FindIndex(o => ReferenceEquals(o.Earlier, owner));
                    if (index < 0)
                    {
                        overlaps.Add((owner, bitMask));
                    }
                    else
                    {
                        overlaps[index] = (owner, overlaps[index].Bits | bitMask);
                    }
                }

                uint taken = free;
                if (rule.IsOverride && overlaps.Count == 0)
                {
                    diagnostics.Report(CompilerDiagnostics.OverrideOfNothing, rule.Span, "override replaces nothing: no earlier rule covers " + Formatting.Bits(rule.Mask) + " of " + register.DisplayName);
                }

                foreach ((BoundRule earlier, uint bits) in overlaps)
                {
                    if (rule.SameOn(earlier, bits))
                    {
                        if (!rule.IsOverride)
                        {
                            diagnostics.Report(CompilerDiagnostics.DuplicateRule, rule.Span, "rule repeats '" + earlier.Origin.Text + "' (" + earlier.Origin.Location + ") on " + Formatting.Bits(bits) + " of " + register.DisplayName);
                        }
                    }
                    else if (rule.IsOverride)
                    {
                        taken |= bits;
                        earlier.OverriddenBy.Add(rule);
                    }
                    else
                    {
                        diagnostics.Report(
                            CompilerDiagnostics.ConflictingRules,
                            rule.Span,
                            "rule conflicts with '" + earlier.Origin.Text + "' (" + earlier.Origin.Location + ") on " + Formatting.Bits(bits) + " of " + register.DisplayName + "; start this rule with 'override' to replace it");
                    }
                }

                for (int bit = 0; bit < owners.Length; bit++)
                {
                    if ((taken & (1u << bit)) != 0)
                    {
                        owners[bit] = rule;
                    }
                }

                rule.OwnedAnyBit |= taken != 0;
                rule.TakenBits |= taken;
            }

            foreach (BoundRule rule in register.Rules)
            {
                uint stillOwned = 0;
                for (int bit = 0; bit < owners.Length; bit++)
                {
                    if (ReferenceEquals(owners[bit], rule))
                    {
                        stillOwned |= 1u << bit;
                    }
                }

                var sameFile = rule.OverriddenBy.Where(o => o.Origin.Path == rule.Origin.Path).ToList();
                if (rule.OwnedAnyBit && stillOwned == 0 && sameFile.Count == rule.OverriddenBy.Count)
                {
                    BoundRule last = rule.OverriddenBy[rule.OverriddenBy.Count - 1];
                    diagnostics.Report(CompilerDiagnostics.UnreachableRule, rule.Span, "rule is unreachable: later overrides in this file replace every bit of it (last at " + last.Origin.Location + ")");
                }
                else if (stillOwned != 0 && sameFile.Count > 0)
                {
                    // Capirca's shade check, for part of a rule: the reader of this line sees bits it no longer decides.
                    uint shadowed = 0;
                    foreach (BoundRule later in sameFile)
                    {
                        shadowed |= later.Mask & rule.TakenBits;
                    }

                    shadowed &= ~stillOwned;
                    if (shadowed != 0)
                    {
                        diagnostics.Report(
                            CompilerDiagnostics.PartlyShadowedRule,
                            rule.Span,
                            "rule is partly shadowed: later overrides in this file (" + string.Join(", ", sameFile.Select(o => o.Origin.Location).Distinct()) + ") replace "
                            + Formatting.Bits(shadowed) + " of " + register.DisplayName + "; it decides only " + Formatting.Bits(stillOwned));
                    }
                }
            }
        }
    }
}
