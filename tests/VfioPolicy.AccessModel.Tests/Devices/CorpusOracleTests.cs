using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    /// <summary>
    /// The walker against lspci: for every device of the corpus whose decode is there, the walker finds exactly the
    /// capabilities lspci lists, at the same offsets, in the same order, with the same versions.
    /// </summary>
    public sealed class CorpusOracleTests
    {
        // Older lspci releases print these for capabilities they did not name; everything else starts with our name.
        private static readonly string[] UnnamedByOldLspci = { "#", "VirtIO:" };

        public static IEnumerable<object[]> DecodedDevices() => CorpusDevices.DecodedDevices();

        public static IEnumerable<object[]> AllDumpedDevices() => CorpusDevices.AllDumpedDevices();

        [Fact]
        public void corpus_has_every_device_expected()
        {
            // 6 QEMU dumps and 38 pciutils devices with hex; losing one would silently shrink the oracle.
            Assert.Equal(44, AllDumpedDevices().Count());
            Assert.Equal(40, DecodedDevices().Count());
        }

        [Theory]
        [MemberData(nameof(DecodedDevices))]
        public void walker_finds_exactly_the_capabilities_lspci_lists(string file, string slot)
        {
            ConfigSpaceImage image = CorpusDevices.Image(file, slot);
            LspciDecode decode = CorpusDevices.Decode(file, slot);
            ChainWalk walk = CapabilityWalker.Walk(image);

            // lspci read the live device; a 256-byte dump cannot show what it found beyond 0x100.
            List<LspciCapabilityLine> expected = decode.Capabilities.Where(line => !line.Extended || image.Size == 4096).ToList();

            Assert.Equal(
                expected.Select(line => Describe(line.Offset, line.Extended)),
                walk.Capabilities.Select(capability => Describe(capability.Offset, capability.Extended)));

            for (int i = 0; i < expected.Count; i++)
            {
                CapabilityInfo found = walk.Capabilities[i];
                if (expected[i].Version is int version)
                {
                    Assert.Equal(version, found.Version);
                }

                if (!UnnamedByOldLspci.Any(prefix => expected[i].Text.StartsWith(prefix, StringComparison.Ordinal)))
                {
                    Assert.StartsWith(found.Name, expected[i].Text, StringComparison.Ordinal);
                }
            }

            if (!decode.ChainMarked)
            {
                Assert.DoesNotContain(walk.Warnings, warning => warning.Contains("stopped", StringComparison.Ordinal));
            }
        }

        [Theory]
        [MemberData(nameof(AllDumpedDevices))]
        public void every_capability_lies_inside_its_space_and_before_the_next(string file, string slot)
        {
            ConfigSpaceImage image = CorpusDevices.Image(file, slot);
            ChainWalk walk = CapabilityWalker.Walk(image);

            foreach (bool extended in new[] { false, true })
            {
                List<CapabilityInfo> space = walk.Capabilities.Where(c => c.Extended == extended).OrderBy(c => c.Offset).ToList();
                int spaceStart = extended ? 0x100 : 0x40;
                int spaceEnd = extended ? image.Size : Math.Min(image.Size, 0x100);
                for (int i = 0; i < space.Count; i++)
                {
                    CapabilityInfo capability = space[i];
                    int limit = i + 1 < space.Count ? space[i + 1].Offset : spaceEnd;
                    Assert.InRange(capability.Offset, spaceStart, spaceEnd - 1);
                    Assert.InRange(capability.Length, 1, limit - capability.Offset);
                }
            }
        }

        private static string Describe(int offset, bool extended) => (extended ? "ext@" : "std@") + offset.ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }
}
