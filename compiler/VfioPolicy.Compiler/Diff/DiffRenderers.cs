using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>Counts over a whole report (several policies).</summary>
    public static class DiffSummary
    {
        /// <summary>"3 changes: 1 widening, 1 narrowing, 1 neutral" or "no semantic change".</summary>
        public static string Describe(IEnumerable<PolicyDiff> diffs)
        {
            List<PolicyDiff> all = diffs.ToList();
            int widening = all.Sum(d => d.Count(ChangeImpact.Widening));
            int narrowing = all.Sum(d => d.Count(ChangeImpact.Narrowing));
            int neutral = all.Sum(d => d.Count(ChangeImpact.Neutral));
            int total = widening + narrowing + neutral;
            return total == 0
                ? "no semantic change"
                : Plural(total, "change") + ": " + widening.ToString(CultureInfo.InvariantCulture) + " widening, "
                  + narrowing.ToString(CultureInfo.InvariantCulture) + " narrowing, " + neutral.ToString(CultureInfo.InvariantCulture) + " neutral";
        }

        /// <summary>"1 policy" / "2 policies"-style counting.</summary>
        public static string Plural(int count, string noun)
            => count.ToString(CultureInfo.InvariantCulture) + " " + (count == 1 ? noun : noun.EndsWith("y", System.StringComparison.Ordinal) ? noun.Substring(0, noun.Length - 1) + "ies" : noun + "s");
    }

    /// <summary>The diff as text for a terminal: one block per policy, changes grouped per register, optional ANSI colour.</summary>
    public static class DiffTextRenderer
    {
        private const string Reset = "\u001b[0m";
        private const string Bold = "\u001b[1m";
        private const string Red = "\u001b[31m";
        private const string Green = "\u001b[32m";
        private const string Yellow = "\u001b[33m";
        private const string Dim = "\u001b[2m";

        /// <summary>Renders <paramref name="diffs"/>; <paramref name="color"/> adds ANSI escapes.</summary>
        public static string Render(IReadOnlyList<PolicyDiff> diffs, bool color)
        {
            var text = new StringBuilder();
            string Paint(string code, string value) => color ? code + value + Reset : value;
            foreach (PolicyDiff diff in diffs)
            {
                text.Append(Paint(Bold, diff.Title)).Append(": ").Append(DiffSummary.Describe(new[] { diff })).Append('\n');
                string? subject = null;
                foreach (PolicyChange change in diff.Changes)
                {
                    if (change.Subject != subject)
                    {
                        subject = change.Subject;
                        text.Append("  ").Append(Paint(Bold, subject)).Append('\n');
                    }

                    AppendChange(text, change.Impact, change.What, change.Before, change.After, change.OldOrigins, change.NewOrigins, change.Reason, Paint);
                }

                if (diff.Device != null)
                {
                    text.Append("  ").Append(Paint(Bold, "on " + diff.Device.Device)).Append(": ")
                        .Append(diff.Device.Changes.Count == 0 ? "no change" : DiffSummary.Plural(diff.Device.Changes.Count, "changed range")).Append('\n');
                    foreach (DeviceChange change in diff.Device.Changes)
                    {
                        AppendChange(text, change.Impact, change.Range + " (" + change.Location + ")", change.Before, change.After, change.OldOrigins, change.NewOrigins, null, Paint);
                    }

                    foreach (string warning in diff.Device.Warnings)
                    {
                        text.Append("    ").Append(Paint(Dim, "warning: " + warning)).Append('\n');
                    }
                }
            }

            if (diffs.Count > 1)
            {
                text.Append(DiffSummary.Plural(diffs.Count(d => d.HasChanges), "policy") + " changed of " + diffs.Count.ToString(CultureInfo.InvariantCulture) + ": " + DiffSummary.Describe(diffs)).Append('\n');
            }

            return text.ToString();
        }

        private static void AppendChange(StringBuilder text, ChangeImpact impact, string what, string before, string after, IReadOnlyList<RuleOrigin> oldOrigin, IReadOnlyList<RuleOrigin> newOrigin, string? reason, System.Func<string, string, string> paint)
        {
            string code = impact == ChangeImpact.Widening ? Red : impact == ChangeImpact.Narrowing ? Green : Yellow;
            string name = DiffText.ImpactName(impact).PadRight(9);
            text.Append("    ").Append(paint(code, name)).Append(' ').Append(what).Append(": ").Append(before).Append(" → ").Append(after).Append('\n');
            text.Append("    ").Append(new string(' ', 10)).Append(paint(Dim, "old " + Where(oldOrigin) + ", new " + Where(newOrigin) + (reason == null ? string.Empty : "; " + reason))).Append('\n');
        }

        private static string Where(IReadOnlyList<RuleOrigin> origins) => DiffText.Locations(origins);
    }

    /// <summary>The diff as Markdown for a pull-request comment: a summary line, then per policy a table per register.</summary>
    public static class DiffMarkdownRenderer
    {
        /// <summary>Renders <paramref name="diffs"/>.</summary>
        public static string Render(IReadOnlyList<PolicyDiff> diffs)
        {
            var text = new StringBuilder();
            int changed = diffs.Count(d => d.HasChanges);
            text.Append("**vfio-policy diff**: ");
            text.Append(changed == 0
                ? "no semantic change in " + DiffSummary.Plural(diffs.Count, "policy") + "."
                : DiffSummary.Plural(changed, "policy") + " changed, " + DiffSummary.Describe(diffs) + ".");
            if (diffs.Any(d => d.HasWidening))
            {
                text.Append(" **Widening changes need a security review.**");
            }

            text.Append('\n');
            foreach (PolicyDiff diff in diffs)
            {
                text.Append('\n').Append("### `").Append(diff.Title).Append("`: ").Append(DiffSummary.Describe(new[] { diff })).Append('\n');
                foreach (IGrouping<string, PolicyChange> group in diff.Changes.GroupBy(c => c.Subject))
                {
                    text.Append('\n').Append("#### ").Append(Escape(group.Key)).Append("\n\n");
                    text.Append("| impact | what | before | after | old rule | new rule | why |\n");
                    text.Append("| --- | --- | --- | --- | --- | --- | --- |\n");
                    foreach (PolicyChange change in group)
                    {
                        Row(text, change.Impact, change.What, change.Before, change.After, change.OldOrigins, change.NewOrigins, change.Reason);
                    }
                }

                if (diff.Device != null)
                {
                    text.Append('\n').Append("#### On ").Append(Escape(diff.Device.Device)).Append("\n\n");
                    if (diff.Device.Changes.Count == 0)
                    {
                        text.Append("No change on this device.\n");
                    }
                    else
                    {
                        text.Append("| impact | bytes | location | before | after | old rule | new rule |\n");
                        text.Append("| --- | --- | --- | --- | --- | --- | --- |\n");
                        foreach (DeviceChange change in diff.Device.Changes)
                        {
                            text.Append("| ").Append(Impact(change.Impact)).Append(" | ").Append(Escape(change.Range)).Append(" | ").Append(Escape(change.Location))
                                .Append(" | `").Append(Escape(change.Before)).Append("` | `").Append(Escape(change.After)).Append("` | ")
                                .Append(Code(change.OldOrigins)).Append(" | ").Append(Code(change.NewOrigins)).Append(" |\n");
                        }
                    }
                }
            }

            return text.ToString();
        }

        private static void Row(StringBuilder text, ChangeImpact impact, string what, string before, string after, IReadOnlyList<RuleOrigin> oldOrigin, IReadOnlyList<RuleOrigin> newOrigin, string reason)
        {
            text.Append("| ").Append(Impact(impact)).Append(" | ").Append(Escape(what)).Append(" | `").Append(Escape(before)).Append("` | `").Append(Escape(after))
                .Append("` | ").Append(Code(oldOrigin)).Append(" | ").Append(Code(newOrigin)).Append(" | ").Append(Escape(reason)).Append(" |\n");
        }

        private static string Impact(ChangeImpact impact) => impact == ChangeImpact.Widening ? "**widening**" : DiffText.ImpactName(impact);

        private static string Code(IReadOnlyList<RuleOrigin> origins) => origins.Count == 0 ? "-" : "`" + Escape(DiffText.Locations(origins)) + "`";

        private static string Escape(string value) => value.Replace("|", "\\|").Replace("\n", " ");
    }

    /// <summary>
    /// The diff as JSON for tools, properties always in the documented order (docs/reviewing-policies.md, "JSON").
    /// Written by hand: the compiler targets netstandard2.0 and takes no JSON dependency for one stable format.
    /// </summary>
    public static class DiffJsonRenderer
    {
        /// <summary>The schema identifier the document starts with; it changes only when the format does incompatibly.</summary>
        public const string Schema = "vfio-policy-diff/1";

        /// <summary>Renders <paramref name="diffs"/> as one JSON document.</summary>
        public static string Render(IReadOnlyList<PolicyDiff> diffs)
        {
            var json = new JsonText();
            json.BeginObject();
            json.Property("schema", Schema);
            json.Name("summary");
            Counts(json, diffs);
            json.Name("policies");
            json.BeginArray();
            foreach (PolicyDiff diff in diffs)
            {
                json.BeginObject();
                json.Property("old", diff.OldLabel);
                json.Property("new", diff.NewLabel);
                json.Property("oldName", diff.OldName);
                json.Property("newName", diff.NewName);
                json.Property("status", diff.OldLabel == null ? "added" : diff.NewLabel == null ? "removed" : diff.HasChanges ? "modified" : "unchanged");
                json.Name("summary");
                Counts(json, new[] { diff });
                json.Name("changes");
                json.BeginArray();
                foreach (PolicyChange change in diff.Changes)
                {
                    json.BeginObject();
                    json.Property("impact", DiffText.ImpactName(change.Impact));
                    json.Property("area", AreaName(change.Area));
                    json.Property("scope", change.Scope);
                    json.Property("register", change.Register);
                    json.Property("offset", change.Offset);
                    json.Property("width", change.Width);
                    json.Property("condition", change.Condition);
                    json.Property("aspect", AspectName(change.Aspect));
                    json.Property("lowBit", change.LowBit);
                    json.Property("highBit", change.HighBit);
                    json.Property("subject", change.Subject);
                    json.Property("what", change.What);
                    json.Property("before", change.Before);
                    json.Property("after", change.After);
                    Origins(json, "oldRules", change.OldOrigins);
                    Origins(json, "newRules", change.NewOrigins);
                    json.Property("reason", change.Reason);
                    json.EndObject();
                }

                json.EndArray();
                json.Name("device");
                if (diff.Device == null)
                {
                    json.Null();
                }
                else
                {
                    json.BeginObject();
                    json.Property("device", diff.Device.Device);
                    json.Name("changes");
                    json.BeginArray();
                    foreach (DeviceChange change in diff.Device.Changes)
                    {
                        json.BeginObject();
                        json.Property("impact", DiffText.ImpactName(change.Impact));
                        json.Property("offset", change.FirstBit / 8);
                        json.Property("firstBit", change.FirstBit);
                        json.Property("lastBit", change.LastBit);
                        json.Property("range", change.Range);
                        json.Property("location", change.Location);
                        json.Property("before", change.Before);
                        json.Property("after", change.After);
                        Origins(json, "oldRules", change.OldOrigins);
                        Origins(json, "newRules", change.NewOrigins);
                        json.EndObject();
                    }

                    json.EndArray();
                    json.Name("warnings");
                    json.BeginArray();
                    foreach (string warning in diff.Device.Warnings)
                    {
                        json.Value(warning);
                    }

                    json.EndArray();
                    json.EndObject();
                }

                json.EndObject();
            }

            json.EndArray();
            json.EndObject();
            return json.ToString();
        }

        private static void Counts(JsonText json, IReadOnlyList<PolicyDiff> diffs)
        {
            json.BeginObject();
            json.Property("policies", diffs.Count);
            json.Property("changed", diffs.Count(d => d.HasChanges));
            json.Property("widening", diffs.Sum(d => d.Count(ChangeImpact.Widening)));
            json.Property("narrowing", diffs.Sum(d => d.Count(ChangeImpact.Narrowing)));
            json.Property("neutral", diffs.Sum(d => d.Count(ChangeImpact.Neutral)));
            json.EndObject();
        }

        private static void Origins(JsonText json, string name, IReadOnlyList<RuleOrigin> origins)
        {
            json.Name(name);
            json.BeginArray();
            foreach (RuleOrigin origin in origins)
            {
                Origin(json, origin);
            }

            json.EndArray();
        }

        private static void Origin(JsonText json, RuleOrigin origin)
        {
            json.BeginObject();
            json.Property("path", origin.Path);
            json.Property("line", origin.Line);
            json.Property("text", origin.Text);
            json.EndObject();
        }

        private static string AreaName(ChangeArea area) => area switch
        {
            ChangeArea.Policy => "policy",
            ChangeArea.Match => "match",
            ChangeArea.Default => "default",
            ChangeArea.Mirror => "mirror",
            ChangeArea.Header => "header",
            ChangeArea.DeviceSpecific => "device-specific",
            ChangeArea.Capability => "capability",
            _ => "extended-capability",
        };

        private static string AspectName(ChangeAspect aspect) => aspect switch
        {
            ChangeAspect.CapabilityDefault => "capability-default",
            _ => aspect.ToString().ToLowerInvariant(),
        };
    }
}
