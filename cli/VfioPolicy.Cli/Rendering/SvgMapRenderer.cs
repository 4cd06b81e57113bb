using System.Collections.Generic;
using System.Globalization;
using System.Text;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.Cli.Infrastructure;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>
    /// <c>map --format svg</c>: the same grid as <see cref="HtmlMapRenderer"/> as a standalone SVG for documents: one
    /// group per byte with a <c>title</c> child (shown on hover), mixed bytes as two triangles, capability boundaries
    /// as thick lines, and the legend. Text from files is XML-escaped.
    /// </summary>
    public static class SvgMapRenderer
    {
        private const int LegendWidth = 380;

        /// <summary>The SVG document.</summary>
        public static string Render(BoundConfigSpace bound, LoadedDevice device, CliContext context)
        {
            IReadOnlyList<MapCell> cells = HtmlMapGrid.Cells(bound, device.Image.Bytes, context);
            int rows = (bound.Size + HtmlMapGrid.Columns - 1) / HtmlMapGrid.Columns;
            int gridRight = HtmlMapGrid.Left + (HtmlMapGrid.Columns * HtmlMapGrid.CellWidth);
            int width = gridRight + 24 + LegendWidth;
            int height = HtmlMapGrid.Top + (rows * HtmlMapGrid.CellHeight) + 16;
            string heading = "policy \"" + bound.PolicyName + "\" (" + OwnershipMap.Location(bound.Model.Origin, context) + ") on " + device.Title;
            var svg = new StringBuilder();
            svg.Append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").Append(N(width)).Append("\" height=\"").Append(N(height))
                .Append("\" viewBox=\"0 0 ").Append(N(width)).Append(' ').Append(N(height)).Append("\" font-family=\"monospace\">\n");
            svg.Append("<title>").Append(HtmlMapRenderer.Encode(heading)).Append("</title>\n");
            svg.Append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");
            svg.Append("<text x=\"8\" y=\"16\" font-size=\"13\">").Append(HtmlMapRenderer.Encode(heading)).Append("</text>\n");
            for (int column = 0; column < HtmlMapGrid.Columns; column++)
            {
                svg.Append("<text x=\"").Append(N(HtmlMapGrid.Left + (column * HtmlMapGrid.CellWidth) + 13)).Append("\" y=\"").Append(N(HtmlMapGrid.Top - 4))
                    .Append("\" font-size=\"10\" fill=\"#555\">").Append(column.ToString("x", CultureInfo.InvariantCulture)).Append("</text>\n");
            }

            foreach (MapCell cell in cells)
            {
                int x = HtmlMapGrid.Left + ((cell.Offset % HtmlMapGrid.Columns) * HtmlMapGrid.CellWidth);
                int y = HtmlMapGrid.Top + ((cell.Offset / HtmlMapGrid.Columns) * HtmlMapGrid.CellHeight);
                int w = HtmlMapGrid.CellWidth;
                int h = HtmlMapGrid.CellHeight;
                if (cell.Offset % HtmlMapGrid.Columns == 0)
                {
                    svg.Append("<text x=\"4\" y=\"").Append(N(y + 15)).Append("\" font-size=\"10\" fill=\"#555\">").Append(HtmlMapGrid.OffsetLabel(cell.Offset, bound.Size)).Append("</text>\n");
                }

                svg.Append("<g><title>").Append(HtmlMapRenderer.Encode(cell.Title)).Append("</title>");
                if (cell.Secondary is ByteClass secondary)
                {
                    svg.Append("<polygon points=\"").Append(Points(x, y, x + w, y, x, y + h)).Append("\" fill=\"").Append(HtmlMapGrid.Colour(cell.Primary)).Append("\"/>");
                    svg.Append("<polygon points=\"").Append(Points(x + w, y, x + w, y + h, x, y + h)).Append("\" fill=\"").Append(HtmlMapGrid.Colour(secondary)).Append("\"/>");
                }
                else
                {
                    svg.Append("<rect x=\"").Append(N(x)).Append("\" y=\"").Append(N(y)).Append("\" width=\"").Append(N(w)).Append("\" height=\"").Append(N(h))
                        .Append("\" fill=\"").Append(HtmlMapGrid.Colour(cell.Primary)).Append("\"/>");
                }

                svg.Append("<rect x=\"").Append(N(x)).Append("\" y=\"").Append(N(y)).Append("\" width=\"").Append(N(w)).Append("\" height=\"").Append(N(h)).Append("\" fill=\"none\" stroke=\"#fff\"/>");
                svg.Append("<text x=\"").Append(N(x + 10)).Append("\" y=\"").Append(N(y + 15)).Append("\" font-size=\"10\" fill=\"#fff\">")
                    .Append(cell.Value.ToString("x2", CultureInfo.InvariantCulture)).Append("</text></g>\n");
            }

            // Boundaries after every cell, so no later cell paints over them.
            foreach (MapCell cell in cells)
            {
                int column = cell.Offset % HtmlMapGrid.Columns;
                int x = HtmlMapGrid.Left + (column * HtmlMapGrid.CellWidth);
                int y = HtmlMapGrid.Top + ((cell.Offset / HtmlMapGrid.Columns) * HtmlMapGrid.CellHeight);
                bool Differs(int other) => other < 0 || other >= bound.Size || cells[other].Area != cell.Area;
                if (Differs(cell.Offset - HtmlMapGrid.Columns))
                {
                    Line(svg, x, y, x + HtmlMapGrid.CellWidth, y);
                }

                if (Differs(cell.Offset + HtmlMapGrid.Columns))
                {
                    Line(svg, x, y + HtmlMapGrid.CellHeight, x + HtmlMapGrid.CellWidth, y + HtmlMapGrid.CellHeight);
                }

                if (column == 0 || Differs(cell.Offset - 1))
                {
                    Line(svg, x, y, x, y + HtmlMapGrid.CellHeight);
                }

                if (column == HtmlMapGrid.Columns - 1 || Differs(cell.Offset + 1))
                {
                    Line(svg, x + HtmlMapGrid.CellWidth, y, x + HtmlMapGrid.CellWidth, y + HtmlMapGrid.CellHeight);
                }
            }

            int legendLeft = gridRight + 24;
            int legendTop = HtmlMapGrid.Top;
            foreach (ByteClass byteClass in HtmlMapRenderer.Classes)
            {
                svg.Append("<rect x=\"").Append(N(legendLeft)).Append("\" y=\"").Append(N(legendTop)).Append("\" width=\"").Append(N(HtmlMapGrid.CellWidth)).Append("\" height=\"")
                    .Append(N(HtmlMapGrid.CellHeight)).Append("\" fill=\"").Append(HtmlMapGrid.Colour(byteClass)).Append("\"/>");
                svg.Append("<text x=\"").Append(N(legendLeft + HtmlMapGrid.CellWidth + 8)).Append("\" y=\"").Append(N(legendTop + 16)).Append("\" font-size=\"12\">")
                    .Append(HtmlMapRenderer.Encode(HtmlMapGrid.Describe(byteClass))).Append("</text>\n");
                legendTop += HtmlMapGrid.CellHeight + 8;
            }

            svg.Append("<polygon points=\"").Append(Points(legendLeft, legendTop, legendLeft + HtmlMapGrid.CellWidth, legendTop, legendLeft, legendTop + HtmlMapGrid.CellHeight))
                .Append("\" fill=\"").Append(HtmlMapGrid.Colour(ByteClass.Virtualized)).Append("\"/>");
            svg.Append("<polygon points=\"").Append(Points(legendLeft + HtmlMapGrid.CellWidth, legendTop, legendLeft + HtmlMapGrid.CellWidth, legendTop + HtmlMapGrid.CellHeight, legendLeft, legendTop + HtmlMapGrid.CellHeight))
                .Append("\" fill=\"").Append(HtmlMapGrid.Colour(ByteClass.Denied)).Append("\"/>");
            svg.Append("<text x=\"").Append(N(legendLeft + HtmlMapGrid.CellWidth + 8)).Append("\" y=\"").Append(N(legendTop + 16)).Append("\" font-size=\"12\">mixed: upper-left most bits, lower-right the rest</text>\n");
            legendTop += HtmlMapGrid.CellHeight + 8;
            Line(svg, legendLeft, legendTop + (HtmlMapGrid.CellHeight / 2), legendLeft + HtmlMapGrid.CellWidth, legendTop + (HtmlMapGrid.CellHeight / 2));
            svg.Append("<text x=\"").Append(N(legendLeft + HtmlMapGrid.CellWidth + 8)).Append("\" y=\"").Append(N(legendTop + 16)).Append("\" font-size=\"12\">header, capability or gap boundary</text>\n");
            svg.Append("</svg>\n");
            return svg.ToString();
        }

        private static void Line(StringBuilder svg, int x1, int y1, int x2, int y2)
            => svg.Append("<line x1=\"").Append(N(x1)).Append("\" y1=\"").Append(N(y1)).Append("\" x2=\"").Append(N(x2)).Append("\" y2=\"").Append(N(y2)).Append("\" stroke=\"#000\" stroke-width=\"3\"/>\n");

        private static string Points(params int[] coordinates)
        {
            var text = new StringBuilder();
            for (int i = 0; i < coordinates.Length; i += 2)
            {
                text.Append(i == 0 ? string.Empty : " ").Append(N(coordinates[i])).Append(',').Append(N(coordinates[i + 1]));
            }

            return text.ToString();
        }

        private static string N(int value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
