using System;
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

    /// <summary>
    /// An audit event before it is an object: the same five facts as <see cref="AuditEvent"/>, in a struct that refers
    /// to the binding's own rule origin and policy name, so that the firewall reports a denied write without allocating.
    /// An <see cref="IAuditRecordSink"/> that keeps records materialises <see cref="AuditEvent"/>s (<see cref="ToEvent"/>)
    /// only when they are read.
    /// </summary>
    public readonly struct AuditRecord : IEquatable<AuditRecord>
    {
        /// <summary>A record of a denied access.</summary>
        /// <param name="offset">Absolute offset of the piece.</param>
        /// <param name="width">Width of the piece in bytes.</param>
        /// <param name="value">The consumer's value for the piece.</param>
        /// <param name="rule">The deny rule that owns the lowest changed bit, or the behavior's register declaration.</param>
        /// <param name="policy">The policy's name.</param>
        public AuditRecord(int offset, int width, uint value, RuleOrigin rule, string policy)
        {
            Offset = offset;
            Width = width;
            Value = value;
            Rule = rule;
            Policy = policy;
        }

        /// <summary>Absolute offset of the piece.</summary>
        public int Offset { get; }

        /// <summary>Width of the piece in bytes.</summary>
        public int Width { get; }

        /// <summary>The consumer's value for the piece.</summary>
        public uint Value { get; }

        /// <summary>The deny rule that owns the lowest changed bit, or the behavior's register declaration.</summary>
        public RuleOrigin Rule { get; }

        /// <summary>The policy's name.</summary>
        public string Policy { get; }

        /// <summary>The record as an event (allocates it).</summary>
        public AuditEvent ToEvent() => new AuditEvent(Offset, Width, Value, Rule, Policy);

        /// <summary>
        /// Hands the record to <paramref name="sink"/>: as a struct to an <see cref="IAuditRecordSink"/> (no allocation),
        /// else as a new <see cref="AuditEvent"/>.
        /// </summary>
        public void ReportTo(IAuditSink sink)
        {
            if (sink is IAuditRecordSink records)
            {
                records.Record(in this);
            }
            else
            {
                sink.Record(ToEvent());
            }
        }

        /// <summary>The record of <paramref name="auditEvent"/>.</summary>
        public static AuditRecord From(AuditEvent auditEvent)
        {
            if (auditEvent is null)
            {
                throw new ArgumentNullException(nameof(auditEvent));
            }

            return new AuditRecord(auditEvent.Offset, auditEvent.Width, auditEvent.Value, auditEvent.Rule, auditEvent.Policy);
        }

        /// <inheritdoc />
        public bool Equals(AuditRecord other)
            => Offset == other.Offset && Width == other.Width && Value == other.Value
               && Equals(Rule, other.Rule) && string.Equals(Policy, other.Policy, StringComparison.Ordinal);

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is AuditRecord other && Equals(other);

        /// <inheritdoc />
        public override int GetHashCode()
        {
            unchecked
            {
                int hash = (Offset * 397) ^ Width;
                hash = (hash * 397) ^ (int)Value;
                hash = (hash * 397) ^ (Rule?.GetHashCode() ?? 0);
                return (hash * 397) ^ (Policy is null ? 0 : StringComparer.Ordinal.GetHashCode(Policy));
            }
        }

        /// <summary>Whether two records state the same facts.</summary>
        public static bool operator ==(AuditRecord left, AuditRecord right) => left.Equals(right);

        /// <summary>Whether two records differ.</summary>
        public static bool operator !=(AuditRecord left, AuditRecord right) => !left.Equals(right);
    }

    /// <summary>Receives audit events. Implementations decide about bounds and rate limits.</summary>
    /// <remarks>
    /// The firewall engines report denied writes through <see cref="IAuditRecordSink"/> when the sink implements it,
    /// which allocates nothing; to any other sink they hand each denied write as a new <see cref="AuditEvent"/>.
    /// </remarks>
    public interface IAuditSink
    {
        /// <summary>Records one event.</summary>
        void Record(AuditEvent auditEvent);
    }

    /// <summary>
    /// An audit sink that takes denied accesses as <see cref="AuditRecord"/> structs, so that the firewall reports them
    /// without allocating; it makes <see cref="AuditEvent"/>s, if it keeps any, when they are read
    /// (<see cref="Audit.BoundedAuditSink"/> does so).
    /// </summary>
    public interface IAuditRecordSink : IAuditSink
    {
        /// <summary>Records one denied access.</summary>
        void Record(in AuditRecord record);
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
