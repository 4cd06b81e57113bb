using System;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Interpretation
{
    // Random access sequences against a policy that mixes every disposition, checked against the access model's
    // invariants after every access rather than against expected values.
    public sealed class RandomAccessTests
    {
        private static readonly BitAction[] Actions =
        {
            Act.PassRw, Act.PassRo, Act.VirtRw(0x5A), Act.VirtRo(0xA5), Act.VirtRw1c(0xFF), Act.Deny(0x3C), Act.DenySilent(0xC3),
            Act.VirtFromHardware(WriteSemantics.ReadWrite),
        };

        [Theory]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(3)]
        public void random_accesses_keep_the_access_model_invariants(int seed)
        {
            var random = new Random(seed);
            var policy = new PolicyBuilder().Defaults(gap: Act.PassRw);

            // What the rules below say about auditing, bit by bit, kept from their own parameters (not the binding):
            // a denied, non-silent bit, and the constant it reads.
            var audited = new bool[0x100 * 8];
            var constant = new bool[0x100 * 8];
            for (int offset = 0x40; offset < 0x80; offset += 2)
            {
                int split = random.Next(16);
                BitAction low = Actions[random.Next(Actions.Length)];
                BitAction high = Actions[random.Next(Actions.Length)];
                int highStart = Math.Min(split + 1, 15);
                policy.DeviceSpecific(offset, 2, "R")
                    .Bits(0, split, low, hardwareRw1c: random.Next(4) == 0)
                    .Bits(highStart, 15, high, hardwareRw1c: random.Next(4) == 0);
                foreach ((int first, int last, BitAction action) in new[] { (0, split, low), (highStart, 15, high) })
                {
                    for (int bit = first; bit <= last; bit++)
                    {
                        audited[(offset * 8) + bit] = action.Disposition == Disposition.Deny && !action.Silent;
                        constant[(offset * 8) + bit] = action.Disposition == Disposition.Deny && ((action.Value >> (bit - first)) & 1) != 0;
                    }
                }
            }

            var image = new ConfigImage();
            random.NextBytes(image.Bytes);
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
            var hardware = new SimulatedConfigHardware(image.Bytes, bound.HardwareWriteOneToClear.ToArray());
            var audit = new RecordingAuditSink();
            var firewall = new PolicyInterpreter(bound, hardware, audit);

            for (int step = 0; step < 500; step++)
            {
                int offset = 0x3E + random.Next(0x46);
                int length = 1 + random.Next(4);
                uint value = (uint)random.Next() ^ ((uint)random.Next() << 16);
                byte[] before = hardware.Bytes.ToArray();
                byte[] shadowBefore = firewall.Shadow.ToArray();
                int eventsBefore = audit.Events.Count;

                if (random.Next(2) == 0)
                {
                    Assert.Equal(AccessStatus.Ok, firewall.Write(offset, length, value));
                    for (int b = 0; b < bound.Size; b++)
                    {
                        // Only passthrough-writable bits of the accessed bytes may change in hardware.
                        bool accessed = b >= offset && b < offset + length;
                        byte allowed = accessed ? bound.PassthroughWritable[b] : (byte)0;
                        Assert.Equal(0, (before[b] ^ hardware.Bytes[b]) & ~allowed);

                        // Only virtualized rw / rw1c bits of the accessed bytes may change in the shadow.
                        byte shadowAllowed = accessed ? (byte)(bound.ShadowReadWrite[b] | bound.ShadowWriteOneToClear[b]) : (byte)0;
                        Assert.Equal(0, (shadowBefore[b] ^ firewall.Shadow[b]) & ~shadowAllowed);
                    }

                    // One event per naturally aligned piece in which a denied bit was written other than its constant.
                    Assert.Equal(ExpectedAuditEvents(offset, length, value, audited, constant), audit.Events.Count - eventsBefore);
                }
                else
                {
                    Assert.Equal(AccessStatus.Ok, firewall.Read(offset, length, out uint read));
                    for (int i = 0; i < length; i++)
                    {
                        int b = offset + i;
                        byte expected = (byte)((before[b] & ~bound.VirtMask[b]) | (firewall.Shadow[b] & bound.VirtMask[b]));
                        Assert.Equal(expected, (byte)(read >> (8 * i)));
                        Assert.Equal(bound.ResetValue[b] & bound.DenyMask[b], firewall.Shadow[b] & bound.DenyMask[b]);
                    }
                }
            }
        }

        private static int ExpectedAuditEvents(int offset, int length, uint value, bool[] audited, bool[] constant)
        {
            int events = 0;
            for (int position = offset; position < offset + length;)
            {
                int piece = position % 4 == 0 && position + 4 <= offset + length ? 4 : position % 2 == 0 && position + 2 <= offset + length ? 2 : 1;
                bool changed = false;
                for (int bit = position * 8; bit < (position + piece) * 8; bit++)
                {
                    bool written = ((value >> (bit - (offset * 8))) & 1) != 0;
                    changed |= audited[bit] && written != constant[bit];
                }

                events += changed ? 1 : 0;
                position += piece;
            }

            return events;
        }
    }
}
