using System;
using System.Collections.Generic;
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

    /// <summary>
    /// An audit sink that keeps the events of the current access only (the checker compares them with the oracle's
    /// and clears them), so a long sequence does not grow memory in the test itself.
    /// </summary>
    public sealed class AccessAuditSink : IAuditSink
    {
        /// <summary>Events since the last <see cref="Clear"/>.</summary>
        public List<AuditEvent> Events { get; } = new List<AuditEvent>();

        /// <summary>Events recorded in total.</summary>
        public long Count { get; private set; }

        /// <inheritdoc />
        public void Record(AuditEvent auditEvent)
        {
            Events.Add(auditEvent);
            Count++;
        }

        /// <summary>Forgets the events of the previous access.</summary>
        public void Clear() => Events.Clear();
    }

    /// <summary>
    /// One firewall (the interpreter or a generated handler) over its own simulated device. The device clears the
    /// hardware bits the oracle reads as write-1-to-clear from the policy text, not the binding's mask: a binder
    /// that lost a <c>hw-rw1c</c> must not also teach the simulated device that the bit is plain.
    /// </summary>
    public sealed class IsolatedEngine
    {
        private readonly ShadowView _shadow;

        /// <summary>Opens <paramref name="open"/> over a fresh simulated copy of <paramref name="image"/>.</summary>
        public IsolatedEngine(string name, BoundConfigSpace bound, byte[] image, byte[] hardwareWriteOneToClear, Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IConfigSpaceFirewall> open)
        {
            Name = name;
            Hardware = new SimulatedConfigHardware(image, hardwareWriteOneToClear);
            Firewall = open(bound, Hardware, Audit);
            _shadow = HardeningInputs.ShadowOf(Firewall);
        }

        /// <summary>"interpreter" or "generated".</summary>
        public string Name { get; }

        /// <summary>The simulated device.</summary>
        public SimulatedConfigHardware Hardware { get; }

        /// <summary>The audit events of the current access.</summary>
        public AccessAuditSink Audit { get; } = new AccessAuditSink();

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
