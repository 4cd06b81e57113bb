using System;
using VfioPolicy.AccessModel.Contracts;
using Xunit;
using VfioPolicy.Testing;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>
    /// Every single access, for every compiled policy on every corpus device (bound whatever the policy's match
    /// lines say): at each offset, from the reset shadow, reads of 1, 2, 3 and 4 bytes and writes of all-zeros,
    /// all-ones, 0x55…, 0xAA… and a seeded random value, each followed by a read back; the engines are compared after
    /// every access and their full hardware and shadow images after every offset.
    /// </summary>
    public sealed class ExhaustiveEquivalenceTests
    {
        /// <summary>Lengths 1 to 4 at any offset are the contract; 3 is legal and split into pieces like any other.</summary>
        private static readonly int[] Lengths = { 1, 2, 3, 4 };

        private static readonly uint[] Patterns = { 0x0000_0000u, 0xffff_ffffu, 0x5555_5555u, 0xaaaa_aaaau };

        /// <summary>Per offset and length: a read, then each pattern and a random value written and read back.</summary>
        private const int AccessesPerLength = 1 + (2 * 4) + 2;

        [Theory]
        [MemberData(nameof(ConformanceInputs.PolicyDevicePairs), MemberType = typeof(ConformanceInputs))]
        public void every_single_access_behaves_identically(string policyName, string deviceName)
            => RunEverySingleAccess(ConformanceInputs.Policy(policyName), ConformanceInputs.Device(deviceName), policyName + "|" + deviceName);

        /// <summary>
        /// The exhaustive comparison of <paramref name="policy"/>'s handler with the interpreter on <paramref name="device"/>
        /// (see the class); <paramref name="seedKey"/> fixes the random values.
        /// </summary>
        internal static void RunEverySingleAccess(ICompiledPolicy policy, CorpusDevice device, string seedKey)
        {
            var twins = new TwinFirewalls(policy, device);
            var random = new Random(StableSeed(seedKey));
            int size = device.Image.Size;
            int okAccesses = 0;

            for (int offset = 0; offset < size; offset++)
            {
                // Each offset starts from the reset shadow, so write-1-to-clear bits that an earlier write cleared are
                // set again and each offset's writes meet them (the hardware's own rw1c bits stay as they were left).
                twins.Run(ConsumerAccess.Reset());
                foreach (int length in Lengths)
                {
                    okAccesses += Ok(twins.Run(ConsumerAccess.Read(offset, length)).Status);
                    foreach (uint pattern in Patterns)
                    {
                        okAccesses += Ok(twins.Run(ConsumerAccess.Write(offset, length, pattern)).Status);
                        okAccesses += Ok(twins.Run(ConsumerAccess.Read(offset, length)).Status);
                    }

                    okAccesses += Ok(twins.Run(ConsumerAccess.Write(offset, length, unchecked((uint)random.Next() ^ ((uint)random.Next() << 16)))).Status);
                    okAccesses += Ok(twins.Run(ConsumerAccess.Read(offset, length)).Status);
                }

                twins.CompareImages("after the accesses at 0x" + offset.ToString("x3", System.Globalization.CultureInfo.InvariantCulture));
            }

            twins.Run(ConsumerAccess.Reset());
            twins.CompareImages("after a reset of the shadow");

            // Accesses that reach past the end are refused by both; the rest must all have been accepted, or the
            // comparison proved nothing about the access path.
            int refusable = 0;
            foreach (int length in Lengths)
            {
                refusable += Math.Min(length - 1, size) * AccessesPerLength;
            }

            Assert.Equal((size * Lengths.Length * AccessesPerLength) - refusable, okAccesses);
        }

        [Theory]
        [MemberData(nameof(ConformanceInputs.PolicyDevicePairs), MemberType = typeof(ConformanceInputs))]
        public void invalid_accesses_are_refused_identically(string policyName, string deviceName)
        {
            CorpusDevice device = ConformanceInputs.Device(deviceName);
            var twins = new TwinFirewalls(ConformanceInputs.Policy(policyName), device);
            int size = device.Image.Size;
            (int Offset, int Length, AccessStatus Expected)[] cases =
            {
                (0, 0, AccessStatus.InvalidLength),
                (0, 5, AccessStatus.InvalidLength),
                (0, -1, AccessStatus.InvalidLength),
                (0, int.MaxValue, AccessStatus.InvalidLength),
                (0, int.MinValue, AccessStatus.InvalidLength),
                (-1, 1, AccessStatus.OutOfRange),
                (-4, 4, AccessStatus.OutOfRange),
                (int.MinValue, 4, AccessStatus.OutOfRange),
                (int.MaxValue, 1, AccessStatus.OutOfRange),
                (int.MaxValue - 1, 4, AccessStatus.OutOfRange),
                (size, 1, AccessStatus.OutOfRange),
                (size - 1, 2, AccessStatus.OutOfRange),
                (size - 3, 4, AccessStatus.OutOfRange),
                (size - 2, 3, AccessStatus.OutOfRange),
                (-1, 0, AccessStatus.InvalidLength),
            };

            foreach (var (offset, length, expected) in cases)
            {
                Assert.Equal(expected, twins.Run(ConsumerAccess.Read(offset, length)).Status);
                Assert.Equal(expected, twins.Run(ConsumerAccess.Write(offset, length, 0xffff_ffffu)).Status);
            }

            twins.CompareImages("after invalid accesses");
        }

        private static int Ok(AccessStatus status) => status == AccessStatus.Ok ? 1 : 0;

        /// <summary>FNV-1a of the pair's names: the same random values on every run and machine (string.GetHashCode is randomised).</summary>
        internal static int StableSeed(string text)
        {
            uint hash = 2166136261;
            foreach (char c in text)
            {
                hash = (hash ^ c) * 16777619;
            }

            return unchecked((int)hash);
        }
    }
}
