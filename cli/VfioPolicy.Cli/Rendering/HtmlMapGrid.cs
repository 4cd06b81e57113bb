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
    /// <param name="Title">The hover text: offset, value, area, register and per run of bits the action and the owning rule.</param>
    /// <param name="Treatment">What all 8 bits do, in policy words without values (<c>passthrough ro</c>, <c>deny silent</c>, <c>hidden</c>); null when the bits differ.</param>
    /// <param name="Owners">The owning rule of each bit, as an opaque key: bytes with equal keys have the same owners.</param>
    public sealed record MapCell(int Offset, byte Value, ByteClass Primary, ByteClass? Secondary, string Area, string Title, string? Treatment, string Owners);

    /// <summary>A name drawn in the label row above the bytes it names.</summary>
    /// <param name="Offset">The first byte named.</param>
    /// <param name="Length">How many bytes the name covers (the register's width; a capability's ID and NEXT, or its extended header).</param>
    /// <param name="Text">The visible text: a register's own name, or the capability's name and offset.</param>
    /// <param name="Title">The hover text: the full label.</param>
    /// <param name="IsCapability">True for the label at a capability's first byte.</param>
    public sealed record GridLabel(int Offset, int Length, string Text, string Title, bool IsCapability);

    /// <summary>One grid of a picture: the cells of one binding of the device, and their labels.</summary>
    /// <param name="Heading">The line above the grid (empty for the single grid of <c>map</c>, whose page heading says it all).</param>
    /// <param name="Cells">Every byte, in offset order.</param>
    /// <param name="Labels">Capability and register names, in offset order.</param>
    public sealed record GridPanel(string Heading, IReadOnlyList<MapCell> Cells, IReadOnlyList<GridLabel> Labels);

    /// <summary>One drawn row: 16 bytes, or a fold standing for several uniform rows.</summary>
    /// <param name="First">The first byte of the row (or of the fold).</param>
    /// <param name="Last">The last byte (inclusive).</param>
    /// <param name="Folded">True when the row stands for several rows drawn as one bar.</param>
    public sealed record GridRow(int First, int Last, bool Folded)
    {
        /// <summary>How many 16-byte rows it stands for.</summary>
        public int Rows => (Last - First + 1) / HtmlMapGrid.Columns;
    }

    /// <summary>How a byte's treatment moved between two policies (<c>diff --format html</c>), in rising order of concern.</summary>
    public enum ByteChange
    {
        /// <summary>No changed bit.</summary>
        None,

        /// <summary>Some bit changed without moving the consumer's reach (a value, an audit flag).</summary>
        Neutral,

        /// <summary>Some bit lost reach, and none gained.</summary>
        Narrowing,

        /// <summary>Some bit gained reach: the consumer gets more of the hardware.</summary>
        Widening,
    }

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

        /// <summary>Height of the label row above each row of cells in the html picture.</summary>
        public const int LabelHeight = 12;

        /// <summary>Vertical distance between drawn rows in the html picture: a label row and a row of cells.</summary>
        public const int RowPitch = LabelHeight + CellHeight;

        /// <summary>Horizontal distance between the grids of a page with several (old and new of a diff).</summary>
        public const int PanelWidth = Left + (Columns * CellWidth) + 24;

        /// <summary>Fewest uniform rows folded into one: a single uniform row is drawn as it is.</summary>
        public const int MinimumFold = 2;

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
            var registers = new string?[bound.Size];
            // The register's own name: the area before it already names the capability.
            foreach ((int offset, int length, _, string name) in OwnershipMap.Registers(bound, config))
            {
                for (int at = offset; at < Math.Min(offset + length, bound.Size); at++)
                {
                    registers[at] = name + " (" + OffsetLabel(offset, bound.Size) + " u" + (length * 8).ToString(CultureInfo.InvariantCulture) + ")";
                }
            }

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
                string[] treatments = Enumerable.Range(0, 8).Select(bit => classes[bit] == ByteClass.Hidden ? "hidden" : Treatment(bound.ActionAt(offset, bit))).ToArray();
                string owners = string.Join(",", Enumerable.Range(0, 8).Select(bit => bound.OwnerIndexOf(offset, bit).ToString(CultureInfo.InvariantCulture)));
                string area = areas[offset] + (registers[offset] == null ? string.Empty : ", register " + registers[offset]);
                cells.Add(new MapCell(
                    offset,
                    value,
                    primary,
                    secondary,
                    areas[offset],
                    Title(bound, context, offset, value, area),
                    treatments.All(t => t == treatments[0]) ? treatments[0] : null,
                    owners));
            }

            return cells;
        }

        /// <summary>The grid of one binding: its cells and the names of its capabilities and registers.</summary>
        public static GridPanel Panel(string heading, BoundConfigSpace bound, byte[] config, CliContext context)
            => new GridPanel(heading, Cells(bound, config, context), Labels(bound, config));

        /// <summary>
        /// The names drawn on the grid: at each bound capability's first byte its name and offset (over its ID and NEXT,
        /// or its extended header, whose own labels it replaces), and every register the text map lists by its own name.
        /// </summary>
        public static IReadOnlyList<GridLabel> Labels(BoundConfigSpace bound, byte[] config)
        {
            var labels = new List<GridLabel>();
            var links = new HashSet<int>();
            foreach (BoundCapability capability in bound.Capabilities.Where(c => c.Bound && c.Info.Offset < bound.Size))
            {
                BlockCatalog? catalogue = RegisterCatalog.FindCapability(capability.Info.Id, capability.Info.Extended);
                string name = (catalogue?.Name ?? capability.Info.Name) + "@" + OffsetLabel(capability.Info.Offset, bound.Size);
                int length = Math.Min(capability.Info.Extended ? 4 : 2, bound.Size - capability.Info.Offset);
                string full = (capability.Info.Extended ? "extended capability " : "capability ") + name + " (" + capability.Info.Name + ")"
                    + (capability.Hidden ? ", hidden" : string.Empty);
                labels.Add(new GridLabel(capability.Info.Offset, length, name + (capability.Hidden ? " hidden" : string.Empty), full, IsCapability: true));
                for (int at = capability.Info.Offset; at < capability.Info.Offset + length; at++)
                {
                    links.Add(at);
                }
            }

            foreach ((int offset, int length, string label, string name) in OwnershipMap.Registers(bound, config))
            {
                if (!links.Contains(offset))
                {
                    labels.Add(new GridLabel(offset, Math.Min(length, bound.Size - offset), name, label + " (" + OffsetLabel(offset, bound.Size) + " u" + (length * 8).ToString(CultureInfo.InvariantCulture) + ")", IsCapability: false));
                }
            }

            return labels.OrderBy(l => l.Offset).ThenBy(l => l.IsCapability ? 0 : 1).ToList();
        }

        /// <summary>
        /// The rows to draw. A full row of 16 bytes folds with its neighbours when, in every panel, no byte of it is
        /// named by a label, all its bytes share one class (no mixed byte), one treatment, one owner set and one area,
        /// the same as the row before it, and (for a diff) none of its bytes changed. Fewer than
        /// <see cref="MinimumFold"/> such rows stay drawn as they are, as does a last partial row.
        /// </summary>
        public static IReadOnlyList<GridRow> Rows(IReadOnlyList<GridPanel> panels, IReadOnlyList<ByteChange>? changes)
        {
            int size = panels[0].Cells.Count;
            var labelled = new bool[size];
            foreach (GridLabel label in panels.SelectMany(p => p.Labels))
            {
                for (int at = label.Offset; at < Math.Min(label.Offset + label.Length, size); at++)
                {
                    labelled[at] = true;
                }
            }

            // A row's key per panel, or null when the row cannot fold.
            string? Key(int first)
            {
                if (first + Columns > size)
                {
                    return null;
                }

                var keys = new List<string>();
                foreach (GridPanel panel in panels)
                {
                    MapCell head = panel.Cells[first];
                    if (head.Treatment == null || head.Secondary != null)
                    {
                        return null;
                    }

                    for (int at = first; at < first + Columns; at++)
                    {
                        MapCell cell = panel.Cells[at];
                        if (labelled[at] || (changes != null && changes[at] != ByteChange.None) || cell.Secondary != null || cell.Primary != head.Primary
                            || cell.Treatment != head.Treatment || cell.Owners != head.Owners || cell.Area != head.Area)
                        {
                            return null;
                        }
                    }

                    keys.Add(head.Primary + "|" + head.Treatment + "|" + head.Owners + "|" + head.Area);
                }

                return string.Join("||", keys);
            }

            var rows = new List<GridRow>();
            for (int first = 0; first < size;)
            {
                string? key = Key(first);
                int end = first + Columns;
                while (key != null && end < size && Key(end) == key)
                {
                    end += Columns;
                }

                if (key != null && (end - first) / Columns >= MinimumFold)
                {
                    rows.Add(new GridRow(first, end - 1, Folded: true));
                    first = end;
                    continue;
                }

                rows.Add(new GridRow(first, Math.Min(first + Columns, size) - 1, Folded: false));
                first += Columns;
            }

            return rows;
        }

        /// <summary>What a fold says: its range, how many rows, the one treatment and area of all its bytes, and their value when all agree.</summary>
        public static string FoldText(GridPanel panel, GridRow row, int size)
        {
            MapCell head = panel.Cells[row.First];
            bool sameValue = Enumerable.Range(row.First, row.Last - row.First + 1).All(at => panel.Cells[at].Value == head.Value);
            return OffsetLabel(row.First, size) + "\u2013" + OffsetLabel(row.Last, size) + ": " + row.Rows.ToString(CultureInfo.InvariantCulture) + " rows, all "
                + head.Treatment + ", " + head.Area + (sameValue ? ", every byte 0x" + head.Value.ToString("x2", CultureInfo.InvariantCulture) : ", values vary");
        }

        /// <summary>A bit's action in policy words, without its value: a fold of many bytes states what they do, not each constant.</summary>
        public static string Treatment(BitAction action) => action.Disposition switch
        {
            Disposition.Passthrough => "passthrough " + ActionSyntax.WriteWord(action.Write),
            Disposition.Virtualize => "virtualize " + ActionSyntax.WriteWord(action.Write) + (action.Initial == InitialValueSource.Hardware ? " init hw" : " init constant"),
            _ => "deny" + (action.Silent ? " silent" : string.Empty),
        };

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
                lines.Add(range + ": " + ActionSyntax.Format(run.Action, run.HighBit - run.LowBit + 1) + " (" + where + ")");
            }

            return string.Join("\n", lines);
        }
    }
}
