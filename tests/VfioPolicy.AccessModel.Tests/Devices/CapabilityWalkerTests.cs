using System;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    public sealed class CapabilityWalkerTests
    {
        private static string Layout(ChainWalk walk)
            => string.Join(" ", walk.Capabilities.Select(c => (c.Extended ? "E" : "S") + c.Offset.ToString("x2") + ":" + c.Id.ToString("x2") + "/" + c.Length.ToString()));

        [Fact]
        public void follows_the_standard_chain_in_chain_order_and_masks_pointer_low_bits()
        {
            byte[] image = new ConfigImageBuilder()
                .CapabilityList(0x63) // low bits are reserved: 0x63 means 0x60
                .Standard(0x60, 0x01, 0x43)
                .Standard(0x40, 0x11, 0x00)
                .Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S60:01/8 S40:11/12", Layout(walk));
            Assert.Empty(walk.Warnings);
            Assert.Equal(new[] { "Power Management", "MSI-X" }, walk.Capabilities.Select(c => c.Name));
        }

        [Fact]
        public void without_the_capabilities_list_status_bit_there_is_no_standard_chain()
        {
            byte[] image = new ConfigImageBuilder().Standard(0x40, 0x01, 0x00).Byte(0x34, 0x40).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Empty(walk.Capabilities);
            Assert.Empty(walk.Warnings);
        }

        [Fact]
        public void a_standard_loop_stops_the_walk_with_a_warning()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x01, 0x50).Standard(0x50, 0x05, 0x40).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:01/8 S50:05/10", Layout(walk));
            Assert.Equal(new[] { "standard capability chain loops back to 0x40 at 0x50; walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void a_head_pointer_into_the_header_stops_the_walk()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x20).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Empty(walk.Capabilities);
            Assert.Equal(new[] { "the capability pointer at 0x34 points into the header (0x20); standard walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void a_next_pointer_into_the_header_keeps_what_was_found()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x01, 0x3C).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:01/8", Layout(walk));
            Assert.Equal(new[] { "the next pointer of the capability at 0x40 points into the header (0x3c); standard walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void an_id_of_ff_is_a_broken_chain()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x01, 0x80).Standard(0x80, 0xFF, 0xFF).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:01/8", Layout(walk));
            Assert.Equal(new[] { "standard capability at 0x80 has ID 0xff (chain broken); walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void a_chain_through_all_48_slots_is_walked_whole()
        {
            var builder = new ConfigImageBuilder().CapabilityList(0x40);
            for (int offset = 0x40; offset <= 0xFC; offset += 4)
            {
                builder.Standard(offset, 0x0A, offset == 0xFC ? 0 : offset + 4); // debug port: 4 bytes each
            }

            ChainWalk walk = CapabilityWalker.Walk(builder.Bytes);

            Assert.Equal(48, walk.Capabilities.Count);
            Assert.All(walk.Capabilities, c => Assert.Equal(4, c.Length));
            Assert.Empty(walk.Warnings);
        }

        [Fact]
        public void an_overlapping_body_is_clipped_at_the_next_capability()
        {
            // MSI with 64-bit address and per-vector masking is 24 bytes, but the next capability starts 16 bytes on.
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x05, 0x50, 0x80, 0x01).Standard(0x50, 0x01, 0x00).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:05/16 S50:01/8", Layout(walk));
            Assert.Equal(new[] { "capability MSI at 0x40 (24 bytes) overlaps the capability at 0x50; length clipped to 16 bytes" }, walk.Warnings);
        }

        [Fact]
        public void a_body_past_the_standard_space_is_clipped_at_0x100()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0xFC).Standard(0xFC, 0x01, 0x00).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("Sfc:01/4", Layout(walk));
            Assert.Equal(new[] { "capability PM at 0xfc (8 bytes) runs past the end of its space at 0x100; length clipped to 4 bytes" }, walk.Warnings);
        }

        [Fact]
        public void an_unknown_capability_owns_the_bytes_up_to_the_next_one()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x0B, 0x60).Standard(0x60, 0x0F, 0x00).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:0b/32 S60:0f/160", Layout(walk));
            Assert.Empty(walk.Warnings);
        }

        [Theory]
        [InlineData(0x0000, 10)]
        [InlineData(0x0080, 14)]
        [InlineData(0x0100, 20)]
        [InlineData(0x0180, 24)]
        public void msi_length_follows_its_flags(int flags, int length)
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x05, 0x00).Word(0x42, flags).Bytes;

            Assert.Equal(length, CapabilityWalker.Walk(image).Capabilities.Single().Length);
        }

        [Theory]
        [InlineData(1, 0, 0x14)] // v1 endpoint: kernel PCI_CAP_EXP_ENDPOINT_SIZEOF_V1
        [InlineData(1, 4, 0x24)] // v1 root port: slot and root registers
        [InlineData(1, 9, 0x0C)] // v1 root complex integrated endpoint: no link
        [InlineData(2, 0, 0x34)] // v2 endpoint: PCI_CAP_EXP_ENDPOINT_SIZEOF_V2
        [InlineData(2, 6, 0x3C)] // v2 downstream port: through Slot Status 2
        [InlineData(2, 9, 0x2C)] // v2 RCiEP: PCI_CAP_EXP_RC_ENDPOINT_SIZEOF_V2
        public void express_length_follows_version_and_type(int version, int type, int length)
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Express(0x40, 0x00, version, type).Bytes;

            Assert.Equal(length, CapabilityWalker.Walk(image).Capabilities.Single().Length);
        }

        [Fact]
        public void vendor_specific_length_comes_from_its_length_byte()
        {
            byte[] image = new ConfigImageBuilder().CapabilityList(0x40).Standard(0x40, 0x09, 0x00, 0x14).Bytes;

            Assert.Equal(0x14, CapabilityWalker.Walk(image).Capabilities.Single().Length);
        }

        [Fact]
        public void a_cardbus_bridge_keeps_its_capability_pointer_at_0x14()
        {
            byte[] image = new ConfigImageBuilder().Word(0x06, 0x0010).Byte(0x0E, 0x02).Byte(0x14, 0x80).Standard(0x80, 0x01, 0x00).Bytes;

            Assert.Equal("S80:01/8", Layout(CapabilityWalker.Walk(image)));
        }

        [Fact]
        public void a_64_byte_image_reports_the_pointer_it_cannot_follow()
        {
            byte[] image = new ConfigImageBuilder(64).CapabilityList(0x40).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Empty(walk.Capabilities);
            Assert.Equal(new[] { "the capability pointer at 0x34 points to 0x40, beyond the 64-byte image; standard walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void an_image_shorter_than_a_header_is_reported_not_thrown()
        {
            ChainWalk walk = CapabilityWalker.Walk(new byte[16]);

            Assert.Empty(walk.Capabilities);
            Assert.Single(walk.Warnings);
        }

        [Fact]
        public void a_4096_byte_image_of_a_conventional_device_with_an_empty_extended_space_walks_quietly()
        {
            byte[] image = new ConfigImageBuilder(4096).CapabilityList(0x40).Standard(0x40, 0x01, 0x00).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:01/8", Layout(walk));
            Assert.Empty(walk.Warnings);
        }

        [Fact]
        public void in_a_4096_byte_image_the_last_standard_capability_of_unknown_structure_ends_at_0x100()
        {
            // An unknown structure owns everything up to the next capability or the end of its space: the standard
            // space ends at 0x100, whatever the image's size.
            byte[] image = new ConfigImageBuilder(4096).CapabilityList(0x40).Express(0x40, 0xC0, 2, 0).Standard(0xC0, 0x7E, 0x00).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            CapabilityInfo unknown = Assert.Single(walk.Capabilities, c => c.Offset == 0xC0);
            Assert.Equal(0x40, unknown.Length);
        }

        private static ConfigImageBuilder Express4096() => new ConfigImageBuilder(4096).CapabilityList(0x40).Express(0x40, 0x00, 2, 0);

        [Fact]
        public void a_structure_read_at_the_very_end_of_a_space_reads_its_last_bytes_and_none_past_them()
        {
            // MSI's Message Control is the last word of the 256-byte space: 64-bit addressing makes it 14 bytes.
            ChainWalk msi = CapabilityWalker.Walk(new ConfigImageBuilder().CapabilityList(0xFC).Standard(0xFC, 0x05, 0x00, 0x80, 0x00).Bytes);
            Assert.Equal(new[] { "capability MSI at 0xfc (14 bytes) runs past the end of its space at 0x100; length clipped to 4 bytes" }, msi.Warnings);

            // DPC's length comes from a word at +4, past the end of a 4096-byte image here: read as 0, not out of range.
            ChainWalk dpc = CapabilityWalker.Walk(Express4096().Extended(0x100, 0x01, 2, 0xFFC).Extended(0xFFC, 0x1D, 1, 0).Bytes);
            Assert.Equal("S40:10/52 E100:01/56 Effc:1d/4", Layout(dpc));
            Assert.Single(dpc.Warnings, w => w.EndsWith("runs past the end of its space at 0x1000; length clipped to 4 bytes", StringComparison.Ordinal));
        }

        [Fact]
        public void an_image_longer_than_4096_bytes_is_walked_as_its_first_4096()
        {
            byte[] image = Express4096().Extended(0x100, 0x01, 2, 0x140).Extended(0x140, 0x03, 1, 0x000).Bytes;
            byte[] longer = new byte[8192];
            image.CopyTo(longer, 0);
            longer[0x1000] = 0xFF;

            Assert.Equal(Layout(CapabilityWalker.Walk(image)), Layout(CapabilityWalker.Walk(longer)));
            Assert.Empty(CapabilityWalker.Walk(longer).Warnings);
            Assert.Equal("image", Assert.Throws<ArgumentNullException>(() => CapabilityWalker.Walk((ConfigSpaceImage)null!)).ParamName);
        }

        [Fact]
        public void follows_the_extended_chain_from_0x100()
        {
            byte[] image = Express4096().Extended(0x100, 0x01, 2, 0x140).Extended(0x140, 0x03, 1, 0x000).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:01/56 E140:03/12", Layout(walk));
            Assert.Equal(new int?[] { null, 2, 1 }, walk.Capabilities.Select(c => c.Version));
            Assert.Equal(new[] { "Express", "Advanced Error Reporting", "Device Serial Number" }, walk.Capabilities.Select(c => c.Name));
            Assert.Empty(walk.Warnings);
        }

        [Theory]
        [InlineData(0x00000000u)]
        [InlineData(0xFFFFFFFFu)]
        public void a_blank_head_at_0x100_means_no_extended_capabilities(uint head)
        {
            byte[] image = Express4096().Dword(0x100, head).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52", Layout(walk));
            Assert.Empty(walk.Warnings);
        }

        [Fact]
        public void an_extended_loop_stops_the_walk_with_a_warning()
        {
            byte[] image = Express4096().Extended(0x100, 0x01, 1, 0x3FC).Extended(0x3FC, 0x18, 1, 0x100).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:01/56 E3fc:18/8", Layout(walk));
            Assert.Equal(new[] { "extended capability chain loops back to 0x100 at 0x3fc; walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void a_body_past_the_extended_space_is_clipped_at_0x1000()
        {
            byte[] image = Express4096().Extended(0x100, 0x01, 1, 0xFFC).Extended(0xFFC, 0x18, 1, 0).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:01/56 Effc:18/4", Layout(walk));
            Assert.Equal(new[] { "capability LTR at 0xffc (8 bytes) runs past the end of its space at 0x1000; length clipped to 4 bytes" }, walk.Warnings);
        }

        [Fact]
        public void a_backwards_extended_pointer_is_followed_with_a_warning()
        {
            byte[] image = Express4096().Extended(0x100, 0x01, 1, 0x300).Extended(0x300, 0x03, 1, 0x200).Extended(0x200, 0x0E, 1, 0).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:01/56 E300:03/12 E200:0e/8", Layout(walk));
            Assert.Equal(new[] { "extended capability at 0x300 points backwards to 0x200" }, walk.Warnings);
        }

        [Fact]
        public void an_extended_pointer_into_the_standard_space_stops_the_walk()
        {
            byte[] image = Express4096().Extended(0x100, 0x01, 1, 0x040).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:01/56", Layout(walk));
            Assert.Equal(new[] { "extended capability at 0x100 points into the standard space (0x40); walk stopped" }, walk.Warnings);
        }

        [Fact]
        public void an_extended_pointer_to_an_empty_or_all_ones_header_stops_the_walk()
        {
            ChainWalk toEmpty = CapabilityWalker.Walk(Express4096().Extended(0x100, 0x01, 1, 0x200).Bytes);
            ChainWalk toOnes = CapabilityWalker.Walk(Express4096().Extended(0x100, 0x01, 1, 0x200).Dword(0x200, 0xFFFFFFFF).Bytes);

            Assert.Equal(new[] { "extended capability at 0x100 points to 0x200, which holds no capability header; walk stopped" }, toEmpty.Warnings);
            Assert.Equal(new[] { "extended capability header at 0x200 reads 0xffffffff; walk stopped" }, toOnes.Warnings);
            Assert.Equal(2, toOnes.Capabilities.Count);
        }

        [Fact]
        public void a_null_placeholder_at_0x100_is_listed_and_its_next_pointer_followed()
        {
            // What vfio-pci leaves when it hides the first extended capability: ID 0, next pointer kept.
            byte[] image = Express4096().Extended(0x100, 0x00, 0, 0x140).Extended(0x140, 0x03, 1, 0).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:00/4 E140:03/12", Layout(walk));
            Assert.Equal("Null", walk.Capabilities[1].Name);
        }

        [Fact]
        public void a_256_byte_dump_of_an_express_device_says_its_extended_capabilities_are_not_visible()
        {
            byte[] image = new ConfigImageBuilder(256).CapabilityList(0x40).Express(0x40, 0x00, 2, 0).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52", Layout(walk));
            Assert.Equal(new[] { "the image has 256 bytes, so the extended capabilities of this PCI Express device are not visible" }, walk.Warnings);
        }

        [Fact]
        public void the_extended_space_of_a_conventional_device_is_not_walked()
        {
            // The RS690 host bridge of pciutils' broken-ecaps test repeats its header every 256 bytes.
            byte[] image = new ConfigImageBuilder(4096).Extended(0x100, 0x1002, 1, 0x790).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Empty(walk.Capabilities);
            Assert.Equal(
                new[] { "the image has 4096 bytes but the device has no PCI Express (or PCI-X 2.0) capability; the extended space at 0x100 was not walked" },
                walk.Warnings);
        }

        [Fact]
        public void extended_overlap_is_clipped_at_the_next_capability()
        {
            byte[] image = Express4096().Extended(0x100, 0x10, 1, 0x120).Extended(0x120, 0x03, 1, 0).Bytes;

            ChainWalk walk = CapabilityWalker.Walk(image);

            Assert.Equal("S40:10/52 E100:10/32 E120:03/12", Layout(walk));
            Assert.Equal(new[] { "capability SRIOV at 0x100 (64 bytes) overlaps the capability at 0x120; length clipped to 32 bytes" }, walk.Warnings);
        }

        [Fact]
        public void variable_extended_lengths_come_from_their_structures()
        {
            byte[] image = Express4096()
                .Extended(0x100, 0x0B, 1, 0x200).Dword(0x104, 0x0280_0001) // VSEC, length 0x28
                .Extended(0x200, 0x23, 1, 0x300).Dword(0x204, 0x0380_1e98) // DVSEC, length 0x38
                .Extended(0x300, 0x15, 1, 0x400).Byte(0x308, 0x60) // REBAR with 3 BARs: 4 + 3 * 8
                .Extended(0x400, 0x0D, 1, 0x500).Byte(0x404, 0x20).Byte(0x405, 40) // ACS with a 40-bit egress vector: 8 + 64 / 8
                .Extended(0x500, 0x01, 1, 0) // AER without TLP prefix support
                .Bytes;

            Assert.Equal("S40:10/52 E100:0b/40 E200:23/56 E300:15/28 E400:0d/16 E500:01/56", Layout(CapabilityWalker.Walk(image)));
        }

        [Fact]
        public void aer_carries_the_tlp_prefix_log_when_the_device_supports_end_end_prefixes()
        {
            byte[] image = Express4096().Dword(0x40 + 0x24, 0x0020_0000).Extended(0x100, 0x01, 2, 0).Bytes;

            Assert.Equal(0x48, CapabilityWalker.Walk(image).Capabilities.Single(c => c.Extended).Length);
        }
    }
}
