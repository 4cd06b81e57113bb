using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>
    /// Reads config-space images from <c>lspci -x</c>/<c>-xxx</c>/<c>-xxxx</c> text (one or several devices, with or
    /// without the <c>-vvv</c> decode between title and hex) and from binary sysfs <c>config</c> files.
    /// Bad input raises <see cref="DeviceDumpException"/> and nothing else.
    /// </summary>
    public static class ConfigDumpReader
    {
        private const int BytesPerHexLine = 16;

        private static readonly int[] ValidSizes = { 64, 256, 4096 };

        /// <summary>
        /// Parses every device of an <c>lspci -x</c>-style text. A device title with no hex lines (a decode-only entry)
        /// yields no image. Throws <see cref="DeviceDumpException"/> for a bad hex line, a gap in the offsets, or a
        /// dump whose length is not 64, 256 or 4096 bytes.
        /// </summary>
        public static IReadOnlyList<ConfigSpaceImage> ParseLspci(string text, string sourceName)
        {
            if (text is null)
            {
                throw new ArgumentNullException(nameof(text));
            }

            sourceName ??= "<dump>";
            var images = new List<ConfigSpaceImage>();
            DeviceBlock? current = null;
            string[] lines = text.Split('\n');
            for (int index = 0; index < lines.Length; index++)
            {
                int lineNumber = index + 1;
                string line = lines[index].TrimEnd('\r');

                if (TryParseTitle(line, out string? slot, out string? description))
                {
                    Finish(current, images, sourceName);
                    current = new DeviceBlock(slot, description, lineNumber);
                    continue;
                }

                if (TryParseHexOffset(line, out int offset, out string hexPart))
                {
                    current ??= new DeviceBlock(null, null, lineNumber);
                    current.AddHexLine(offset, hexPart, lineNumber, sourceName);
                    continue;
                }

                if (current is { State: BlockState.InHex })
                {
                    if (line.Trim().Length == 0)
                    {
                        current.State = BlockState.Done;
                        continue;
                    }

                    throw new DeviceDumpException(
                        sourceName,
                        lineNumber,
                        "expected the hex line for offset " + Hex(current.Bytes.Count) + " of " + current.Name + ", found '" + Shorten(line) + "'");
                }

                // Anything else is the -v/-vv/-vvv decode or surrounding text: not ours to read.
            }

            Finish(current, images, sourceName);
            return images;
        }

        /// <summary>Reads a binary sysfs <c>config</c> file: exactly 64, 256 or 4096 bytes.</summary>
        public static ConfigSpaceImage ReadBinary(byte[] bytes, string sourceName)
        {
            if (bytes is null)
            {
                throw new ArgumentNullException(nameof(bytes));
            }

            sourceName ??= "<config>";
            if (Array.IndexOf(ValidSizes, bytes.Length) < 0)
            {
                throw new DeviceDumpException(
                    sourceName,
                    null,
                    "a binary config file has 64, 256 or 4096 bytes; this one has " + bytes.Length.ToString(CultureInfo.InvariantCulture));
            }

            return new ConfigSpaceImage(bytes, null, null);
        }

        /// <summary>
        /// Reads one device from <paramref name="path"/>: a binary sysfs <c>config</c> file, or <c>lspci</c> text
        /// (chosen by content). <paramref name="slot"/> (<c>BB:DD.F</c> or <c>DDDD:BB:DD.F</c>, any case) selects the
        /// device of a text dump; a dump of several devices needs one. A binary file holds one device and has no
        /// slot, so <paramref name="slot"/> is not consulted for it.
        /// </summary>
        public static ConfigSpaceImage Load(string path, string? slot) => Load(path, slot, null);

        /// <summary>
        /// <see cref="Load(string, string?)"/>, and an SR-IOV virtual function (vendor and device 0xffff) comes back as
        /// vfio-pci presents it (<see cref="VirtualFunctions"/>): its physical function is found in the same dump, or in
        /// <paramref name="physicalFunctionPath"/>'s when the VF's dump holds it alone.
        /// </summary>
        /// <exception cref="DeviceDumpException">The dump is malformed, has no device at the slot, or holds a VF whose physical function cannot be found.</exception>
        public static ConfigSpaceImage Load(string path, string? slot, string? physicalFunctionPath)
        {
            (ConfigSpaceImage image, IReadOnlyList<ConfigSpaceImage> all) = LoadAll(path, slot);
            if (!VirtualFunctions.LooksLikeVirtualFunction(image.Bytes))
            {
                return image;
            }

            IEnumerable<ConfigSpaceImage> candidates = physicalFunctionPath is null ? all : LoadAll(physicalFunctionPath, null, selectAny: true).All;
            return VirtualFunctions.PresentWith(image, candidates, physicalFunctionPath ?? path);
        }

        private static (ConfigSpaceImage Image, IReadOnlyList<ConfigSpaceImage> All) LoadAll(string path, string? slot, bool selectAny = false)
        {
            if (string.IsNullOrWhiteSpace(path))
            {
                throw new DeviceDumpException("<dump>", null, "no dump file given");
            }

            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception error) when (error is FileNotFoundException || error is DirectoryNotFoundException)
            {
                throw new DeviceDumpException(path, "file not found", error);
            }
            catch (Exception error) when (error is IOException || error is UnauthorizedAccessException || error is ArgumentException || error is NotSupportedException || error is System.Security.SecurityException)
            {
                throw new DeviceDumpException(path, "cannot read the file: " + error.Message, error);
            }

            if (!LooksLikeText(bytes))
            {
                ConfigSpaceImage single = ReadBinary(bytes, path);
                return (single, new[] { single });
            }

            string text = new UTF8Encoding(false, false).GetString(bytes);
            IReadOnlyList<ConfigSpaceImage> images = ParseLspci(text, path);
            return (selectAny && images.Count > 0 ? images[0] : SelectSlot(images, slot, path), images);
        }

        /// <summary>
        /// Picks the device at <paramref name="slot"/> from <paramref name="images"/>; with a null slot the list must
        /// hold exactly one device. Errors list the slots that are there.
        /// </summary>
        public static ConfigSpaceImage SelectSlot(IReadOnlyList<ConfigSpaceImage> images, string? slot, string sourceName)
        {
            if (images is null)
            {
                throw new ArgumentNullException(nameof(images));
            }

            sourceName ??= "<dump>";
            if (images.Count == 0)
            {
                throw new DeviceDumpException(sourceName, null, "no config-space hex dump found (expected lspci -x, -xxx or -xxxx output)");
            }

            if (slot is null)
            {
                if (images.Count == 1)
                {
                    return images[0];
                }

                throw new DeviceDumpException(
                    sourceName,
                    null,
                    "the dump holds " + images.Count.ToString(CultureInfo.InvariantCulture) + " devices (" + ListSlots(images) + "); choose one with --slot");
            }

            if (!TryNormalizeSlot(slot, out string wanted))
            {
                throw new DeviceDumpException(sourceName, null, "'" + slot + "' is not a slot; expected BB:DD.F or DDDD:BB:DD.F");
            }

            var matches = images.Where(image => image.Slot is not null && TryNormalizeSlot(image.Slot, out string have) && have == wanted).ToList();
            if (matches.Count == 1)
            {
                return matches[0];
            }

            if (matches.Count == 0)
            {
                throw new DeviceDumpException(sourceName, null, "no device at slot " + slot + "; the dump holds " + ListSlots(images));
            }

            throw new DeviceDumpException(
                sourceName,
                null,
                "slot " + slot + " appears " + matches.Count.ToString(CultureInfo.InvariantCulture) + " times in the dump");
        }

        /// <summary>
        /// Normalizes a <c>[DDDD:]BB:DD.F</c> slot to lower-case <c>dddd:bb:dd.f</c> (domain 0000 when absent);
        /// false when <paramref name="slot"/> is not a slot.
        /// </summary>
        public static bool TryNormalizeSlot(string slot, out string normalized)
        {
            normalized = string.Empty;
            if (slot is null)
            {
                return false;
            }

            string candidate = slot.Trim().ToLowerInvariant();
            if (candidate.Length == 7)
            {
                candidate = "0000:" + candidate;
            }

            if (candidate.Length != 12 || !IsSlotAt(candidate, 0, withDomain: true))
            {
                return false;
            }

            normalized = candidate;
            return true;
        }

        private static void Finish(DeviceBlock? block, List<ConfigSpaceImage> images, string sourceName)
        {
            if (block is null || block.Bytes.Count == 0)
            {
                return;
            }

            if (Array.IndexOf(ValidSizes, block.Bytes.Count) < 0)
            {
                throw new DeviceDumpException(
                    sourceName,
                    block.LastHexLine,
                    "the dump of " + block.Name + " ends after " + block.Bytes.Count.ToString(CultureInfo.InvariantCulture)
                    + " bytes (last offset " + Hex(block.Bytes.Count - BytesPerHexLine) + "); a config-space dump has 64, 256 or 4096 bytes");
            }

            images.Add(new ConfigSpaceImage(block.Bytes.ToArray(), block.Slot, block.Description));
        }

        /// <summary>A title is <c>[DDDD:]BB:DD.F</c> at column 0, then whitespace and a description.</summary>
        private static bool TryParseTitle(string line, out string? slot, out string? description)
        {
            slot = null;
            description = null;
            int slotLength;
            if (line.Length >= 12 && IsSlotAt(line, 0, withDomain: true) && (line.Length == 12 || char.IsWhiteSpace(line[12])))
            {
                slotLength = 12;
            }
            else if (line.Length >= 7 && IsSlotAt(line, 0, withDomain: false) && (line.Length == 7 || char.IsWhiteSpace(line[7])))
            {
                slotLength = 7;
            }
            else
            {
                return false;
            }

            slot = line.Substring(0, slotLength);
            string rest = line.Substring(slotLength).Trim();
            description = rest.Length == 0 ? null : rest;
            return true;
        }

        private static bool IsSlotAt(string text, int start, bool withDomain)
        {
            int position = start;
            if (withDomain)
            {
                if (!AreHexDigits(text, position, 4) || text[position + 4] != ':')
                {
                    return false;
                }

                position += 5;
            }

            return position + 7 <= text.Length
                && AreHexDigits(text, position, 2) && text[position + 2] == ':'
                && AreHexDigits(text, position + 3, 2) && text[position + 5] == '.'
                && text[position + 6] >= '0' && text[position + 6] <= '7';
        }

        /// <summary>A hex line starts at column 0 with 2 or 3 hex digits, a colon and whitespace.</summary>
        private static bool TryParseHexOffset(string line, out int offset, out string hexPart)
        {
            offset = 0;
            hexPart = string.Empty;
            int digits = 0;
            while (digits < line.Length && digits < 4 && IsHexDigit(line[digits]))
            {
                digits++;
            }

            if (digits < 2 || digits > 3 || line.Length < digits + 2 || line[digits] != ':' || (line[digits + 1] != ' ' && line[digits + 1] != '\t'))
            {
                return false;
            }

            offset = int.Parse(line.Substring(0, digits), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            hexPart = line.Substring(digits + 1);
            return true;
        }

        private static bool AreHexDigits(string text, int start, int count)
        {
            if (start + count > text.Length)
            {
                return false;
            }

            for (int i = start; i < start + count; i++)
            {
                if (!IsHexDigit(text[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool IsHexDigit(char c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');

        /// <summary>Text means only tabs, line breaks and printable ASCII; a sysfs config file always has other bytes (zeros).</summary>
        private static bool LooksLikeText(byte[] bytes)
        {
            foreach (byte b in bytes)
            {
                bool printable = b == (byte)'\t' || b == (byte)'\r' || b == (byte)'\n' || (b >= 0x20 && b < 0x7F);
                if (!printable)
                {
                    return false;
                }
            }

            return true;
        }

        private static string ListSlots(IReadOnlyList<ConfigSpaceImage> images)
            => string.Join(", ", images.Select(image => image.Slot ?? "(no slot)"));

        private static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);

        private static string Shorten(string line) => line.Length <= 40 ? line : line.Substring(0, 40) + "…";

        private enum BlockState
        {
            BeforeHex,
            InHex,
            Done,
        }

        /// <summary>One device's title and the hex lines read so far.</summary>
        private sealed class DeviceBlock
        {
            public DeviceBlock(string? slot, string? description, int titleLine)
            {
                Slot = slot;
                Description = description;
                LastHexLine = titleLine;
            }

            public string? Slot { get; }

            public string? Description { get; }

            public List<byte> Bytes { get; } = new List<byte>();

            public BlockState State { get; set; }

            public int LastHexLine { get; private set; }

            public string Name => Slot ?? "the device";

            public void AddHexLine(int offset, string hexPart, int lineNumber, string sourceName)
            {
                if (State == BlockState.Done)
                {
                    throw new DeviceDumpException(sourceName, lineNumber, "a second hex dump for " + Name + " (a blank line ended the first one)");
                }

                int expected = Bytes.Count;
                if (offset != expected)
                {
                    string problem = expected == 0
                        ? "the hex dump of " + Name + " starts at offset " + Hex(offset) + "; it must start at 0x00"
                        : "expected offset " + Hex(expected) + " but found " + Hex(offset) + " (lines missing from the dump of " + Name + ")";
                    throw new DeviceDumpException(sourceName, lineNumber, problem);
                }

                if (expected >= 4096)
                {
                    throw new DeviceDumpException(sourceName, lineNumber, "the dump of " + Name + " runs past 4096 bytes");
                }

                string[] tokens = hexPart.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (tokens.Length != BytesPerHexLine)
                {
                    throw new DeviceDumpException(
                        sourceName,
                        lineNumber,
                        "bad hex line at offset " + Hex(offset) + ": expected 16 bytes, found " + tokens.Length.ToString(CultureInfo.InvariantCulture));
                }

                foreach (string token in tokens)
                {
                    if (token.Length != 2 || !IsHexDigit(token[0]) || !IsHexDigit(token[1]))
                    {
                        throw new DeviceDumpException(sourceName, lineNumber, "bad hex line at offset " + Hex(offset) + ": '" + Shorten(token) + "' is not a two-digit hex byte");
                    }

                    Bytes.Add(byte.Parse(token, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
                }

                State = BlockState.InHex;
                LastHexLine = lineNumber;
            }
        }
    }
}
