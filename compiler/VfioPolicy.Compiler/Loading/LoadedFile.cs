using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Loading
{
    /// <summary>A parsed file of the include graph, at its place in include order.</summary>
    internal sealed class LoadedFile
    {
        private readonly int[] _lineStarts;

        public LoadedFile(string path, PolicyFile syntax)
        {
            Path = path;
            Syntax = syntax;
            IsComplete = false;
            foreach (Statement statement in syntax.Statements)
            {
                IsComplete |= statement is PolicyStatement;
            }

            _lineStarts = ComputeLineStarts(syntax.Source.Text);
        }

        /// <summary>The normalised path, as diagnostics and origins show it.</summary>
        public string Path { get; }

        public PolicyFile Syntax { get; }

        /// <summary>True when the file has a <c>policy</c> line; otherwise it is a library fragment.</summary>
        public bool IsComplete { get; }

        /// <summary>The text of 1-based <paramref name="line"/>, without its line break; <paramref name="endColumn"/> (exclusive, 1-based) cuts a trailing comment off.</summary>
        public string LineText(int line, int endColumn = int.MaxValue)
        {
            string text = Syntax.Source.Text;
            if (line < 1 || line > _lineStarts.Length)
            {
                return string.Empty;
            }

            int start = _lineStarts[line - 1];
            int end = start;
            while (end < text.Length && text[end] != '\n' && text[end] != '\r')
            {
                end++;
            }

            if (endColumn != int.MaxValue)
            {
                end = Math.Min(end, start + Math.Max(0, endColumn - 1));
            }

            return text.Substring(start, end - start);
        }

        private static int[] ComputeLineStarts(string text)
        {
            var starts = new List<int> { 0 };
            for (int i = 0; i < text.Length; i++)
            {
                if (text[i] == '\n')
                {
                    starts.Add(i + 1);
                }
                else if (text[i] == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n'))
                {
                    starts.Add(i + 1);
                }
            }

            return starts.ToArray();
        }

        /// <summary>The origin of <paramref name="statement"/>: its first line as written, without a trailing comment, trimmed.</summary>
        public RuleOrigin OriginOf(Statement statement) => OriginAt(statement.Span, statement.TrailingComment);

        /// <summary>The origin of a node at <paramref name="span"/>, cutting <paramref name="trailingComment"/> off its line.</summary>
        public RuleOrigin OriginAt(SourceSpan span, Comment? trailingComment)
        {
            int line = span.Start.Line;
            int cut = trailingComment != null && trailingComment.Span.Start.Line == line ? trailingComment.Span.Start.Column : int.MaxValue;
            return new RuleOrigin(Path, line, span.Start.Column, LineText(line, cut).Trim());
        }
    }
}
