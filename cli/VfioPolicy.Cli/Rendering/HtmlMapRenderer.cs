using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Text;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.Cli.Infrastructure;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>
    /// <c>map --format html</c>, and the grids of <c>diff --format html</c>: self-contained pages (no script, no external
    /// resource) with config space as grids of 16 bytes a row, coloured by disposition, capability boundaries outlined,
    /// capability and register names in a label row above the bytes they name, long uniform runs folded into one bar,
    /// a legend, and per byte a <c>title</c> naming its register and owning rules. Everything is absolutely positioned
    /// at <see cref="HtmlMapGrid"/>'s geometry inside a container at the page's origin, so a screenshot has every
    /// drawn row at a known pixel: row <c>i</c> (counting a fold as one) has its cells at
    /// <c>y = Top + i * RowPitch + LabelHeight</c>. Everything taken from files is HTML-encoded.
    /// </summary>
    public static class HtmlMapRenderer
    {
        /// <summary>The page of one binding.</summary>
        public static string Render(BoundConfigSpace bound, LoadedDevice device, CliContext context)
        {
            GridPanel panel = HtmlMapGrid.Panel(string.Empty, bound, device.Image.Bytes, context);
            string heading = "policy \"" + bound.PolicyName + "\" (" + OwnershipMap.Location(bound.Model.Origin, context) + ") on " + device.Title;
            var html = new StringBuilder();
            Open(html, heading);
            AppendGrids(html, heading, new[] { panel }, changes: null);
            return Close(html);
        }

        /// <summary>Every class, in legend order.</summary>
        internal static readonly ByteClass[] Classes = { ByteClass.Passthrough, ByteClass.Virtualized, ByteClass.Denied, ByteClass.Hidden };

        /// <summary>Outline colour of a changed byte, as <c>#rrggbb</c>: none of the fill colours, so it shows on every cell; the screenshot test looks for these.</summary>
        public static string ChangeColour(ByteChange change) => change switch
        {
            ByteChange.Widening => "#d500f9",
            ByteChange.Narrowing => "#00e5ff",
            _ => "#ffd600",
        };

        /// <summary>The CSS class of a byte class.</summary>
        internal static string ClassName(ByteClass byteClass) => byteClass switch
        {
            ByteClass.Passthrough => "pt",
            ByteClass.Virtualized => "vi",
            ByteClass.Denied => "dn",
            _ => "hd",
        };

        /// <summary>The CSS class of a changed byte's outline.</summary>
        internal static string ChangeClassName(ByteChange change) => change switch
        {
            ByteChange.Widening => "xw",
            ByteChange.Narrowing => "xn",
            _ => "xu",
        };

        /// <summary>HTML-encodes text for element content and attribute values (quotes included); newlines stay newlines, which <c>title</c> shows as line breaks.</summary>
        internal static string Encode(string text) => WebUtility.HtmlEncode(text).Replace("\n", "&#10;");

        /// <summary>The document's head and style sheet, up to the opening body tag.</summary>
        internal static void Open(StringBuilder html, string title)
        {
            html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
            html.Append("<title>").Append(Encode(title)).Append("</title>\n<style>\n");
            html.Append("body{margin:0;background:#fff;font-family:monospace;color:#000}\n");
            html.Append(".g{position:relative}\n");
            html.Append("h1{position:absolute;left:8px;top:4px;margin:0;font-size:13px;font-weight:normal;white-space:nowrap}\n");
            html.Append("h2{position:absolute;margin:0;font-size:12px;font-weight:bold;white-space:nowrap}\n");
            html.Append(".c{position:absolute;box-sizing:border-box;width:").Append(Px(HtmlMapGrid.CellWidth)).Append(";height:").Append(Px(HtmlMapGrid.CellHeight))
                .Append(";border:1px solid #fff;font-size:10px;line-height:").Append(Px(HtmlMapGrid.CellHeight - 2)).Append(";text-align:center;color:#fff}\n");
            html.Append(".l{position:absolute;font-size:10px;color:#555}\n");
            html.Append(".r{position:absolute;box-sizing:border-box;height:").Append(Px(HtmlMapGrid.LabelHeight)).Append(";font-size:9px;line-height:").Append(Px(HtmlMapGrid.LabelHeight))
                .Append(";padding-left:1px;border-left:1px solid #555;overflow:hidden;white-space:nowrap;text-overflow:ellipsis;color:#333}\n");
            html.Append(".r.cap{font-weight:bold;color:#000;border-left:3px solid #000}\n");
            html.Append(".f{position:absolute;box-sizing:border-box;width:").Append(Px(HtmlMapGrid.Columns * HtmlMapGrid.CellWidth)).Append(";height:").Append(Px(HtmlMapGrid.CellHeight))
                .Append(";border:1px solid #fff;font-size:11px;line-height:").Append(Px(HtmlMapGrid.CellHeight - 2)).Append(";padding-left:8px;color:#fff;white-space:nowrap;overflow:hidden}\n");
            foreach (ByteClass byteClass in Classes)
            {
                html.Append('.').Append(ClassName(byteClass)).Append("{background:").Append(HtmlMapGrid.Colour(byteClass)).Append("}\n");
            }

            // Legend keys first: an outline key is a .k and a .x, and the later .x rules must set its border.
            html.Append(".k{position:absolute;box-sizing:border-box;width:").Append(Px(HtmlMapGrid.CellWidth)).Append(";height:").Append(Px(HtmlMapGrid.CellHeight)).Append(";border:1px solid #fff}\n");
            html.Append(".x{position:absolute;box-sizing:border-box;width:").Append(Px(HtmlMapGrid.CellWidth)).Append(";height:").Append(Px(HtmlMapGrid.CellHeight)).Append(";border:4px solid}\n");
            foreach (ByteChange change in new[] { ByteChange.Widening, ByteChange.Narrowing, ByteChange.Neutral })
            {
                html.Append('.').Append(ChangeClassName(change)).Append("{border-color:").Append(ChangeColour(change)).Append("}\n");
            }

            html.Append(".t{position:absolute;font-size:12px;white-space:nowrap}\n");
            html.Append(".entries{margin:8px;border-collapse:collapse;font-size:12px}\n.entries td,.entries th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}\n");
            html.Append(".iw{color:#aa00c8;font-weight:bold}\n.in{color:#00838f;font-weight:bold}\n.iu{color:#8d6e00}\n");
            html.Append("</style>\n</head>\n<body>\n");
        }

        /// <summary>Closes the document.</summary>
        internal static string Close(StringBuilder html) => html.Append("</body>\n</html>\n").ToString();

        /// <summary>
        /// One container of grids side by side, rows aligned and folded alike (<see cref="HtmlMapGrid.Rows"/>), with
        /// <paramref name="heading"/> on top and the legend on the right. <paramref name="changes"/>, when given, outlines
        /// every changed byte in every grid in its <see cref="ChangeColour"/>.
        /// </summary>
        internal static void AppendGrids(StringBuilder html, string heading, IReadOnlyList<GridPanel> panels, IReadOnlyList<ByteChange>? changes)
        {
            int size = panels[0].Cells.Count;
            IReadOnlyList<GridRow> rows = HtmlMapGrid.Rows(panels, changes);
            var body = new StringBuilder();
            body.Append("<h1>").Append(Encode(heading)).Append("</h1>\n");
            for (int index = 0; index < panels.Count; index++)
            {
                AppendPanel(body, panels[index], index, rows, changes, size);
            }

            int legendBottom = AppendLegend(body, panels.Count * HtmlMapGrid.PanelWidth, changes != null);
            int gridBottom = HtmlMapGrid.Top + (rows.Count * HtmlMapGrid.RowPitch) + 8;
            int width = (panels.Count * HtmlMapGrid.PanelWidth) + 420;
            html.Append("<div class=\"g\" style=\"width:").Append(Px(width)).Append(";height:").Append(Px(System.Math.Max(gridBottom, legendBottom))).Append("\">\n");
            html.Append(body).Append("</div>\n");
        }

        private static void AppendPanel(StringBuilder html, GridPanel panel, int index, IReadOnlyList<GridRow> rows, IReadOnlyList<ByteChange>? changes, int size)
        {
            int origin = index * HtmlMapGrid.PanelWidth;
            html.Append("<div class=\"p\" data-panel=\"").Append(index.ToString(CultureInfo.InvariantCulture)).Append("\">\n");
            if (panel.Heading.Length > 0)
            {
                html.Append("<h2 style=\"left:").Append(Px(origin + HtmlMapGrid.Left)).Append(";top:20px\">").Append(Encode(panel.Heading)).Append("</h2>\n");
            }

            for (int column = 0; column < HtmlMapGrid.Columns; column++)
            {
                html.Append("<div class=\"l\" style=\"left:").Append(Px(origin + HtmlMapGrid.Left + (column * HtmlMapGrid.CellWidth) + 10)).Append(";top:").Append(Px(HtmlMapGrid.Top - 14)).Append("\">")
                    .Append(column.ToString("x", CultureInfo.InvariantCulture)).Append("</div>\n");
            }

            for (int drawn = 0; drawn < rows.Count; drawn++)
            {
                GridRow row = rows[drawn];
                int labelTop = HtmlMapGrid.Top + (drawn * HtmlMapGrid.RowPitch);
                int y = labelTop + HtmlMapGrid.LabelHeight;
                html.Append("<div class=\"l\" style=\"left:").Append(Px(origin + 4)).Append(";top:").Append(Px(y + 6)).Append("\">").Append(HtmlMapGrid.OffsetLabel(row.First, size)).Append("</div>\n");
                if (row.Folded)
                {
                    MapCell head = panel.Cells[row.First];
                    string text = HtmlMapGrid.FoldText(panel, row, size);
                    html.Append("<div class=\"f ").Append(ClassName(head.Primary)).Append("\" data-first=\"").Append(Hex(row.First)).Append("\" data-last=\"").Append(Hex(row.Last))
                        .Append("\" style=\"left:").Append(Px(origin + HtmlMapGrid.Left)).Append(";top:").Append(Px(y)).Append("\" title=\"").Append(Encode(text + "\n" + head.Title))
                        .Append("\">").Append(Encode(text)).Append("</div>\n");
                    continue;
                }

                AppendLabels(html, panel, row, origin, labelTop);
                for (int offset = row.First; offset <= row.Last; offset++)
                {
                    MapCell cell = panel.Cells[offset];
                    int x = origin + HtmlMapGrid.Left + ((offset % HtmlMapGrid.Columns) * HtmlMapGrid.CellWidth);
                    html.Append("<div class=\"c ").Append(ClassName(cell.Primary)).Append("\" data-o=\"").Append(Hex(offset)).Append("\" style=\"left:").Append(Px(x)).Append(";top:").Append(Px(y));
                    if (cell.Secondary is ByteClass secondary)
                    {
                        html.Append(";background:linear-gradient(to bottom right,").Append(HtmlMapGrid.Colour(cell.Primary)).Append(" 50%,").Append(HtmlMapGrid.Colour(secondary)).Append(" 50%)");
                    }

                    html.Append(Boundaries(panel.Cells, cell, size)).Append("\" title=\"").Append(Encode(cell.Title)).Append("\">")
                        .Append(cell.Value.ToString("x2", CultureInfo.InvariantCulture)).Append("</div>\n");
                    if (changes != null && changes[offset] != ByteChange.None)
                    {
                        // Drawn over the cell (later in the document), inside it, so a boundary line never hides it.
                        html.Append("<div class=\"x ").Append(ChangeClassName(changes[offset])).Append("\" data-o=\"").Append(Hex(offset)).Append("\" style=\"left:").Append(Px(x))
                            .Append(";top:").Append(Px(y)).Append("\" title=\"").Append(Encode(cell.Title)).Append("\"></div>\n");
                    }
                }
            }

            html.Append("</div>\n");
        }

        // Each name starts at its first byte and runs to the next name in the row (or the row's end), clipped there.
        private static void AppendLabels(StringBuilder html, GridPanel panel, GridRow row, int origin, int top)
        {
            List<GridLabel> inRow = panel.Labels.Where(l => l.Offset >= row.First && l.Offset <= row.Last).ToList();
            for (int i = 0; i < inRow.Count; i++)
            {
                GridLabel label = inRow[i];
                int end = i + 1 < inRow.Count ? inRow[i + 1].Offset : row.Last + 1;
                int x = origin + HtmlMapGrid.Left + ((label.Offset % HtmlMapGrid.Columns) * HtmlMapGrid.CellWidth);
                html.Append("<div class=\"r").Append(label.IsCapability ? " cap" : string.Empty).Append("\" data-o=\"").Append(Hex(label.Offset)).Append("\" data-n=\"")
                    .Append(label.Length.ToString(CultureInfo.InvariantCulture)).Append("\" style=\"left:").Append(Px(x)).Append(";top:").Append(Px(top)).Append(";width:")
                    .Append(Px((end - label.Offset) * HtmlMapGrid.CellWidth)).Append("\" title=\"").Append(Encode(label.Title)).Append("\">").Append(Encode(label.Text)).Append("</div>\n");
            }
        }

        // The legend from (left, Top) down; returns its bottom.
        private static int AppendLegend(StringBuilder html, int left, bool withChanges)
        {
            int top = HtmlMapGrid.Top;
            void Key(string classes, string style, string name, string text)
            {
                html.Append("<div class=\"k").Append(classes).Append("\" data-legend=\"").Append(name).Append("\" style=\"left:").Append(Px(left)).Append(";top:").Append(Px(top))
                    .Append(style).Append("\"></div>")
                    .Append("<div class=\"t\" style=\"left:").Append(Px(left + HtmlMapGrid.CellWidth + 8)).Append(";top:").Append(Px(top + 5)).Append("\">")
                    .Append(Encode(text)).Append("</div>\n");
                top += HtmlMapGrid.CellHeight + 8;
            }

            foreach (ByteClass byteClass in Classes)
            {
                Key(" " + ClassName(byteClass), string.Empty, ClassName(byteClass), HtmlMapGrid.Describe(byteClass));
            }

            Key(string.Empty, ";background:linear-gradient(to bottom right," + HtmlMapGrid.Colour(ByteClass.Virtualized) + " 50%," + HtmlMapGrid.Colour(ByteClass.Denied) + " 50%)",
                "mixed", "mixed: upper-left most bits, lower-right the rest");
            Key(string.Empty, ";border:3px solid #000", "boundary", "thick line: header, capability or gap boundary");
            if (withChanges)
            {
                Key(" x " + ChangeClassName(ByteChange.Widening), string.Empty, "widening", "outline: widening, the consumer reaches more");
                Key(" x " + ChangeClassName(ByteChange.Narrowing), string.Empty, "narrowing", "outline: narrowing, the consumer reaches less");
                Key(" x " + ChangeClassName(ByteChange.Neutral), string.Empty, "neutral", "outline: neutral change (a value, audit)");
            }

            html.Append("<div class=\"t\" style=\"left:").Append(Px(left)).Append(";top:").Append(Px(top + 5)).Append("\">bar: uniform rows folded, its text says which</div>\n");
            top += HtmlMapGrid.CellHeight;
            html.Append("<div class=\"t\" style=\"left:").Append(Px(left)).Append(";top:").Append(Px(top + 5)).Append("\">names above the bytes: capabilities (bold) and registers</div>\n");
            top += HtmlMapGrid.CellHeight;
            html.Append("<div class=\"t\" style=\"left:").Append(Px(left)).Append(";top:").Append(Px(top + 5)).Append("\">hover a byte for its register and owning rules</div>\n");
            return top + HtmlMapGrid.CellHeight + 8;
        }

        private static string Hex(int offset) => "0x" + offset.ToString("x", CultureInfo.InvariantCulture);

        private static string Px(int pixels) => pixels.ToString(CultureInfo.InvariantCulture) + "px";

        // A thick side wherever the neighbour across it lies in another area (or there is none).
        private static string Boundaries(IReadOnlyList<MapCell> cells, MapCell cell, int size)
        {
            var style = new StringBuilder();
            int column = cell.Offset % HtmlMapGrid.Columns;
            bool Differs(int other) => other < 0 || other >= size || cells[other].Area != cell.Area;
            if (Differs(cell.Offset - HtmlMapGrid.Columns))
            {
                style.Append(";border-top:3px solid #000");
            }

            if (Differs(cell.Offset + HtmlMapGrid.Columns))
            {
                style.Append(";border-bottom:3px solid #000");
            }

            if (column == 0 || Differs(cell.Offset - 1))
            {
                style.Append(";border-left:3px solid #000");
            }

            if (column == HtmlMapGrid.Columns - 1 || Differs(cell.Offset + 1))
            {
                style.Append(";border-right:3px solid #000");
            }

            return style.ToString();
        }
    }
}
