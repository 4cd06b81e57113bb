using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Contracts
{
    /// <summary>The outcome of one consumer access. Anything but <see cref="Ok"/> means nothing changed.</summary>
    public enum AccessStatus
    {
        /// <summary>The access was applied whole.</summary>
        Ok,

        /// <summary>Some byte of the access lies outside the device's config space.</summary>
        OutOfRange,

        /// <summary>The length is not 1 to 4.</summary>
        InvalidLength,

        /// <summary>The hardware failed a read or write the access needed; the shadow is unchanged.</summary>
        HardwareError,
    }

    /// <summary>
    /// The real device's config space as the firewall sees it: naturally aligned reads and writes of 1, 2 or 4
    /// bytes. The runtime implements it with pread/pwrite on the VFIO config region; tests with a byte array.
    /// </summary>
    public interface IHardwareConfig
    {
        /// <summary>Reads <paramref name="width"/> bytes at <paramref name="offset"/> (little-endian); false on failure.</summary>
        bool TryRead(int offset, int width, out uint value);

        /// <summary>Writes <paramref name="width"/> bytes at <paramref name="offset"/>; false on failure.</summary>
        bool TryWrite(int offset, int width, uint value);
    }

    /// <summary>A consumer write that tried to change denied bits, or asked a behavior for something the device does not offer (an FLR it does not advertise).</summary>
    /// <param name="Offset">Absolute offset of the piece.</param>
    /// <param name="Width">Width of the piece in bytes.</param>
    /// <param name="Value">The consumer's value for the piece.</param>
    /// <param name="Rule">The deny rule that owns the lowest changed bit, or the behavior's register declaration.</param>
    /// <param name="Policy">The policy's name.</param>
    public sealed record AuditEvent(int Offset, int Width, uint Value, RuleOrigin Rule, string Policy);

    /// <summary>Receives audit events. Implementations decide about bounds and rate limits.</summary>
    public interface IAuditSink
    {
        /// <summary>Records one event.</summary>
        void Record(AuditEvent auditEvent);
    }

    /// <summary>
    /// Called after a write updated the shadow of a register that a behavior owns (BAR sizing, MSI programming…).
    /// The runtime implements the behaviors; the reference interpreter only reports them.
    /// </summary>
    public interface IBehaviorHost
    {
        /// <summary>A consumer write touched <paramref name="width"/> bytes at <paramref name="offset"/> of a register owned by <paramref name="behavior"/> starting at <paramref name="registerOffset"/>.</summary>
        void OnWrite(Behavior behavior, int registerOffset, int offset, int width, uint value);
    }

    /// <summary>
    /// The firewall for one device under one policy: the contract the reference interpreter and the generated
    /// handlers both implement. Offsets are absolute; lengths are 1 to 4 bytes at any alignment.
    /// </summary>
    public interface IConfigSpaceFirewall
    {
        /// <summary>The policy's name, as audit events carry it.</summary>
        string PolicyName { get; }

        /// <summary>The device's config-space size (256 or 4096).</summary>
        int Size { get; }

        /// <summary>A consumer read.</summary>
        AccessStatus Read(int offset, int length, out uint value);

        /// <summary>A consumer write.</summary>
        AccessStatus Write(int offset, int length, uint value);

        /// <summary>Sets every virtualized bit back to its reset value, as after a function reset.</summary>
        AccessStatus ResetShadow();
    }
}
