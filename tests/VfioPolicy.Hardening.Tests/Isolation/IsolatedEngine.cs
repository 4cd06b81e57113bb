using System;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Simulation;

namespace VfioPolicy.Hardening.Tests.Isolation
{
    /// <summary>One consumer access of a random sequence.</summary>
    public readonly record struct Access(bool IsWrite, int Offset, int Length, uint Value)
    {
        /// <inheritdoc />
        public override string ToString() => IsWrite
            ? string.Format(System.Globalization.CultureInfo.InvariantCulture, "write {0}@{1} = 0x{2:x8}", Length, Offset, Value)
            : string.Format(System.Globalization.CultureInfo.InvariantCulture, "read {0}@{1}", Length, Offset);
    }

    /// <summary>An audit sink that only counts: a long sequence must not grow memory in the test itself.</summary>
    public sealed class CountingAuditSink : IAuditSink
    {
        /// <summary>Events recorded so far.</summary>
        public long Count { get; private set; }

        /// <inheritdoc />
        public void Record(AuditEvent auditEvent) => Count++;
    }

    /// <summary>
    /// One firewall (the interpreter or a generated handler) over its own simulated device whose hardware RW1C bits
    /// are the binding's <see cref="BoundConfigSpace.HardwareWriteOneToClear"/> mask, so the simulation clears a
    /// status bit exactly when a real device would.
    /// </summary>
    public sealed class IsolatedEngine
    {
        private readonly ShadowView _shadow;

        /// <summary>Opens <paramref name="open"/> over a fresh simulated copy of <paramref name="image"/>.</summary>
        public IsolatedEngine(string name, BoundConfigSpace bound, byte[] image, Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IConfigSpaceFirewall> open)
        {
            Name = name;
            Hardware = new SimulatedConfigHardware(image, bound.HardwareWriteOneToClear.ToArray());
            Firewall = open(bound, Hardware, Audit);
            _shadow = HardeningInputs.ShadowOf(Firewall);
        }

        /// <summary>"interpreter" or "generated".</summary>
        public string Name { get; }

        /// <summary>The simulated device.</summary>
        public SimulatedConfigHardware Hardware { get; }

        /// <summary>Counts audit events.</summary>
        public CountingAuditSink Audit { get; } = new CountingAuditSink();

        /// <summary>The firewall under test.</summary>
        public IConfigSpaceFirewall Firewall { get; }

        /// <summary>The firewall's current shadow.</summary>
        public ReadOnlySpan<byte> Shadow => _shadow();

        /// <summary>Reads the whole config space through the firewall, dword by dword.</summary>
        public byte[] ReadAll()
        {
            var bytes = new byte[Firewall.Size];
            for (int offset = 0; offset < bytes.Length; offset += 4)
            {
                AccessStatus status = Firewall.Read(offset, 4, out uint value);
                if (status != AccessStatus.Ok)
                {
                    throw new InvalidOperationException(Name + ": a legal dword read at " + offset.ToString(System.Globalization.CultureInfo.InvariantCulture) + " failed with " + status + ".");
                }

                for (int b = 0; b < 4; b++)
                {
                    bytes[offset + b] = (byte)(value >> (8 * b));
                }
            }

            return bytes;
        }
    }
}
