using System;
using System.Text;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>
    /// An indented text writer for generated C#: four spaces per level, '\n' line ends whatever the platform (so the
    /// generated text is the same everywhere), no trailing spaces. Only <see cref="CSharpLiteral"/>-made text and
    /// fixed code go through it; policy text never does unescaped.
    /// </summary>
    public sealed class SourceWriter
    {
        private readonly StringBuilder _text = new StringBuilder();
        private int _indent;

        /// <summary>Writes one line at the current indentation (an empty line has no indentation).</summary>
        public SourceWriter Line(string line = "")
        {
            if (line.IndexOf('\n') >= 0 || line.IndexOf('\r') >= 0)
            {
                throw new ArgumentException("A generated line must not contain a line break.", nameof(line));
            }

            if (line.Length > 0)
            {
                _text.Append(' ', _indent * 4).Append(line);
            }

            _text.Append('\n');
            return this;
        }

        /// <summary>Writes <c>{</c> and indents.</summary>
        public SourceWriter Open()
        {
            Line("{");
            _indent++;
            return this;
        }

        /// <summary>Unindents and writes <c>}</c> followed by <paramref name="suffix"/>.</summary>
        public SourceWriter Close(string suffix = "")
        {
            if (_indent == 0)
            {
                throw new InvalidOperationException("Close without Open.");
            }

            _indent--;
            return Line("}" + suffix);
        }

        /// <summary>Indents by one level until the returned scope is disposed.</summary>
        public IDisposable Indent()
        {
            _indent++;
            return new Scope(this);
        }

        /// <inheritdoc />
        public override string ToString() => _text.ToString();

        private sealed class Scope : IDisposable
        {
            private SourceWriter? _writer;

            public Scope(SourceWriter writer) => _writer = writer;

            public void Dispose()
            {
                if (_writer != null)
                {
                    _writer._indent--;
                    _writer = null;
                }
            }
        }
    }
}
