using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace VfioPolicy.Compiler.Diff
{
    /// <summary>A minimal indented JSON writer: properties come out in the order they are written, strings escaped per RFC 8259.</summary>
    internal sealed class JsonText
    {
        private readonly StringBuilder _text = new StringBuilder();
        private readonly Stack<bool> _hasItems = new Stack<bool>();
        private bool _afterName;

        public void BeginObject() => Open('{');

        public void EndObject() => Close('}');

        public void BeginArray() => Open('[');

        public void EndArray() => Close(']');

        public void Name(string name)
        {
            Separate();
            _text.Append(Quote(name)).Append(": ");
            _afterName = true;
        }

        public void Property(string name, string? value)
        {
            Name(name);
            Value(value);
        }

        public void Property(string name, int? value)
        {
            Name(name);
            if (value is int number)
            {
                Raw(number.ToString(CultureInfo.InvariantCulture));
            }
            else
            {
                Null();
            }
        }

        public void Value(string? value) => Raw(value == null ? "null" : Quote(value));

        public void Null() => Raw("null");

        public override string ToString() => _text.ToString() + "\n";

        private void Raw(string token)
        {
            Separate();
            _text.Append(token);
        }

        private void Open(char bracket)
        {
            Separate();
            _text.Append(bracket);
            _hasItems.Push(false);
        }

        private void Close(char bracket)
        {
            bool hadItems = _hasItems.Pop();
            if (hadItems)
            {
                _text.Append('\n').Append(' ', _hasItems.Count * 2);
            }

            _text.Append(bracket);
        }

        // Every value or name starts a new line at its depth, after a comma when it is not the first; a value right
        // after its name stays on the name's line.
        private void Separate()
        {
            if (_afterName)
            {
                _afterName = false;
                return;
            }

            if (_hasItems.Count == 0)
            {
                return;
            }

            if (_hasItems.Peek())
            {
                _text.Append(',');
            }

            _hasItems.Pop();
            _hasItems.Push(true);
            _text.Append('\n').Append(' ', _hasItems.Count * 2);
        }

        private static string Quote(string value)
        {
            var quoted = new StringBuilder(value.Length + 2);
            quoted.Append('"');
            foreach (char c in value)
            {
                switch (c)
                {
                    case '"': quoted.Append("\\\""); break;
                    case '\\': quoted.Append("\\\\"); break;
                    case '\n': quoted.Append("\\n"); break;
                    case '\r': quoted.Append("\\r"); break;
                    case '\t': quoted.Append("\\t"); break;
                    default:
                        if (c < 0x20)
                        {
                            quoted.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        }
                        else
                        {
                            quoted.Append(c);
                        }

                        break;
                }
            }

            return quoted.Append('"').ToString();
        }
    }
}
