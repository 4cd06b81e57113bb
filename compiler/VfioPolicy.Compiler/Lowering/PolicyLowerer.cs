using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Binding;

namespace VfioPolicy.Compiler.Lowering
{
    /// <summary>
    /// Turns a checked <see cref="BoundPolicy"/> into the immutable <see cref="PolicyModel"/>: per register, the
    /// bits each rule still owns after overrides become disjoint <see cref="BitRule"/>s (one per contiguous run,
    /// values right-aligned to the run), sorted by bit; registers sort by offset, capabilities by (extended, ID).
    /// </summary>
    internal static class PolicyLowerer
    {
        public static PolicyModel Lower(BoundPolicy policy)
        {
            var defaults = new PolicyDefaults(
                ToModel(policy.Defaults[DefaultTarget.Header]),
                ToModel(policy.Defaults[DefaultTarget.Capability]),
                ToModel(policy.Defaults[DefaultTarget.Gap]),
                ToModel(policy.Defaults[DefaultTarget.UnknownCapability]));

            EquatableArray<CapabilityModel> capabilities = policy.Capabilities.Values
                .OrderBy(c => c.Extended).ThenBy(c => c.Id)
                .Select(c => new CapabilityModel(
                    c.Extended,
                    c.Id,
                    c.Name,
                    LowerRegisters(c),
                    c.Hide == null ? null : new HideRule(c.Hide.Body, c.Hide.Origin),
                    c.Origin!)
                {
                    Default = c.BlockDefault == null ? null : ToModel(c.BlockDefault),
                })
                .ToEquatableArray();

            return new PolicyModel(
                policy.Name!,
                policy.NameOrigin!,
                policy.Matches.ToEquatableArray(),
                defaults,
                LowerRegisters(policy.Header),
                LowerRegisters(policy.DeviceSpecific),
                capabilities,
                policy.Mirrors.ToEquatableArray());
        }

        private static DefaultRule ToModel(BoundDefault bound) => new DefaultRule(bound.Target, bound.Action, bound.Hide, bound.Origin);

        private static EquatableArray<RegisterModel> LowerRegisters(BoundBlock block)
            => block.Registers
                .OrderBy(r => r.Offset).ThenBy(r => r.Width).ThenBy(r => r.Conditions, ConditionOrder.Instance)
                .Select(r => new RegisterModel(r.Offset, r.Width, r.Name, r.Behavior, r.Conditions, LowerRules(r), r.Origin))
                .ToEquatableArray();

        private static EquatableArray<BitRule> LowerRules(BoundRegister register)
        {
            var rules = new List<BitRule>();
            BoundRule?[] owners = register.Owners;
            int bit = 0;
            while (bit < owners.Length)
            {
                BoundRule? owner = owners[bit];
                if (owner == null)
                {
                    bit++;
                    continue;
                }

                int low = bit;
                while (bit < owners.Length && ReferenceEquals(owners[bit], owner))
                {
                    bit++;
                }

                int high = bit - 1;
                uint runMask = high >= 31 ? (uint.MaxValue << low) : (((1u << (high + 1)) - 1) & ~((1u << low) - 1));
                BitAction action = owner.Action with { Value = (owner.Action.Value & runMask) >> low };
                rules.Add(new BitRule(low, high, owner.Field, action, owner.HardwareRw1c, owner.Origin));
            }

            return rules.ToEquatableArray();
        }

        /// <summary>Orders condition lists element by element, so registers that share an offset sort the same way every time.</summary>
        private sealed class ConditionOrder : IComparer<EquatableArray<RegisterCondition>>
        {
            public static readonly ConditionOrder Instance = new ConditionOrder();

            public int Compare(EquatableArray<RegisterCondition> x, EquatableArray<RegisterCondition> y)
            {
                for (int i = 0; i < x.Count && i < y.Count; i++)
                {
                    int order = x[i].Offset.CompareTo(y[i].Offset);
                    order = order != 0 ? order : x[i].Width.CompareTo(y[i].Width);
                    order = order != 0 ? order : x[i].Mask.CompareTo(y[i].Mask);
                    order = order != 0 ? order : x[i].Value.CompareTo(y[i].Value);
                    if (order != 0)
                    {
                        return order;
                    }
                }

                return x.Count.CompareTo(y.Count);
            }
        }
    }
}
