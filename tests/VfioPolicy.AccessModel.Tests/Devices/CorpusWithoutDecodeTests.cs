using System.Linq;
using VfioPolicy.AccessModel.Devices;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    /// <summary>
    /// The corpus devices dumped without an lspci decode. Their chains were read by hand from the hex
    /// (offset:ID/length), so the walk is pinned for them too.
    /// </summary>
    public sealed class CorpusWithoutDecodeTests
    {
        public static TheoryData<string, string, string> HandReadChains => new TheoryData<string, string, string>
        {
            // 0x34=a0 → HT MSI mapping (type a8) → EXP v1 root port → PM → MSI 64-bit → SSVID → HT slave (type 0).
            { "pciutils/cap-MSI-mapping.txt", "0a:01.0", "Sa0:08/12 Sb0:10/36 S98:01/8 S80:05/14 S78:0d/8 S50:08/28" },
            // Status bit 4 is clear: no chain at all, and the mirrored header at 0x100 is not an extended chain.
            { "pciutils/broken-ecaps.txt", "00:00.0", string.Empty },
            // REBAR at 0x200 controls one BAR (0x208 = 0x20): 4 + 8.
            {
                "pciutils/cap-rebar.txt", "09:00.0",
                "S48:09/8 S50:01/8 S58:10/52 Sa0:05/14 E100:0b/16 E150:01/72 E200:15/12 E270:19/44 E2b0:0f/8 E2c0:13/16 E2d0:1b/8 E328:0e/8"
            },
            // DVSECs at 0x500, 0x540, 0x560, 0x590 with lengths 0x38, 0x14, 0x24, 0x10 (bits 20..31 of +4).
            {
                "pciutils/cap-dvsec-cxl.txt", "7f:00.0",
                "S80:10/44 Se0:05/14 Sf8:01/8 E100:0b/8 E128:0e/8 E1e0:25/12 E200:01/56 E450:2e/24 E500:23/56 E540:23/20 E560:23/36 E590:23/16"
            },
        };

        [Theory]
        [MemberData(nameof(HandReadChains))]
        public void walker_finds_the_hand_read_chain(string file, string slot, string expected)
        {
            ChainWalk walk = CapabilityWalker.Walk(CorpusDevices.Image(file, slot));

            string layout = string.Join(" ", walk.Capabilities.Select(c => (c.Extended ? "E" : "S") + c.Offset.ToString("x2") + ":" + c.Id.ToString("x2") + "/" + c.Length.ToString()));
            Assert.Equal(expected, layout);
            Assert.DoesNotContain(walk.Warnings, warning => warning.Contains("stopped", System.StringComparison.Ordinal));
        }

        [Fact]
        public void every_undecoded_device_has_a_hand_read_chain()
        {
            var pinned = HandReadChains.Select(row => ((string)row[0], (string)row[1])).ToHashSet();

            Assert.All(CorpusDevices.UndecodedDevices(), row => Assert.Contains(((string)row[0], (string)row[1]), pinned));
        }
    }
}
