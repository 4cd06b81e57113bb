using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;
using Xunit;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>Truncated and damaged policies: the parser answers with a tree or diagnostics, never an exception.</summary>
    public class RobustnessTests
    {
        // A hang guard, not a speed claim (speed is measured in bench/): a parse of these small files takes well under a
        // millisecond, and CI shares two cores with other test hosts, so only runaway backtracking can reach this.
        private static readonly TimeSpan PerParseLimit = TimeSpan.FromSeconds(10);

        public static IEnumerable<object[]> Samples() => SamplePolicies.Names.Select(name => new object[] { name });

        [Theory]
        [MemberData(nameof(Samples))]
        public void Every_prefix_of_a_valid_policy_parses_or_reports_diagnostics(string name)
        {
            string text = SamplePolicies.Read(name);

            for (int length = 0; length <= text.Length; length++)
            {
                string prefix = text.Substring(0, length);
                ParseResult result = TimedParse(prefix);

                AssertWellFormed(prefix, result);
            }
        }

        [Theory]
        [MemberData(nameof(Samples))]
        public void Every_policy_with_one_character_removed_parses_or_reports_diagnostics(string name)
        {
            string text = SamplePolicies.Read(name);

            for (int index = 0; index < text.Length; index++)
            {
                string damaged = text.Remove(index, 1);
                AssertWellFormed(damaged, TimedParse(damaged));
            }
        }

        [Theory]
        [InlineData("\0")]
        [InlineData("\"")]
        [InlineData("\\")]
        [InlineData("\r")]
        [InlineData("\r\r\n")]
        [InlineData("}}}")]
        [InlineData("{")]
        [InlineData("header {\n{\n}\n")]
        [InlineData("policy \"\u00e9\u20ac\"\nmatch vendor \uff10\n")]
        [InlineData("match vendor 99999999999999999999999999999999999999\n")]
        public void Odd_input_gives_diagnostics_or_a_tree(string text)
        {
            AssertWellFormed(text, TimedParse(text));
        }

        private static ParseResult TimedParse(string text)
        {
            var stopwatch = Stopwatch.StartNew();
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", text));
            Assert.True(stopwatch.Elapsed < PerParseLimit, $"parsing {text.Length} characters took {stopwatch.Elapsed}");
            return result;
        }

        private static void AssertWellFormed(string text, ParseResult result)
        {
            string context = "input:\n" + text + "\ndiagnostics:\n" + string.Join("\n", result.Diagnostics);
            Assert.True(result.File != null || result.Diagnostics.Any(d => d.IsError), context);
            Assert.True(result.File == null || result.Diagnostics.All(d => !d.IsError), context);
            foreach (Diagnostic diagnostic in result.Diagnostics)
            {
                Assert.StartsWith("VP000", diagnostic.Id);
                Assert.DoesNotContain("internal parser error", diagnostic.Message);
                Assert.InRange(diagnostic.Span.Start.Offset, 0, text.Length);
                Assert.InRange(diagnostic.Span.End.Offset, diagnostic.Span.Start.Offset, text.Length);
                Assert.True(diagnostic.Span.Start.Line >= 1 && diagnostic.Span.Start.Column >= 1, context);
            }

            if (result.File != null)
            {
                string formatted = PolicyFormatter.Format(result.File);
                ParseResult reparsed = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", formatted));
                Assert.True(reparsed.File != null, context + "\nformatted:\n" + formatted);
                Assert.Equal(formatted, PolicyFormatter.Format(reparsed.File!));
            }
        }
    }
}
