using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>One case of a <c>.cases</c> file: a policy snippet and what it must give.</summary>
    /// <param name="Title">The text after <c>===</c>; also the test's display name.</param>
    /// <param name="Line">The line of the <c>===</c> header, for failure messages.</param>
    /// <param name="Input">The snippet, lines joined with <c>\n</c> and a final newline.</param>
    /// <param name="Expected">Expected lines: one per <c>⇶ </c> line, or the lines after a lone <c>⇶</c>.</param>
    public sealed record Case(string Title, int Line, string Input, IReadOnlyList<string> Expected)
    {
        /// <summary>The expected lines as one text with a final newline (the formatter's output).</summary>
        public string ExpectedText => Expected.Count == 0 ? string.Empty : string.Join("\n", Expected) + "\n";

        public override string ToString() => Title;
    }

    /// <summary>
    /// Reads <c>.cases</c> files (after serilog-expressions' <c>input ⇶ expected</c> files, made multi-line because
    /// policies are line oriented). A case starts with <c>=== title</c>; its lines up to the first line starting with
    /// <c>⇶</c> are the input; then either several <c>⇶ expected</c> lines (one expectation each) or a lone <c>⇶</c>
    /// followed by expected text up to the next case. Trailing blank lines of input and expected are dropped, so
    /// cases can be separated by blank lines. Text before the first case is a free-form preamble.
    /// </summary>
    public static class CaseFile
    {
        private const string Header = "===";
        private const string Arrow = "⇶";

        public static IReadOnlyList<Case> Read(string fileName)
        {
            string path = Path.Combine(AppContext.BaseDirectory, "Cases", fileName);
            return Parse(File.ReadAllText(path));
        }

        public static IReadOnlyList<Case> Parse(string text)
        {
            var cases = new List<Case>();
            string[] lines = text.Replace("\r\n", "\n").Split('\n');
            int index = 0;
            while (index < lines.Length && !lines[index].StartsWith(Header, StringComparison.Ordinal))
            {
                index++;
            }

            while (index < lines.Length)
            {
                int headerLine = index + 1;
                string title = lines[index].Substring(Header.Length).Trim();
                index++;
                var input = new List<string>();
                while (index < lines.Length && !lines[index].StartsWith(Arrow, StringComparison.Ordinal))
                {
                    if (lines[index].StartsWith(Header, StringComparison.Ordinal))
                    {
                        throw new FormatException($"case '{title}' (line {headerLine}) has no {Arrow} line");
                    }

                    input.Add(lines[index++]);
                }

                if (index == lines.Length)
                {
                    throw new FormatException($"case '{title}' (line {headerLine}) has no {Arrow} line");
                }

                var expected = new List<string>();
                if (lines[index] == Arrow)
                {
                    index++;
                    while (index < lines.Length && !lines[index].StartsWith(Header, StringComparison.Ordinal))
                    {
                        expected.Add(lines[index++]);
                    }
                }
                else
                {
                    while (index < lines.Length && lines[index].StartsWith(Arrow + " ", StringComparison.Ordinal))
                    {
                        expected.Add(lines[index++].Substring(Arrow.Length + 1));
                    }

                    while (index < lines.Length && !lines[index].StartsWith(Header, StringComparison.Ordinal))
                    {
                        if (lines[index].Trim().Length != 0)
                        {
                            throw new FormatException($"line {index + 1}: text after the expectations of case '{title}'");
                        }

                        index++;
                    }
                }

                cases.Add(new Case(title, headerLine, JoinLines(TrimTrailingBlank(input)), TrimTrailingBlank(expected)));
            }

            return cases;
        }

        private static List<string> TrimTrailingBlank(List<string> lines)
        {
            while (lines.Count > 0 && lines[lines.Count - 1].Trim().Length == 0)
            {
                lines.RemoveAt(lines.Count - 1);
            }

            return lines;
        }

        private static string JoinLines(List<string> lines) => lines.Count == 0 ? string.Empty : string.Join("\n", lines) + "\n";
    }
}
