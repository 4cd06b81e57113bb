using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Sprache;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Parsing
{
    /// <summary>A token's value and where it was written.</summary>
    internal sealed record Lexeme<T>(T Value, SourceSpan Span);

    /// <summary>
    /// The tokens of the language as Sprache parsers. Each token parser consumes the spaces and tabs after it (never a
    /// line break: lines matter) and carries its span. Parsers that users can get wrong are wrapped in
    /// <see cref="Expect{T}"/>, which records the plain-words description that error messages list.
    /// </summary>
    internal static class Lexical
    {
        /// <summary>
        /// Keywords that can never be a register, field, bit, behavior or capability name. Without this,
        /// <c>bit 3 deny</c> would take <c>deny</c> as the bit's name and then miss its action.
        /// </summary>
        public static readonly ISet<string> ReservedWords = new HashSet<string>(StringComparer.Ordinal)
        {
            "policy", "match", "include", "extends", "override", "default", "hide", "mirror", "header", "capability",
            "register", "behavior", "when", "bit", "bits", "field", "passthrough", "virtualize", "deny", "init",
            "silent", "body",
        };

        // Declared first: static fields initialise in textual order and every token parser below reads these two.
        private static readonly Parser<string> CurrentPath = input => Result.Success(SourceInput.SessionOf(input).Path, input);

        /// <summary>Spaces and tabs; a line break is never whitespace here.</summary>
        public static readonly Parser<string> InlineSpace = Parse.Chars(' ', '\t').Many().Text();

        /// <summary>A word: <c>[A-Za-z_][A-Za-z0-9_-]*</c>. Keywords contain dashes; names are checked separately.</summary>
        public static readonly Parser<string> RawWord = Scan(IsWordStart, IsWordPart);

        /// <summary>A field name after <c>REGISTER.</c>: <c>pci_regs.h</c> has fields starting with a digit (<c>64BIT</c>).</summary>
        public static readonly Parser<string> RawFieldName = Scan(IsNamePart, IsNamePart);

        /// <summary>A number as written: a digit, then letters, digits and <c>_</c>; <see cref="TryParseNumber"/> checks it.</summary>
        public static readonly Parser<string> RawNumber = Scan(IsDigit, IsNamePart);

        /// <summary>The end of the line (not consumed): a line feed, a CR LF pair, or the end of the file.</summary>
        public static readonly Parser<string> RawEndOfLine = input =>
            IsAtEndOfLine(input) ? Result.Success(string.Empty, input) : Result.Failure<string>(input, "expected end of line", Array.Empty<string>());

        /// <summary>A <c>#</c> comment up to the end of the line, trailing whitespace excluded.</summary>
        public static readonly Parser<Comment> CommentToken = Lex(RawComment()).Select(c => new Comment(c.Value, c.Span));

        /// <summary>Any word (a default's target is validated by the compiler).</summary>
        public static readonly Parser<Identifier> WordToken = Lex(RawWord).Select(w => new Identifier(w.Value, w.Span));

        /// <summary>A name: <c>[A-Za-z_][A-Za-z0-9_]*</c> that is not a reserved keyword.</summary>
        public static readonly Parser<Identifier> NameToken = Lex(RawWord.Where(w => w.IndexOf('-') < 0 && !ReservedWords.Contains(w))).Select(w => new Identifier(w.Value, w.Span));

        /// <summary>A field name in a condition (may start with a digit).</summary>
        public static readonly Parser<Identifier> FieldNameToken = Lex(RawFieldName).Select(w => new Identifier(w.Value, w.Span));

        /// <summary>A string literal; an unterminated string or a bad escape is a fault (no backtracking).</summary>
        public static readonly Parser<StringLiteral> StringToken = Lex(RawString()).Select(s => new StringLiteral(s.Value, s.Span));

        /// <summary>A number literal; a malformed number is a fault (no backtracking).</summary>
        public static readonly Parser<NumberLiteral> NumberToken = NumberLiteralParser();

        /// <summary>A <c>}</c> that records no expectation: at file level a stray <c>}</c> gets its own diagnostic.</summary>
        public static readonly Parser<SourceSpan> UnexpectedCloseBrace = Lex(RawLiteral("}")).Select(p => p.Span);

        /// <summary>The keyword <paramref name="keyword"/>, expected as <c>'keyword'</c>.</summary>
        public static Parser<Identifier> Keyword(string keyword)
            => Expect(Lex(RawWord.Where(w => string.Equals(w, keyword, StringComparison.Ordinal))).Select(w => new Identifier(w.Value, w.Span)), "'" + keyword + "'");

        /// <summary>Punctuation such as <c>{</c> or <c>..</c>, expected as <c>'{'</c>.</summary>
        public static Parser<SourceSpan> Punctuation(string text) => Expect(Lex(RawLiteral(text)).Select(p => p.Span), "'" + text + "'");

        /// <summary>A name, expected as <paramref name="description"/>.</summary>
        public static Parser<Identifier> Name(string description) => Expect(NameToken, description);

        /// <summary>A number, expected as <paramref name="description"/>.</summary>
        public static Parser<NumberLiteral> Number(string description) => Expect(NumberToken, description);

        /// <summary>The end of the line, after an optional trailing comment.</summary>
        public static readonly Parser<Comment?> LineEnd =
            from comment in CommentToken.XOptional()
            from end in Expect(RawEndOfLine, "end of line")
            select comment.GetOrDefault();

        /// <summary>
        /// Wraps a token parser: when it fails without consuming anything, the failure is recorded as
        /// "<paramref name="description"/> expected here" in the session.
        /// </summary>
        public static Parser<T> Expect<T>(Parser<T> parser, string description) => input =>
        {
            IResult<T> result = parser(input);
            if (!result.WasSuccessful && result.Remainder.Equals(input))
            {
                SourceInput.SessionOf(input).Expect(input, description);
                return Result.Failure<T>(input, "expected " + description, new[] { description });
            }

            return result;
        };

        /// <summary>A raw token parser with its span, followed by inline whitespace.</summary>
        public static Parser<Lexeme<T>> Lex<T>(Parser<T> raw) =>
            from path in CurrentPath
            from token in raw.Span()
            from space in InlineSpace
            select new Lexeme<T>(token.Value, ToSpan(path, token.Start, token.End));

        /// <summary>
        /// Reads a number: <c>0x</c> hex, <c>0b</c> binary or decimal, with <c>_</c> separators between or after
        /// the prefix's digits (not at the end). <paramref name="error"/> says in plain words what is wrong.
        /// </summary>
        public static bool TryParseNumber(string text, out ulong value, out string error)
        {
            value = 0;
            error = string.Empty;
            int radix = 10;
            string radixName = "decimal";
            int start = 0;
            if (text.Length >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X'))
            {
                radix = 16;
                radixName = "hex";
                start = 2;
            }
            else if (text.Length >= 2 && text[0] == '0' && (text[1] == 'b' || text[1] == 'B'))
            {
                radix = 2;
                radixName = "binary";
                start = 2;
            }

            string digits = text.Substring(start);
            if (digits.Replace("_", string.Empty).Length == 0)
            {
                error = "invalid number '" + text + "': expected " + radixName + " digits after '" + text.Substring(0, start) + "'";
                return false;
            }

            if (text[text.Length - 1] == '_')
            {
                error = "invalid number '" + text + "': '_' must be followed by a digit";
                return false;
            }

            foreach (char c in digits)
            {
                if (c == '_')
                {
                    continue;
                }

                int digit = DigitValue(c);
                if (digit < 0 || digit >= radix)
                {
                    error = "invalid number '" + text + "': '" + c + "' is not a " + radixName + " digit";
                    return false;
                }

                if (value > (ulong.MaxValue - (ulong)digit) / (ulong)radix)
                {
                    error = "number '" + text + "' does not fit in 64 bits";
                    return false;
                }

                value = (value * (ulong)radix) + (ulong)digit;
            }

            return true;
        }

        /// <summary>How an error message names the token at <paramref name="offset"/>: <c>'foo'</c>, <c>end of line</c>…</summary>
        /// <param name="text">The whole file.</param>
        /// <param name="offset">Where the token starts.</param>
        /// <param name="length">How many characters the token spans (0 at the end of a line).</param>
        public static string DescribeTokenAt(string text, int offset, out int length)
        {
            length = 0;
            if (offset >= text.Length || text[offset] == '\n' || (text[offset] == '\r' && (offset + 1 == text.Length || text[offset + 1] == '\n')))
            {
                return "end of line";
            }

            char first = text[offset];
            int end = offset + 1;
            if (IsNamePart(first))
            {
                while (end < text.Length && IsWordPart(text[end]))
                {
                    end++;
                }
            }
            else if (first == '"')
            {
                while (end < text.Length && text[end] != '"' && text[end] != '\n' && text[end] != '\r')
                {
                    end += text[end] == '\\' && end + 1 < text.Length && text[end + 1] != '\n' ? 2 : 1;
                }

                end = Math.Min(text.Length, end + 1);
            }
            else if (first == '#')
            {
                length = 1;
                return "comment";
            }
            else if (first == '.' && end < text.Length && text[end] == '.')
            {
                end++;
            }
            else if (char.IsControl(first) || char.IsWhiteSpace(first))
            {
                length = 1;
                return "character U+" + ((int)first).ToString("X4", CultureInfo.InvariantCulture);
            }

            string token = text.Substring(offset, end - offset).TrimEnd('\r', '\n');
            length = token.Length;
            const int MaxShown = 40;
            return "'" + (token.Length > MaxShown ? token.Substring(0, MaxShown) + "…" : token) + "'";
        }

        /// <summary>True at a line feed, a CR LF pair, a CR that ends the file, or the end of the file.</summary>
        public static bool IsAtEndOfLine(IInput input)
        {
            if (input.AtEnd || input.Current == '\n')
            {
                return true;
            }

            if (input.Current != '\r')
            {
                return false;
            }

            IInput next = input.Advance();
            return next.AtEnd || next.Current == '\n';
        }

        private static Parser<NumberLiteral> NumberLiteralParser()
        {
            Parser<Lexeme<string>> raw = Lex(RawNumber);
            return input =>
            {
                IResult<Lexeme<string>> lexed = raw(input);
                if (!lexed.WasSuccessful)
                {
                    return Result.Failure<NumberLiteral>(lexed.Remainder, lexed.Message, lexed.Expectations);
                }

                string text = lexed.Value.Value;
                if (!TryParseNumber(text, out ulong value, out string error))
                {
                    SourceInput.SessionOf(input).ReportFault(SyntaxDiagnostics.InvalidNumber(lexed.Value.Span, error));

                    // The remainder lies past the token, so XOr/XOptional treat the failure as committed.
                    return Result.Failure<NumberLiteral>(lexed.Remainder, error, Array.Empty<string>());
                }

                return Result.Success(new NumberLiteral(value, text, lexed.Value.Span), lexed.Remainder);
            };
        }

        private static Parser<string> RawString() => input =>
        {
            if (input.AtEnd || input.Current != '"')
            {
                return Result.Failure<string>(input, "expected a string", Array.Empty<string>());
            }

            ParseSession session = SourceInput.SessionOf(input);
            var value = new StringBuilder();
            IInput rest = input.Advance();
            while (true)
            {
                if (IsAtEndOfLine(rest))
                {
                    session.ReportFault(SyntaxDiagnostics.UnterminatedString(ToSpan(session.Path, input, rest)));
                    return Result.Failure<string>(rest, "unterminated string", Array.Empty<string>());
                }

                char c = rest.Current;
                if (c == '"')
                {
                    return Result.Success(value.ToString(), rest.Advance());
                }

                if (c == '\\')
                {
                    IInput escaped = rest.Advance();
                    if (IsAtEndOfLine(escaped))
                    {
                        session.ReportFault(SyntaxDiagnostics.UnterminatedString(ToSpan(session.Path, input, escaped)));
                        return Result.Failure<string>(escaped, "unterminated string", Array.Empty<string>());
                    }

                    if (escaped.Current != '"' && escaped.Current != '\\')
                    {
                        IInput after = escaped.Advance();
                        session.ReportFault(SyntaxDiagnostics.InvalidEscape(ToSpan(session.Path, rest, after), "\\" + escaped.Current));
                        return Result.Failure<string>(after, "invalid escape", Array.Empty<string>());
                    }

                    value.Append(escaped.Current);
                    rest = escaped.Advance();
                    continue;
                }

                value.Append(c);
                rest = rest.Advance();
            }
        };

        private static Parser<string> RawComment() => input =>
        {
            if (input.AtEnd || input.Current != '#')
            {
                return Result.Failure<string>(input, "expected a comment", Array.Empty<string>());
            }

            int lineEnd = input.Source.IndexOf('\n', input.Position);
            if (lineEnd < 0)
            {
                lineEnd = input.Source.Length;
            }

            string text = input.Source.Substring(input.Position, lineEnd - input.Position).TrimEnd(' ', '\t', '\r');
            IInput rest = input;
            for (int i = 0; i < text.Length; i++)
            {
                rest = rest.Advance();
            }

            return Result.Success(text, rest);
        };

        private static Parser<string> RawLiteral(string literal) => input =>
        {
            IInput rest = input;
            foreach (char expected in literal)
            {
                if (rest.AtEnd || rest.Current != expected)
                {
                    return Result.Failure<string>(input, "expected '" + literal + "'", Array.Empty<string>());
                }

                rest = rest.Advance();
            }

            return Result.Success(literal, rest);
        };

        private static Parser<string> Scan(Func<char, bool> first, Func<char, bool> rest) => input =>
        {
            if (input.AtEnd || !first(input.Current))
            {
                return Result.Failure<string>(input, "unexpected character", Array.Empty<string>());
            }

            var text = new StringBuilder();
            IInput position = input;
            while (!position.AtEnd && (text.Length == 0 ? first(position.Current) : rest(position.Current)))
            {
                text.Append(position.Current);
                position = position.Advance();
            }

            return Result.Success(text.ToString(), position);
        };

        private static SourceSpan ToSpan(string path, Position start, Position end)
            => new SourceSpan(path, new SourcePosition(start.Pos, start.Line, start.Column), new SourcePosition(end.Pos, end.Line, end.Column));

        private static SourceSpan ToSpan(string path, IInput start, IInput end)
            => new SourceSpan(path, new SourcePosition(start.Position, start.Line, start.Column), new SourcePosition(end.Position, end.Line, end.Column));

        private static int DigitValue(char c)
        {
            if (c >= '0' && c <= '9')
            {
                return c - '0';
            }

            if (c >= 'a' && c <= 'f')
            {
                return c - 'a' + 10;
            }

            if (c >= 'A' && c <= 'F')
            {
                return c - 'A' + 10;
            }

            return -1;
        }

        private static bool IsDigit(char c) => c >= '0' && c <= '9';

        private static bool IsWordStart(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

        private static bool IsNamePart(char c) => IsWordStart(c) || IsDigit(c);

        private static bool IsWordPart(char c) => IsNamePart(c) || c == '-';
    }
}
