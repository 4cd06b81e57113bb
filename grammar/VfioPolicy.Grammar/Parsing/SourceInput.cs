using System;
using System.Collections.Generic;
using System.Globalization;
using Sprache;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Parsing
{
    /// <summary>
    /// State shared by every input position of one line's parse: the file path (spans need it) and the error
    /// bookkeeping Sprache does not do. Sprache forgets why an optional part or a repetition stopped, so on its own
    /// it would report <c>expected end of line</c> where the user mistyped <c>behaviour</c>. Every leaf parser records
    /// what it expected where it failed; the failure furthest into the line, with everything expected there, is the
    /// error (the classic "furthest failure" rule of PEG parsers).
    /// </summary>
    internal sealed class ParseSession
    {
        private readonly List<string> expected = new List<string>();

        public ParseSession(string path)
        {
            Path = path;
        }

        /// <summary>The file's path, copied into every span.</summary>
        public string Path { get; }

        /// <summary>Offset of the furthest failure so far, or -1.</summary>
        public int FurthestOffset { get; private set; } = -1;

        /// <summary>Position of the furthest failure.</summary>
        public SourcePosition FurthestPosition { get; private set; }

        /// <summary>Everything expected at <see cref="FurthestPosition"/>, in the order tried, without duplicates.</summary>
        public IReadOnlyList<string> Expected => expected;

        /// <summary>
        /// A lexical error (bad number, unterminated string). Parsers that find one fail without backtracking, so the
        /// first fault is always the line's error.
        /// </summary>
        public Diagnostic? Fault { get; private set; }

        /// <summary>Forgets everything recorded: a new line starts.</summary>
        public void Reset()
        {
            expected.Clear();
            FurthestOffset = -1;
            FurthestPosition = default;
            Fault = null;
        }

        /// <summary>Records that <paramref name="description"/> was expected at <paramref name="at"/>.</summary>
        public void Expect(IInput at, string description)
        {
            if (at.Position > FurthestOffset)
            {
                FurthestOffset = at.Position;
                FurthestPosition = new SourcePosition(at.Position, at.Line, at.Column);
                expected.Clear();
            }

            if (at.Position == FurthestOffset && !expected.Contains(description))
            {
                expected.Add(description);
            }
        }

        /// <summary>Records a lexical error; only the first one counts.</summary>
        public void ReportFault(Diagnostic diagnostic)
        {
            if (Fault == null)
            {
                Fault = diagnostic;
            }
        }
    }

    /// <summary>
    /// A Sprache input over the whole file text that can start at any line (Sprache's own <c>Input</c> starts at
    /// offset 0 only), so every span Sprache reports is already the absolute file position.
    /// </summary>
    internal sealed class SourceInput : IInput
    {
        private readonly int position;
        private readonly int line;
        private readonly int column;
        private IDictionary<object, object>? memos;

        public SourceInput(ParseSession session, string source, int position, int line, int column)
        {
            Session = session;
            Source = source;
            this.position = position;
            this.line = line;
            this.column = column;
        }

        /// <summary>The parse this input belongs to.</summary>
        public ParseSession Session { get; }

        /// <inheritdoc />
        public string Source { get; }

        /// <inheritdoc />
        public char Current => Source[position];

        /// <inheritdoc />
        public bool AtEnd => position >= Source.Length;

        /// <inheritdoc />
        public int Position => position;

        /// <inheritdoc />
        public int Line => line;

        /// <inheritdoc />
        public int Column => column;

        /// <inheritdoc />
        public IDictionary<object, object> Memos => memos ??= new Dictionary<object, object>();

        /// <summary>The session of a Sprache input this grammar created.</summary>
        public static ParseSession SessionOf(IInput input)
            => input is SourceInput source ? source.Session : throw new InvalidOperationException("The policy grammar runs only on a SourceInput.");

        /// <inheritdoc />
        public IInput Advance()
        {
            if (AtEnd)
            {
                throw new InvalidOperationException("The input is already at the end of the source.");
            }

            return Current == '\n'
                ? new SourceInput(Session, Source, position + 1, line + 1, 1)
                : new SourceInput(Session, Source, position + 1, line, column + 1);
        }

        /// <inheritdoc />
        public bool Equals(IInput? other) => other is SourceInput input && input.position == position && ReferenceEquals(input.Source, Source);

        /// <inheritdoc />
        public override bool Equals(object? obj) => Equals(obj as IInput);

        /// <inheritdoc />
        public override int GetHashCode() => position;

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "line {0}, column {1}", line, column);
    }
}
