using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>
    /// How a change moves the consumer's reach into the hardware. The order is the severity a review gate cares
    /// about: <see cref="Widening"/> is the one <c>--fail-on widening</c> stops. docs/reviewing-policies.md states the
    /// partial order the classification follows.
    /// </summary>
    public enum ChangeImpact
    {
        /// <summary>The consumer reaches neither more nor less of the hardware (a virtualized initial value, a deny constant, an audit flag).</summary>
        Neutral,

        /// <summary>The consumer reaches less of the hardware, and more of nothing.</summary>
        Narrowing,

        /// <summary>The consumer reaches more of the hardware in at least one respect.</summary>
        Widening,
    }

    /// <summary>Which part of a policy a change is in.</summary>
    public enum ChangeArea
    {
        /// <summary>The policy as a whole: its name, or the file being added or removed.</summary>
        Policy,

        /// <summary>The <c>match</c> lines.</summary>
        Match,

        /// <summary>One of the four policy-wide defaults.</summary>
        Default,

        /// <summary>A <c>mirror</c> window.</summary>
        Mirror,

        /// <summary>A register of the type-0 header (absolute offsets).</summary>
        Header,

        /// <summary>A device-specific register (absolute offsets).</summary>
        DeviceSpecific,

        /// <summary>A standard capability (offsets relative to the capability).</summary>
        Capability,

        /// <summary>An extended capability (offsets relative to the capability).</summary>
        ExtendedCapability,
    }

    /// <summary>What about the subject changed.</summary>
    public enum ChangeAspect
    {
        /// <summary>The policy's name (audit events carry it).</summary>
        Name,

        /// <summary>The policy file was added.</summary>
        Added,

        /// <summary>The policy file was removed.</summary>
        Removed,

        /// <summary>The set of devices the match lines select.</summary>
        Match,

        /// <summary>A default's action (or, for unknown capabilities, whether it hides).</summary>
        Default,

        /// <summary>A mirror window was declared or dropped.</summary>
        Mirror,

        /// <summary>Whether a capability is hidden, or its hidden body.</summary>
        Hide,

        /// <summary>What the uncovered bytes of a capability follow (its block default, or the capability/unknown-capability default).</summary>
        CapabilityDefault,

        /// <summary>The runtime behavior bound to a register.</summary>
        Behavior,

        /// <summary>What a range of bits of a register does.</summary>
        Bits,
    }

    /// <summary>
    /// One semantic change. Bit changes are grouped into contiguous ranges per register; every other aspect is one
    /// change per subject. <see cref="Before"/> and <see cref="After"/> are written in the policy language's syntax.
    /// </summary>
    /// <param name="Impact">Widening, narrowing or neutral.</param>
    /// <param name="Area">Where in the policy.</param>
    /// <param name="Scope">The capability's name for capability areas (else null).</param>
    /// <param name="Register">The register's name (the new side's when both have one), or null for non-register changes.</param>
    /// <param name="Offset">The register's offset (relative for capabilities), or null.</param>
    /// <param name="Width">The register's width in bytes, or null.</param>
    /// <param name="Condition">The register's <c>when</c> condition as text, or null when unconditional.</param>
    /// <param name="Aspect">What changed.</param>
    /// <param name="LowBit">For bit changes, the lowest bit of the range within the register.</param>
    /// <param name="HighBit">For bit changes, the highest bit (inclusive).</param>
    /// <param name="Before">The old side, in policy syntax ("(none)" when absent).</param>
    /// <param name="After">The new side, in policy syntax.</param>
    /// <param name="OldOrigin">The rule or default that decided the old side, or null.</param>
    /// <param name="NewOrigin">The rule or default that decides the new side, or null.</param>
    /// <param name="Reason">Why the change has its impact, in a few words.</param>
    public sealed record PolicyChange(
        ChangeImpact Impact,
        ChangeArea Area,
        string? Scope,
        string? Register,
        int? Offset,
        int? Width,
        string? Condition,
        ChangeAspect Aspect,
        int? LowBit,
        int? HighBit,
        string Before,
        string After,
        RuleOrigin? OldOrigin,
        RuleOrigin? NewOrigin,
        string Reason)
    {
        /// <summary>Every rule that decided the old side of a bit range (merged ranges may span several rules); <see cref="OldOrigin"/> is the first.</summary>
        public IReadOnlyList<RuleOrigin> OldOrigins { get; init; } = OldOrigin == null ? new RuleOrigin[0] : new[] { OldOrigin };

        /// <summary>Every rule that decides the new side of a bit range; <see cref="NewOrigin"/> is the first.</summary>
        public IReadOnlyList<RuleOrigin> NewOrigins { get; init; } = NewOrigin == null ? new RuleOrigin[0] : new[] { NewOrigin };

        /// <summary>The heading changes are grouped under: one per register, capability or policy-wide aspect.</summary>
        public string Subject => DiffText.Subject(this);

        /// <summary>The part of the subject that changed: "bits 0..3", "behavior", "hidden"…</summary>
        public string What => DiffText.What(this);
    }

    /// <summary>A change on one device: bits at absolute offsets, after binding both policies to the device.</summary>
    /// <param name="Impact">Widening, narrowing or neutral.</param>
    /// <param name="FirstBit">The first bit of the range, as <c>offset * 8 + bit</c>.</param>
    /// <param name="LastBit">The last bit of the range (inclusive), as <c>offset * 8 + bit</c>.</param>
    /// <param name="Location">What the bytes belong to on the device: "header", "capability EXP at 0x40", "gap"…</param>
    /// <param name="Before">The old binding of the range.</param>
    /// <param name="After">The new binding of the range.</param>
    /// <param name="OldOrigin">The rule or default that owned the range under the old policy.</param>
    /// <param name="NewOrigin">The rule or default that owns the range under the new policy.</param>
    public sealed record DeviceChange(ChangeImpact Impact, int FirstBit, int LastBit, string Location, string Before, string After, RuleOrigin OldOrigin, RuleOrigin NewOrigin)
    {
        /// <summary>Every rule or default that owned the range under the old policy; <see cref="OldOrigin"/> is the first.</summary>
        public IReadOnlyList<RuleOrigin> OldOrigins { get; init; } = new[] { OldOrigin };

        /// <summary>Every rule or default that owns the range under the new policy; <see cref="NewOrigin"/> is the first.</summary>
        public IReadOnlyList<RuleOrigin> NewOrigins { get; init; } = new[] { NewOrigin };

        /// <summary>The range in the form <c>0x4a bits 0..3</c>, <c>0x48..0x4b</c> or <c>0x48 bit 4..0x49 bit 2</c>.</summary>
        public string Range => DiffText.DeviceRange(FirstBit, LastBit);
    }

    /// <summary>The comparison of two policies bound to one device.</summary>
    /// <param name="Device">A line naming the device (slot, description, dump).</param>
    /// <param name="Changes">Changed bit ranges in offset order.</param>
    /// <param name="Warnings">Binding warnings of either side, each prefixed with its side.</param>
    public sealed record DeviceDiff(string Device, IReadOnlyList<DeviceChange> Changes, IReadOnlyList<string> Warnings);

    /// <summary>The semantic difference between two versions of one policy.</summary>
    /// <param name="OldLabel">How the old side was named on the command line (a path, or <c>REV:path</c>), or null when the policy was added.</param>
    /// <param name="NewLabel">How the new side was named, or null when the policy was removed.</param>
    /// <param name="OldName">The old policy's name, or null.</param>
    /// <param name="NewName">The new policy's name, or null.</param>
    /// <param name="Changes">Every change, in a stable order: policy-wide first, then header, device-specific and capabilities by offset.</param>
    public sealed record PolicyDiff(string? OldLabel, string? NewLabel, string? OldName, string? NewName, IReadOnlyList<PolicyChange> Changes)
    {
        /// <summary>The changes bound to a device, when one was given.</summary>
        public DeviceDiff? Device { get; init; }

        /// <summary>True when some change exists (in the model or on the device).</summary>
        public bool HasChanges => Changes.Count > 0 || (Device != null && Device.Changes.Count > 0);

        /// <summary>True when some change widens, in the model or on the device.</summary>
        public bool HasWidening => Count(ChangeImpact.Widening) > 0 || (Device != null && Device.Changes.Any(c => c.Impact == ChangeImpact.Widening));

        /// <summary>The title: one label; "path (A → B)" for one path at two revisions; else "old → new".</summary>
        public string Title
        {
            get
            {
                if (OldLabel == null || NewLabel == null)
                {
                    return OldLabel == null ? NewLabel + " (added)" : OldLabel + " (removed)";
                }

                if (OldLabel == NewLabel)
                {
                    return OldLabel;
                }

                int oldColon = OldLabel.IndexOf(':');
                int newColon = NewLabel.IndexOf(':');
                string oldPath = OldLabel.Substring(oldColon + 1);
                string newPath = NewLabel.Substring(newColon + 1);
                return oldColon > 0 && oldPath == newPath
                    ? oldPath + " (" + OldLabel.Substring(0, oldColon) + " → " + (newColon > 0 ? NewLabel.Substring(0, newColon) : "work tree") + ")"
                    : OldLabel + " → " + NewLabel;
            }
        }

        /// <summary>Changes of the model (not the device view) with <paramref name="impact"/>.</summary>
        public int Count(ChangeImpact impact) => Changes.Count(c => c.Impact == impact);
    }
}
