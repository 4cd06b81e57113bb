using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler.Diff;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>One policy's diff with both sides bound to the device the page draws (null sides for an added or removed policy).</summary>
    /// <param name="Diff">The semantic diff, with its <see cref="PolicyDiff.Device"/> view when both sides are bound.</param>
    /// <param name="Before">The old policy bound to the device, or null.</param>
    /// <param name="After">The new policy bound to the device, or null.</param>
    public sealed record BoundDiff(PolicyDiff Diff, BoundConfigSpace? Before, BoundConfigSpace? After);

    /// <summary>
    /// <c>diff --format html</c>: per policy, the old and the new ownership map of the device side by side (drawn by
    /// <see cref="HtmlMapRenderer"/>, rows aligned and folded alike), every changed byte outlined by its impact, and
    /// below the grids the diff's entries as the text and Markdown forms classify them.
    /// </summary>
    public static class HtmlDiffRenderer
    {
        /// <summary>The page.</summary>
        public static string Render(IReadOnlyList<BoundDiff> diffs, LoadedDevice device, CliContext context)
        {
            var html = new StringBuilder();
            HtmlMapRenderer.Open(html, "vfio-policy diff on " + device.Title + ": " + DiffSummary.Describe(diffs.Select(d => d.Diff)));
            foreach (BoundDiff bound in diffs)
            {
                PolicyDiff diff = bound.Diff;
                string heading = diff.Title + ": " + DiffSummary.Describe(new[] { diff });
                if (bound.Before != null && bound.After != null && diff.Device != null)
                {
                    heading += ", on " + device.Title;
                    var panels = new[]
                    {
                        HtmlMapGrid.Panel("old: " + diff.OldLabel, bound.Before, device.Image.Bytes, context),
                        HtmlMapGrid.Panel("new: " + diff.NewLabel, bound.After, device.Image.Bytes, context),
                    };
                    HtmlMapRenderer.AppendGrids(html, heading, panels, ByteChanges(diff.Device, bound.After.Size));
                }
                else
                {
                    // An added or removed policy has one side only: nothing to compare on the device, so no grids.
                    html.Append("<h1 style=\"position:static;margin:8px\">").Append(HtmlMapRenderer.Encode(heading)).Append("</h1>\n");
                }

                AppendEntries(html, diff);
            }

            return HtmlMapRenderer.Close(html);
        }

        /// <summary>
        /// Each byte's change, from the device diff's classified bit ranges (<see cref="DeviceDiffer"/>, the same
        /// classification the text, Markdown and JSON forms print): a byte takes the strongest impact of the ranges
        /// that touch any of its bits, widening over narrowing over neutral, so a byte where one bit widens and another
        /// narrows shows as widening, the one a review must not miss.
        /// </summary>
        public static IReadOnlyList<ByteChange> ByteChanges(DeviceDiff device, int size)
        {
            if (device == null)
            {
                throw new ArgumentNullException(nameof(device));
            }

            var changes = new ByteChange[size];
            foreach (DeviceChange change in device.Changes)
            {
                ByteChange mark = change.Impact switch
                {
                    ChangeImpact.Widening => ByteChange.Widening,
                    ChangeImpact.Narrowing => ByteChange.Narrowing,
                    _ => ByteChange.Neutral,
                };
                for (int offset = change.FirstBit / 8; offset <= change.LastBit / 8 && offset < size; offset++)
                {
                    if (mark > changes[offset])
                    {
                        changes[offset] = mark;
                    }
                }
            }

            return changes;
        }

        // The entries in the text form's order: the model's changes per subject, then the device's byte ranges.
        private static void AppendEntries(StringBuilder html, PolicyDiff diff)
        {
            html.Append("<table class=\"entries\">\n<tr><th>impact</th><th>subject</th><th>what</th><th>before</th><th>after</th><th>old rule</th><th>new rule</th><th>why</th></tr>\n");
            foreach (PolicyChange change in diff.Changes)
            {
                Row(html, change.Impact, change.Subject, change.What, change.Before, change.After, change.OldOrigins, change.NewOrigins, change.Reason);
            }

            if (diff.Device != null)
            {
                foreach (DeviceChange change in diff.Device.Changes)
                {
                    Row(html, change.Impact, "on the device: " + change.Location, change.Range, change.Before, change.After, change.OldOrigins, change.NewOrigins, string.Empty);
                }
            }

            if (!diff.HasChanges)
            {
                html.Append("<tr><td colspan=\"8\">no semantic change</td></tr>\n");
            }

            html.Append("</table>\n");
            foreach (string warning in diff.Device?.Warnings ?? Array.Empty<string>())
            {
                html.Append("<p style=\"margin:8px;font-size:12px\">warning: ").Append(HtmlMapRenderer.Encode(warning)).Append("</p>\n");
            }
        }

        private static void Row(StringBuilder html, ChangeImpact impact, string subject, string what, string before, string after, IReadOnlyList<RuleOrigin> oldOrigins, IReadOnlyList<RuleOrigin> newOrigins, string reason)
        {
            string name = DiffText.ImpactName(impact);
            string style = impact == ChangeImpact.Widening ? "iw" : impact == ChangeImpact.Narrowing ? "in" : "iu";
            html.Append("<tr class=\"entry\" data-impact=\"").Append(name).Append("\"><td class=\"").Append(style).Append("\">").Append(name).Append("</td>");
            foreach (string cell in new[] { subject, what, before, after, DiffText.Locations(oldOrigins), DiffText.Locations(newOrigins), reason })
            {
                html.Append("<td>").Append(HtmlMapRenderer.Encode(cell)).Append("</td>");
            }

            html.Append("</tr>\n");
        }
    }
}
