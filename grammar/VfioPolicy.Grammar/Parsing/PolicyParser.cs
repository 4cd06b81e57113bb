using System;
using System.Collections.Generic;
using System.Linq;
using Sprache;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Parsing
{
    /// <summary>
    /// Parses <c>.vfiopolicy</c> text into a <see cref="PolicyFile"/>. Never throws on any input: every problem is a
    /// VP0xxx diagnostic with its exact position.
    /// </summary>
    /// <remarks>
    /// Each line is parsed on its own by <see cref="PolicyGrammar"/> (which grammar depends on the nesting level);
    /// this class nests the lines into blocks and register bodies and attaches comments and blank lines as trivia.
    /// After an error it goes on at the next line, so one run reports one error per bad line. The parser is stricter
    /// than the syntax tree in one place: modes must be <c>rw</c>/<c>ro</c> after <c>passthrough</c> and
    /// <c>rw</c>/<c>ro</c>/<c>rw1c</c> after <c>virtualize</c>, so a typo is reported where it is.
    /// </remarks>
    public static class PolicyParser
    {
        /// <summary>Parses <paramref name="file"/>; the tree is null when there is a syntax error.</summary>
        public static ParseResult Parse(SourceFile file)
        {
            if (file == null)
            {
                throw new ArgumentNullException(nameof(file));
            }

            try
            {
                return new LineAssembler(file.Path ?? string.Empty, file.Text ?? string.Empty, file).Run();
            }
            catch (Exception exception)
            {
                // Last resort: the contract is "never throws on input", so a parser bug becomes a diagnostic, not a crash.
                return new ParseResult(null, new[] { SyntaxDiagnostics.InternalError(file.Path ?? string.Empty, exception.Message) });
            }
        }

        /// <summary>Nesting level of a line: which statements it may hold.</summary>
        private enum Level
        {
            File,
            Block,
            RegisterBody,
        }

        /// <summary>Nests parsed lines into the tree, one open block or register body per frame.</summary>
        private sealed class LineAssembler
        {
            private readonly string path;
            private readonly string text;
            private readonly SourceFile file;
            private readonly ParseSession session;
            private readonly List<Frame> frames = new List<Frame>();
            private readonly List<Diagnostic> diagnostics = new List<Diagnostic>();

            public LineAssembler(string path, string text, SourceFile file)
            {
                this.path = path;
                this.text = text;
                this.file = file;
                session = new ParseSession(path);
                frames.Add(new Frame(Level.File));
            }

            private Frame Top => frames[frames.Count - 1];

            public ParseResult Run()
            {
                int lineStart = 0;
                int lineNumber = 1;
                while (true)
                {
                    ProcessLine(lineStart, lineNumber);
                    int lineFeed = text.IndexOf('\n', lineStart);
                    if (lineFeed < 0)
                    {
                        break;
                    }

                    lineStart = lineFeed + 1;
                    lineNumber++;

                    // Garbage (a binary, a 100 MB file) must fail in moments with a readable report, not in minutes
                    // with a million lines: after the cap the parser stops and says where.
                    if (diagnostics.Count >= SyntaxDiagnostics.MaxErrors)
                    {
                        var here = new SourcePosition(lineStart, lineNumber, 1);
                        diagnostics.Add(SyntaxDiagnostics.TooManyErrors(new SourceSpan(path, here, here)));
                        break;
                    }
                }

                for (int i = 1; i < frames.Count; i++)
                {
                    ReportUnclosed(frames[i]);
                }

                var end = new SourcePosition(text.Length, lineNumber, text.Length - lineStart + 1);
                var sorted = diagnostics.OrderBy(d => d.Span.Start.Offset).ToArray();
                if (sorted.Any(d => d.IsError))
                {
                    return new ParseResult(null, sorted);
                }

                var root = frames[0];
                var policy = new PolicyFile(file, root.Items.ToArray(), root.TakeComments(), new SourceSpan(path, new SourcePosition(0, 1, 1), end));
                return new ParseResult(policy, sorted);
            }

            private void ProcessLine(int lineStart, int lineNumber)
            {
                Frame frame = Top;
                LineSyntax? line = ParseLine(frame.Level, lineStart, lineNumber, out Diagnostic? error);
                if (line != null)
                {
                    Apply(line);
                    return;
                }

                // A line the current level rejects but an outer level accepts: the user forgot the closing braces.
                // Not for an indented `default` line in a block: that is a block default written with a target
                // (`default gap …`), and its error belongs on that line. At column 1 it is a file-level default
                // after a block whose `}` is missing, as for every other file-level statement.
                int outermostTried = frame.Level == Level.Block && IsIndentedDefault(lineStart) ? frames.Count - 1 : 0;
                for (int depth = frames.Count - 2; depth >= outermostTried; depth--)
                {
                    LineSyntax? outer = ParseLine(frames[depth].Level, lineStart, lineNumber, out _);
                    if (outer != null)
                    {
                        while (frames.Count - 1 > depth)
                        {
                            ReportUnclosed(Pop());
                        }

                        Apply(outer);
                        return;
                    }
                }

                diagnostics.Add(error!);
                if (EndsWithOpenBrace(lineStart))
                {
                    // Keep nesting in step so the matching '}' closes this line's block instead of an outer one.
                    frames.Add(new Frame(LevelOpenedBy(lineStart, lineNumber, frame.Level)) { IsPlaceholder = true });
                }
            }

            private LineSyntax? ParseLine(Level level, int lineStart, int lineNumber, out Diagnostic? error)
            {
                session.Reset();
                var input = new SourceInput(session, text, lineStart, lineNumber, 1);
                Parser<LineSyntax> parser = level switch
                {
                    Level.File => PolicyGrammar.FileLine,
                    Level.Block => PolicyGrammar.BlockLine,
                    _ => PolicyGrammar.RegisterBodyLine,
                };
                IResult<LineSyntax> result = parser(input);
                if (session.Fault != null)
                {
                    error = session.Fault;
                    return null;
                }

                if (result.WasSuccessful)
                {
                    error = null;
                    return result.Value;
                }

                SourcePosition at = session.FurthestOffset >= 0
                    ? session.FurthestPosition
                    : new SourcePosition(result.Remainder.Position, result.Remainder.Line, result.Remainder.Column);
                IReadOnlyList<string> expected = session.FurthestOffset >= 0 ? session.Expected : result.Expectations.ToArray();
                string found = Lexical.DescribeTokenAt(text, at.Offset, out int length);
                var span = new SourceSpan(path, at, new SourcePosition(at.Offset + length, at.Line, at.Column + length));
                error = SyntaxDiagnostics.UnexpectedToken(span, found, expected);
                return null;
            }

            private void Apply(LineSyntax line)
            {
                Frame frame = Top;
                switch (line.Content)
                {
                    case null when line.Comment == null:
                        frame.BlankPending = true;
                        break;
                    case null:
                        frame.PendingComments.Add(line.Comment! with { BlankLineBefore = frame.BlankPending });
                        frame.BlankPending = false;
                        break;
                    case CloseBraceLine close when frame.Level == Level.File:
                        diagnostics.Add(SyntaxDiagnostics.UnmatchedClose(close.Span));
                        break;
                    case CloseBraceLine close:
                        Close(close, line.Comment);
                        break;
                    case BlockOpeningLine opening:
                        frames.Add(new Frame(Level.Block) { Opening = opening, Trivia = frame.TakeTrivia(line.Comment), OpenerSpan = opening.Span });
                        break;
                    case StatementLine { Statement: RegisterStatement { HasBody: true } register }:
                        frames.Add(new Frame(Level.RegisterBody) { Register = register, Trivia = frame.TakeTrivia(line.Comment), OpenerSpan = register.Span });
                        break;
                    case StatementLine statement:
                        frame.Items.Add(frame.TakeTrivia(line.Comment).AttachTo(statement.Statement));
                        break;
                }
            }

            private void Close(CloseBraceLine close, Comment? comment)
            {
                Frame frame = Pop();
                if (frame.IsPlaceholder)
                {
                    return;
                }

                Statement closed;
                if (frame.Opening != null)
                {
                    closed = new BlockStatement(
                        frame.Opening.Kind,
                        frame.Opening.Capability,
                        frame.Items.OfType<RegisterStatement>().ToArray(),
                        frame.TakeComments(),
                        PolicyGrammar.Join(frame.Opening.Span, close.Span))
                    {
                        ClosingLineComment = comment,
                        Defaults = frame.Items.OfType<BlockDefaultStatement>().ToArray(),
                    };
                }
                else
                {
                    RegisterStatement register = frame.Register!;
                    closed = register with
                    {
                        Fields = frame.Items.Cast<FieldStatement>().ToArray(),
                        ClosingComments = frame.TakeComments(),
                        ClosingLineComment = comment,
                        Span = PolicyGrammar.Join(register.Span, close.Span),
                    };
                }

                Top.Items.Add(frame.Trivia!.AttachTo(closed));
            }

            private Frame Pop()
            {
                Frame frame = Top;
                frames.RemoveAt(frames.Count - 1);
                return frame;
            }

            private void ReportUnclosed(Frame frame)
            {
                // A placeholder's opening line already has its own error; a second one would be noise.
                if (!frame.IsPlaceholder)
                {
                    SourceSpan opener = frame.OpenerSpan!;
                    diagnostics.Add(SyntaxDiagnostics.UnclosedBlock(opener, text.Substring(opener.Start.Offset, opener.Length)));
                }
            }

            /// <summary>The level inside a bad line ending in <c>{</c>: one deeper than the level where the line would be valid.</summary>
            private Level LevelOpenedBy(int lineStart, int lineNumber, Level current)
            {
                foreach (Level level in new[] { Level.File, Level.Block, Level.RegisterBody })
                {
                    if (level != current && ParseLine(level, lineStart, lineNumber, out _) != null)
                    {
                        return Deeper(level);
                    }
                }

                return Deeper(current);
            }

            private static Level Deeper(Level level) => level == Level.File ? Level.Block : Level.RegisterBody;

            /// <summary>True when the line is indented and its first word is <c>default</c>, or <c>override</c> followed by <c>default</c>.</summary>
            private bool IsIndentedDefault(int lineStart)
            {
                if (lineStart >= text.Length || (text[lineStart] != ' ' && text[lineStart] != '\t'))
                {
                    return false;
                }

                int position = lineStart;
                string first = NextWord(ref position);
                return first == "default" || (first == "override" && NextWord(ref position) == "default");
            }

            /// <summary>The word of letters, digits, <c>_</c> and <c>-</c> after spaces and tabs at <paramref name="position"/>; moves past it.</summary>
            private string NextWord(ref int position)
            {
                while (position < text.Length && (text[position] == ' ' || text[position] == '\t'))
                {
                    position++;
                }

                int start = position;
                while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] == '_' || text[position] == '-'))
                {
                    position++;
                }

                return text.Substring(start, position - start);
            }

            /// <summary>True when the line, without its comment, ends with <c>{</c> (quotes respected).</summary>
            private bool EndsWithOpenBrace(int lineStart)
            {
                char last = ' ';
                bool inString = false;
                for (int i = lineStart; i < text.Length && text[i] != '\n'; i++)
                {
                    char c = text[i];
                    if (inString)
                    {
                        if (c == '\\')
                        {
                            i++;
                        }
                        else if (c == '"')
                        {
                            inString = false;
                        }
                    }
                    else if (c == '"')
                    {
                        inString = true;
                    }
                    else if (c == '#')
                    {
                        break;
                    }
                    else if (c != ' ' && c != '\t' && c != '\r')
                    {
                        last = c;
                    }
                }

                return last == '{';
            }
        }

        /// <summary>An open block or register body (the root frame is the file).</summary>
        private sealed class Frame
        {
            public Frame(Level level)
            {
                Level = level;
            }

            public Level Level { get; }

            public BlockOpeningLine? Opening { get; init; }

            public RegisterStatement? Register { get; init; }

            public Trivia? Trivia { get; init; }

            public SourceSpan? OpenerSpan { get; init; }

            /// <summary>Stands for a bad line ending in <c>{</c>: its lines are checked, but nothing is built.</summary>
            public bool IsPlaceholder { get; init; }

            public List<Statement> Items { get; } = new List<Statement>();

            public List<Comment> PendingComments { get; } = new List<Comment>();

            public bool BlankPending { get; set; }

            /// <summary>The comments and blank lines above a statement, which then belong to it.</summary>
            public Trivia TakeTrivia(Comment? trailing)
            {
                Comment[] leading = TakeComments();
                bool blankBefore = leading.Length > 0 ? leading[0].BlankLineBefore : BlankPending;
                var trivia = new Trivia(leading, trailing, blankBefore, leading.Length > 0 && BlankPending);
                BlankPending = false;
                return trivia;
            }

            /// <summary>The comments since the last statement (closing comments of a block, trailing ones of the file).</summary>
            public Comment[] TakeComments()
            {
                Comment[] comments = PendingComments.ToArray();
                PendingComments.Clear();
                return comments;
            }
        }

        /// <summary>Comments and blank lines that belong to one statement.</summary>
        private sealed record Trivia(IReadOnlyList<Comment> Leading, Comment? Trailing, bool BlankLineBefore, bool BlankLineAfterLeadingComments)
        {
            public Statement AttachTo(Statement statement) => statement with
            {
                LeadingComments = Leading,
                TrailingComment = Trailing,
                BlankLineBefore = BlankLineBefore,
                BlankLineAfterLeadingComments = BlankLineAfterLeadingComments,
            };
        }
    }
}
