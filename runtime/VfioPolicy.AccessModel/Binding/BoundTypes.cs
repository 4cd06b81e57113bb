using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Binding
{
    /// <summary>What kind of thing decided a bit's disposition; the ownership map shows it beside the rule.</summary>
    public enum BitOwnerKind
    {
        /// <summary>A rule of the policy (header, capability or device-specific register).</summary>
        Rule,

        /// <summary>The policy's default for header bytes no rule covers.</summary>
        HeaderDefault,

        /// <summary>The policy's default for uncovered bytes of capabilities it has rules for.</summary>
        CapabilityDefault,

        /// <summary>The policy's default for bytes that belong to no capability.</summary>
        GapDefault,

        /// <summary>The policy's default for capabilities it has no rules for.</summary>
        UnknownCapabilityDefault,

        /// <summary>The body of a hidden capability.</summary>
        HiddenBody,

        /// <summary>A capability ID or next pointer, the capabilities pointer or the Capabilities List status bit, kept consistent by the binder.</summary>
        ChainLink,
    }

    /// <summary>A register bound to a runtime behavior, at its absolute offset on this device.</summary>
    /// <param name="Offset">Absolute offset of the register's first byte.</param>
    /// <param name="Width">Width in bytes.</param>
    /// <param name="Behavior">The behavior that owns the register.</param>
    /// <param name="Origin">The register declaration that bound the behavior.</param>
    public sealed record BoundBehavior(int Offset, int Width, Behavior Behavior, RuleOrigin Origin)
    {
        /// <summary>True when byte <paramref name="offset"/> lies inside the register.</summary>
        public bool Contains(int offset) => offset >= Offset && offset < Offset + Width;

        /// <summary>True when the access of <paramref name="length"/> bytes at <paramref name="offset"/> touches the register.</summary>
        public bool Overlaps(int offset, int length) => offset < Offset + Width && Offset < offset + length;
    }

    /// <summary>A capability the chain walk found, as the binder treated it.</summary>
    /// <param name="Info">What the chain walk found.</param>
    /// <param name="Hidden">True when the policy hides it: it is unlinked and its body follows the hide rule.</param>
    /// <param name="Known">True when the policy has a capability block for its ID (else the unknown-capability default applies).</param>
    /// <param name="Bound">False when the binder ignored it because it lies where no capability can be (a warning says why).</param>
    public sealed record BoundCapability(CapabilityInfo Info, bool Hidden, bool Known, bool Bound);

    /// <summary>
    /// A policy that does not fit the device: something only the device shows, so the compiler could not see it
    /// (a device-specific register lying over a capability this device has). A binding with errors must not be
    /// used: the runtime refuses to open the device and the tools exit with an error.
    /// </summary>
    /// <param name="Code">The diagnostic ID (<c>VP07xx</c>, docs/diagnostics.md).</param>
    /// <param name="Origin">The policy line at fault.</param>
    /// <param name="Message">What is wrong on this device, in one line.</param>
    public sealed record BindingError(string Code, RuleOrigin Origin, string Message)
    {
        /// <summary>The compiler's diagnostic form: <c>path(line,col): error CODE: message</c>.</summary>
        public override string ToString()
            => Origin.Path + "(" + Origin.Line.ToString(System.Globalization.CultureInfo.InvariantCulture) + ","
               + Origin.Column.ToString(System.Globalization.CultureInfo.InvariantCulture) + "): error " + Code + ": " + Message;
    }
}
