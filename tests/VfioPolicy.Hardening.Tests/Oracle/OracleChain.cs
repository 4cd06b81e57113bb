using System;
using System.Collections.Generic;

namespace VfioPolicy.Hardening.Tests.Oracle
{
    /// <summary>One capability the oracle's own chain walk found: where it starts, its ID and how many bytes it spans.</summary>
    public sealed record OracleCapability(int Offset, int Id, bool Extended, int Version, int Length);

    /// <summary>
    /// The oracle's own walk of both capability chains, written from docs/access-model.md ("the walk stops safely")
    /// and the PCI specification, not from the product's CapabilityWalker: a planted defect there must not move the
    /// oracle with it. Lengths are the specification's structure sizes (pci_regs.h *_SIZEOF); a capability whose
    /// structure is not known owns everything up to the next capability, and none reaches past the next one.
    /// </summary>
    public static class OracleChain
    {
        /// <summary>Walks the standard chain (from 0x34) and, on a 4096-byte image of a PCI Express or PCI-X 2.0 device, the extended one (from 0x100).</summary>
        public static IReadOnlyList<OracleCapability> Walk(ReadOnlySpan<byte> config)
        {
            var found = new List<OracleCapability>();
            if (config.Length < 0x40)
            {
                return found;
            }

            var standard = new List<(int Offset, int Id)>();
            if ((config[0x06] & 0x10) != 0)
            {
                int end = Math.Min(config.Length, 0x100);
                int at = config[(config[0x0e] & 0x7f) == 2 ? 0x14 : 0x34] & 0xfc;
                var seen = new HashSet<int>();
                while (at != 0 && at >= 0x40 && at + 2 <= end && seen.Add(at) && config[at] != 0xff)
                {
                    standard.Add((at, config[at]));
                    at = config[at + 1] & 0xfc;
                }
            }

            int express = standard.FindIndex(c => c.Id == 0x10);
            bool pciX2 = false;
            foreach ((int offset, int id) in standard)
            {
                // A PCI-X 2.0 device (266 or 533 MHz) has the extended space too.
                pciX2 |= (config[0x0e] & 0x7f) == 0 && id == 0x07 && (Dword(config, offset + 4) & 0xc000_0000u) != 0;
            }

            var extended = new List<(int Offset, int Id, int Version)>();
            if (config.Length == 0x1000 && (express >= 0 || pciX2))
            {
                int at = 0x100;
                var seen = new HashSet<int>();
                uint head = Dword(config, at);
                while (head != 0 && head != uint.MaxValue)
                {
                    seen.Add(at);
                    extended.Add((at, (int)(head & 0xffff), (int)((head >> 16) & 0xf)));
                    int next = (int)((head >> 20) & 0xffc);
                    if (next < 0x100 || seen.Contains(next))
                    {
                        break;
                    }

                    at = next;
                    head = Dword(config, at);
                }
            }

            var context = new Context(config, express >= 0 ? standard[express].Offset : -1);
            foreach ((int offset, int id) in standard)
            {
                found.Add(new OracleCapability(offset, id, false, 0, Clip(offset, StandardLength(config, offset, id, context), standard.ConvertAll(c => c.Offset), Math.Min(config.Length, 0x100))));
            }

            foreach ((int offset, int id, int version) in extended)
            {
                found.Add(new OracleCapability(offset, id, true, version, Clip(offset, ExtendedLength(config, offset, id, version, context), extended.ConvertAll(c => c.Offset), config.Length)));
            }

            return found;
        }

        /// <summary>A capability ends at its structure's end, at the next capability by offset, or at the end of its space, whichever comes first.</summary>
        private static int Clip(int offset, int? structural, List<int> others, int spaceEnd)
        {
            int next = spaceEnd;
            foreach (int other in others)
            {
                if (other > offset && other < next)
                {
                    next = other;
                }
            }

            int end = structural is int length && length > 0 ? Math.Min(offset + length, next) : next;
            return end - offset;
        }

        internal static uint Dword(ReadOnlySpan<byte> config, int at)
            => at >= 0 && at + 4 <= config.Length ? (uint)(config[at] | (config[at + 1] << 8) | (config[at + 2] << 16) | (config[at + 3] << 24)) : 0;

        private static int Word(ReadOnlySpan<byte> config, int at) => at >= 0 && at + 2 <= config.Length ? config[at] | (config[at + 1] << 8) : 0;

        /// <summary>Standard capability sizes (PCI Local Bus 3.0, PCI Express Base, pci_regs.h).</summary>
        private static int? StandardLength(ReadOnlySpan<byte> c, int at, int id, Context x) => id switch
        {
            0x00 => 4,
            0x01 => 8,
            0x02 => 12,
            0x03 => 8,
            0x04 => 4,
            0x05 => ((Word(c, at + 2) & 0x80) != 0 ? 14 : 10) + ((Word(c, at + 2) & 0x100) != 0 ? 10 : 0),
            0x06 => 4,
            0x07 => x.HeaderType == 1 ? 16 : ((Word(c, at + 2) >> 12) & 3) != 0 ? 24 : 8,
            0x08 => (c[at + 3] & 0xe0) == 0 ? 28 : (c[at + 3] & 0xe0) == 0x20 ? 24 : (c[at + 3] & 0xf8) == 0xa8 ? 12 : null,
            0x09 => c[at + 2] >= 3 ? c[at + 2] : null,
            0x0a => 4,
            0x0c => 8,
            0x0d => 8,
            0x10 => ExpressLength(x),
            0x11 => 12,
            0x12 => (c[at + 4] & 0x0f) == 0x0f ? 16 : 8,
            0x13 => 6,
            0x14 => EnhancedAllocation(c, at, x),
            _ => null,
        };

        private static int ExpressLength(Context x)
        {
            // Version 1 and 2 layouts; integrated endpoints stop before the link registers, root and downstream
            // ports and event collectors keep the slot and root registers.
            bool rootOrSlot = x.Type == 4 || x.Type == 6 || x.Type == 10;
            if (x.Version <= 1)
            {
                return x.Type == 9 ? 0x0c : rootOrSlot ? 0x24 : 0x14;
            }

            return x.Type == 9 ? 0x2c : rootOrSlot ? 0x3c : 0x34;
        }

        private static int EnhancedAllocation(ReadOnlySpan<byte> c, int at, Context x)
        {
            int position = at + (x.HeaderType == 1 ? 8 : 4);
            for (int entry = 0; entry < (c[at + 2] & 0x3f) && position + 4 <= c.Length; entry++)
            {
                position += 4 * (1 + (c[position] & 7));
            }

            return position - at;
        }

        /// <summary>Extended capability sizes (PCI Express Base, pci_regs.h).</summary>
        private static int? ExtendedLength(ReadOnlySpan<byte> c, int at, int id, int version, Context x)
        {
            switch (id)
            {
                case 0x00: return 4;
                case 0x01: return x.EndEndPrefix ? 0x48 : 0x38;
                case 0x02:
                case 0x08:
                case 0x09:
                    {
                        int vcs = (int)(Dword(c, at + 4) & 7);
                        uint cap2 = Dword(c, at + 8);
                        int phases = (cap2 & 8) != 0 ? 128 : (cap2 & 4) != 0 ? 64 : (cap2 & 2) != 0 ? 32 : 0;
                        int length = 0x10 + ((vcs + 1) * 0x0c);
                        return phases == 0 ? length : ((length + 15) / 16 * 16) + (phases / 2);
                    }

                case 0x03: return 12;
                case 0x04: return 16;
                case 0x05: return 0x10 + (0x10 * c[at + 5]);
                case 0x07: return version >= 2 ? 12 : 8;
                case 0x0b: return Declared(Dword(c, at + 4), 8);
                case 0x0d:
                    {
                        if ((c[at + 4] & 0x20) == 0)
                        {
                            return 8;
                        }

                        int bits = c[at + 5] == 0 ? 256 : (c[at + 5] + 31) / 32 * 32;
                        return 8 + (bits / 8);
                    }

                case 0x0e: return 8;
                case 0x0f: return 8;
                case 0x10: return 0x40;
                case 0x12: return x.IsPort ? 0x30 : 0x28;
                case 0x13: return 0x10;
                case 0x15:
                case 0x24:
                    {
                        int bars = (c[at + 8] & 0xe0) >> 5;
                        return bars >= 1 && bars <= 6 ? 4 + (8 * bars) : null;
                    }

                case 0x16: return 16 + (c[at + 4] & 0x1f) + 1;
                case 0x17:
                    {
                        uint tph = Dword(c, at + 4);
                        return (tph & 0x600) == 0x200 ? 0x0c + ((int)((tph >> 16) & 0x7ff) * 2) + 2 : 0x0c;
                    }

                case 0x18: return 8;
                case 0x19: return Lanes(x, 0x0c, 2);
                case 0x1b: return 8;
                case 0x1c: return 8;
                case 0x1d:
                    {
                        int dpc = Word(c, at + 4);
                        if ((dpc & 0x20) == 0)
                        {
                            return 0x0c;
                        }

                        int log = ((dpc >> 8) & 0xf) | ((dpc >> 8) & 0x10);
                        return 0x20 + (4 * Math.Max(4, log));
                    }

                case 0x1e: return 0x10;
                case 0x1f: return 0x0c;
                case 0x22: return 0x0c;
                case 0x23: return Declared(Dword(c, at + 4), 0x0a);
                case 0x25: return 0x0c;
                case 0x26: return Lanes(x, 0x20, 1);
                case 0x27: return Lanes(x, 0x08, 4);
                case 0x29: return 0x10;
                case 0x2a: return Lanes(x, 0x20, 1);
                case 0x2e: return 0x18;
                case 0x2f: return 0x0c;
                case 0x31: return Lanes(x, 0x10, 1);
                default: return null;
            }
        }

        private static int? Declared(uint dword, int minimum) => (int)(dword >> 20) >= minimum ? (int)(dword >> 20) : null;

        private static int? Lanes(Context x, int fixedPart, int perLane) => x.Width == 0 ? null : fixedPart + (((x.Width * perLane) + 3) / 4 * 4);

        /// <summary>What some lengths depend on: the header type and the PCI Express capability's version, type and link width.</summary>
        private sealed class Context
        {
            public Context(ReadOnlySpan<byte> c, int express)
            {
                HeaderType = c[0x0e] & 0x7f;
                if (express >= 0)
                {
                    int flags = Word(c, express + 2);
                    Version = flags & 0xf;
                    Type = (flags >> 4) & 0xf;
                    Width = (int)((Dword(c, express + 0x0c) >> 4) & 0x3f);
                    EndEndPrefix = Version >= 2 && (Dword(c, express + 0x24) & 0x0020_0000u) != 0;
                    IsPort = Type == 4 || Type == 5 || Type == 6 || Type == 10;
                }
            }

            public int HeaderType { get; }

            public int Version { get; }

            public int Type { get; }

            public int Width { get; }

            public bool EndEndPrefix { get; }

            public bool IsPort { get; }
        }
    }
}
