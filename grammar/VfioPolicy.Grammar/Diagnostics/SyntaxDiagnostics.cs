using System;
using System.Collections.Generic;
using System.Text;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Diagnostics
{
    /// <summary>
    /// The catalogue of syntax diagnostics (VP0xxx). IDs are stable: tools and tests match on them. Every syntax
    /// diagnostic is an error: a file that does not parse produces no syntax tree.
    /// </summary>
    public static class SyntaxDiagnostics
    {
        /// <summary>VP0001: a token the grammar does not allow here (<c>unexpected 'foo', expected 'rw' or 'ro'</c>).</summary>
        public const string UnexpectedTokenId = "VP0001";

        /// <summary>VP0002: a string with no closing quote on its line; points at the opening quote.</summary>
        public const string UnterminatedStringId = "VP0002";

        /// <summary>VP0003: a number that is malformed (<c>0x</c>, <c>0x1g</c>, <c>1_</c>) or does not fit in 64 bits.</summary>
        public const string InvalidNumberId = "VP0003";

        /// <summary>VP0004: a block or register body whose closing <c>}</c> line is missing; points at the opening line.</summary>
        public const string UnclosedBlockId = "VP0004";

        /// <summary>VP0005: a <c>}</c> line while no block is open.</summary>
        public const string UnmatchedCloseId = "VP0005";

        /// <summary>VP0006: a backslash in a string followed by something other than <c>"</c> or <c>\</c>.</summary>
        public const string InvalidEscapeId = "VP0006";

        /// <summary>VP0007: so many syntax errors that the rest of the file was not read (it is probably not a policy).</summary>
        public const string TooManyErrorsId = "VP0007";

        /// <summary>How many syntax errors a file may have before the parser stops reading it.</summary>
        public const int MaxErrors = 100;

        /// <summary>VP0001 for an unexpected token: <c>unexpected FOUND, expected A, B or C</c>.</summary>
        /// <param name="span">Where the unexpected token starts.</param>
        /// <param name="found">The token as the user sees it (<c>'foo'</c>, <c>end of line</c>).</param>
        /// <param name="expected">What the grammar would have accepted, in plain words, in the order tried.</param>
        public static Diagnostic UnexpectedToken(SourceSpan span, string found, IReadOnlyList<string> expected)
        {
            if (expected == null)
            {
                throw new ArgumentNullException(nameof(expected));
            }

            string message = expected.Count == 0 ? "unexpected " + found : "unexpected " + found + ", expected " + JoinAlternatives(expected);

            // A misspelt keyword ('passthru', 'virtualise') gets the keyword it was probably meant to be.
            var keywords = new List<string>();
            foreach (string item in expected)
            {
                if (item.Length > 2 && item[0] == '\'' && item[item.Length - 1] == '\'')
                {
                    keywords.Add(item.Substring(1, item.Length - 2));
                }
            }

            if (found.Length > 2 && found[0] == '\'' && found[found.Length - 1] == '\'')
            {
                message += Text.NameSuggestions.Hint(found.Substring(1, found.Length - 2), keywords);
            }

            return Error(UnexpectedTokenId, message, span);
        }

        /// <summary>VP0007: <see cref="MaxErrors"/> errors were reported; the file from <paramref name="span"/> on was not read.</summary>
        public static Diagnostic TooManyErrors(SourceSpan span)
            => Error(TooManyErrorsId, "too many syntax errors (" + MaxErrors.ToString(System.Globalization.CultureInfo.InvariantCulture) + "): the rest of the file, from here on, was not read; is this a policy file?", span);

        /// <summary>VP0002: the string starting at <paramref name="span"/> has no closing quote on its line.</summary>
        public static Diagnostic UnterminatedString(SourceSpan span)
            => Error(UnterminatedStringId, "unterminated string: a string must end with '\"' on the same line", span);

        /// <summary>VP0003: the number at <paramref name="span"/> is invalid; <paramref name="reason"/> says why.</summary>
        public static Diagnostic InvalidNumber(SourceSpan span, string reason) => Error(InvalidNumberId, reason, span);

        /// <summary>VP0004: the block opened by <paramref name="openerText"/> at <paramref name="span"/> is never closed.</summary>
        public static Diagnostic UnclosedBlock(SourceSpan span, string openerText)
            => Error(UnclosedBlockId, "'" + openerText + "' is not closed: expected a '}' line", span);

        /// <summary>VP0005: a <c>}</c> line at <paramref name="span"/> with no open block.</summary>
        public static Diagnostic UnmatchedClose(SourceSpan span)
            => Error(UnmatchedCloseId, "unexpected '}': no block is open", span);

        /// <summary>VP0006: the escape sequence at <paramref name="span"/> is not <c>\"</c> or <c>\\</c>.</summary>
        public static Diagnostic InvalidEscape(SourceSpan span, string sequence)
            => Error(InvalidEscapeId, "invalid escape '" + sequence + "' in string: only \\\" and \\\\ are allowed", span);

        /// <summary>VP0001 at 1:1 for a failure inside the parser itself (a bug, reported rather than thrown).</summary>
        public static Diagnostic InternalError(string path, string message)
            => Error(UnexpectedTokenId, "internal parser error: " + message, SourceSpan.At(path, new SourcePosition(0, 1, 1)));

        /// <summary><c>a</c>, <c>a or b</c>, <c>a, b or c</c>.</summary>
        private static string JoinAlternatives(IReadOnlyList<string> items)
        {
            var text = new StringBuilder();
            for (int i = 0; i < items.Count; i++)
            {
                if (i > 0)
                {
                    text.Append(i == items.Count - 1 ? " or " : ", ");
                }

                text.Append(items[i]);
            }

            return text.ToString();
        }

        private static Diagnostic Error(string id, string message, SourceSpan span) => new Diagnostic(id, DiagnosticSeverity.Error, message, span);
    }
}
