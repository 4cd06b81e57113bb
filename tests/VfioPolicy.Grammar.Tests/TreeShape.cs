using System.Collections;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>
    /// A syntax tree as text without positions: every node's type and properties, spans and the source left out.
    /// Two trees with equal shapes say the same thing, however they were laid out.
    /// </summary>
    public static class TreeShape
    {
        public static string Of(SyntaxNode node)
        {
            var text = new StringBuilder();
            Write(text, node, 0);
            return text.ToString();
        }

        private static void Write(StringBuilder text, object? value, int depth)
        {
            switch (value)
            {
                case null:
                    text.Append("null");
                    break;
                case string s:
                    text.Append('"').Append(s).Append('"');
                    break;
                case SyntaxNode node:
                    text.Append(node.GetType().Name).Append(" {");
                    foreach (PropertyInfo property in node.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance)
                        .Where(p => p.Name != nameof(SyntaxNode.Span) && p.PropertyType != typeof(SourceFile))
                        .OrderBy(p => p.Name, System.StringComparer.Ordinal))
                    {
                        text.Append('\n').Append(' ', (depth + 1) * 2).Append(property.Name).Append(" = ");
                        Write(text, property.GetValue(node), depth + 1);
                    }

                    text.Append(" }");
                    break;
                case IEnumerable items:
                    text.Append('[');
                    foreach (object? item in items)
                    {
                        text.Append('\n').Append(' ', (depth + 1) * 2);
                        Write(text, item, depth + 1);
                    }

                    text.Append(" ]");
                    break;
                default:
                    text.Append(System.Convert.ToString(value, CultureInfo.InvariantCulture));
                    break;
            }
        }
    }
}
