using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Binding;

namespace VfioPolicy.Compiler.Explaining
{
    /// <summary>
    /// One bit a rule took from an earlier rule with <c>override</c>. The lowered model keeps only the winners (so two
    /// policies that end up the same compare equal); <c>explain</c> needs the losers too, so they travel beside it.
    /// </summary>
    /// <param name="Rule">The overriding rule, which owns the bits in the model unless a later override took them.</param>
    /// <param name="Overridden">The earlier rule it replaced on <paramref name="Bits"/>.</param>
    /// <param name="Bits">The replaced bits, as a mask over the register (bit 0 is the register's bit 0).</param>
    public sealed record RuleOverride(RuleOrigin Rule, RuleOrigin Overridden, uint Bits);

    /// <summary>Lists every override of a bound policy by replaying override resolution rule by rule.</summary>
    internal static class RuleOverrideTable
    {
        public static IReadOnlyList<RuleOverride> Build(BoundPolicy policy)
        {
            var overrides = new List<RuleOverride>();
            foreach (BoundRegister register in policy.AllBlocks().SelectMany(b => b.Registers))
            {
                // The same walk as OverrideResolution: a later rule takes a bit only when it says override and
                // does something different there; an identical repeat leaves the earlier owner in place.
                var owners = new BoundRule?[register.Width * 8];
                foreach (BoundRule rule in register.Rules)
                {
                    var taken = new List<(BoundRule Earlier, uint Bits)>();
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
                            owners[bit] = rule;
                        }
                        else if (rule.IsOverride && !rule.SameOn(owner, bitMask))
                        {
                            int index = taken.FindIndex(t => ReferenceEquals(t.Earlier, owner));
                            if (index < 0)
                            {
                                taken.Add((owner, bitMask));
                            }
                            else
                            {
                                taken[index] = (owner, taken[index].Bits | bitMask);
                            }

                            owners[bit] = rule;
                        }
                    }

                    overrides.AddRange(taken.Select(t => new RuleOverride(rule.Origin, t.Earlier.Origin, t.Bits)));
                }
            }

            return overrides;
        }
    }
}
