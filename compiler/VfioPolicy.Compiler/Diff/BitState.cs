using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>
    /// What one bit does, reduced to its meaning: parameters that cannot matter for the disposition are cleared
    /// (a passthrough bit has no value, a denied bit no write semantics, a bit initialised from hardware no literal),
    /// so two spellings of the same meaning compare equal. The bit's own value (initial or denied constant) is kept
    /// apart, because ranges of bits share one state but not one value.
    /// </summary>
    /// <param name="Disposition">Passthrough, virtualize or deny.</param>
    /// <param name="Write">Write semantics (passthrough and virtualize only).</param>
    /// <param name="Initial">Initial value source (virtualize only).</param>
    /// <param name="Silent">Denied without auditing (deny only).</param>
    /// <param name="HardwareWriteOneToClear">The hardware bit is RW1C (hw-rw1c).</param>
    /// <param name="Behavior">The runtime behavior of the register the bit belongs to.</param>
    public readonly record struct BitState(
        Disposition Disposition,
        WriteSemantics Write,
        InitialValueSource Initial,
        bool Silent,
        bool HardwareWriteOneToClear,
        Behavior Behavior)
    {
        /// <summary>The state of a bit governed by <paramref name="action"/>, normalised.</summary>
        public static BitState Of(BitAction action, bool hardwareWriteOneToClear, Behavior behavior) => action.Disposition switch
        {
            Disposition.Passthrough => new BitState(Disposition.Passthrough, action.Write == WriteSemantics.ReadOnly ? WriteSemantics.ReadOnly : WriteSemantics.ReadWrite, InitialValueSource.Literal, false, hardwareWriteOneToClear, behavior),
            Disposition.Virtualize => new BitState(Disposition.Virtualize, action.Write, action.Initial, false, hardwareWriteOneToClear, behavior),
            _ => new BitState(Disposition.Deny, WriteSemantics.ReadOnly, InitialValueSource.Literal, action.Silent, hardwareWriteOneToClear, behavior),
        };

        /// <summary>True when the bit's value (initial literal or denied constant) is part of its meaning.</summary>
        public bool HasValue => Disposition == Disposition.Deny || (Disposition == Disposition.Virtualize && Initial == InitialValueSource.Literal);

        /// <summary>The state in policy syntax; <paramref name="value"/> is right-aligned to a range of <paramref name="bits"/> bits.</summary>
        public string Describe(uint value, int bits)
        {
            string text = Disposition switch
            {
                Disposition.Passthrough => "passthrough " + (Write == WriteSemantics.ReadOnly ? "ro" : "rw"),
                Disposition.Virtualize => "virtualize " + WriteText(Write) + " init " + (Initial == InitialValueSource.Hardware ? "hw" : DiffText.Number(value, bits)),
                _ => "deny " + DiffText.Number(value, bits) + (Silent ? " silent" : string.Empty),
            };
            if (HardwareWriteOneToClear)
            {
                text += " hw-rw1c";
            }

            return text;
        }

        private static string WriteText(WriteSemantics write) => write switch
        {
            WriteSemantics.ReadOnly => "ro",
            WriteSemantics.ReadWrite => "rw",
            WriteSemantics.WriteHardware => "ro write-hw",
            _ => "rw1c",
        };
    }

    /// <summary>
    /// The partial order of exposure. A bit's exposure has three independent components; a change that raises any
    /// of them widens, one that lowers some and raises none narrows, and one that moves none is neutral.
    /// </summary>
    public static class Exposure
    {
        /// <summary>How much of the hardware a read or write reaches: 0 a constant, 1 the hardware's value at open, 2 live reads, 3 live reads and writes.</summary>
        public static int Reach(BitState state) => state.Disposition switch
        {
            Disposition.Passthrough => state.Write == WriteSemantics.ReadOnly ? 2 : 3,
            Disposition.Virtualize => state.Initial == InitialValueSource.Hardware ? 1 : 0,
            _ => 0,
        };

        /// <summary>1 when a consumer write to the shadow drives a runtime behavior (a writable virtualized bit of a behavior register), else 0.</summary>
        public static int Drive(BitState state)
            => state.Disposition == Disposition.Virtualize && state.Write != WriteSemantics.ReadOnly && state.Behavior != Behavior.None ? 1 : 0;

        /// <summary>
        /// 1 when a consumer write reaches the hardware bit under a virtual read (<c>virtualize ro write-hw</c>), else 0.
        /// Passthrough rw writes are already counted by <see cref="Reach"/>, whose top level is "reads and writes".
        /// </summary>
        public static int HardwareWrite(BitState state)
            => state.Disposition == Disposition.Virtualize && state.Write == WriteSemantics.WriteHardware ? 1 : 0;

        /// <summary>1 when a read-modify-write may write the hardware bit back as read (no hw-rw1c), 0 when the merge protects it.</summary>
        public static int Merge(BitState state) => state.HardwareWriteOneToClear ? 0 : 1;

        /// <summary>Classifies the move from <paramref name="before"/> to <paramref name="after"/>, with the reason in a few words.</summary>
        public static (ChangeImpact Impact, string Reason) Classify(BitState before, BitState after)
        {
            var raised = new List<string>();
            var lowered = new List<string>();
            Compare(Reach(before), Reach(after), "reach " + ReachName(Reach(before)) + " → " + ReachName(Reach(after)), raised, lowered);
            Compare(Drive(before), Drive(after), Drive(after) > 0 ? "writes drive behavior " + DiffText.BehaviorName(after.Behavior) : "writes no longer drive behavior " + DiffText.BehaviorName(before.Behavior), raised, lowered);
            if (Reach(before) < 3 && Reach(after) < 3)
            {
                Compare(HardwareWrite(before), HardwareWrite(after), HardwareWrite(after) > 0 ? "writes reach the hardware" : "writes no longer reach the hardware", raised, lowered);
            }
            else if (Reach(before) == 3 && Reach(after) < 3 && HardwareWrite(after) > 0)
            {
                // Live reads are given up but writes still reach the hardware: not a pure narrowing of writes.
                lowered.RemoveAll(reason => reason.StartsWith("reach ", StringComparison.Ordinal));
                lowered.Add("reach hardware reads and writes → " + ReachName(Reach(after)) + " for reads; writes still reach the hardware");
            }
            else if (Reach(before) < 3 && Reach(after) == 3 && HardwareWrite(before) > 0)
            {
                raised.RemoveAll(reason => reason.StartsWith("reach ", StringComparison.Ordinal));
                raised.Add("reach " + ReachName(Reach(before)) + " → hardware reads (writes already reached the hardware)");
            }

            Compare(Merge(before), Merge(after), Merge(after) > 0 ? "hw-rw1c removed: a merge may clear the bit" : "hw-rw1c added: merges keep the bit", raised, lowered);
            if (raised.Count > 0)
            {
                raised.AddRange(lowered);
                return (ChangeImpact.Widening, string.Join("; ", raised));
            }

            if (lowered.Count > 0)
            {
                return (ChangeImpact.Narrowing, string.Join("; ", lowered));
            }

            return (ChangeImpact.Neutral, NeutralReason(before, after));
        }

        /// <summary>The name of a reach level.</summary>
        public static string ReachName(int reach) => reach switch
        {
            0 => "constant",
            1 => "hardware value at open",
            2 => "hardware reads",
            _ => "hardware reads and writes",
        };

        private static void Compare(int before, int after, string text, List<string> raised, List<string> lowered)
        {
            if (after > before)
            {
                raised.Add(text);
            }
            else if (after < before)
            {
                lowered.Add(text);
            }
        }

        private static string NeutralReason(BitState before, BitState after)
        {
            if (before.Disposition != after.Disposition)
            {
                return "same reach (" + ReachName(Reach(after)) + "), different disposition";
            }

            if (before.Write != after.Write)
            {
                return "shadow write semantics only";
            }

            if (before.Silent != after.Silent)
            {
                return after.Silent ? "denied writes no longer audited" : "denied writes now audited";
            }

            if (before.Behavior != after.Behavior)
            {
                return "behavior of a register whose bits do not drive it";
            }

            return before.Disposition == Disposition.Deny ? "denied read value only" : "initial value only";
        }
    }

    /// <summary>Text helpers shared by the diff's records and renderers.</summary>
    public static class DiffText
    {
        /// <summary>A value in policy syntax: decimal below 2, else lower-case hex.</summary>
        public static string Number(uint value, int bits) => value < 2 ? value.ToString(CultureInfo.InvariantCulture) : Scaffolding.ActionSyntax.Hex(value, bits);

        /// <summary>Lower-case hex with a 0x prefix, at least two digits.</summary>
        public static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);

        /// <summary>The language keyword of a behavior.</summary>
        public static string BehaviorName(Behavior behavior) => behavior.ToString().ToLowerInvariant();

        /// <summary>The language keyword of a width in bytes.</summary>
        public static string WidthName(int width) => "u" + (width * 8).ToString(CultureInfo.InvariantCulture);

        /// <summary>The heading a change is grouped under.</summary>
        public static string Subject(PolicyChange change)
        {
            string register = change.Register == null ? string.Empty
                : (change.Register.Length > 0 ? " " + change.Register : string.Empty) + " (" + (IsCapability(change.Area) ? "+" : string.Empty) + Hex(change.Offset ?? 0) + " " + WidthName(change.Width ?? 4)
                  + (change.Condition == null ? string.Empty : " when " + change.Condition) + ")";
            return change.Area switch
            {
                ChangeArea.Policy => "policy",
                ChangeArea.Match => "match",
                ChangeArea.Default => "defaults",
                ChangeArea.Mirror => "mirrors",
                ChangeArea.Header => "header" + register,
                ChangeArea.DeviceSpecific => "device-specific" + register,
                ChangeArea.Capability => "capability " + change.Scope + register,
                _ => "extended-capability " + change.Scope + register,
            };
        }

        /// <summary>What part of the subject changed.</summary>
        public static string What(PolicyChange change) => change.Aspect switch
        {
            ChangeAspect.Bits => change.LowBit == change.HighBit
                ? "bit " + (change.LowBit ?? 0).ToString(CultureInfo.InvariantCulture)
                : "bits " + (change.LowBit ?? 0).ToString(CultureInfo.InvariantCulture) + ".." + (change.HighBit ?? 0).ToString(CultureInfo.InvariantCulture),
            ChangeAspect.Default => "default " + change.Scope,
            ChangeAspect.CapabilityDefault => "uncovered bytes",
            ChangeAspect.Hide => "hidden",
            ChangeAspect.Behavior => "behavior",
            ChangeAspect.Match => "devices selected",
            ChangeAspect.Mirror => "mirror",
            ChangeAspect.Name => "name",
            ChangeAspect.Added => "added",
            _ => "removed",
        };

        /// <summary>An absolute bit range on a device.</summary>
        public static string DeviceRange(int firstBit, int lastBit)
        {
            int firstByte = firstBit / 8;
            int lastByte = lastBit / 8;
            int low = firstBit % 8;
            int high = lastBit % 8;
            if (low == 0 && high == 7)
            {
                return firstByte == lastByte ? Hex(firstByte) : Hex(firstByte) + ".." + Hex(lastByte);
            }

            if (firstByte == lastByte)
            {
                return Hex(firstByte) + (low == high ? " bit " + low.ToString(CultureInfo.InvariantCulture) : " bits " + low.ToString(CultureInfo.InvariantCulture) + ".." + high.ToString(CultureInfo.InvariantCulture));
            }

            return Hex(firstByte) + " bit " + low.ToString(CultureInfo.InvariantCulture) + ".." + Hex(lastByte) + " bit " + high.ToString(CultureInfo.InvariantCulture);
        }

        /// <summary>Rule locations, lines of one file folded: <c>a.vfiopolicy:27,28</c>, files separated by ", "; "-" when none.</summary>
        public static string Locations(IReadOnlyList<RuleOrigin> origins)
        {
            if (origins.Count == 0)
            {
                return "-";
            }

            var parts = new List<string>();
            foreach (IGrouping<string, RuleOrigin> file in origins.GroupBy(o => o.Path))
            {
                parts.Add(file.Key.StartsWith("<", StringComparison.Ordinal) ? file.Key : file.Key + ":" + string.Join(",", file.Select(o => o.Line.ToString(CultureInfo.InvariantCulture)).Distinct()));
            }

            return string.Join(", ", parts);
        }

        /// <summary>Lower-case name of an impact, as the outputs print it.</summary>
        public static string ImpactName(ChangeImpact impact) => impact switch
        {
            ChangeImpact.Widening => "widening",
            ChangeImpact.Narrowing => "narrowing",
            _ => "neutral",
        };

        private static bool IsCapability(ChangeArea area) => area == ChangeArea.Capability || area == ChangeArea.ExtendedCapability;
    }
}
