using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;

namespace VfioPolicy.Compiler.Explaining
{
    /// <summary>What one bit of an explained range does and which rule decided it.</summary>
    /// <param name="Action">The bit's action; <see cref="BitAction.Value"/> is this bit's constant or initial value (0 or 1).</param>
    /// <param name="HardwareWriteOneToClear">The hardware bit is RW1C (the rule says <c>hw-rw1c</c>).</param>
    /// <param name="Owner">The rule or default that decides it.</param>
    /// <param name="OwnerKind">What kind of thing <paramref name="Owner"/> is.</param>
    /// <param name="Overridden">The rules <paramref name="Owner"/> replaced on this bit, latest first.</param>
    public sealed record BitExplanation(BitAction Action, bool HardwareWriteOneToClear, RuleOrigin Owner, BitOwnerKind OwnerKind, IReadOnlyList<RuleOrigin> Overridden);

    /// <summary>Adjacent bits that act alike and share an owner.</summary>
    /// <param name="LowBit">Lowest bit, relative to the explained range.</param>
    /// <param name="HighBit">Highest bit, inclusive.</param>
    /// <param name="Action">The run's action; <see cref="BitAction.Value"/> is right-aligned to the run.</param>
    /// <param name="HardwareWriteOneToClear">The hardware bits are RW1C.</param>
    /// <param name="Owner">The deciding rule or default.</param>
    /// <param name="OwnerKind">What kind of thing the owner is.</param>
    /// <param name="Overridden">The rules the owner replaced on these bits, latest first.</param>
    public sealed record BitRun(int LowBit, int HighBit, BitAction Action, bool HardwareWriteOneToClear, RuleOrigin Owner, BitOwnerKind OwnerKind, IReadOnlyList<RuleOrigin> Overridden);

    /// <summary>
    /// Per bit of a range of config space: its disposition, the rule that decides it and the rules that rule
    /// overrode. From a binding (a real device: exactly what the interpreter does, chain links and hidden
    /// capabilities included) or from the model alone (the header, or a capability block by relative offset).
    /// </summary>
    public static class RegisterExplainer
    {
        /// <summary>Explains <paramref name="width"/> bytes at absolute <paramref name="offset"/> of a bound device.</summary>
        public static IReadOnlyList<BitExplanation> FromBinding(BoundConfigSpace bound, IReadOnlyList<RuleOverride> overrides, int offset, int width)
        {
            CheckRange(offset, width, bound.Size);
            var bits = new List<BitExplanation>();
            for (int at = offset; at < offset + width; at++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    byte mask = (byte)(1 << bit);
                    BitAction action = bound.ActionAt(at, bit);

                    RuleOrigin owner = bound.OwnerOf(at, bit);
                    BitOwnerKind kind = bound.OwnerKindOf(at, bit);
                    IReadOnlyList<RuleOrigin> overridden = kind == BitOwnerKind.Rule
                        ? OverriddenOnDevice(bound, overrides, owner, at, bit)
                        : Array.Empty<RuleOrigin>();
                    bits.Add(new BitExplanation(action, (bound.HardwareWriteOneToClear[at] & mask) != 0, owner, kind, overridden));
                }
            }

            return bits;
        }

        /// <summary>
        /// Explains <paramref name="width"/> bytes at <paramref name="offset"/> of the header (absolute) or, when
        /// <paramref name="capability"/> is given, of that capability block (relative to the capability's start), from
        /// the model alone. Registers with layout conditions (MSI) are taken as present.
        /// </summary>
        public static IReadOnlyList<BitExplanation> FromModel(PolicyModel model, IReadOnlyList<RuleOverride> overrides, CapabilityModel? capability, int offset, int width)
        {
            CheckRange(offset, width, capability == null ? 0x40 : capability.Extended ? 0x1000 : 0x100);
            var bits = new List<BitExplanation>();
            IEnumerable<RegisterModel> registers = capability?.Registers ?? model.Header;
            int chainBytes = capability == null ? 0 : capability.Extended ? 4 : 2;
            for (int at = offset; at < offset + width; at++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    if (at < chainBytes)
                    {
                        bits.Add(new BitExplanation(BitAction.VirtualReadOnlyFromHardware, false, RuleOrigin.Chain, BitOwnerKind.ChainLink, Array.Empty<RuleOrigin>()));
                        continue;
                    }

                    if (capability?.Hide != null)
                    {
                        bits.Add(new BitExplanation(ValueBit(capability.Hide.Body, bit), false, capability.Hide.Origin, BitOwnerKind.HiddenBody, Array.Empty<RuleOrigin>()));
                        continue;
                    }

                    (RegisterModel Register, BitRule Rule)? covering = registers
                        .Where(r => at >= r.Offset && at < r.Offset + r.Width)
                        .SelectMany(r => r.Rules.Select(rule => (Register: r, Rule: rule)))
                        .Where(x => ((at - x.Register.Offset) * 8) + bit >= x.Rule.LowBit && ((at - x.Register.Offset) * 8) + bit <= x.Rule.HighBit)
                        .Select(x => ((RegisterModel Register, BitRule Rule)?)x)
                        .FirstOrDefault();
                    if (covering is (RegisterModel register, BitRule rule))
                    {
                        int registerBit = ((at - register.Offset) * 8) + bit;
                        bits.Add(new BitExplanation(ValueBit(rule.Action, registerBit - rule.LowBit), rule.HardwareWriteOneToClear, rule.Origin, BitOwnerKind.Rule, Chain(overrides, rule.Origin, registerBit)));
                        continue;
                    }

                    DefaultRule fallback = capability == null ? model.Defaults.Header : capability.Default ?? model.Defaults.Capability;
                    BitOwnerKind kind = capability == null ? BitOwnerKind.HeaderDefault : BitOwnerKind.CapabilityDefault;
                    bits.Add(new BitExplanation(ValueBit(fallback.Action, bit), false, fallback.Origin, kind, Array.Empty<RuleOrigin>()));
                }
            }

            return bits;
        }

        /// <summary>Groups adjacent bits with the same action, owner and overridden rules; values right-aligned to each run.</summary>
        public static IReadOnlyList<BitRun> Runs(IReadOnlyList<BitExplanation> bits)
        {
            var runs = new List<BitRun>();
            for (int low = 0; low < bits.Count;)
            {
                int high = low;
                while (high + 1 < bits.Count && Alike(bits[high + 1], bits[low]))
                {
                    high++;
                }

                uint value = 0;
                for (int b = high; b >= low; b--)
                {
                    value = (value << 1) | (bits[b].Action.Value & 1u);
                }

                BitExplanation first = bits[low];
                runs.Add(new BitRun(low, high, first.Action with { Value = value }, first.HardwareWriteOneToClear, first.Owner, first.OwnerKind, first.Overridden));
                low = high + 1;
            }

            return runs;
        }

        private static bool Alike(BitExplanation a, BitExplanation b)
            => a.Action with { Value = 0 } == b.Action with { Value = 0 }
               && a.HardwareWriteOneToClear == b.HardwareWriteOneToClear
               && a.Owner == b.Owner
               && a.OwnerKind == b.OwnerKind
               && a.Overridden.SequenceEqual(b.Overridden);

        // Defaults carry a per-byte pattern, rules a value right-aligned to their bits: either way, one bit of it.
        private static BitAction ValueBit(BitAction action, int bitInValue)
            => action with { Value = bitInValue >= 32 ? 0 : (action.Value >> bitInValue) & 1u };

        private static IReadOnlyList<RuleOrigin> OverriddenOnDevice(BoundConfigSpace bound, IReadOnlyList<RuleOverride> overrides, RuleOrigin owner, int at, int bit)
        {
            if (!overrides.Any(o => o.Rule == owner))
            {
                return Array.Empty<RuleOrigin>();
            }

            // Overrides are recorded against register-relative bits: find the register the owning rule belongs to
            // and where it starts on this device.
            PolicyModel model = bound.Model;
            foreach (RegisterModel register in model.Header.Concat(model.DeviceSpecific))
            {
                if (at >= register.Offset && at < register.Offset + register.Width && register.Rules.Any(r => r.Origin == owner))
                {
                    return Chain(overrides, owner, ((at - register.Offset) * 8) + bit);
                }
            }

            foreach (BoundCapability found in bound.Capabilities.Where(c => c.Bound && at >= c.Info.Offset && at < c.Info.Offset + c.Info.Length))
            {
                foreach (CapabilityModel capability in model.Capabilities.Where(c => c.Extended == found.Info.Extended && c.Id == found.Info.Id))
                {
                    foreach (RegisterModel register in capability.Registers)
                    {
                        int start = found.Info.Offset + register.Offset;
                        if (at >= start && at < start + register.Width && register.Rules.Any(r => r.Origin == owner))
                        {
                            return Chain(overrides, owner, ((at - start) * 8) + bit);
                        }
                    }
                }
            }

            return Array.Empty<RuleOrigin>();
        }

        // The rule owning a bit overrode one rule there, which may itself have overridden another: follow the chain.
        private static IReadOnlyList<RuleOrigin> Chain(IReadOnlyList<RuleOverride> overrides, RuleOrigin owner, int registerBit)
        {
            var chain = new List<RuleOrigin>();
            uint mask = registerBit >= 32 ? 0 : 1u << registerBit;
            RuleOrigin current = owner;
            while (true)
            {
                RuleOverride? replaced = overrides.LastOrDefault(o => o.Rule == current && (o.Bits & mask) != 0);
                if (replaced == null || chain.Contains(replaced.Overridden))
                {
                    return chain;
                }

                chain.Add(replaced.Overridden);
                current = replaced.Overridden;
            }
        }

        private static void CheckRange(int offset, int width, int size)
        {
            if (width != 1 && width != 2 && width != 4)
            {
                throw new ArgumentOutOfRangeException(nameof(width), width, "A width is 1, 2 or 4 bytes.");
            }

            if (offset < 0 || offset + width > size)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, "The range 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + "+" + width.ToString(CultureInfo.InvariantCulture) + " lies outside 0x0-0x" + (size - 1).ToString("x", CultureInfo.InvariantCulture) + ".");
            }
        }
    }
}
