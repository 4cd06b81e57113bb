using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>
    /// The semantic diff of two lowered policies. It compares what every bit does, not how the policy says it:
    /// origins, register and field names, rule order and the split of a register into rules are not semantics, so
    /// reformatting, comments, reordering and renaming give no change. Pure: no I/O, no git, no device needed.
    /// </summary>
    public static class PolicyDiffer
    {
        /// <summary>Compares <paramref name="before"/> with <paramref name="after"/>; labels name the sides in the output.</summary>
        public static PolicyDiff Compare(PolicyModel before, PolicyModel after, string oldLabel, string newLabel)
        {
            if (before == null)
            {
                throw new ArgumentNullException(nameof(before));
            }

            if (after == null)
            {
                throw new ArgumentNullException(nameof(after));
            }

            var changes = new List<PolicyChange>();
            CompareName(before, after, changes);
            MatchComparison.Compare(before, after, changes);
            CompareDefaults(before, after, changes);
            CompareMirrors(before, after, changes);
            CompareRegisters(ChangeArea.Header, null, RegisterCatalog.Header, before.Header, after.Header, Fallback.Of(before.Defaults.Header, "default header"), Fallback.Of(after.Defaults.Header, "default header"), changes);
            CompareRegisters(ChangeArea.DeviceSpecific, null, null, before.DeviceSpecific, after.DeviceSpecific, Fallback.Of(before.Defaults.Gap, "default gap"), Fallback.Of(after.Defaults.Gap, "default gap"), changes);
            CompareCapabilities(before, after, changes);
            return new PolicyDiff(oldLabel, newLabel, before.Name, after.Name, changes);
        }

        /// <summary>A policy file that exists only on the new side: it newly grants the devices it matches whatever it allows (widening).</summary>
        public static PolicyDiff Added(PolicyModel after, string newLabel)
        {
            var change = new PolicyChange(ChangeImpact.Widening, ChangeArea.Policy, null, null, null, null, null, ChangeAspect.Added, null, null,
                "(none)", "policy \"" + after.Name + "\"; " + MatchComparison.Describe(after.Matches), null, after.Origin, "a new policy grants its devices access");
            return new PolicyDiff(null, newLabel, null, after.Name, new[] { change });
        }

        /// <summary>A policy file that exists only on the old side: its devices lose the access it granted (narrowing).</summary>
        public static PolicyDiff Removed(PolicyModel before, string oldLabel)
        {
            var change = new PolicyChange(ChangeImpact.Narrowing, ChangeArea.Policy, null, null, null, null, null, ChangeAspect.Removed, null, null,
                "policy \"" + before.Name + "\"; " + MatchComparison.Describe(before.Matches), "(none)", before.Origin, null, "its devices lose the access it granted");
            return new PolicyDiff(oldLabel, null, before.Name, null, new[] { change });
        }

        /// <summary>The impact of a register's behavior changing: gaining or swapping one widens (the runtime acts on the hardware for the consumer), losing one narrows.</summary>
        public static ChangeImpact BehaviorImpact(Behavior before, Behavior after)
            => before == after ? ChangeImpact.Neutral : after == Behavior.None ? ChangeImpact.Narrowing : ChangeImpact.Widening;

        /// <summary>The impact of a default or hidden body changing from <paramref name="before"/> to <paramref name="after"/> (per-byte values).</summary>
        public static (ChangeImpact Impact, string Reason) ActionImpact(BitAction before, BitAction after)
            => Exposure.Classify(BitState.Of(before, false, Behavior.None), BitState.Of(after, false, Behavior.None));

        /// <summary>An action applied per byte (a default or a hidden body), in policy syntax.</summary>
        public static string DescribeByteAction(BitAction action)
            => BitState.Of(action, false, Behavior.None).Describe(action.Value & 0xFF, 8);

        private static void CompareName(PolicyModel before, PolicyModel after, List<PolicyChange> changes)
        {
            if (before.Name != after.Name)
            {
                changes.Add(new PolicyChange(ChangeImpact.Neutral, ChangeArea.Policy, null, null, null, null, null, ChangeAspect.Name, null, null,
                    "policy \"" + before.Name + "\"", "policy \"" + after.Name + "\"", before.Origin, after.Origin, "audit events carry the new name"));
            }
        }

        private static void CompareDefaults(PolicyModel before, PolicyModel after, List<PolicyChange> changes)
        {
            CompareDefault("header", before.Defaults.Header, after.Defaults.Header, changes);
            CompareDefault("capability", before.Defaults.Capability, after.Defaults.Capability, changes);
            CompareDefault("gap", before.Defaults.Gap, after.Defaults.Gap, changes);
            CompareDefault("unknown-capability", before.Defaults.UnknownCapability, after.Defaults.UnknownCapability, changes);
        }

        private static void CompareDefault(string target, DefaultRule before, DefaultRule after, List<PolicyChange> changes)
        {
            string oldText = DescribeDefault(before);
            string newText = DescribeDefault(after);
            if (oldText == newText)
            {
                return;
            }

            (ChangeImpact impact, string reason) = before.Hide != after.Hide
                ? (after.Hide ? (ChangeImpact.Narrowing, "capabilities without rules are now hidden") : (ChangeImpact.Widening, "capabilities without rules are no longer hidden"))
                : ActionImpact(before.Action, after.Action);
            changes.Add(new PolicyChange(impact, ChangeArea.Default, target, null, null, null, null, ChangeAspect.Default, null, null, oldText, newText, before.Origin, after.Origin, reason));
        }

        private static string DescribeDefault(DefaultRule rule) => (rule.Hide ? "hide body " : string.Empty) + DescribeByteAction(rule.Action);

        private static void CompareMirrors(PolicyModel before, PolicyModel after, List<PolicyChange> changes)
        {
            static string Hex(long value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);
            static string Key(ConfigMirror m) => "bar " + m.Bar.ToString(CultureInfo.InvariantCulture)
                + (m.DataOffset is long data ? " address " + Hex(m.Offset) + " data " + Hex(data) + " base " + Hex(m.Base) : " offset " + Hex(m.Offset))
                + " size " + Hex(m.Size);
            var oldMirrors = before.Mirrors.GroupBy(Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            var newMirrors = after.Mirrors.GroupBy(Key).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            foreach (string key in oldMirrors.Keys.Union(newMirrors.Keys).OrderBy(k => k, StringComparer.Ordinal))
            {
                bool had = oldMirrors.TryGetValue(key, out ConfigMirror? oldMirror);
                bool has = newMirrors.TryGetValue(key, out ConfigMirror? newMirror);
                if (had && !has)
                {
                    changes.Add(new PolicyChange(ChangeImpact.Widening, ChangeArea.Mirror, null, null, null, null, null, ChangeAspect.Mirror, null, null,
                        "mirror " + key, "(none)", oldMirror!.Origin, null, "the BAR window is no longer declared as a config-space mirror"));
                }
                else if (has && !had)
                {
                    changes.Add(new PolicyChange(ChangeImpact.Narrowing, ChangeArea.Mirror, null, null, null, null, null, ChangeAspect.Mirror, null, null,
                        "(none)", "mirror " + key, null, newMirror!.Origin, "the BAR window is declared as a config-space mirror"));
                }
            }
        }

        private static void CompareCapabilities(PolicyModel before, PolicyModel after, List<PolicyChange> changes)
        {
            var oldCaps = Index(before.Capabilities);
            var newCaps = Index(after.Capabilities);
            foreach ((bool extended, int id) in oldCaps.Keys.Union(newCaps.Keys).OrderBy(k => k.Extended).ThenBy(k => k.Id))
            {
                oldCaps.TryGetValue((extended, id), out CapabilityModel? oldCap);
                newCaps.TryGetValue((extended, id), out CapabilityModel? newCap);
                ChangeArea area = extended ? ChangeArea.ExtendedCapability : ChangeArea.Capability;
                string name = (newCap ?? oldCap)!.Name;
                Visibility oldSide = Visibility.Of(before, oldCap);
                Visibility newSide = Visibility.Of(after, newCap);
                if (oldSide.HiddenBody != null || newSide.HiddenBody != null)
                {
                    // A hidden capability's body overrides every rule it has: its registers say nothing until it is shown.
                    CompareHidden(area, name, oldSide, newSide, oldCap, newCap, changes);
                    continue;
                }

                bool ownDefault = oldCap?.Default != null || newCap?.Default != null || (oldCap == null) != (newCap == null);
                if (ownDefault && DescribeByteAction(oldSide.Uncovered.Action) != DescribeByteAction(newSide.Uncovered.Action))
                {
                    (ChangeImpact impact, string reason) = ActionImpact(oldSide.Uncovered.Action, newSide.Uncovered.Action);
                    changes.Add(new PolicyChange(impact, area, name, null, null, null, null, ChangeAspect.CapabilityDefault, null, null,
                        DescribeByteAction(oldSide.Uncovered.Action) + " (" + oldSide.Uncovered.Label + ")",
                        DescribeByteAction(newSide.Uncovered.Action) + " (" + newSide.Uncovered.Label + ")",
                        oldSide.Uncovered.Origin, newSide.Uncovered.Origin, reason));
                }

                CompareRegisters(area, name, RegisterCatalog.FindCapability(id, extended), oldCap?.Registers ?? EquatableArray<RegisterModel>.Empty, newCap?.Registers ?? EquatableArray<RegisterModel>.Empty, oldSide.Uncovered, newSide.Uncovered, changes);
            }
        }

        private static void CompareHidden(ChangeArea area, string name, Visibility oldSide, Visibility newSide, CapabilityModel? oldCap, CapabilityModel? newCap, List<PolicyChange> changes)
        {
            string oldText = oldSide.HiddenBody == null ? Shown(oldCap) : "hide body " + DescribeByteAction(oldSide.HiddenBody);
            string newText = newSide.HiddenBody == null ? Shown(newCap) : "hide body " + DescribeByteAction(newSide.HiddenBody);
            if (oldText == newText)
            {
                return;
            }

            (ChangeImpact impact, string reason) = oldSide.HiddenBody == null ? (ChangeImpact.Narrowing, "the capability is unlinked and its body follows the hide rule")
                : newSide.HiddenBody == null ? (ChangeImpact.Widening, "the capability is linked again and its registers follow their rules")
                : ActionImpact(oldSide.HiddenBody, newSide.HiddenBody);
            changes.Add(new PolicyChange(impact, area, name, null, null, null, null, ChangeAspect.Hide, null, null, oldText, newText, oldSide.HideOrigin, newSide.HideOrigin, reason));
        }

        private static string Shown(CapabilityModel? capability) => capability == null
            ? "visible"
            : "visible, " + capability.Registers.Count.ToString(CultureInfo.InvariantCulture) + " register(s) with rules";

        private static Dictionary<(bool Extended, int Id), CapabilityModel> Index(EquatableArray<CapabilityModel> capabilities)
        {
            var index = new Dictionary<(bool Extended, int Id), CapabilityModel>();
            foreach (CapabilityModel capability in capabilities)
            {
                if (!index.ContainsKey((capability.Extended, capability.Id)))
                {
                    index.Add((capability.Extended, capability.Id), capability);
                }
            }

            return index;
        }

        // Registers are compared bit by bit within each condition: a bit is identified by its space, the register's
        // `when` condition and its position (offset * 8 + bit), never by the register's name or width. A bit only one
        // side covers compares with the default the other side applies there.
        private static void CompareRegisters(ChangeArea area, string? scope, BlockCatalog? catalogue, EquatableArray<RegisterModel> before, EquatableArray<RegisterModel> after, Fallback oldFallback, Fallback newFallback, List<PolicyChange> changes)
        {
            var oldByCondition = before.GroupBy(r => ConditionText(r.Conditions)).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var newByCondition = after.GroupBy(r => ConditionText(r.Conditions)).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
            var conditions = oldByCondition.Keys.Union(newByCondition.Keys).OrderBy(k => k.Length == 0 ? 0 : 1).ThenBy(k => k, StringComparer.Ordinal).ToList();
            var bitChanges = new List<PolicyChange>();
            var behaviorChanges = new List<PolicyChange>();
            foreach (string condition in conditions)
            {
                List<RegisterModel> oldRegisters = oldByCondition.TryGetValue(condition, out List<RegisterModel>? o) ? o : new List<RegisterModel>();
                List<RegisterModel> newRegisters = newByCondition.TryGetValue(condition, out List<RegisterModel>? n) ? n : new List<RegisterModel>();
                RegisterModel sample = oldRegisters.Concat(newRegisters).First();
                string? conditionText = condition.Length == 0 ? null : NamedConditionText(sample.Conditions, catalogue);
                CompareBehaviors(area, scope, conditionText, oldRegisters, newRegisters, behaviorChanges);
                CompareBits(area, scope, conditionText, oldRegisters, newRegisters, oldFallback, newFallback, bitChanges);
            }

            // One register's changes stay together: behavior first, then its bit ranges, registers by offset.
            changes.AddRange(behaviorChanges.Concat(bitChanges)
                .Select((change, index) => (change, index))
                .OrderBy(c => c.change.Condition == null ? 0 : 1)
                .ThenBy(c => c.change.Condition ?? string.Empty, StringComparer.Ordinal)
                .ThenBy(c => c.change.Offset ?? 0)
                .ThenBy(c => c.change.Width ?? 0)
                .ThenBy(c => c.change.Aspect == ChangeAspect.Behavior ? 0 : 1)
                .ThenBy(c => c.change.LowBit ?? 0)
                .ThenBy(c => c.index)
                .Select(c => c.change));
        }

        private static void CompareBehaviors(ChangeArea area, string? scope, string? condition, List<RegisterModel> before, List<RegisterModel> after, List<PolicyChange> changes)
        {
            var oldBound = before.Where(r => r.Behavior != Behavior.None).ToList();
            var newBound = after.Where(r => r.Behavior != Behavior.None).ToList();
            foreach ((int offset, int width) in oldBound.Concat(newBound).Select(r => (r.Offset, r.Width)).Distinct().OrderBy(k => k.Offset).ThenBy(k => k.Width))
            {
                RegisterModel? oldRegister = before.FirstOrDefault(r => r.Offset == offset && r.Width == width);
                RegisterModel? newRegister = after.FirstOrDefault(r => r.Offset == offset && r.Width == width);
                Behavior oldBehavior = oldRegister?.Behavior ?? Behavior.None;
                Behavior newBehavior = newRegister?.Behavior ?? Behavior.None;
                if (oldBehavior == newBehavior)
                {
                    continue;
                }

                ChangeImpact impact = BehaviorImpact(oldBehavior, newBehavior);
                string reason = newBehavior == Behavior.None ? "the runtime no longer acts on this register for the consumer" : "the runtime acts on the hardware through behavior " + DiffText.BehaviorName(newBehavior);
                changes.Add(new PolicyChange(impact, area, scope, (newRegister ?? oldRegister)!.Name, offset, width, condition, ChangeAspect.Behavior, null, null,
                    BehaviorText(oldBehavior), BehaviorText(newBehavior), oldRegister?.Origin, newRegister?.Origin, reason));
            }
        }

        private static string BehaviorText(Behavior behavior) => behavior == Behavior.None ? "(none)" : "behavior " + DiffText.BehaviorName(behavior);

        private static void CompareBits(ChangeArea area, string? scope, string? condition, List<RegisterModel> before, List<RegisterModel> after, Fallback oldFallback, Fallback newFallback, List<PolicyChange> changes)
        {
            Dictionary<int, BitSource> oldBits = Flatten(before);
            Dictionary<int, BitSource> newBits = Flatten(after);
            PendingRange? pending = null;
            foreach (int bit in oldBits.Keys.Union(newBits.Keys).OrderBy(b => b))
            {
                BitSource oldSource = oldBits.TryGetValue(bit, out BitSource? o) ? o : oldFallback.At(bit);
                BitSource newSource = newBits.TryGetValue(bit, out BitSource? n) ? n : newFallback.At(bit);
                BitState oldKey = oldSource.State with { Behavior = Behavior.None };
                BitState newKey = newSource.State with { Behavior = Behavior.None };
                bool changed = oldKey != newKey || (oldKey.HasValue && oldSource.Value != newSource.Value);
                if (!changed)
                {
                    Flush(ref pending, area, scope, condition, changes);
                    continue;
                }

                RegisterModel register = (newSource.Register ?? oldSource.Register)!;
                if (pending != null && pending.Continues(bit, register, oldSource, newSource))
                {
                    pending.Add(bit, oldSource, newSource);
                    continue;
                }

                Flush(ref pending, area, scope, condition, changes);
                pending = new PendingRange(bit, register, oldSource, newSource);
            }

            Flush(ref pending, area, scope, condition, changes);
        }

        private static void Flush(ref PendingRange? pending, ChangeArea area, string? scope, string? condition, List<PolicyChange> changes)
        {
            if (pending != null)
            {
                changes.Add(pending.ToChange(area, scope, condition));
                pending = null;
            }
        }

        private static Dictionary<int, BitSource> Flatten(List<RegisterModel> registers)
        {
            var bits = new Dictionary<int, BitSource>();
            foreach (RegisterModel register in registers)
            {
                foreach (BitRule rule in register.Rules)
                {
                    BitState state = BitState.Of(rule.Action, rule.HardwareWriteOneToClear, register.Behavior);
                    for (int bit = rule.LowBit; bit <= rule.HighBit && bit < register.Width * 8; bit++)
                    {
                        int position = (register.Offset * 8) + bit;
                        if (!bits.ContainsKey(position))
                        {
                            bits.Add(position, new BitSource(state, ((rule.Action.Value >> (bit - rule.LowBit)) & 1u) != 0, rule.Origin, null, register));
                        }
                    }
                }
            }

            return bits;
        }

        /// <summary>
        /// A register condition list as a reviewer reads it, by the catalogue's field names: <c>FLAGS.ADDR_64 = 1,
        /// FLAGS.MASKBIT = 1</c>, <c>FLAGS.VERS != 1</c>. A condition whose bits are not whole catalogue fields of one
        /// register (or a block without a catalogue) keeps the raw form of <see cref="ConditionText"/>.
        /// </summary>
        public static string NamedConditionText(EquatableArray<RegisterCondition> conditions, BlockCatalog? catalogue)
            => Binding.ConditionNames.Describe(conditions, catalogue);

        /// <summary>A register condition list as text: <c>[0x02 u16] &amp; 0x80 = 0x80</c>, comma-separated, in a canonical order.</summary>
        public static string ConditionText(EquatableArray<RegisterCondition> conditions)
            => string.Join(", ", conditions
                .OrderBy(c => c.Offset).ThenBy(c => c.Width).ThenBy(c => c.NotEqual).ThenBy(c => c.Mask).ThenBy(c => c.Value)
                .Select(Binding.ConditionNames.Raw));
        /// <summary>Where one bit's meaning comes from on one side.</summary>
        private sealed record BitSource(BitState State, bool Value, RuleOrigin Origin, string? DefaultLabel, RegisterModel? Register)
        {
            public string Describe(uint value, int bits) => State.Describe(value, bits) + (DefaultLabel == null ? string.Empty : " (" + DefaultLabel + ")");
        }

        /// <summary>What bits no rule covers follow on one side: a default, applied per byte.</summary>
        private sealed record Fallback(BitAction Action, string Label, RuleOrigin Origin)
        {
            public static Fallback Of(DefaultRule rule, string label) => new Fallback(rule.Action, label, rule.Origin);

            public BitSource At(int position)
                => new BitSource(BitState.Of(Action, false, Behavior.None), ((Action.Value >> (position % 8)) & 1u) != 0, Origin, Label, null);
        }

        /// <summary>Whether a capability is hidden on one side, and what its uncovered bytes follow when it is not.</summary>
        private sealed record Visibility(BitAction? HiddenBody, RuleOrigin? HideOrigin, Fallback Uncovered)
        {
            public static Visibility Of(PolicyModel model, CapabilityModel? capability)
            {
                DefaultRule unknown = model.Defaults.UnknownCapability;
                if (capability == null)
                {
                    return unknown.Hide
                        ? new Visibility(unknown.Action, unknown.Origin, Fallback.Of(unknown, "default unknown-capability"))
                        : new Visibility(null, null, Fallback.Of(unknown, "default unknown-capability"));
                }

                Fallback uncovered = capability.Default != null
                    ? Fallback.Of(capability.Default, "capability block default")
                    : Fallback.Of(model.Defaults.Capability, "default capability");
                return capability.Hide != null
                    ? new Visibility(capability.Hide.Body, capability.Hide.Origin, uncovered)
                    : new Visibility(null, null, uncovered);
            }
        }

        /// <summary>A run of changed bits of one register that change the same way under the same rules.</summary>
        private sealed class PendingRange
        {
            private readonly RegisterModel _register;
            private readonly BitSource _old;
            private readonly BitSource _new;
            private readonly int _first;
            private readonly List<RuleOrigin> _oldOrigins = new List<RuleOrigin>();
            private readonly List<RuleOrigin> _newOrigins = new List<RuleOrigin>();
            private int _last;
            private uint _oldValue;
            private uint _newValue;

            public PendingRange(int bit, RegisterModel register, BitSource oldSource, BitSource newSource)
            {
                _register = register;
                _old = oldSource;
                _new = newSource;
                _first = bit;
                _last = bit - 1;
                Add(bit, oldSource, newSource);
            }

            // Adjacent bits that change the same way form one range even when several rules decide them (one field
            // line each), so a register reads as a few ranges, not a line per bit; every rule is still listed.
            public bool Continues(int bit, RegisterModel register, BitSource oldSource, BitSource newSource)
                => bit == _last + 1 && ReferenceEquals(register, _register)
                   && oldSource.State == _old.State && newSource.State == _new.State
                   && oldSource.DefaultLabel == _old.DefaultLabel && newSource.DefaultLabel == _new.DefaultLabel;

            public void Add(int bit, BitSource oldSource, BitSource newSource)
            {
                if (!_oldOrigins.Contains(oldSource.Origin))
                {
                    _oldOrigins.Add(oldSource.Origin);
                }

                if (!_newOrigins.Contains(newSource.Origin))
                {
                    _newOrigins.Add(newSource.Origin);
                }

                int index = bit - _first;
                _oldValue |= (oldSource.Value ? 1u : 0u) << index;
                _newValue |= (newSource.Value ? 1u : 0u) << index;
                _last = bit;
            }

            public PolicyChange ToChange(ChangeArea area, string? scope, string? condition)
            {
                int bits = _last - _first + 1;
                (ChangeImpact impact, string reason) = Exposure.Classify(_old.State, _new.State);
                int registerStart = _register.Offset * 8;
                return new PolicyChange(impact, area, scope, _register.Name, _register.Offset, _register.Width, condition, ChangeAspect.Bits,
                    _first - registerStart, _last - registerStart, _old.Describe(_oldValue, bits), _new.Describe(_newValue, bits), _old.Origin, _new.Origin, reason)
                {
                    OldOrigins = _oldOrigins.ToArray(),
                    NewOrigins = _newOrigins.ToArray(),
                };
            }
        }
    }
}
