using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler.Explaining;
using VfioPolicy.Compiler.Scaffolding;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>How a byte is coloured in the picture of config space.</summary>
    public enum ByteClass
    {
        /// <summary>Reads and (where writable) writes reach the hardware.</summary>
        Passthrough,

        /// <summary>Served from the shadow.</summary>
        Virtualized,

        /// <summary>A constant; writes dropped.</summary>
        Denied,

        /// <summary>The body of a capability the policy unlinks from the chain.</summary>
        Hidden,
    }

    /// <summary>One cell of the picture.</summary>
    /// <param name="Offset">The byte's offset.</param>
    /// <param name="Value">The byte's value in the dump.</param>
    /// <param name="Primary">The class of most of its bits (a tie goes to the lowest bit's).</param>
    /// <param name="Secondary">For a mixed byte, the class of most of the remaining bits; null when all 8 bits agree.</param>
    /// <param name="Area">Which region holds the byte (header, a capability instance, gap); boundaries are drawn where it changes.</param>
    /// <param name="Title">The hover text: offset, value, area and per run of bits the action and the owning rule.</param>
    public sealed record MapCell(int Offset, byte Value, ByteClass Primary, ByteClass? Secondary, string Area, string Title);

    /// <summary>
    /// The cells both pictures draw (<c>map --format html</c> and <c>svg</c>), 16 bytes a row, with the colours and
    /// geometry they share. A byte whose bits differ is <em>mixed</em>: drawn split along its diagonal, the upper-left
    /// triangle in the class of most of its bits, the lower-right in the class of most of the rest.
    /// </summary>
    public static class HtmlMapGrid
    {
        /// <summary>Cell width in pixels.</summary>
        public const int CellWidth = 32;

        /// <summary>Cell height in pixels.</summary>
        public const int CellHeight = 24;

        /// <summary>Left edge of the grid (room for the row offsets).</summary>
        public const int Left = 56;

        /// <summary>Top edge of the grid (room for the title line and column numbers).</summary>
        public const int Top = 48;

        /// <summary>Bytes per row.</summary>
        public const int Columns = 16;

        /// <summary>Fill colour per class, as <c>#rrggbb</c>; the screenshot test looks for exactly these.</summary>
        public static string Colour(ByteClass byteClass) => byteClass switch
        {
            ByteClass.Passthrough => "#43a047",
            ByteClass.Virtualized => "#1e88e5",
            ByteClass.Denied => "#e53935",
            ByteClass.Hidden => "#9e9e9e",
            _ => throw new ArgumentOutOfRangeException(nameof(byteClass), byteClass, "unknown byte class"),
        };

        /// <summary>The legend's words for a class.</summary>
        public static string Describe(ByteClass byteClass) => byteClass switch
        {
            ByteClass.Passthrough => "passthrough: reads the hardware",
            ByteClass.Virtualized => "virtualized: served from the shadow",
            ByteClass.Denied => "denied: a constant, writes dropped",
            ByteClass.Hidden => "hidden: capability unlinked from the chain",
            _ => throw new ArgumentOutOfRangeException(nameof(byteClass), byteClass, "unknown byte class"),
        };

        /// <summary>Every byte of the bound device as a cell.</summary>
        public static IReadOnlyList<MapCell> Cells(BoundConfigSpace bound, byte[] config, CliContext context)
        {
            string[] areas = Areas(bound);
            var cells = new List<MapCell>(bound.Size);
            for (int offset = 0; offset < bound.Size; offset++)
            {
                var classes = new ByteClass[8];
                for (int bit = 0; bit < 8; bit++)
                {
                    byte mask = (byte)(1 << bit);
                    classes[bit] = bound.OwnerKindOf(offset, bit) == BitOwnerKind.HiddenBody ? ByteClass.Hidden
                        : (bound.DenyMask[offset] & mask) != 0 ? ByteClass.Denied
                        : (bound.VirtMask[offset] & mask) != 0 ? ByteClass.Virtualized
                        : ByteClass.Passthrough;
                }

                ByteClass primary = MostCommon(classes);
                ByteClass[] rest = classes.Where(c => c != primary).ToArray();
                ByteClass? secondary = rest.Length == 0 ? null : MostCommon(rest);
                byte value = offset < config.Length ? config[offset] : (byte)0;
                cells.Add(new MapCell(offset, value, primary, secondary, areas[offset], Title(bound, context, offset, value, areas[offset])));
            }

            return cells;
        }

        /// <summary>The hex offset as the row labels print it (3 digits for extended config space).</summary>
        public static string OffsetLabel(int offset, int size)
            => "0x" + offset.ToString(size > 0x100 ? "x3" : "x2", CultureInfo.InvariantCulture);

        // Ties go to the class of the lowest bit: classes are visited bit by bit and only a larger count wins.
        private static ByteClass MostCommon(IReadOnlyList<ByteClass> classes)
        {
            ByteClass best = classes[0];
            int bestCount = 0;
            foreach (ByteClass candidate in classes)
            {
                int count = classes.Count(c => c == candidate);
                if (count > bestCount)
                {
                    best = candidate;
                    bestCount = count;
                }
            }

            return best;
        }

        private static string[] Areas(BoundConfigSpace bound)
        {
            var areas = new string[bound.Size];
            for (int offset = 0; offset < bound.Size; offset++)
            {
                areas[offset] = offset < 0x40 ? "header" : "gap (no capability)";
            }

            foreach (BoundCapability capability in bound.Capabilities.Where(c => c.Bound))
            {
                BlockCatalog? catalogue = RegisterCatalog.FindCapability(capability.Info.Id, capability.Info.Extended);
                string name = (catalogue?.Name ?? capability.Info.Name) + "@" + OffsetLabel(capability.Info.Offset, bound.Size)
                    + (capability.Hidden ? " (hidden)" : capability.Known ? string.Empty : " (no rules: unknown-capability default)");
                for (int offset = capability.Info.Offset; offset < Math.Min(capability.Info.Offset + capability.Info.Length, bound.Size); offset++)
                {
                    areas[offset] = (capability.Info.Extended ? "extended capability " : "capability ") + name;
                }
            }

            return areas;
        }

        private static string Title(BoundConfigSpace bound, CliContext context, int offset, byte value, string area)
        {
            var lines = new List<string>
            {
                OffsetLabel(offset, bound.Size) + " = 0x" + value.ToString("x2", CultureInfo.InvariantCulture) + ", " + area,
            };
            IReadOnlyList<BitExplanation> bits = RegisterExplainer.FromBinding(bound, Array.Empty<RuleOverride>(), offset, 1);
            foreach (BitRun run in RegisterExplainer.Runs(bits))
            {
                string where = run.OwnerKind == BitOwnerKind.ChainLink
                    ? "capability chain link"
                    : context.Display(run.Owner.Path) + ":" + run.Owner.Line.ToString(CultureInfo.InvariantCulture) + " " + run.Owner.Text.Trim();
                string range = run.LowBit == run.HighBit ? "bit " + run.LowBit.ToString(CultureInfo.InvariantCulture)
                    : "bits " + run.LowBit.ToString(CultureInfo.InvariantCulture) + ".." + run.HighBit.ToString(CultureInfo.InvariantCulture);
                lines.Add(range + ": " + ActionSyntax.Format(run.Action) + " (" + where + ")");
            }

            return string.Join("\n", lines);
        }
    }
}
