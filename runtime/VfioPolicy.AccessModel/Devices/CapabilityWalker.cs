using System;
using System.Collections.Generic;
using System.Globalization;
using VfioPolicy.AccessModel.Pci;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>
    /// Walks the standard and extended capability chains of a config-space image, the way the firewall does at open:
    /// bounded, loop-safe, and telling what it found wrong instead of failing.
    /// </summary>
    /// <remarks>
    /// Standard chain: only when Status bit 4 (Capabilities List) is set; the head pointer is at 0x34 (0x14 for a
    /// CardBus header), each entry holds its ID at +0 and the next pointer at +1, pointers are masked with 0xFC.
    /// The walk stops at a zero pointer, a pointer into the header (below 0x40) or past the image, a pointer already
    /// visited, or an entry with ID 0xFF (what a missing device reads as); the visited set also bounds the walk at
    /// 48 entries, the kernel's limit. Extended chain: only for a 4096-byte image of a device that has extended
    /// config space (a PCI Express capability, or PCI-X 266/533); from 0x100, each header dword holds the ID in
    /// bits 0..15, the version in 16..19 and the next offset in 20..31 (masked 0xFFC). A header of 0 or all ones
    /// at 0x100 means there are none. Like <c>lspci</c> and the kernel, a pointer backwards is followed (with a
    /// warning); a pointer into the standard space, a loop, an empty or all-ones header stop the walk.
    /// </remarks>
    public static class CapabilityWalker
    {
        private const int StandardSpaceSize = 0x100;
        private const int ExtendedSpaceSize = 0x1000;
        private const int HeaderSize = 0x40;
        private const int StatusCapabilitiesList = 0x10;

        /// <summary>Walks both chains of <paramref name="image"/>.</summary>
        public static ChainWalk Walk(ConfigSpaceImage image)
        {
            if (image is null)
            {
                throw new ArgumentNullException(nameof(image));
            }

            return Walk(image.Bytes);
        }

        /// <summary>Walks both chains of a config-space image of 64, 256 or 4096 bytes (longer spans are read up to 4096).</summary>
        public static ChainWalk Walk(ReadOnlySpan<byte> config)
        {
            var warnings = new List<string>();
            if (config.Length < HeaderSize)
            {
                warnings.Add("the image has " + config.Length.ToString(CultureInfo.InvariantCulture) + " bytes, less than a 64-byte header; nothing walked");
                return new ChainWalk(Array.Empty<CapabilityInfo>(), warnings);
            }

            if (config.Length > ExtendedSpaceSize)
            {
                config = config.Slice(0, ExtendedSpaceSize);
            }

            var standard = new List<Entry>();
            WalkStandard(config, standard, warnings);
            var context = DeviceContext.From(config, standard.ConvertAll(entry => (entry.Offset, entry.Id)));

            var extended = new List<Entry>();
            if (config.Length == ExtendedSpaceSize && context.HasExtendedSpace)
            {
                WalkExtended(config, extended, warnings);
            }
            else if (config.Length == ExtendedSpaceSize && HasExtendedContent(config))
            {
                warnings.Add("the image has 4096 bytes but the device has no PCI Express (or PCI-X 2.0) capability; the extended space at 0x100 was not walked");
            }
            else if (config.Length < ExtendedSpaceSize && context.ExpressOffset >= 0)
            {
                warnings.Add("the image has " + config.Length.ToString(CultureInfo.InvariantCulture)
                    + " bytes, so the extended capabilities of this PCI Express device are not visible");
            }

            var capabilities = new List<CapabilityInfo>(standard.Count + extended.Count);
            AddWithLengths(config, standard, Math.Min(config.Length, StandardSpaceSize), context, capabilities, warnings);
            AddWithLengths(config, extended, config.Length, context, capabilities, warnings);
            return new ChainWalk(capabilities, warnings);
        }

        private static void WalkStandard(ReadOnlySpan<byte> config, List<Entry> found, List<string> warnings)
        {
            int status = ReadWord(config, 0x06);
            if ((status & StatusCapabilitiesList) == 0)
            {
                return;
            }

            int headerType = config[0x0E] & 0x7F;
            int pointerLocation = headerType == 2 ? 0x14 : 0x34;
            int position = config[pointerLocation] & 0xFC;
            string from = "the capability pointer at " + Hex(pointerLocation);
            var visited = new HashSet<int>();
            int spaceEnd = Math.Min(config.Length, StandardSpaceSize);

            while (position != 0)
            {
                if (position < HeaderSize)
                {
                    warnings.Add(from + " points into the header (" + Hex(position) + "); standard walk stopped");
                    return;
                }

                if (position + 2 > spaceEnd)
                {
                    warnings.Add(from + " points to " + Hex(position) + ", beyond the "
                        + spaceEnd.ToString(CultureInfo.InvariantCulture) + "-byte image; standard walk stopped");
                    return;
                }

                if (!visited.Add(position))
                {
                    warnings.Add("standard capability chain loops back to " + Hex(position) + " at " + Hex(found[found.Count - 1].Offset) + "; walk stopped");
                    return;
                }

                int id = config[position];
                if (id == 0xFF)
                {
                    warnings.Add("standard capability at " + Hex(position) + " has ID 0xff (chain broken); walk stopped");
                    return;
                }

                found.Add(new Entry(position, id, false, null));
                from = "the next pointer of the capability at " + Hex(position);
                position = config[position + 1] & 0xFC;
            }
        }

        private static void WalkExtended(ReadOnlySpan<byte> config, List<Entry> found, List<string> warnings)
        {
            uint head = ReadDword(config, StandardSpaceSize);
            if (head == 0 || head == 0xFFFFFFFF)
            {
                return;
            }

            var visited = new HashSet<int>();
            int position = StandardSpaceSize;
            while (true)
            {
                uint header = ReadDword(config, position);
                if (header == 0xFFFFFFFF)
                {
                    warnings.Add("extended capability header at " + Hex(position) + " reads 0xffffffff; walk stopped");
                    return;
                }

                if (header == 0)
                {
                    warnings.Add("extended capability at " + Hex(found[found.Count - 1].Offset) + " points to " + Hex(position) + ", which holds no capability header; walk stopped");
                    return;
                }

                visited.Add(position);
                int id = (int)(header & 0xFFFF);
                int version = (int)((header >> 16) & 0xF);
                int next = (int)((header >> 20) & 0xFFC);
                found.Add(new Entry(position, id, true, version));

                if (next == 0)
                {
                    return;
                }

                if (next < StandardSpaceSize)
                {
                    warnings.Add("extended capability at " + Hex(position) + " points into the standard space (" + Hex(next) + "); walk stopped");
                    return;
                }

                if (visited.Contains(next))
                {
                    warnings.Add("extended capability chain loops back to " + Hex(next) + " at " + Hex(position) + "; walk stopped");
                    return;
                }

                if (next < position)
                {
                    warnings.Add("extended capability at " + Hex(position) + " points backwards to " + Hex(next));
                }

                position = next;
            }
        }

        /// <summary>Gives every capability its length: its structure's where known, clipped to the next capability and the space's end.</summary>
        private static void AddWithLengths(ReadOnlySpan<byte> config, List<Entry> entries, int spaceEnd, DeviceContext context, List<CapabilityInfo> output, List<string> warnings)
        {
            foreach (Entry entry in entries)
            {
                int nextStart = spaceEnd;
                foreach (Entry other in entries)
                {
                    if (other.Offset > entry.Offset && other.Offset < nextStart)
                    {
                        nextStart = other.Offset;
                    }
                }

                string shortName = CapabilityIds.ShortName(entry.Id, entry.Extended) ?? CapabilityIds.DisplayName(entry.Id, entry.Extended);
                int? structural = entry.Extended
                    ? CapabilityLengths.Extended(config, entry.Offset, entry.Id, entry.Version ?? 0, context)
                    : CapabilityLengths.Standard(config, entry.Offset, entry.Id, context);
                int length;
                if (structural is int known && known > 0)
                {
                    length = known;
                    if (entry.Offset + length > nextStart && nextStart < spaceEnd)
                    {
                        warnings.Add("capability " + shortName + " at " + Hex(entry.Offset) + " (" + Count(length) + ") overlaps the capability at "
                            + Hex(nextStart) + "; length clipped to " + Count(nextStart - entry.Offset));
                        length = nextStart - entry.Offset;
                    }
                    else if (entry.Offset + length > spaceEnd)
                    {
                        warnings.Add("capability " + shortName + " at " + Hex(entry.Offset) + " (" + Count(length) + ") runs past the end of its space at "
                            + Hex(spaceEnd) + "; length clipped to " + Count(spaceEnd - entry.Offset));
                        length = spaceEnd - entry.Offset;
                    }
                }
                else
                {
                    // No structure we know: it owns everything up to whatever comes next.
                    length = nextStart - entry.Offset;
                }

                output.Add(new CapabilityInfo(entry.Offset, entry.Id, entry.Extended, entry.Version, length, CapabilityIds.DisplayName(entry.Id, entry.Extended)));
            }
        }

        /// <summary>True when the dword at 0x100 looks like something (neither 0 nor all ones).</summary>
        private static bool HasExtendedContent(ReadOnlySpan<byte> config)
        {
            uint head = ReadDword(config, StandardSpaceSize);
            return head != 0 && head != 0xFFFFFFFF;
        }

        internal static int ReadWord(ReadOnlySpan<byte> config, int offset)
            => offset + 2 <= config.Length ? config[offset] | (config[offset + 1] << 8) : 0;

        internal static uint ReadDword(ReadOnlySpan<byte> config, int offset)
            => offset + 4 <= config.Length
                ? (uint)(config[offset] | (config[offset + 1] << 8) | (config[offset + 2] << 16) | (config[offset + 3] << 24))
                : 0;

        private static string Hex(int value) => "0x" + value.ToString(value > 0xFF ? "x3" : "x2", CultureInfo.InvariantCulture);

        private static string Count(int bytes) => bytes.ToString(CultureInfo.InvariantCulture) + " bytes";

        private readonly struct Entry
        {
            public Entry(int offset, int id, bool extended, int? version)
            {
                Offset = offset;
                Id = id;
                Extended = extended;
                Version = version;
            }

            public int Offset { get; }

            public int Id { get; }

            public bool Extended { get; }

            public int? Version { get; }
        }
    }
}
