using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>
    /// Compares the sets of devices two policies' <c>match</c> lines select. A line is a conjunction of
    /// <c>(field &amp; mask) == value</c> tests, so one line selects a subset of another's devices exactly when it
    /// tests every bit the other tests, with the same values. The comparison is line by line: a line covered only by
    /// the union of several lines counts as not covered, which can only make a change look wider, never narrower.
    /// </summary>
    internal static class MatchComparison
    {
        public static void Compare(PolicyModel before, PolicyModel after, List<PolicyChange> changes)
        {
            List<Line> oldLines = before.Matches.Select(Line.Of).Where(l => l != null).Select(l => l!).ToList();
            List<Line> newLines = after.Matches.Select(Line.Of).Where(l => l != null).Select(l => l!).ToList();
            bool newWithinOld = newLines.All(n => oldLines.Any(n.Within));
            bool oldWithinNew = oldLines.All(o => newLines.Any(o.Within));
            if (newWithinOld && oldWithinNew)
            {
                return;
            }

            (ChangeImpact impact, string reason) = newWithinOld
                ? (ChangeImpact.Narrowing, "selects a subset of the devices it selected")
                : oldWithinNew
                    ? (ChangeImpact.Widening, "selects every device it selected, and more")
                    : (ChangeImpact.Widening, "selects devices it did not select before");
            changes.Add(new PolicyChange(impact, ChangeArea.Match, null, null, null, null, null, ChangeAspect.Match, null, null,
                Describe(before.Matches), Describe(after.Matches), before.Matches.Count > 0 ? before.Matches[0].Origin : null, after.Matches.Count > 0 ? after.Matches[0].Origin : null, reason));
        }

        /// <summary>The match lines in policy syntax, separated by "; ".</summary>
        public static string Describe(EquatableArray<DeviceMatch> matches)
            => matches.Count == 0 ? "(no match lines: no device)" : string.Join("; ", matches.Select(m => "match " + DescribeLine(m)));

        private static string DescribeLine(DeviceMatch match)
            => match.Criteria.Count == 0 ? "any" : string.Join(" ", match.Criteria.Select(c => c.ToString()));

        /// <summary>One match line as tested bits per field.</summary>
        private sealed class Line
        {
            private readonly Dictionary<MatchField, (uint Mask, uint Value)> _tests;

            private Line(Dictionary<MatchField, (uint Mask, uint Value)> tests)
            {
                _tests = tests;
            }

            /// <summary>The line's tests, or null when its criteria contradict each other (it selects nothing).</summary>
            public static Line? Of(DeviceMatch match)
            {
                var tests = new Dictionary<MatchField, (uint Mask, uint Value)>();
                foreach (MatchCriterion criterion in match.Criteria)
                {
                    uint mask = criterion.Mask & PolicyMatcher.FieldMask(criterion.Field);
                    uint value = criterion.Value & mask;
                    if (tests.TryGetValue(criterion.Field, out (uint Mask, uint Value) earlier))
                    {
                        uint shared = earlier.Mask & mask;
                        if ((earlier.Value & shared) != (value & shared))
                        {
                            return null;
                        }

                        tests[criterion.Field] = (earlier.Mask | mask, earlier.Value | value);
                    }
                    else
                    {
                        tests.Add(criterion.Field, (mask, value));
                    }
                }

                return new Line(tests);
            }

            /// <summary>True when every device this line selects is selected by <paramref name="wider"/>.</summary>
            public bool Within(Line wider)
            {
                foreach (KeyValuePair<MatchField, (uint Mask, uint Value)> test in wider._tests)
                {
                    if (test.Value.Mask == 0)
                    {
                        continue;
                    }

                    if (!_tests.TryGetValue(test.Key, out (uint Mask, uint Value) mine)
                        || (mine.Mask & test.Value.Mask) != test.Value.Mask
                        || (mine.Value & test.Value.Mask) != test.Value.Value)
                    {
                        return false;
                    }
                }

                return true;
            }
        }
    }
}
