using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    public sealed class ConfigDumpReaderTests : IDisposable
    {
        private readonly string temporaryFolder = Path.Combine(Path.GetTempPath(), "vfio-devices-" + Guid.NewGuid().ToString("N"));

        public ConfigDumpReaderTests() => Directory.CreateDirectory(temporaryFolder);

        public void Dispose() => Directory.Delete(temporaryFolder, recursive: true);

        private static string Corpus(string relative) => Path.Combine(RepositoryPaths.Corpus, relative);

        /// <summary>A well-formed -xxx dump of <paramref name="lines"/> lines (16 bytes each) under a title.</summary>
        private static string HexDump(string title, int lines, Func<int, string?>? lineOverride = null)
        {
            var text = new StringBuilder(title).Append('\n');
            for (int line = 0; line < lines; line++)
            {
                string offset = (line * 16).ToString(line * 16 >= 0x100 ? "x3" : "x2");
                string bytes = string.Join(" ", Enumerable.Range(0, 16).Select(i => ((line + i) & 0xFF).ToString("x2")));
                text.Append(lineOverride?.Invoke(line) ?? offset + ": " + bytes).Append('\n');
            }

            return text.ToString();
        }

        private static DeviceDumpException ParseError(string text)
            => Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.ParseLspci(text, "dump.txt"));

        [Fact]
        public void reads_every_device_of_a_multi_device_file_in_order()
        {
            IReadOnlyList<ConfigSpaceImage> images = ConfigDumpReader.ParseLspci(File.ReadAllText(Corpus("pciutils/cap-vc-and-rcl.txt")), "cap-vc-and-rcl.txt");

            Assert.Equal(16, images.Count);
            Assert.Equal("00:1b.0", images[0].Slot);
            Assert.Equal("02:00.0", images[15].Slot);
            Assert.Equal(4096, images[0].Size);
            Assert.Equal(256, images[5].Size);
            Assert.StartsWith("Audio device: Intel Corporation 82801G", images[0].Description, StringComparison.Ordinal);
            Assert.Equal(new byte[] { 0x86, 0x80, 0xd8, 0x27 }, images[0].Bytes.Take(4));
        }

        [Theory]
        [InlineData(4, 64)]
        [InlineData(16, 256)]
        [InlineData(256, 4096)]
        public void the_size_is_what_the_dump_holds(int lines, int size)
        {
            ConfigSpaceImage image = ConfigDumpReader.ParseLspci(HexDump("00:03.0 Device", lines), "dump.txt").Single();

            Assert.Equal(size, image.Size);
            Assert.Equal((byte)((lines + 14) & 0xFF), image.Bytes[size - 1]);
        }

        [Fact]
        public void a_title_without_hex_lines_is_not_an_image()
        {
            string text = "00:01.0 Host bridge: decode only\n\tControl: I/O+\n\n" + HexDump("00:02.0 Other", 4);

            ConfigSpaceImage image = ConfigDumpReader.ParseLspci(text, "dump.txt").Single();

            Assert.Equal("00:02.0", image.Slot);
            Assert.Equal("Other", image.Description);
        }

        [Fact]
        public void decode_lines_between_title_and_hex_and_crlf_line_ends_are_accepted()
        {
            string text = HexDump("0000:00:04.0 Thing\n\tSubsystem: x\n\tCapabilities: [40] MSI", 16).Replace("\n", "\r\n", StringComparison.Ordinal);

            ConfigSpaceImage image = ConfigDumpReader.ParseLspci(text, "dump.txt").Single();

            Assert.Equal("0000:00:04.0", image.Slot);
            Assert.Equal(256, image.Size);
        }

        [Fact]
        public void a_bad_hex_byte_is_an_error_naming_the_line()
        {
            DeviceDumpException error = ParseError(HexDump("00:03.0 Device", 16, line => line == 2 ? "20: 00 11 zz 33 44 55 66 77 88 99 aa bb cc dd ee ff" : null));

            Assert.Equal("dump.txt:4: bad hex line at offset 0x20: 'zz' is not a two-digit hex byte", error.Message);
            Assert.Equal(4, error.Line);
        }

        [Fact]
        public void a_hex_line_with_too_few_bytes_is_an_error()
        {
            DeviceDumpException error = ParseError(HexDump("00:03.0 Device", 16, line => line == 1 ? "10: 00 11 22" : null));

            Assert.Equal("dump.txt:3: bad hex line at offset 0x10: expected 16 bytes, found 3", error.Message);
        }

        [Fact]
        public void a_missing_line_in_the_middle_is_an_error()
        {
            string text = string.Join("\n", HexDump("00:03.0 Device", 16).Split('\n').Where(line => !line.StartsWith("50:", StringComparison.Ordinal)));

            DeviceDumpException error = ParseError(text);

            Assert.Equal("dump.txt:7: expected offset 0x50 but found 0x60 (lines missing from the dump of 00:03.0)", error.Message);
        }

        [Fact]
        public void a_truncated_dump_is_an_error()
        {
            DeviceDumpException error = ParseError(HexDump("00:03.0 Device", 8));

            Assert.Equal("dump.txt:9: the dump of 00:03.0 ends after 128 bytes (last offset 0x70); a config-space dump has 64, 256 or 4096 bytes", error.Message);
        }

        [Fact]
        public void a_dump_that_does_not_start_at_zero_is_an_error()
        {
            DeviceDumpException error = ParseError("00:03.0 Device\n40: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n");

            Assert.Equal("dump.txt:2: the hex dump of 00:03.0 starts at offset 0x40; it must start at 0x00", error.Message);
        }

        [Fact]
        public void text_inside_a_hex_block_is_an_error()
        {
            DeviceDumpException error = ParseError(HexDump("00:03.0 Device", 16, line => line == 5 ? "5g: 00" : null));

            Assert.Equal("dump.txt:7: expected the hex line for offset 0x50 of 00:03.0, found '5g: 00'", error.Message);
        }

        [Fact]
        public void a_second_hex_block_for_one_device_is_an_error()
        {
            DeviceDumpException error = ParseError(HexDump("00:03.0 Device", 4) + "\n00: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00\n");

            Assert.Equal("dump.txt:7: a second hex dump for 00:03.0 (a blank line ended the first one)", error.Message);
        }

        [Fact]
        public void every_prefix_and_random_corruption_of_a_real_dump_gives_images_or_a_dump_error()
        {
            string text = File.ReadAllText(Corpus("pciutils/cap-aer-root.txt"));
            var random = new Random(20240607);
            var inputs = new List<string>();
            for (int length = 0; length < text.Length; length += 97)
            {
                inputs.Add(text.Substring(0, length));
            }

            const string Alphabet = "0123456789abcdefg: \n\t.x";
            for (int round = 0; round < 300; round++)
            {
                char[] corrupted = text.ToCharArray();
                for (int edit = 0; edit < 3; edit++)
                {
                    corrupted[random.Next(corrupted.Length)] = Alphabet[random.Next(Alphabet.Length)];
                }

                inputs.Add(new string(corrupted));
            }

            foreach (string input in inputs)
            {
                try
                {
                    foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(input, "fuzz.txt"))
                    {
                        Assert.Contains(image.Size, new[] { 64, 256, 4096 });
                        CapabilityWalker.Walk(image);
                        _ = image.Identity;
                    }
                }
                catch (DeviceDumpException error)
                {
                    Assert.StartsWith("fuzz.txt:", error.Message, StringComparison.Ordinal);
                    Assert.DoesNotContain("\n", error.Message, StringComparison.Ordinal);
                }
            }
        }

        [Fact]
        public void reads_binary_config_files_of_the_three_sizes_only()
        {
            Assert.Equal(256, ConfigDumpReader.ReadBinary(new byte[256], "config").Size);
            Assert.Equal(4096, ConfigDumpReader.ReadBinary(new byte[4096], "config").Size);

            DeviceDumpException error = Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.ReadBinary(new byte[100], "config"));
            Assert.Equal("config: a binary config file has 64, 256 or 4096 bytes; this one has 100", error.Message);
        }

        [Fact]
        public void load_tells_binary_from_text_by_content()
        {
            byte[] binary = new byte[256];
            binary[0] = 0x86;
            binary[1] = 0x80;
            string binaryPath = Path.Combine(temporaryFolder, "config");
            File.WriteAllBytes(binaryPath, binary);
            string textPath = Path.Combine(temporaryFolder, "dump.txt");
            File.WriteAllText(textPath, HexDump("00:05.0 Device", 16));

            Assert.Equal(0x86, ConfigDumpReader.Load(binaryPath, null).Bytes[0]);
            Assert.Null(ConfigDumpReader.Load(binaryPath, null).Slot);
            Assert.Equal("00:05.0", ConfigDumpReader.Load(textPath, null).Slot);
        }

        [Theory]
        [InlineData("00:1c.2")]
        [InlineData("0000:00:1C.2")]
        [InlineData(" 00:1c.2 ")]
        public void load_selects_the_slot_in_either_spelling(string slot)
        {
            ConfigSpaceImage image = ConfigDumpReader.Load(Corpus("pciutils/cap-vc-and-rcl.txt"), slot);

            Assert.Equal("00:1c.2", image.Slot);
            Assert.Equal(0x27d4, image.Identity.Device);
        }

        [Fact]
        public void a_domain_slot_matches_only_its_domain()
        {
            string path = Corpus("pciutils/cap-ea-1.txt");

            Assert.Equal("0002:01:00.0", ConfigDumpReader.Load(path, "0002:01:00.0").Slot);
            DeviceDumpException error = Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(path, "01:00.0"));
            Assert.Equal(path + ": no device at slot 01:00.0; the dump holds 0002:01:00.0", error.Message);
        }

        [Fact]
        public void several_devices_and_no_slot_is_an_error_listing_the_slots()
        {
            string path = Corpus("pciutils/cap-ht.txt");

            DeviceDumpException error = Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(path, null));

            Assert.Equal(path + ": the dump holds 2 devices (00:00.0, 00:18.0); choose one with --slot", error.Message);
        }

        [Fact]
        public void an_unknown_slot_is_an_error_listing_the_slots()
        {
            string path = Corpus("pciutils/cap-ht.txt");

            DeviceDumpException error = Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(path, "00:19.0"));

            Assert.Equal(path + ": no device at slot 00:19.0; the dump holds 00:00.0, 00:18.0", error.Message);
        }

        [Theory]
        [InlineData("1c.2")]
        [InlineData("00:1c.8")]
        [InlineData("00:1c")]
        [InlineData("g0:1c.2")]
        public void a_malformed_slot_is_an_error(string slot)
        {
            string path = Corpus("pciutils/cap-ht.txt");

            DeviceDumpException error = Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(path, slot));

            Assert.Equal(path + ": '" + slot + "' is not a slot; expected BB:DD.F or DDDD:BB:DD.F", error.Message);
        }

        [Fact]
        public void a_missing_file_and_a_text_without_dump_are_dump_errors()
        {
            string missing = Path.Combine(temporaryFolder, "absent.txt");
            string decodeOnly = Path.Combine(temporaryFolder, "decode.txt");
            File.WriteAllText(decodeOnly, "00:01.0 Host bridge\n\tControl: I/O+\n");

            Assert.Equal(missing + ": file not found", Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(missing, null)).Message);
            Assert.Equal(
                decodeOnly + ": no config-space hex dump found (expected lspci -x, -xxx or -xxxx output)",
                Assert.Throws<DeviceDumpException>(() => ConfigDumpReader.Load(decodeOnly, null)).Message);
        }

        [Fact]
        public void the_qemu_dumps_pair_with_their_decodes()
        {
            foreach (string dump in Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt"))
            {
                ConfigSpaceImage image = ConfigDumpReader.Load(dump, null);
                string decode = File.ReadAllLines(dump.Replace(".xxxx.txt", ".lspci-vvv.txt", StringComparison.Ordinal))[0];

                Assert.StartsWith(image.Slot + " ", decode, StringComparison.Ordinal);
            }
        }
    }
}
