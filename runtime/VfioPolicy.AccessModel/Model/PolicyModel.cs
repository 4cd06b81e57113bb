using System;
using System.Collections.Generic;

namespace VfioPolicy.AccessModel.Model
{
    // The lowered policy: plain, immutable, structurally equatable data. It holds no syntax, no Sprache and no
    // Roslyn objects, so the source generator can cache on it, the semantic diff can compare two of them, and the
    // runtime can execute it without knowing how it was written. Every rule keeps its origin (file:line) because
    // every bit of a bound device must be explainable.

    /// <summary>What a bit does: where its read value comes from and what a consumer write does to it.</summary>
    public enum Disposition
    {
        /// <summary>Reads come from the hardware; writes reach it unless the rule is read-only.</summary>
        Passthrough,

        /// <summary>Reads come from the shadow; writes change the shadow by their semantics, never the hardware.</summary>
        Virtualize,

        /// <summary>Reads give a constant; writes are dropped and audited unless the rule is silent.</summary>
        Deny,
    }

    /// <summary>The write semantics of a passthrough or virtualized bit.</summary>
    public enum WriteSemantics
    {
        /// <summary>Writes are ignored (<c>ro</c>).</summary>
        ReadOnly,

        /// <summary>Writes store the value (<c>rw</c>).</summary>
        ReadWrite,

        /// <summary>A written 1 clears the bit, a 0 leaves it (<c>rw1c</c>; virtualized bits only).</summary>
        WriteOneToClear,

        /// <summary>
        /// <c>virtualize ro write-hw</c> (virtualized bits only): the shadow ignores the write and the hardware takes it,
        /// as a passthrough-writable bit's would. Reads keep coming from the shadow. It is the kernel's raw write under
        /// a virtual read (vendor-specific capability headers).
        /// </summary>
        WriteHardware,
    }

    /// <summary>Where a virtualized bit's initial (and reset) value comes from.</summary>
    public enum InitialValueSource
    {
        /// <summary>A literal the policy gives.</summary>
        Literal,

        /// <summary>The hardware's value when the device is opened.</summary>
        Hardware,
    }

    /// <summary>A runtime behavior bound to a register: a protocol rather than plain bits.</summary>
    public enum Behavior
    {
        /// <summary>No behavior.</summary>
        None,

        /// <summary>BAR sizing and the consumer's BAR address.</summary>
        Bar,

        /// <summary>The expansion ROM BAR.</summary>
        Rom,

        /// <summary>Memory/IO enable and INTx disable in Command.</summary>
        Command,

        /// <summary>MSI control, address, data and mask.</summary>
        Msi,

        /// <summary>MSI-X enable and function mask.</summary>
        Msix,

        /// <summary>Function-level reset through Initiate FLR.</summary>
        Flr,

        /// <summary>Power-state transitions through PMCSR.</summary>
        Pm,
    }

    /// <summary>Where a rule came from: the policy file, its 1-based line and column, and the rule's text.</summary>
    public sealed record RuleOrigin(string Path, int Line, int Column, string Text)
    {
        /// <summary>The <c>path:line</c> form used in maps, audit events and diffs.</summary>
        public string Location => Path + ":" + Line.ToString(System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>The origin of bits the chain walk owns (capability IDs and next pointers).</summary>
        public static RuleOrigin Chain { get; } = new RuleOrigin("<chain>", 0, 0, "capability chain link");

        /// <inheritdoc />
        public override string ToString() => Location;
    }

    /// <summary>
    /// One disposition with its parameters. <see cref="Value"/> is the virtualized initial value (when
    /// <see cref="Initial"/> is <see cref="InitialValueSource.Literal"/>) or the denied read value, right-aligned
    /// to the bits it applies to (bit 0 of Value is the rule's lowest bit; for defaults, a per-byte pattern).
    /// </summary>
    public sealed record BitAction(
        Disposition Disposition,
        WriteSemantics Write,
        InitialValueSource Initial,
        uint Value,
        bool Silent)
    {
        /// <summary>Passthrough, read-write.</summary>
        public static BitAction PassthroughReadWrite { get; } = new BitAction(Disposition.Passthrough, WriteSemantics.ReadWrite, InitialValueSource.Literal, 0, false);

        /// <summary>Passthrough, read-only.</summary>
        public static BitAction PassthroughReadOnly { get; } = new BitAction(Disposition.Passthrough, WriteSemantics.ReadOnly, InitialValueSource.Literal, 0, false);

        /// <summary>Virtualized, read-only, initialised from hardware (used for chain links).</summary>
        public static BitAction VirtualReadOnlyFromHardware { get; } = new BitAction(Disposition.Virtualize, WriteSemantics.ReadOnly, InitialValueSource.Hardware, 0, false);

        /// <summary>Denied, reads <paramref name="value"/>, audited unless <paramref name="silent"/>.</summary>
        public static BitAction Deny(uint value, bool silent = false) => new BitAction(Disposition.Deny, WriteSemantics.ReadOnly, InitialValueSource.Literal, value, silent);
    }

    /// <summary>A condition on a capability's (or the header's) own bytes that decides whether a register exists on a device, e.g. MSI's 64-bit layout.</summary>
    /// <param name="Offset">Offset of the tested register, in the same space as the register it guards.</param>
    /// <param name="Width">Width in bytes of the tested register.</param>
    /// <param name="Mask">Bits tested.</param>
    /// <param name="Value">Required value of the tested bits (already positioned under <paramref name="Mask"/>).</param>
    /// <param name="NotEqual">The condition holds when the tested bits differ from <paramref name="Value"/> (<c>!=</c>).</param>
    public sealed record RegisterCondition(int Offset, int Width, uint Mask, uint Value, bool NotEqual = false)
    {
        /// <summary>
        /// Whether the condition holds on <paramref name="config"/> for a register space starting at
        /// <paramref name="baseOffset"/> (0 for the header, the capability's offset otherwise). Tested bytes outside the
        /// image make it false, whatever the operator: a register whose condition cannot be read does not exist.
        /// </summary>
        public bool Holds(ReadOnlySpan<byte> config, int baseOffset)
        {
            long start = (long)baseOffset + Offset;
            if (Width < 1 || Width > 4 || start < 0 || start + Width > config.Length)
            {
                return false;
            }

            uint value = 0;
            for (int b = Width - 1; b >= 0; b--)
            {
                value = (value << 8) | config[(int)start + b];
            }

            return ((value & Mask) == (Value & Mask)) != NotEqual;
        }

        /// <summary>
        /// True when no device satisfies both this condition and <paramref name="other"/>. Two equalities contradict
        /// when some shared bit must hold different values; an equality and an inequality on the same register when
        /// the equality fixes every bit the inequality tests to the value it excludes. Two inequalities never do.
        /// </summary>
        public bool Contradicts(RegisterCondition other)
        {
            if (other is null)
            {
                throw new ArgumentNullException(nameof(other));
            }

            if (NotEqual && other.NotEqual)
            {
                return false;
            }

            if (NotEqual || other.NotEqual)
            {
                RegisterCondition equality = NotEqual ? other : this;
                RegisterCondition inequality = NotEqual ? this : other;
                return equality.Offset == inequality.Offset && equality.Width == inequality.Width
                    && (inequality.Mask & ~equality.Mask) == 0
                    && ((equality.Value ^ inequality.Value) & inequality.Mask) == 0;
            }

            for (int byteA = 0; byteA < Width; byteA++)
            {
                int byteB = Offset + byteA - other.Offset;
                if (byteB < 0 || byteB >= other.Width)
                {
                    continue;
                }

                uint maskA = (Mask >> (byteA * 8)) & 0xff;
                uint maskB = (other.Mask >> (byteB * 8)) & 0xff;
                uint valueA = (Value >> (byteA * 8)) & 0xff;
                uint valueB = (other.Value >> (byteB * 8)) & 0xff;
                if (((valueA ^ valueB) & maskA & maskB) != 0)
                {
                    return true;
                }
            }

            return false;
        }
    }

    /// <summary>A rule over bits <paramref name="LowBit"/>..<paramref name="HighBit"/> (inclusive) of one register.</summary>
    /// <param name="LowBit">Lowest bit, 0-based within the register.</param>
    /// <param name="HighBit">Highest bit, inclusive.</param>
    /// <param name="Field">The field's name, when the policy names it.</param>
    /// <param name="Action">What the bits do.</param>
    /// <param name="HardwareWriteOneToClear">The hardware bits are RW1C: a merge writes them as 0 unless the consumer writes a 1 to a writable one.</param>
    /// <param name="Origin">The rule's source.</param>
    public sealed record BitRule(int LowBit, int HighBit, string? Field, BitAction Action, bool HardwareWriteOneToClear, RuleOrigin Origin)
    {
        /// <summary>The rule's bits as a mask over the register.</summary>
        public uint Mask => Semantics.BitSemantics.RangeMask(LowBit, HighBit);
    }

    /// <summary>
    /// A register: <paramref name="Offset"/> is absolute for the header and device-specific layouts and relative to
    /// the capability's start for capabilities. <paramref name="Rules"/> are disjoint (overrides already applied);
    /// bits no rule covers follow the policy's defaults.
    /// </summary>
    public sealed record RegisterModel(
        int Offset,
        int Width,
        string Name,
        Behavior Behavior,
        EquatableArray<RegisterCondition> Conditions,
        EquatableArray<BitRule> Rules,
        RuleOrigin Origin);

    /// <summary>How a hidden capability is unlinked and what its body becomes.</summary>
    public sealed record HideRule(BitAction Body, RuleOrigin Origin);

    /// <summary>Rules for every instance of one capability, found by ID wherever the chain walk finds it.</summary>
    public sealed record CapabilityModel(
        bool Extended,
        int Id,
        string Name,
        EquatableArray<RegisterModel> Registers,
        HideRule? Hide,
        RuleOrigin Origin)
    {
        /// <summary>
        /// The capability block's own <c>default ACTION</c>: what this capability's bytes no rule covers do, in place
        /// of <see cref="PolicyDefaults.Capability"/>. Null when the block states none. Its target is
        /// <see cref="DefaultTarget.Capability"/>; it never hides; values are per byte like every default's.
        /// </summary>
        public DefaultRule? Default { get; init; }
    }

    /// <summary>Which bytes a default covers.</summary>
    public enum DefaultTarget
    {
        /// <summary>Header bytes (0x00–0x3F) no rule covers.</summary>
        Header,

        /// <summary>Uncovered bytes of capabilities the policy has rules for.</summary>
        Capability,

        /// <summary>Bytes that belong to no capability.</summary>
        Gap,

        /// <summary>Capabilities no rule mentions.</summary>
        UnknownCapability,
    }

    /// <summary>A stated default. <paramref name="Hide"/> (unknown capabilities only) unlinks them and applies <paramref name="Action"/> to their bodies.</summary>
    public sealed record DefaultRule(DefaultTarget Target, BitAction Action, bool Hide, RuleOrigin Origin);

    /// <summary>The four defaults every policy must state somewhere in its include chain.</summary>
    public sealed record PolicyDefaults(DefaultRule Header, DefaultRule Capability, DefaultRule Gap, DefaultRule UnknownCapability);

    /// <summary>A device identity field a match can test.</summary>
    public enum MatchField
    {
        /// <summary>Vendor ID (0x00).</summary>
        Vendor,

        /// <summary>Device ID (0x02).</summary>
        Device,

        /// <summary>Subsystem vendor ID (0x2C).</summary>
        SubsystemVendor,

        /// <summary>Subsystem ID (0x2E).</summary>
        Subsystem,

        /// <summary>Class code, 24 bits (0x09–0x0B).</summary>
        Class,

        /// <summary>Revision ID (0x08).</summary>
        Revision,
    }

    /// <summary><c>(field &amp; Mask) == (Value &amp; Mask)</c>.</summary>
    public sealed record MatchCriterion(MatchField Field, uint Value, uint Mask)
    {
        /// <summary>The criterion as a <c>match</c> line writes it, in hex: <c>vendor 0x8086</c>, <c>class 0x020000 mask 0xff0000</c>.</summary>
        public override string ToString()
        {
            uint full = Binding.PolicyMatcher.FieldMask(Field);
            string text = FieldKeyword(Field) + " " + Hex(Value, Field);
            return (Mask & full) == full ? text : text + " mask " + Hex(Mask, Field);
        }

        /// <summary>The <c>match</c> keyword of <paramref name="field"/>: <c>vendor</c>, <c>subsystem-vendor</c>, <c>class</c>…</summary>
        public static string FieldKeyword(MatchField field) => field switch
        {
            MatchField.Vendor => "vendor",
            MatchField.Device => "device",
            MatchField.SubsystemVendor => "subsystem-vendor",
            MatchField.Subsystem => "subsystem",
            MatchField.Class => "class",
            _ => "revision",
        };

        /// <summary><paramref name="value"/> in hex with the field's width (4 digits for IDs, 6 for the class, 2 for the revision).</summary>
        internal static string Hex(uint value, MatchField field)
            => "0x" + value.ToString(field == MatchField.Class ? "x6" : field == MatchField.Revision ? "x2" : "x4", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>One <c>match</c> line: all criteria must hold. No criteria means any device.</summary>
    public sealed record DeviceMatch(EquatableArray<MatchCriterion> Criteria, RuleOrigin Origin);

    /// <summary>
    /// A way into config space through a BAR, which the runtime routes through the firewall. A fixed window
    /// (<c>mirror bar N offset OFF size SIZE</c>): BAR bytes <c>[Offset, Offset + Size)</c> are config offsets
    /// <c>[0, Size)</c>. An address/data pair (<see cref="DataOffset"/> set; <c>mirror bar N address OFF data OFF
    /// base BASE size SIZE</c>): the 4-byte register at <see cref="Offset"/> holds an address, and while it lies in
    /// <c>[Base, Base + Size)</c> the 4-byte register at <see cref="DataOffset"/> is config offset <c>address - Base</c>.
    /// </summary>
    /// <param name="Bar">BAR index (0 to 5).</param>
    /// <param name="Offset">The window's start, or the address register's offset.</param>
    /// <param name="Size">How many config bytes are reachable (at most 4096).</param>
    /// <param name="Origin">The <c>mirror</c> line.</param>
    public sealed record ConfigMirror(int Bar, long Offset, int Size, RuleOrigin Origin)
    {
        /// <summary>The data register's offset for an address/data pair; null for a fixed window.</summary>
        public long? DataOffset { get; init; }

        /// <summary>The address value that selects config offset 0 (address/data pairs).</summary>
        public uint Base { get; init; }

        /// <summary>The BAR byte ranges the runtime must see every access to: the window, or both registers of a pair.</summary>
        public IEnumerable<(long Start, long End)> TrappedRanges()
        {
            if (DataOffset is long data)
            {
                yield return (Offset, Offset + 4);
                yield return (data, data + 4);
            }
            else
            {
                yield return (Offset, Offset + Size);
            }
        }
    }

    /// <summary>A checked, lowered policy: everything the interpreter, the generator, the map and the diff need.</summary>
    public sealed record PolicyModel(
        string Name,
        RuleOrigin Origin,
        EquatableArray<DeviceMatch> Matches,
        PolicyDefaults Defaults,
        EquatableArray<RegisterModel> Header,
        EquatableArray<RegisterModel> DeviceSpecific,
        EquatableArray<CapabilityModel> Capabilities,
        EquatableArray<ConfigMirror> Mirrors);
}
