using CsCheck;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using Xunit;
using VfioPolicy.Testing;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>
    /// Random access sequences (CsCheck): for every compiled policy on every corpus device, 200 sequences of 50
    /// reads, writes and occasional shadow resets replayed on fresh twin engines, compared after every access and
    /// at the end. Every case has a fixed seed (SeededProperty); a failure names it and CsCheck shrinks from it.
    /// </summary>
    public sealed class RandomSequenceEquivalenceTests
    {
        private const int Sequences = 200;

        private const int AccessesPerSequence = 50;

        [Theory]
        [MemberData(nameof(ConformanceInputs.PolicyDevicePairs), MemberType = typeof(ConformanceInputs))]
        public void random_access_sequences_behave_identically(string policyName, string deviceName)
        {
            ICompiledPolicy policy = ConformanceInputs.Policy(policyName);
            CorpusDevice device = ConformanceInputs.Device(deviceName);
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, device.Image.Bytes, device.Image.WalkCapabilities());

            int ran = SeededProperty.Check(
                AccessesOn(device.Image.Size).Array[AccessesPerSequence],
                sequence =>
                {
                    var twins = new TwinFirewalls(policy, device, bound);
                    foreach (ConsumerAccess access in sequence)
                    {
                        twins.Run(access);
                    }

                    twins.CompareImages("at the end of the sequence");
                },
                Sequences,
                "random_access_sequences_behave_identically/" + policyName + "/" + deviceName,
                sequence => string.Join(", ", System.Linq.Enumerable.Select(sequence, a => a.ToString())));
            Figures.Add("conformance.sequences", ran);
        }

        /// <summary>
        /// Accesses weighted towards where policies differ: the header and standard capabilities (the first 256 bytes)
        /// half the time, anywhere (extended space, past the end) otherwise; mostly legal lengths, with 3, 0 and 5
        /// now and then; pattern values as often as arbitrary ones.
        /// </summary>
        internal static Gen<ConsumerAccess> AccessesOn(int size)
        {
            Gen<int> offset = Gen.Frequency(
                (5, (IGen<int>)Gen.Int[0, 255]),
                (4, Gen.Int[0, size - 1]),
                (1, Gen.Int[-4, size + 4]));
            Gen<int> length = Gen.Frequency((4, 1), (4, 2), (4, 4), (2, 3), (1, 0), (1, 5));
            Gen<uint> value = Gen.Frequency(
                (3, (IGen<uint>)Gen.UInt),
                (1, Gen.Const(0u)),
                (1, Gen.Const(0xffff_ffffu)),
                (1, Gen.Const(0x5555_5555u)),
                (1, Gen.Const(0xaaaa_aaaau)));
            Gen<AccessKind> kind = Gen.Frequency((10, AccessKind.Read), (10, AccessKind.Write), (1, AccessKind.Reset));
            return Gen.Select(kind, offset, length, value, (k, o, l, v) => k switch
            {
                AccessKind.Read => ConsumerAccess.Read(o, l),
                AccessKind.Write => ConsumerAccess.Write(o, l, v),
                _ => ConsumerAccess.Reset(),
            });
        }
    }
}
