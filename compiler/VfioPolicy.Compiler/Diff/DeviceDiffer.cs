using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>
    /// Compares two policies bound to the same device, bit by bit at absolute offsets: where the model diff says
    /// "+0x08 of every EXP capability", this says "0x48 on this device". It reads only the bound masks, so it sees
    /// exactly what the interpreter would execute (hidden bodies, chain links, defaults and conditions included).
    /// </summary>
    public static class DeviceDiffer
    {
        /// <summary>Compares <paramref name="before"/> with <paramref name="after"/>; both must be bound to the same config space.</summary>
        public static DeviceDiff Compare(BoundConfigSpace before, BoundConfigSpace after, string device)
        {
            if (before == null)
            {
                throw new ArgumentNullException(nameof(before));
            }

            if (after == null)
            {
                throw new ArgumentNullException(nameof(after));
            }

            if (before.Size != after.Size)
            {
                throw new ArgumentException("the two bindings are of config spaces of different sizes", nameof(after));
            }

            var changes = new List<DeviceChange>();
            Range? pending = null;
            for (int position = 0; position < before.Size * 8; position++)
            {
                Bit oldBit = Read(before, position);
                Bit newBit = Read(after, position);
                bool changed = oldBit.State != newBit.State || (oldBit.State.HasValue && oldBit.Value != newBit.Value);
                if (!changed)
                {
                    Flush(ref pending, changes);
                    continue;
                }

                string location = Locate(after, position / 8);
                if (pending != null && pending.Continues(position, oldBit, newBit, location))
                {
                    pending.Add(position, oldBit, newBit);
                    continue;
                }

                Flush(ref pending, changes);
                pending = new Range(position, oldBit, newBit, location);
            }

            Flush(ref pending, changes);
            changes.AddRange(CompareBehaviors(before, after));
            var ordered = changes.OrderBy(c => c.FirstBit).ThenBy(c => c.LastBit).ToList();
            var warnings = before.Warnings.Select(w => "old: " + w).Concat(after.Warnings.Select(w => "new: " + w)).ToList();
            return new DeviceDiff(device, ordered, warnings);
        }

        private static IEnumerable<DeviceChange> CompareBehaviors(BoundConfigSpace before, BoundConfigSpace after)
        {
            var keys = before.Behaviors.Select(b => (b.Offset, b.Width)).Union(after.Behaviors.Select(b => (b.Offset, b.Width))).OrderBy(k => k.Offset).ThenBy(k => k.Width);
            foreach ((int offset, int width) in keys)
            {
                BoundBehavior? oldBehavior = before.Behaviors.FirstOrDefault(b => b.Offset == offset && b.Width == width);
                BoundBehavior? newBehavior = after.Behaviors.FirstOrDefault(b => b.Offset == offset && b.Width == width);
                Behavior oldKind = oldBehavior?.Behavior ?? Behavior.None;
                Behavior newKind = newBehavior?.Behavior ?? Behavior.None;
                if (oldKind == newKind)
                {
                    continue;
                }

                yield return new DeviceChange(
                    PolicyDiffer.BehaviorImpact(oldKind, newKind),
                    offset * 8,
                    ((offset + width) * 8) - 1,
                    Locate(after, offset),
                    oldKind == Behavior.None ? "(no behavior)" : "behavior " + DiffText.BehaviorName(oldKind),
                    newKind == Behavior.None ? "(no behavior)" : "behavior " + DiffText.BehaviorName(newKind),
                    oldBehavior?.Origin ?? before.OwnerOf(offset, 0),
                    newBehavior?.Origin ?? after.OwnerOf(offset, 0));
            }
        }

        private static void Flush(ref Range? pending, List<DeviceChange> changes)
        {
            if (pending != null)
            {
                changes.Add(pending.ToChange());
                pending = null;
            }
        }

        private static Bit Read(BoundConfigSpace bound, int position)
        {
            int offset = position / 8;
            int bit = position % 8;
            bool Has(ReadOnlySpan<byte> mask) => (mask[offset] & (1 << bit)) != 0;
            BitAction action = bound.ActionAt(offset, bit) with { Value = 0 };

            Behavior behavior = bound.FindBehavior(offset)?.Behavior ?? Behavior.None;
            BitState state = BitState.Of(action, Has(bound.HardwareWriteOneToClear), behavior);
            return new Bit(state with { Behavior = Behavior.None }, behavior, Has(bound.ResetValue), bound.OwnerOf(offset, bit));
        }

        private static string Locate(BoundConfigSpace bound, int offset)
        {
            foreach (BoundCapability capability in bound.Capabilities)
            {
                int length = Math.Max(capability.Info.Length, capability.Info.Extended ? 4 : 2);
                if (capability.Bound && offset >= capability.Info.Offset && offset < capability.Info.Offset + length)
                {
                    return (capability.Info.Extended ? "extended-capability " : "capability ") + capability.Info.Name + " at " + DiffText.Hex(capability.Info.Offset)
                        + " +" + DiffText.Hex(offset - capability.Info.Offset);
                }
            }

            return offset < DeviceBinder.HeaderSize ? "header" : "outside any capability";
        }

        /// <summary>One bound bit: its state (without behavior, compared separately), the behavior it sits in, its reset value and owner.</summary>
        private sealed record Bit(BitState State, Behavior Behavior, bool Value, RuleOrigin Owner);

        private sealed class Range
        {
            private readonly Bit _old;
            private readonly Bit _new;
            private readonly string _location;
            private readonly int _first;
            private readonly List<RuleOrigin> _oldOwners = new List<RuleOrigin>();
            private readonly List<RuleOrigin> _newOwners = new List<RuleOrigin>();
            private int _last;
            private uint _oldValue;
            private uint _newValue;

            public Range(int position, Bit oldBit, Bit newBit, string location)
            {
                _old = oldBit;
                _new = newBit;
                _location = location;
                _first = position;
                _last = position - 1;
                Add(position, oldBit, newBit);
            }

            public bool Continues(int position, Bit oldBit, Bit newBit, string location)
                => position == _last + 1 && position - _first < 32 && oldBit.State == _old.State && newBit.State == _new.State
                   && oldBit.Behavior == _old.Behavior && newBit.Behavior == _new.Behavior
                   && SameRegion(location);

            public void Add(int position, Bit oldBit, Bit newBit)
            {
                if (!_oldOwners.Contains(oldBit.Owner))
                {
                    _oldOwners.Add(oldBit.Owner);
                }

                if (!_newOwners.Contains(newBit.Owner))
                {
                    _newOwners.Add(newBit.Owner);
                }

                int index = position - _first;
                _oldValue |= (oldBit.Value ? 1u : 0u) << index;
                _newValue |= (newBit.Value ? 1u : 0u) << index;
                _last = position;
            }

            public DeviceChange ToChange()
            {
                int bits = _last - _first + 1;
                (ChangeImpact impact, _) = Exposure.Classify(_old.State with { Behavior = _old.Behavior }, _new.State with { Behavior = _new.Behavior });
                return new DeviceChange(impact, _first, _last, _location, _old.State.Describe(_oldValue, bits), _new.State.Describe(_newValue, bits), _old.Owner, _new.Owner)
                {
                    OldOrigins = _oldOwners.ToArray(),
                    NewOrigins = _newOwners.ToArray(),
                };
            }

            // A range stays within one capability (or the header, or the gaps), so its location names all of it.
            private bool SameRegion(string location)
            {
                int plus = location.LastIndexOf(" +", StringComparison.Ordinal);
                int mine = _location.LastIndexOf(" +", StringComparison.Ordinal);
                string region = plus < 0 ? location : location.Substring(0, plus);
                string myRegion = mine < 0 ? _location : _location.Substring(0, mine);
                return string.Equals(region, myRegion, StringComparison.Ordinal);
            }
        }
    }
}
