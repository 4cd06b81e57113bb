using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Hardening.Tests.Isolation
{
    /// <summary>
    /// Replays one access sequence on the interpreter and the generated handler, each over its own simulated device,
    /// and checks the isolation invariants of issue 6 after every access. Any violation throws with the access, the
    /// byte and the engine, so CsCheck can shrink the sequence and print its seed.
    /// </summary>
    public sealed class IsolationChecker
    {
        private readonly BoundConfigSpace _bound;
        private readonly IsolatedEngine[] _engines;
        private readonly byte[] _fixedBits;
        private readonly byte[] _baseline;
        private readonly byte[] _hardwareBefore;
        private readonly byte[] _shadowBefore;
        private readonly List<Access> _history = new List<Access>();

        /// <summary>Opens both engines of <paramref name="policy"/> on <paramref name="bound"/> over copies of <paramref name="image"/>.</summary>
        public IsolationChecker(ICompiledPolicy policy, BoundConfigSpace bound, byte[] image, string label)
        {
            _bound = bound;
            Label = label;
            _engines = new[]
            {
                new IsolatedEngine("interpreter", bound, image, (b, h, a) => new PolicyInterpreter(b, h, a)),
                new IsolatedEngine("generated", bound, image, (b, h, a) => policy.Open(b, h, a)),
            };
            int size = bound.Size;
            _hardwareBefore = new byte[size];
            _shadowBefore = new byte[size];

            // Bits where a consumer write has no effect (passthrough read-only, virtualized read-only, denied) must
            // read the same before and after any sequence of writes.
            _fixedBits = new byte[size];
            for (int i = 0; i < size; i++)
            {
                _fixedBits[i] = (byte)~bound.WriteMask[i];
            }

            _baseline = _engines[0].ReadAll();
            CheckScan(_engines[1].ReadAll(), _engines[1], "after opening");
            CheckDeniedConstants(_baseline, _engines[0], "after opening");
            CheckHiddenCapabilities(_baseline, _engines[0], "after opening");
        }

        /// <summary>Which policy on which device.</summary>
        public string Label { get; }

        /// <summary>Runs one access on both engines and checks every invariant it touches.</summary>
        public void Run(Access access)
        {
            _history.Add(access);
            int size = _bound.Size;
            bool legal = access.Offset >= 0 && access.Length >= 1 && access.Length <= 4 && (long)access.Offset + access.Length <= size;
            AccessStatus? firstStatus = null;
            uint firstValue = 0;
            foreach (IsolatedEngine engine in _engines)
            {
                engine.Hardware.ClearTraffic();
                long auditBefore = engine.Audit.Count;
                if (access.IsWrite || !legal)
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
                    CheckRejected(engine, access, status, value, auditBefore);
                }
                else if (status != AccessStatus.Ok)
                {
                    Fail(engine, "a legal access failed with " + status);
                }
                else if (access.IsWrite)
                {
                    CheckWrite(engine, access);
                }
                else
                {
                    CheckRead(engine, access, value);
                }

                // The two engines must agree (the exhaustive agreement proof is the conformance suite's).
                if (firstStatus is null)
                {
                    firstStatus = status;
                    firstValue = value;
                }
                else if (firstStatus != status || firstValue != value)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "the engines disagree: interpreter {0} 0x{1:x8}, generated {2} 0x{3:x8}", firstStatus, firstValue, status, value));
                }
            }
        }

        /// <summary>
        /// Ends a sequence: rescans both engines (fixed bits, denied constants, hidden chains), then scrambles the
        /// hardware under every hidden capability and checks no scrambled bit reaches the consumer.
        /// </summary>
        /// <param name="scrambleSeed">Seeds the scrambled hardware values; both engines get the same ones.</param>
        /// <returns>The number of hidden-capability bytes whose hardware was scrambled and checked.</returns>
        public int Finish(int scrambleSeed)
        {
            int hiddenBytes = 0;
            foreach (IsolatedEngine engine in _engines)
            {
                byte[] seen = engine.ReadAll();
                CheckScan(seen, engine, "at the end of the sequence");
                CheckDeniedConstants(seen, engine, "at the end of the sequence");
                CheckHiddenCapabilities(seen, engine, "at the end of the sequence");
                hiddenBytes += CheckHiddenBodiesIgnoreHardware(engine, seen, new Random(scrambleSeed));
            }

            if (!_engines[0].Hardware.Bytes.SequenceEqual(_engines[1].Hardware.Bytes) || !_engines[0].Shadow.SequenceEqual(_engines[1].Shadow))
            {
                Fail(_engines[1], "the hardware or shadow images of the engines differ at the end of the sequence");
            }

            return hiddenBytes;
        }

        private void CheckRejected(IsolatedEngine engine, Access access, AccessStatus status, uint value, long auditBefore)
        {
            if (status == AccessStatus.Ok || status == AccessStatus.HardwareError)
            {
                Fail(engine, "an illegal access (offset " + access.Offset.ToString(CultureInfo.InvariantCulture) + ", length " + access.Length.ToString(CultureInfo.InvariantCulture) + ") returned " + status);
            }

            if (value != 0 || engine.Hardware.Traffic.Count != 0 || engine.Audit.Count != auditBefore)
            {
                Fail(engine, "an illegal access read a value, reached the hardware or raised an audit event");
            }

            if (!engine.Hardware.Bytes.SequenceEqual(_hardwareBefore) || !engine.Shadow.SequenceEqual(_shadowBefore))
            {
                Fail(engine, "an illegal access changed the hardware or the shadow");
            }
        }

        private void CheckWrite(IsolatedEngine engine, Access access)
        {
            ReadOnlySpan<byte> after = engine.Hardware.Bytes;
            ReadOnlySpan<byte> before = _hardwareBefore;
            int start = access.Offset;
            int end = access.Offset + access.Length;

            // Bytes the consumer did not write never change, even inside the pieces the firewall read-modify-wrote.
            if (!after.Slice(0, start).SequenceEqual(before.Slice(0, start)) || !after.Slice(end).SequenceEqual(before.Slice(end)))
            {
                int at = FirstDifference(before, after, start, end);
                Fail(engine, string.Format(CultureInfo.InvariantCulture, "hardware byte 0x{0:x3} outside the write changed 0x{1:x2} -> 0x{2:x2}", at, before[at], after[at]));
            }

            for (int at = start; at < end; at++)
            {
                byte consumer = (byte)(access.Value >> (8 * (at - start)));
                byte writable = _bound.PassthroughWritable[at];
                byte writeOneToClear = _bound.HardwareWriteOneToClear[at];
                byte changed = (byte)(before[at] ^ after[at]);
                if ((changed & ~writable) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "hardware byte 0x{0:x3}: bits 0x{1:x2} changed that are not passthrough-writable (0x{2:x2})", at, changed & ~writable, writable));
                }

                byte cleared = (byte)(before[at] & ~after[at] & writeOneToClear);
                if ((cleared & ~(consumer & writable)) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "hardware byte 0x{0:x3}: RW1C bits 0x{1:x2} were cleared without the consumer writing a 1 to them", at, cleared & ~(consumer & writable)));
                }

                // Passthrough-writable bits take the consumer's value (RW1C ones: a written 1 clears).
                byte plain = (byte)(writable & ~writeOneToClear);
                if (((after[at] ^ consumer) & plain) != 0 || (after[at] & consumer & writable & writeOneToClear) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "hardware byte 0x{0:x3}: passthrough-writable bits 0x{1:x2} did not take the consumer's value 0x{2:x2} (now 0x{3:x2})", at, writable, consumer, after[at]));
                }
            }
        }

        private void CheckRead(IsolatedEngine engine, Access access, uint value)
        {
            for (int b = 0; b < access.Length; b++)
            {
                int at = access.Offset + b;
                byte read = (byte)(value >> (8 * b));
                if (((read ^ _baseline[at]) & _fixedBits[at]) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "byte 0x{0:x3} read 0x{1:x2}; its bits no write can change (0x{2:x2}) read 0x{3:x2} at open", at, read, _fixedBits[at], _baseline[at]));
                }

                byte denied = _bound.DenyMask[at];
                if (((read ^ _bound.ResetValue[at]) & denied) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "byte 0x{0:x3} read 0x{1:x2}; its denied bits 0x{2:x2} must read the policy's constant 0x{3:x2}", at, read, denied, _bound.ResetValue[at] & denied));
                }
            }
        }

        private void CheckScan(byte[] seen, IsolatedEngine engine, string when)
        {
            for (int at = 0; at < seen.Length; at++)
            {
                if (((seen[at] ^ _baseline[at]) & _fixedBits[at]) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "{0}: byte 0x{1:x3} reads 0x{2:x2}; its fixed bits 0x{3:x2} read 0x{4:x2} at open", when, at, seen[at], _fixedBits[at], _baseline[at]));
                }
            }
        }

        private void CheckDeniedConstants(byte[] seen, IsolatedEngine engine, string when)
        {
            for (int at = 0; at < seen.Length; at++)
            {
                byte denied = _bound.DenyMask[at];
                if (((seen[at] ^ _bound.ResetValue[at]) & denied) != 0)
                {
                    Fail(engine, string.Format(CultureInfo.InvariantCulture, "{0}: byte 0x{1:x3} reads 0x{2:x2}; its denied bits 0x{3:x2} must read 0x{4:x2}", when, at, seen[at], denied, _bound.ResetValue[at] & denied));
                }
            }
        }

        /// <summary>Walks both chains over what the consumer sees: no hidden capability may be found where it lives.</summary>
        private void CheckHiddenCapabilities(byte[] seen, IsolatedEngine engine, string when)
        {
            BoundCapability[] hidden = _bound.Capabilities.Where(c => c.Hidden && c.Bound).ToArray();
            if (hidden.Length == 0)
            {
                return;
            }

            ChainWalk walk = CapabilityWalker.Walk(seen);
            foreach (BoundCapability capability in hidden)
            {
                CapabilityInfo info = capability.Info;
                foreach (CapabilityInfo found in walk.Capabilities)
                {
                    // A hidden extended capability at 0x100 stays as a placeholder with ID 0 that keeps the chain.
                    bool placeholder = found.Extended && found.Offset == DeviceBinder.ExtendedChainStart && found.Id == 0;
                    if (found.Extended == info.Extended && found.Offset == info.Offset && !placeholder)
                    {
                        Fail(engine, string.Format(CultureInfo.InvariantCulture, "{0}: hidden capability {1} at 0x{2:x3} is reachable through the firewall's chain (found as ID 0x{3:x2})", when, info.Name, info.Offset, found.Id));
                    }
                }
            }
        }

        /// <summary>
        /// Scrambles the hardware under every hidden capability body and rereads it: bits the hide rule denies must
        /// still read the rule's constant, and no bit the firewall does not pass through may follow the hardware.
        /// </summary>
        private int CheckHiddenBodiesIgnoreHardware(IsolatedEngine engine, byte[] seen, Random scramble)
        {
            int checkedBytes = 0;
            foreach (BoundCapability capability in _bound.Capabilities.Where(c => c.Hidden && c.Bound))
            {
                int start = capability.Info.Offset;
                int end = Math.Min(_bound.Size, start + capability.Info.Length);
                for (int at = start; at < end; at++)
                {
                    engine.Hardware.SetDeviceValue(at, 1, (uint)scramble.Next(256));
                }

                for (int at = start; at < end; at++)
                {
                    engine.Firewall.Read(at, 1, out uint value);
                    byte virt = _bound.VirtMask[at];
                    if (((value ^ seen[at]) & virt) != 0)
                    {
                        Fail(engine, string.Format(CultureInfo.InvariantCulture, "hidden {0}: byte 0x{1:x3}'s non-passthrough bits 0x{2:x2} followed the scrambled hardware", capability.Info.Name, at, virt));
                    }

                    byte hiddenDenied = 0;
                    for (int bit = 0; bit < 8; bit++)
                    {
                        if (_bound.OwnerKindOf(at, bit) == BitOwnerKind.HiddenBody && (_bound.DenyMask[at] & (1 << bit)) != 0)
                        {
                            hiddenDenied |= (byte)(1 << bit);
                        }
                    }

                    if (((value ^ _bound.ResetValue[at]) & hiddenDenied) != 0)
                    {
                        Fail(engine, string.Format(CultureInfo.InvariantCulture, "hidden {0}: byte 0x{1:x3} leaked 0x{2:x2}; its denied body bits must read the hide rule's constant", capability.Info.Name, at, value));
                    }

                    checkedBytes++;
                }
            }

            return checkedBytes;
        }

        private static int FirstDifference(ReadOnlySpan<byte> before, ReadOnlySpan<byte> after, int skipStart, int skipEnd)
        {
            for (int at = 0; at < before.Length; at++)
            {
                if ((at < skipStart || at >= skipEnd) && before[at] != after[at])
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
