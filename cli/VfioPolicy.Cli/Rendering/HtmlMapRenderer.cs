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
    /// <c>map --format html</c>: a self-contained page (no script, no external resource) with config space as a grid of
    /// 16 bytes a row, coloured by disposition, capability boundaries outlined, a legend, and per byte a <c>title</c>
    /// naming its owning rules. Cells are absolutely positioned at <see cref="HtmlMapGrid"/>'s geometry, so a
    /// screenshot has every cell at a known pixel. Everything taken from files is HTML-encoded.
    /// </summary>
    public static class HtmlMapRenderer
    {
        /// <summary>The page.</summary>
        public static string Render(BoundConfigSpace bound, LoadedDevice device, CliContext context)
        {
            IReadOnlyList<MapCell> cells = HtmlMapGrid.Cells(bound, device.Image.Bytes, context);
            var html = new StringBuilder();
            string heading = "policy \"" + bound.PolicyName + "\" (" + OwnershipMap.Location(bound.Model.Origin, context) + ") on " + device.Title;
            html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
            html.Append("<title>").Append(Encode(heading)).Append("</title>\n<style>\n");
            html.Append("body{margin:0;background:#fff;font-family:monospace;color:#000}\n");
            html.Append("h1{position:absolute;left:8px;top:4px;margin:0;font-size:13px;font-weight:normal;white-space:nowrap}\n");
            html.Append(".c{position:absolute;box-sizing:border-box;width:").Append(Px(HtmlMapGrid.CellWidth)).Append(";height:").Append(Px(HtmlMapGrid.CellHeight))
                .Append(";border:1px solid #fff;font-size:10px;line-height:").Append(Px(HtmlMapGrid.CellHeight - 2)).Append(";text-align:center;color:#fff}\n");
            html.Append(".l{position:absolute;font-size:10px;color:#555}\n");
            foreach (ByteClass byteClass in Classes)
            {
                html.Append('.').Append(ClassName(byteClass)).Append("{background:").Append(HtmlMapGrid.Colour(byteClass)).Append("}\n");
            }

            html.Append(".k{position:absolute;box-sizing:border-box;width:").Append(Px(HtmlMapGrid.CellWidth)).Append(";height:").Append(Px(HtmlMapGrid.CellHeight)).Append(";border:1px solid #fff}\n");
            html.Append(".t{position:absolute;font-size:12px;white-space:nowrap}\n");
            html.Append("</style>\n</head>\n<body>\n");
            html.Append("<h1>").Append(Encode(heading)).Append("</h1>\n");
            for (int column = 0; column < HtmlMapGrid.Columns; column++)
            {
                html.Append("<div class=\"l\" style=\"left:").Append(Px(HtmlMapGrid.Left + (column * HtmlMapGrid.CellWidth) + 10)).Append(";top:").Append(Px(HtmlMapGrid.Top - 14)).Append("\">")
                    .Append(column.ToString("x", CultureInfo.InvariantCulture)).Append("</div>\n");
            }

            foreach (MapCell cell in cells)
            {
                int row = cell.Offset / HtmlMapGrid.Columns;
                int column = cell.Offset % HtmlMapGrid.Columns;
                int x = HtmlMapGrid.Left + (column * HtmlMapGrid.CellWidth);
                int y = HtmlMapGrid.Top + (row * HtmlMapGrid.CellHeight);
                if (column == 0)
                {
                    html.Append("<div class=\"l\" style=\"left:4px;top:").Append(Px(y + 6)).Append("\">").Append(HtmlMapGrid.OffsetLabel(cell.Offset, bound.Size)).Append("</div>\n");
                }

                html.Append("<div class=\"c ").Append(ClassName(cell.Primary)).Append("\" style=\"left:").Append(Px(x)).Append(";top:").Append(Px(y));
                if (cell.Secondary is ByteClass secondary)
                {
                    html.Append(";background:linear-gradient(to bottom right,").Append(HtmlMapGrid.Colour(cell.Primary)).Append(" 50%,").Append(HtmlMapGrid.Colour(secondary)).Append(" 50%)");
                }

                html.Append(Boundaries(cells, cell, bound.Size)).Append("\" title=\"").Append(Encode(cell.Title)).Append("\">")
                    .Append(cell.Value.ToString("x2", CultureInfo.InvariantCulture)).Append("</div>\n");
            }

            // The legend, right of the grid.
            int legendLeft = HtmlMapGrid.Left + (HtmlMapGrid.Columns * HtmlMapGrid.CellWidth) + 24;
            int legendTop = HtmlMapGrid.Top;
            foreach (ByteClass byteClass in Classes)
            {
                html.Append("<div class=\"k ").Append(ClassName(byteClass)).Append("\" style=\"left:").Append(Px(legendLeft)).Append(";top:").Append(Px(legendTop)).Append("\"></div>")
                    .Append("<div class=\"t\" style=\"left:").Append(Px(legendLeft + HtmlMapGrid.CellWidth + 8)).Append(";top:").Append(Px(legendTop + 5)).Append("\">")
                    .Append(Encode(HtmlMapGrid.Describe(byteClass))).Append("</div>\n");
                legendTop += HtmlMapGrid.CellHeight + 8;
            }

            html.Append("<div class=\"k\" style=\"left:").Append(Px(legendLeft)).Append(";top:").Append(Px(legendTop)).Append(";background:linear-gradient(to bottom right,")
                .Append(HtmlMapGrid.Colour(ByteClass.Virtualized)).Append(" 50%,").Append(HtmlMapGrid.Colour(ByteClass.Denied)).Append(" 50%)\"></div>")
                .Append("<div class=\"t\" style=\"left:").Append(Px(legendLeft + HtmlMapGrid.CellWidth + 8)).Append(";top:").Append(Px(legendTop + 5))
                .Append("\">mixed: upper-left most bits, lower-right the rest</div>\n");
            legendTop += HtmlMapGrid.CellHeight + 8;
            html.Append("<div class=\"k\" style=\"left:").Append(Px(legendLeft)).Append(";top:").Append(Px(legendTop)).Append(";border:3px solid #000\"></div>")
                .Append("<div class=\"t\" style=\"left:").Append(Px(legendLeft + HtmlMapGrid.CellWidth + 8)).Append(";top:").Append(Px(legendTop + 5))
                .Append("\">thick line: header, capability or gap boundary</div>\n");
            legendTop += HtmlMapGrid.CellHeight + 8;
            html.Append("<div class=\"t\" style=\"left:").Append(Px(legendLeft)).Append(";top:").Append(Px(legendTop + 5)).Append("\">hover a byte for its owning rules</div>\n");
            html.Append("</body>\n</html>\n");
            return html.ToString();
        }

        /// <summary>Every class, in legend order.</summary>
        internal static readonly ByteClass[] Classes = { ByteClass.Passthrough, ByteClass.Virtualized, ByteClass.Denied, ByteClass.Hidden };

        /// <summary>The CSS class of a byte class.</summary>
        internal static string ClassName(ByteClass byteClass) => byteClass switch
        {
            ByteClass.Passthrough => "pt",
            ByteClass.Virtualized => "vi",
            ByteClass.Denied => "dn",
            _ => "hd",
        };

        /// <summary>HTML-encodes text for element content and attribute values (quotes included); newlines stay newlines, which <c>title</c> shows as line breaks.</summary>
        internal static string Encode(string text) => WebUtility.HtmlEncode(text).Replace("\n", "&#10;");

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
