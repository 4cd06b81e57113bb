using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>
    /// Turns policy text into C# text that cannot be anything but what it is meant to be: string literals escape
    /// every character outside printable ASCII, comments and XML docs keep only printable ASCII (so no line break,
    /// <c>*/</c>, directive or markup can escape them), identifiers keep only letters and digits. Policy files are
    /// input, and input must never become code.
    /// </summary>
    public static class CSharpLiteral
    {
        private static readonly HashSet<string> Keywords = new HashSet<string>(System.StringComparer.Ordinal)
        {
            "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
            "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
            "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
            "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
            "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
            "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
            "using", "virtual", "void", "volatile", "while", "__arglist", "__makeref", "__reftype", "__refvalue",
        };

        /// <summary>A regular C# string literal of <paramref name="value"/>; everything but printable ASCII other than <c>"</c> and <c>\</c> is a <c>\uXXXX</c> escape.</summary>
        public static string String(string value)
        {
            var text = new StringBuilder(value.Length + 2);
            text.Append('"');
            foreach (char c in value)
            {
                if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
                {
                    text.Append(c);
                }
                else
                {
                    text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                }
            }

            return text.Append('"').ToString();
        }

        /// <summary>An <c>int</c> literal.</summary>
        public static string Int(int value)
            => value == int.MinValue ? "int.MinValue" : value.ToString(CultureInfo.InvariantCulture);

        /// <summary>A <c>long</c> literal.</summary>
        public static string Long(long value)
            => value == long.MinValue ? "long.MinValue" : value.ToString(CultureInfo.InvariantCulture) + "L";

        /// <summary>A <c>uint</c> literal in hex, 8 digits with a separator: <c>0x0000_ffffu</c>.</summary>
        public static string UInt(uint value)
        {
            string hex = value.ToString("x8", CultureInfo.InvariantCulture);
            return "0x" + hex.Substring(0, 4) + "_" + hex.Substring(4) + "u";
        }

        /// <summary>
        /// Text safe inside a <c>//</c> comment: printable ASCII only (anything else, backslash included, becomes
        /// <c>U+XXXX</c>), so no line break, Unicode escape or directive can end the comment.
        /// </summary>
        public static string Comment(string value)
        {
            var text = new StringBuilder(value.Length);
            foreach (char c in value)
            {
                if (c >= 0x20 && c < 0x7F && c != '\\')
                {
                    text.Append(c);
                }
                else
                {
                    text.Append("U+").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                }
            }

            return text.ToString();
        }

        /// <summary>Text safe inside an XML doc comment: <see cref="Comment"/> plus XML escapes for <c>&amp;</c>, <c>&lt;</c> and <c>&gt;</c>.</summary>
        public static string Xml(string value)
            => Comment(value).Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

        /// <summary>
        /// A PascalCase identifier from <paramref name="name"/>: ASCII letters and digits only, words split at every
        /// other character; a leading digit gets an underscore; an empty result becomes <paramref name="fallback"/>;
        /// a keyword is prefixed with <c>@</c>.
        /// </summary>
        public static string Identifier(string name, string fallback)
        {
            var text = new StringBuilder(name.Length);
            bool upper = true;
            foreach (char c in name)
            {
                bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                bool digit = c >= '0' && c <= '9';
                if (!letter && !digit)
                {
                    upper = true;
                    continue;
                }

                text.Append(upper ? char.ToUpperInvariant(c) : c);
                upper = false;
            }

            string identifier = text.Length == 0 ? fallback : text.ToString();
            if (identifier[0] >= '0' && identifier[0] <= '9')
            {
                identifier = "_" + identifier;
            }

            return Keywords.Contains(identifier) ? "@" + identifier : identifier;
        }

        /// <summary>A stable 8-hex-digit FNV-1a hash of <paramref name="value"/>'s UTF-16 code units: the collision suffix of names.</summary>
        public static string StableHash(string value)
        {
            unchecked
            {
                uint hash = 2166136261;
                foreach (char c in value)
                {
                    hash = (hash ^ c) * 16777619;
                }

                return hash.ToString("x8", CultureInfo.InvariantCulture);
            }
        }
    }
}
