using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;
using Xunit;

namespace VfioPolicy.Grammar.Tests
{
    public class FormatterTests
    {
        public static IEnumerable<object[]> FormatCases() => CaseFile.Read("format.cases").Select(c => new object[] { c });

        public static IEnumerable<object[]> Samples() => SamplePolicies.Names.Select(name => new object[] { name });

        [Theory]
        [MemberData(nameof(FormatCases))]
        public void Format_prints_the_canonical_layout(Case formatCase)
        {
            Assert.Equal(formatCase.ExpectedText, Format(formatCase.Input));
        }

        [Theory]
        [MemberData(nameof(FormatCases))]
        public void Canonical_layout_is_a_fixed_point(Case formatCase)
        {
            Assert.Equal(formatCase.ExpectedText, Format(formatCase.ExpectedText));
        }

        [Theory]
        [MemberData(nameof(FormatCases))]
        public void Format_keeps_every_comment_in_order(Case formatCase)
        {
            Assert.Equal(PolicyLibraryTests.CommentTexts(formatCase.Input), PolicyLibraryTests.CommentTexts(Format(formatCase.Input)));
        }

        [Theory]
        [MemberData(nameof(Samples))]
        public void Sample_policies_are_already_canonical(string name)
        {
            string text = SamplePolicies.Read(name);

            Assert.Equal(text, Format(text));
        }

        [Theory]
        [MemberData(nameof(Samples))]
        public void Formatting_preserves_the_syntax_tree_apart_from_positions(string name)
        {
            string messy = Mangle(SamplePolicies.Read(name));

            PolicyFile original = Parse(messy);
            PolicyFile formatted = Parse(PolicyFormatter.Format(original));

            Assert.Equal(TreeShape.Of(original), TreeShape.Of(formatted));
        }

        [Fact]
        public void Crlf_line_endings_become_line_feeds()
        {
            string text = "policy \"edu\"                               # name\r\nheader {\r\n  register COMMAND passthrough ro\r\n}\r\n";

            Assert.Equal(text.Replace("\r\n", "\n"), Format(text));
        }

        [Fact]
        public void Format_rejects_a_null_tree()
        {
            Assert.Throws<ArgumentNullException>(() => PolicyFormatter.Format(null!));
        }

        private static string Format(string text) => PolicyFormatter.Format(Parse(text));

        private static PolicyFile Parse(string text)
        {
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", text));
            Assert.True(result.File != null, string.Join("\n", result.Diagnostics));
            return result.File!;
        }

        /// <summary>The same policy with ugly but valid layout: tabs, extra spaces, doubled blank lines, CR LF.</summary>
        private static string Mangle(string text)
            => string.Join("\r\n", text.Split('\n').Select((line, index) => (index % 3 == 0 ? "\t " : "  ") + line.Replace(" ", index % 2 == 0 ? "  " : " \t") + (line.Length == 0 ? "\r\n" : " ")));
    }
}
