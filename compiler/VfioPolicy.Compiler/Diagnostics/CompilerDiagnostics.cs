using System.Collections.Generic;
using VfioPolicy.Grammar.Diagnostics;

namespace VfioPolicy.Compiler.Diagnostics
{
    /// <summary>
    /// The catalogue of the compiler's diagnostics (VP01xx–VP06xx). IDs are stable: tools and suppressions refer to
    /// them, and docs/diagnostics.md has one entry per ID. Errors mean the policy is invalid and no model is produced;
    /// warnings mean it works but probably not as intended.
    /// </summary>
    public static class CompilerDiagnostics
    {
        private const DiagnosticSeverity Error = DiagnosticSeverity.Error;
        private const DiagnosticSeverity Warning = DiagnosticSeverity.Warning;

        /// <summary>VP0101: a capability name the catalogue does not know.</summary>
        public static DiagnosticDescriptor UnknownCapability { get; } = new DiagnosticDescriptor("VP0101", Error, "Unknown capability name");

        /// <summary>VP0102: a register name the enclosing block's catalogue does not know.</summary>
        public static DiagnosticDescriptor UnknownRegister { get; } = new DiagnosticDescriptor("VP0102", Error, "Unknown register name");

        /// <summary>VP0103: a field name the register's catalogue entry does not know.</summary>
        public static DiagnosticDescriptor UnknownField { get; } = new DiagnosticDescriptor("VP0103", Error, "Unknown field name");

        /// <summary>VP0104: a default target other than header, capability, gap, unknown-capability.</summary>
        public static DiagnosticDescriptor UnknownDefaultTarget { get; } = new DiagnosticDescriptor("VP0104", Error, "Unknown default target");

        /// <summary>VP0105: a match criterion other than vendor, device, subsystem-vendor, subsystem, class, revision.</summary>
        public static DiagnosticDescriptor UnknownMatchField { get; } = new DiagnosticDescriptor("VP0105", Error, "Unknown match field");

        /// <summary>VP0106: an access mode other than rw, ro, rw1c.</summary>
        public static DiagnosticDescriptor UnknownMode { get; } = new DiagnosticDescriptor("VP0106", Error, "Unknown access mode");

        /// <summary>VP0107: a register width other than u8, u16, u32.</summary>
        public static DiagnosticDescriptor UnknownWidth { get; } = new DiagnosticDescriptor("VP0107", Error, "Unknown register width");

        /// <summary>VP0108: one register declared under two different names.</summary>
        public static DiagnosticDescriptor RegisterRenamed { get; } = new DiagnosticDescriptor("VP0108", Error, "Register declared under two names");

        /// <summary>VP0201: a register offset not aligned to its width.</summary>
        public static DiagnosticDescriptor MisalignedRegister { get; } = new DiagnosticDescriptor("VP0201", Error, "Register offset not aligned to its width");

        /// <summary>VP0202: a register outside the range of its block.</summary>
        public static DiagnosticDescriptor RegisterOutsideBlock { get; } = new DiagnosticDescriptor("VP0202", Error, "Register outside its block");

        /// <summary>VP0203: a catalogue register declared at another offset or width than the catalogue's.</summary>
        public static DiagnosticDescriptor CatalogueMismatch { get; } = new DiagnosticDescriptor("VP0203", Error, "Offset or width disagrees with the catalogue");

        /// <summary>VP0204: two declarations of the register at one offset with different widths.</summary>
        public static DiagnosticDescriptor WidthMismatch { get; } = new DiagnosticDescriptor("VP0204", Error, "Register declared with two widths");

        /// <summary>VP0205: a bit position beyond the register's width.</summary>
        public static DiagnosticDescriptor BitOutsideRegister { get; } = new DiagnosticDescriptor("VP0205", Error, "Bit outside the register");

        /// <summary>VP0206: a bit range whose low bit is above its high bit.</summary>
        public static DiagnosticDescriptor ReversedBitRange { get; } = new DiagnosticDescriptor("VP0206", Error, "Reversed bit range");

        /// <summary>VP0207: a value wider than the bits it is for.</summary>
        public static DiagnosticDescriptor ValueTooWide { get; } = new DiagnosticDescriptor("VP0207", Error, "Value does not fit");

        /// <summary>VP0208: a capability ID, BAR index or mirror size out of its range.</summary>
        public static DiagnosticDescriptor NumberOutOfRange { get; } = new DiagnosticDescriptor("VP0208", Error, "Number out of range");

        /// <summary>VP0209: an access mode or flag the disposition does not take (<c>passthrough rw1c</c>).</summary>
        public static DiagnosticDescriptor ModeNotAllowed { get; } = new DiagnosticDescriptor("VP0209", Error, "Mode not allowed for the disposition");

        /// <summary>VP0210: a rule on a capability's ID and next-pointer bytes, which belong to the chain.</summary>
        public static DiagnosticDescriptor ChainBytes { get; } = new DiagnosticDescriptor("VP0210", Error, "Rule covers the capability chain link");

        /// <summary>VP0211: register conditions no device can satisfy together.</summary>
        public static DiagnosticDescriptor ContradictoryConditions { get; } = new DiagnosticDescriptor("VP0211", Error, "Contradictory register conditions");

        /// <summary>VP0301: two rules give the same bits different actions and the later one does not say override.</summary>
        public static DiagnosticDescriptor ConflictingRules { get; } = new DiagnosticDescriptor("VP0301", Error, "Conflicting rules without override");

        /// <summary>VP0302: a rule or default repeats an earlier one exactly.</summary>
        public static DiagnosticDescriptor DuplicateRule { get; } = new DiagnosticDescriptor("VP0302", Warning, "Duplicate rule");

        /// <summary>VP0303: an override with nothing earlier to replace.</summary>
        public static DiagnosticDescriptor OverrideOfNothing { get; } = new DiagnosticDescriptor("VP0303", Warning, "Override replaces nothing");

        /// <summary>VP0304: a rule every bit of which later overrides in the same file replace.</summary>
        public static DiagnosticDescriptor UnreachableRule { get; } = new DiagnosticDescriptor("VP0304", Warning, "Rule unreachable: overridden later in the same file");

        /// <summary>VP0306: later overrides in the same file replace some bits of a rule (it still decides the others).</summary>
        public static DiagnosticDescriptor PartlyShadowedRule { get; } = new DiagnosticDescriptor("VP0306", Warning, "Rule partly shadowed by a later override in the same file");

        /// <summary>VP0305: two different registers of a block share bytes and can exist together.</summary>
        public static DiagnosticDescriptor OverlappingRegisters { get; } = new DiagnosticDescriptor("VP0305", Error, "Overlapping registers");

        /// <summary>VP0401: a complete policy does not state all four defaults.</summary>
        public static DiagnosticDescriptor MissingDefaults { get; } = new DiagnosticDescriptor("VP0401", Error, "Defaults not stated");

        /// <summary>VP0402: a default or hide restated differently without override.</summary>
        public static DiagnosticDescriptor RestatedDefault { get; } = new DiagnosticDescriptor("VP0402", Error, "Default or hide restated without override");

        /// <summary>VP0403: <c>hide</c> on a default other than unknown-capability.</summary>
        public static DiagnosticDescriptor HideNotAllowed { get; } = new DiagnosticDescriptor("VP0403", Error, "Only unknown capabilities can be hidden by default");

        /// <summary>VP0404: a complete policy without a match line.</summary>
        public static DiagnosticDescriptor MissingMatch { get; } = new DiagnosticDescriptor("VP0404", Error, "No match line");

        /// <summary>VP0405: <c>match</c> or <c>extends</c> in a file without <c>policy</c>.</summary>
        public static DiagnosticDescriptor StatementNeedsPolicy { get; } = new DiagnosticDescriptor("VP0405", Error, "Statement needs a policy line");

        /// <summary>VP0406: <c>policy</c> stated twice in one file.</summary>
        public static DiagnosticDescriptor PolicyNamedTwice { get; } = new DiagnosticDescriptor("VP0406", Error, "Policy named twice");

        /// <summary>VP0407: a block <c>default ACTION</c> in the header or device-specific block.</summary>
        public static DiagnosticDescriptor BlockDefaultOutsideCapability { get; } = new DiagnosticDescriptor("VP0407", Error, "Block default outside a capability block");

        /// <summary>VP0501: an included or extended file (or the compiled file) that cannot be read.</summary>
        public static DiagnosticDescriptor FileNotFound { get; } = new DiagnosticDescriptor("VP0501", Error, "File not found");

        /// <summary>VP0502: an include or extends line that closes a cycle.</summary>
        public static DiagnosticDescriptor IncludeCycle { get; } = new DiagnosticDescriptor("VP0502", Error, "Include cycle");

        /// <summary>VP0503: <c>extends</c> of a fragment.</summary>
        public static DiagnosticDescriptor ExtendsFragment { get; } = new DiagnosticDescriptor("VP0503", Error, "Extends of a fragment");

        /// <summary>VP0504: <c>include</c> of a complete policy.</summary>
        public static DiagnosticDescriptor IncludeOfPolicy { get; } = new DiagnosticDescriptor("VP0504", Error, "Include of a complete policy");

        /// <summary>VP0601: a behavior name other than bar, rom, command, msi, msix, flr, pm.</summary>
        public static DiagnosticDescriptor UnknownBehavior { get; } = new DiagnosticDescriptor("VP0601", Error, "Unknown behavior");

        /// <summary>VP0602: a behavior on a register the catalogue does not allow it on.</summary>
        public static DiagnosticDescriptor BehaviorNotAllowed { get; } = new DiagnosticDescriptor("VP0602", Error, "Behavior not allowed on the register");

        /// <summary>VP0603: a second behavior binding on one register.</summary>
        public static DiagnosticDescriptor BehaviorBoundTwice { get; } = new DiagnosticDescriptor("VP0603", Error, "Behavior bound twice");

        /// <summary>VP0604: a passthrough-writable bit in a register owned by bar, rom, msi or msix.</summary>
        public static DiagnosticDescriptor BehaviorRegisterWritable { get; } = new DiagnosticDescriptor("VP0604", Error, "Passthrough-writable bit in a behavior register");

        /// <summary>VP0605: a bit a behavior owns that is not virtualized.</summary>
        public static DiagnosticDescriptor OwnedBitsNotVirtualized { get; } = new DiagnosticDescriptor("VP0605", Error, "Behavior-owned bits not virtualized");

        /// <summary>Every descriptor, in ID order.</summary>
        public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
        {
            UnknownCapability, UnknownRegister, UnknownField, UnknownDefaultTarget, UnknownMatchField, UnknownMode, UnknownWidth, RegisterRenamed,
            MisalignedRegister, RegisterOutsideBlock, CatalogueMismatch, WidthMismatch, BitOutsideRegister, ReversedBitRange, ValueTooWide, NumberOutOfRange, ModeNotAllowed, ChainBytes, ContradictoryConditions,
            ConflictingRules, DuplicateRule, OverrideOfNothing, UnreachableRule, PartlyShadowedRule, OverlappingRegisters,
            MissingDefaults, RestatedDefault, HideNotAllowed, MissingMatch, StatementNeedsPolicy, PolicyNamedTwice, BlockDefaultOutsideCapability,
            FileNotFound, IncludeCycle, ExtendsFragment, IncludeOfPolicy,
            UnknownBehavior, BehaviorNotAllowed, BehaviorBoundTwice, BehaviorRegisterWritable, OwnedBitsNotVirtualized,
        };
    }
}
