using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Hardening.Tests.Oracle;

namespace VfioPolicy.Hardening.Tests.Isolation
{
    /// <summary>
    /// Replays one access sequence on the interpreter and the generated handler, each over its own simulated device,
    /// and after every access compares both with the independent oracle (<see cref="OracleDevice"/>, written from the
    /// access model and the policy text, not from the binding): the value read, the whole hardware image, the shadow,
    /// the hardware traffic and the exact audit events. The binding is only what the engines run on; no expected
    /// value comes from it. Any difference throws with the access, the byte and the engine, so CsCheck can shrink the
    /// sequence and print its seed.
    /// </summary>
    public sealed class IsolationChecker
    {
        private readonly IsolatedEngine[] _engines;
        private readonly OracleDevice _oracle;
        private readonly byte[] _hardwareBefore;
        private readonly byte[] _shadowBefore;
        private readonly byte[] _structural;
        private readonly List<Access> _history = new List<Access>();

        /// <summary>Opens both engines of <paramref name="policy"/> on <paramref name="bound"/> over copies of <paramref name="image"/>, and the oracle's device on <paramref name="layout"/>.</summary>
        public IsolationChecker(ICompiledPolicy policy, BoundConfigSpace bound, OracleLayout layout, byte[] image, string label)
        {
            Label = label;
            _oracle = new OracleDevice(layout, image);
            _engines = new[]
            {
                new IsolatedEngine("interpreter", bound, image, layout.HardwareWriteOneToClear, (b, h, a) => new PolicyInterpreter(b, h, a)),
                new IsolatedEngine("generated", bound, image, layout.HardwareWriteOneToClear, (b, h, a) => policy.Open(b, h, a)),
            };
            int size = layout.Size;
            _hardwareBefore = new byte[size];
            _shadowBefore = new byte[size];

            // Bits a device never rewrites by itself: the capability pointer, Status' Capabilities List bit, and every
            // capability's ID and next pointer (the scramble keeps them so the chain the binding walked stays the
            // device's chain). Status' error bits are scrambled: they are the write-1-to-clear bits a COMMAND write
            // must merge around.
            _structural = new byte[size];
            _structural[0x34] = 0xff;
            _structural[0x06] = 0x10;
            foreach (OracleLayout.Placement placement in layout.Capabilities)
            {
                for (int b = 0; b < (placement.Capability.Extended ? 4 : 2) && placement.Capability.Offset + b < size; b++)
                {
                    _structural[placement.Capability.Offset + b] = 0xff;
                }
            }

            foreach (IsolatedEngine engine in _engines)
            {
                byte[] seen = engine.ReadAll();
                CheckScan(seen, engine, "after opening");
                CheckShadow(engine, 0, size, "after opening");
                CheckHiddenCapabilities(seen, engine, "after opening");
            }
        }

        /// <summary>Which policy on which device.</summary>
        public string Label { get; }

        /// <summary>Audit events both engines raised so far (for the run's totals).</summary>
        public long AuditEvents => _engines.Sum(e => e.Audit.Count);

        /// <summary>Runs one access on both engines and compares each with the oracle.</summary>
        public void Run(Access access)
        {
            _history.Add(access);
            int size = _oracle.Layout.Size;
            bool legal = access.Offset >= 0 && access.Length >= 1 && access.Length <= 4 && (long)access.Offset + access.Length <= size;
            uint expectedRead = 0;
            OracleWriteResult? expectedWrite = null;
            if (legal && access.IsWrite)
            {
                expectedWrite = _oracle.Write(access.Offset, access.Length, access.Value);
            }
            else if (legal)
            {
                expectedRead = _oracle.Read(access.Offset, access.Length);
            }

            foreach (IsolatedEngine engine in _engines)
            {
                engine.Hardware.ClearTraffic();
                engine.Audit.Clear();
                if (!legal)
                {
                    engine.Hardware.Bytes.CopyTo(_hardwareBefore);
                    engine.Shadow.CopyTo(_shadowBefore);
                }

                uint value = 0;
                AccessStatus status = access.IsWrite
                    ? engine.Firewall.Write(access.Offset, access.Length, access.Value)
                    : engine.Firewall.Read(access.Offset, access.Length, out value);

                if (!legal)
                {
                    CheckRejected(engine, access, status, value);
                }
                else if (status != AccessStatus.Ok)
                {
                    Fail(engine, "a legal access failed with " + status);
                }
                else if (expectedWrite is not null)
                {
                    CheckWrite(engine, access, expectedWrite);
                }
                else
                {
                    CheckRead(engine, access, value, expectedRead);
                }
            }
        }

        /// <summary>
        /// The device changes by itself: every hardware bit but the chain's structure gets a random value, on both
        /// engines' devices and the oracle's alike, and a full read must still be what the oracle says: virtualized
        /// and denied bits (hidden bodies included) do not follow the hardware, passthrough bits do, and write-1-to-
        /// clear status bits are now set for later writes to merge around.
        /// </summary>
        /// <returns>The number of hidden-capability bytes scrambled.</returns>
        public int Scramble(int seed)
        {
            var random = new Random(seed);
            int size = _oracle.Layout.Size;
            for (int at = 0; at < size; at++)
            {
                byte keep = _structural[at];
                if (keep == 0xff)
                {
                    continue;
                }

                byte value = (byte)((random.Next(256) & ~keep) | (_oracle.Hardware[at] & keep));
                _oracle.SetHardware(at, value);
                foreach (IsolatedEngine engine in _engines)
                {
                    engine.Hardware.SetDeviceValue(at, 1, value);
                }
            }

            foreach (IsolatedEngine engine in _engines)
            {
                CheckScan(engine.ReadAll(), engine, "after the hardware changed under the firewall");
            }

            return _oracle.Layout.Capabilities.Where(p => p.Bound && p.Hidden).Sum(p => p.End - p.Capability.Offset);
        }

        /// <summary>Ends a sequence: a full rescan and shadow comparison of both engines, then a scramble and a rescan.</summary>
        /// <param name="scrambleSeed">Seeds the scrambled hardware values; both engines and the oracle get the same ones.</param>
        /// <returns>The number of hidden-capability bytes whose hardware was scrambled and checked.</returns>
        public int Finish(int scrambleSeed)
        {
            foreach (IsolatedEngine engine in _engines)
            {
                CheckScan(engine.ReadAll(), engine, "at the end of the sequence");
                CheckShadow(engine, 0, _oracle.Layout.Size, "at the end of the sequence");
            }

            return Scramble(scrambleSeed);
        }

        private void CheckRejected(IsolatedEngine engine, Access access, AccessStatus status, uint value)
        {
            if (status == AccessStatus.Ok || status == AccessStatus.HardwareError)
            {
                Fail(engine, "an illegal access (offset " + access.Offset.ToString(CultureInfo.InvariantCulture) + ", length " + access.Length.ToString(CultureInfo.InvariantCulture) + ") returned " + status);
            }

            if (value != 0 || engine.Hardware.Traffic.Count != 0 || engine.Audit.Events.Count != 0)
            {
                Fail(engine, "an illegal access read a value, reached the hardware or raised an audit event");
            }

            if (!engine.Hardware.Bytes.SequenceEqual(_hardwareBefore) || !engine.Shadow.SequenceEqual(_shadowBefore))
            {
                Fail(engine, "an illegal access changed the hardware or the shadow");
            }
        }

        private void CheckWrite(IsolatedEngine engine, Access access, OracleWriteResult expected)
        {
            ReadOnlySpan<byte> after = engine.Hardware.Bytes;
            if (!after.SequenceEqual(_oracle.Hardware))
            {
                int at = FirstDifference(after, _oracle.Hardware);
                byte oneToClear = _oracle.Layout.HardwareWriteOneToClear[at];
                string kind = ((after[at] ^ _oracle.Hardware[at]) & oneToClear) != 0 ? " (RW1C bits 0x" + oneToClear.ToString("x2", CultureInfo.InvariantCulture) + ")" : string.Empty;
                Fail(engine, string.Format(CultureInfo.InvariantCulture, "hardware byte 0x{0:x3} is 0x{1:x2}; the oracle says 0x{2:x2}{3}{4}", at, after[at], _oracle.Hardware[at], kind, at < access.Offset || at >= access.Offset + access.Length ? ", outside the bytes written" : string.Empty));
            }

            var writes = engine.Hardware.Traffic.Where(t => t.Kind == HardwareAccessKind.Write).Select(t => (t.Offset, t.Width)).ToList();
            if (!writes.SequenceEqual(expected.HardwareWrites))
            {
                Fail(engine, "hardware writes [" + string.Join(", ", writes.Select(w => w.Width + "@0x" + w.Offset.ToString("x3", CultureInfo.InvariantCulture)))
                    + "]; the oracle says one read-modify-write per piece with passthrough-writable bits: ["
                    + string.Join(", ", expected.HardwareWrites.Select(w => w.Width + "@0x" + w.Offset.ToString("x3", CultureInfo.InvariantCulture))) + "]");
            }

            CheckShadow(engine, access.Offset, access.Offset + access.Length, "after the write");
            CheckAudit(engine, expected.Audit);
        }

        private void CheckAudit(IsolatedEngine engine, List<OracleAudit> expected)
        {
            List<AuditEvent> actual = engine.Audit.Events;
            bool same = actual.Count == expected.Count;
            for (int i = 0; same && i < actual.Count; i++)
            {
                AuditEvent a = actual[i];
                OracleAudit e = expected[i];
                same = a.Offset == e.Offset && a.Width == e.Width && a.Value == e.Value && a.Policy == e.Policy && a.Rule.Line == e.Rule.Line && SameFile(a.Rule.Path, e.Rule.File);
            }

            if (!same)
            {
                Fail(engine, "audit events [" + string.Join("; ", actual.Select(a => string.Format(CultureInfo.InvariantCulture, "{0}@0x{1:x3} = 0x{2:x} by {3} ({4})", a.Width, a.Offset, a.Value, a.Rule.Location, a.Policy)))
                    + "]; the oracle says [" + string.Join("; ", expected) + "]");
            }
        }

        /// <summary>The engines name a rule's file as the compiler loaded it (a path ending in the file's name under policies/).</summary>
        private static bool SameFile(string path, string relative)
        {
            string normalized = path.Replace('\\', '/');
            return normalized == relative || normalized.EndsWith("/" + relative, StringComparison.Ordinal);
        }

        private void CheckRead(IsolatedEngine engine, Access access, uint value, uint expected)
        {
            if (value != expected)
            {
                Fail(engine, string.Format(CultureInfo.InvariantCulture, "read 0x{0:x8}; the oracle says 0x{1:x8}", value, expected));
            }

            foreach (HardwareAccess traffic in engine.Hardware.Traffic)
            {
                bool reachesPassthrough = false;
                for (int at = traffic.Offset; at < traffic.Offset + traffic.Width; at++)
                {
                    reachesPassthrough |= _oracle.HasPassthrough(at);
                }

                if (traffic.Kind != HardwareAccessKind.Read || !reachesPassthrough)
                {
                    Fail(engine, "a read made the hardware access " + traffic + ", which holds no passthrough bit (or is a write)");
                }
            }
        }

        private void CheckScan(byte[] seen, IsolatedEngine engine, string when)
        {
            for (int at = 0; at < seen.Length; at++)
            {
                byte expected = _oracle.ReadByte(at);
                if (seen[at] != expected)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "{0}: byte 0x{1:x3} reads 0x{2:x2}; the oracle says 0x{3:x2} ({4})", when, at, seen[at], expected, Describe(at, (byte)(seen[at] ^ expected))));
                }
            }
        }

        private void CheckShadow(IsolatedEngine engine, int start, int end, string when)
        {
            ReadOnlySpan<byte> shadow = engine.Shadow;
            for (int at = start; at < end; at++)
            {
                byte mask = _oracle.ShadowMask(at);
                if (((shadow[at] ^ _oracle.ShadowByte(at)) & mask) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "{0}: shadow byte 0x{1:x3} is 0x{2:x2}; the oracle says 0x{3:x2} under its virtualized and denied bits 0x{4:x2}", when, at, shadow[at], _oracle.ShadowByte(at), mask));
                }
            }
        }

        /// <summary>Walks both chains over what the consumer sees (the oracle's own walk): no hidden capability may be found where it lives.</summary>
        private void CheckHiddenCapabilities(byte[] seen, IsolatedEngine engine, string when)
        {
            OracleLayout.Placement[] hidden = _oracle.Layout.Capabilities.Where(c => c.Hidden && c.Bound).ToArray();
            if (hidden.Length == 0)
            {
                return;
            }

            IReadOnlyList<OracleCapability> walk = OracleChain.Walk(seen);
            foreach (OracleLayout.Placement capability in hidden)
            {
                foreach (OracleCapability found in walk)
                {
                    // A hidden extended capability at 0x100 stays as a placeholder with ID 0 that keeps the chain.
                    bool placeholder = found.Extended && found.Offset == 0x100 && found.Id == 0;
                    if (found.Extended == capability.Capability.Extended && found.Offset == capability.Capability.Offset && !placeholder)
                    {
                        Fail(engine, string.Format(CultureInfo.InvariantCulture, "{0}: hidden {1} is reachable through the firewall's chain (found as ID 0x{2:x2})", when, capability, found.Id));
                    }
                }
            }
        }

        /// <summary>Names what the oracle says the differing bits of a byte are, for the failure message.</summary>
        private string Describe(int at, byte differing)
        {
            var parts = new List<string>();
            for (int bit = 0; bit < 8; bit++)
            {
                if (((differing >> bit) & 1) != 0)
                {
                    OracleBit b = _oracle.Layout.At(at, bit);
                    parts.Add("bit " + bit.ToString(CultureInfo.InvariantCulture) + " " + b.Kind.ToString().ToLowerInvariant() + " " + b.Write.ToString().ToLowerInvariant()
                        + (b.Chain ? " (chain link)" : string.Empty) + " from " + (b.Origin?.ToString() ?? "<chain>"));
                }
            }

            return string.Join(", ", parts);
        }

        private static int FirstDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            for (int at = 0; at < a.Length; at++)
            {
                if (a[at] != b[at])
                {
                    return at;
                }
            }

            return -1;
        }

        private void Fail(IsolatedEngine engine, string problem)
        {
            string recent = string.Join("; ", _history.Skip(Math.Max(0, _history.Count - 6)).Select(a => a.ToString()));
            throw new InvalidOperationException(
                "Isolation violated by the " + engine.Name + " engine, " + Label + ": " + problem + ". After "
                + _history.Count.ToString(CultureInfo.InvariantCulture) + " accesses, the last: " + recent);
        }
    }
}
