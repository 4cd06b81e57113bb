using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>
    /// Writes a model value as a C# expression that rebuilds it: records through their primary constructor (named
    /// arguments, one per property; settable properties the constructor does not take go into an object initializer),
    /// <see cref="EquatableArray{T}"/> through an array, enums by member name, strings through
    /// <see cref="CSharpLiteral.String"/>. It is driven by reflection over the model's shape rather than a list of
    /// types, so a member added to the model is serialised without touching the emitter; a type it does not know how
    /// to rebuild is an error at generation time, never silently dropped data.
    /// </summary>
    public static class ModelSerializer
    {
        private const int InlineLimit = 150;

        // The reflected shape of each type, found once: the serializer visits every node of a model, and reflecting
        // per node (constructors, properties, names) was most of the generator's time and allocation.
        private static readonly ConcurrentDictionary<Type, Shape> Shapes = new ConcurrentDictionary<Type, Shape>();

        /// <summary>Writes <paramref name="value"/> as an expression: <paramref name="prefix"/>, the expression, <paramref name="suffix"/>.</summary>
        /// <exception cref="NotSupportedException">The value has a type the serializer cannot rebuild.</exception>
        public static void Write(SourceWriter writer, object? value, string prefix, string suffix)
        {
            // Only an inline form that fits is used for a composite, so building one stops as soon as it cannot fit.
            string? inline = Inline(value, InlineLimit - prefix.Length - suffix.Length);

            // A scalar (string, number, enum, null) has no parts to break over lines: it is written on one line
            // however long it is, so a long policy name or rule text never falls through to the composite cases.
            if (inline != null && (prefix.Length + inline.Length + suffix.Length <= InlineLimit || !IsComposite(value)))
            {
                writer.Line(prefix + inline + suffix);
                return;
            }

            Shape? shape = value == null ? null : ShapeOf(value.GetType());
            if (shape != null && shape.IsEquatableArray)
            {
                writer.Line(prefix + "new " + shape.TypeName + "(new " + shape.ElementTypeName + "[]");
                writer.Open();
                foreach (object? item in (IEnumerable)value!)
                {
                    Write(writer, item, string.Empty, ",");
                }

                writer.Close(")" + suffix);
                return;
            }

            if (shape != null && shape.IsRecord)
            {
                writer.Line(prefix + "new " + shape.TypeName + "(");
                using (writer.Indent())
                {
                    for (int i = 0; i < shape.Parameters.Length; i++)
                    {
                        object? argument = shape.Parameters[i].GetValue(value);
                        Write(writer, argument, shape.ParameterNames[i] + ": ", i + 1 < shape.Parameters.Length ? "," : string.Empty);
                    }
                }

                if (shape.Extra.Length == 0)
                {
                    writer.Line(")" + suffix);
                    return;
                }

                writer.Line(")");
                writer.Open();
                foreach (PropertyInfo property in shape.Extra)
                {
                    Write(writer, property.GetValue(value), property.Name + " = ", ",");
                }

                writer.Close(suffix);
                return;
            }

            throw new NotSupportedException("The model serializer cannot rebuild a value of type " + (value?.GetType().FullName ?? "null") + ".");
        }

        /// <summary>
        /// The one-line expression for <paramref name="value"/>; null when it has parts that need several lines, or when
        /// it is an array or a record whose expression would be longer than <paramref name="budget"/> (a scalar is
        /// returned whatever its length).
        /// </summary>
        private static string? Inline(object? value, int budget)
        {
            switch (value)
            {
                case null:
                    return "null";
                case string text:
                    return CSharpLiteral.String(text);
                case bool flag:
                    return flag ? "true" : "false";
                case int number:
                    return CSharpLiteral.Int(number);
                case uint number:
                    return CSharpLiteral.UInt(number);
                case long number:
                    return CSharpLiteral.Long(number);
                case Enum member:
                    return EnumMember(member);
            }

            Shape shape = ShapeOf(value.GetType());
            if (shape.IsEquatableArray)
            {
                var items = (IEnumerable)value;
                var text = new StringBuilder();
                bool first = true;
                foreach (object? item in items)
                {
                    text.Append(first ? "new " + shape.TypeName + "(new " + shape.ElementTypeName + "[] { " : ", ");
                    first = false;
                    if (!AppendWithin(text, item, budget))
                    {
                        return null;
                    }
                }

                if (first)
                {
                    return shape.TypeName + ".Empty";
                }

                text.Append(" })");
                return text.Length <= budget ? text.ToString() : null;
            }

            if (shape.IsRecord && shape.Extra.Length == 0)
            {
                var text = new StringBuilder("new ").Append(shape.TypeName).Append('(');
                for (int i = 0; i < shape.Parameters.Length; i++)
                {
                    if (i > 0)
                    {
                        text.Append(", ");
                    }

                    if (!AppendWithin(text, shape.Parameters[i].GetValue(value), budget))
                    {
                        return null;
                    }
                }

                text.Append(')');
                return text.Length <= budget ? text.ToString() : null;
            }

            return null;
        }

        /// <summary>Appends the inline form of <paramref name="part"/>; false when it has none or the text no longer fits in <paramref name="budget"/>.</summary>
        private static bool AppendWithin(StringBuilder text, object? part, int budget)
        {
            if (text.Length > budget)
            {
                return false;
            }

            string? inline = Inline(part, budget - text.Length);
            if (inline == null)
            {
                return false;
            }

            text.Append(inline);
            return text.Length <= budget;
        }

        private static string EnumMember(Enum member)
        {
            Type type = member.GetType();
            string? name = Enum.GetName(type, member);
            return name != null
                ? TypeName(type) + "." + name
                : "(" + TypeName(type) + ")" + Convert.ToInt64(member, System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Whether <paramref name="value"/> is an array or a record, whose parts can be written over several lines.</summary>
        private static bool IsComposite(object? value)
            => value != null && !(value is string) && !(value is Enum) && !value.GetType().IsPrimitive && (ShapeOf(value.GetType()).IsEquatableArray || ShapeOf(value.GetType()).IsRecord);

        private static Shape ShapeOf(Type type) => Shapes.GetOrAdd(type, t => new Shape(t));

        private static bool IsEquatableArray(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(EquatableArray<>);

        /// <summary>
        /// A record (or any class) rebuilt through its public constructor with the most parameters, each of which
        /// matches a readable property by name; <paramref name="extra"/> are public settable properties it does not take.
        /// </summary>
        private static bool IsRecord(Type type, out ConstructorInfo? constructor, out PropertyInfo[] extra)
        {
            constructor = type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
                .Where(c => c.GetParameters().All(p => p.ParameterType != type && FindProperty(type, p) != null))
                .OrderByDescending(c => c.GetParameters().Length)
                .FirstOrDefault();
            if (constructor == null)
            {
                extra = Array.Empty<PropertyInfo>();
                return false;
            }

            var taken = new HashSet<string>(constructor.GetParameters().Select(p => p.Name ?? string.Empty), StringComparer.OrdinalIgnoreCase);
            extra = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanRead && p.GetSetMethod() != null && p.GetIndexParameters().Length == 0 && !taken.Contains(p.Name))
                .OrderBy(p => p.MetadataToken)
                .ToArray();
            return true;
        }

        private static PropertyInfo? FindProperty(Type type, ParameterInfo parameter)
            => type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .FirstOrDefault(p => string.Equals(p.Name, parameter.Name, StringComparison.OrdinalIgnoreCase) && p.CanRead && p.GetIndexParameters().Length == 0);

        /// <summary>The fully qualified C# name of <paramref name="type"/>.</summary>
        public static string TypeName(Type type)
        {
            if (type.IsGenericType)
            {
                string definition = type.GetGenericTypeDefinition().FullName ?? type.Name;
                definition = definition.Substring(0, definition.IndexOf('`'));
                return "global::" + definition.Replace('+', '.') + "<" + string.Join(", ", type.GetGenericArguments().Select(TypeName)) + ">";
            }

            if (type == typeof(string))
            {
                return "string";
            }

            if (type == typeof(int))
            {
                return "int";
            }

            if (type == typeof(uint))
            {
                return "uint";
            }

            if (type == typeof(bool))
            {
                return "bool";
            }

            if (type == typeof(long))
            {
                return "long";
            }

            return "global::" + (type.FullName ?? type.Name).Replace('+', '.');
        }

        /// <summary>What the serializer needs of one type, reflected once.</summary>
        private sealed class Shape
        {
            public Shape(Type type)
            {
                TypeName = ModelSerializer.TypeName(type);
                IsEquatableArray = ModelSerializer.IsEquatableArray(type);
                ElementTypeName = IsEquatableArray ? ModelSerializer.TypeName(type.GetGenericArguments()[0]) : string.Empty;
                IsRecord = !IsEquatableArray && ModelSerializer.IsRecord(type, out ConstructorInfo? constructor, out PropertyInfo[] extra) && constructor != null;
                if (IsRecord)
                {
                    ModelSerializer.IsRecord(type, out constructor, out extra);
                    ParameterInfo[] parameters = constructor!.GetParameters();
                    Parameters = parameters.Select(p => FindProperty(type, p)!).ToArray();
                    ParameterNames = parameters.Select(p => p.Name ?? string.Empty).ToArray();
                    Extra = extra;
                }
                else
                {
                    Parameters = Array.Empty<PropertyInfo>();
                    ParameterNames = Array.Empty<string>();
                    Extra = Array.Empty<PropertyInfo>();
                }
            }

            public string TypeName { get; }

            public bool IsEquatableArray { get; }

            public string ElementTypeName { get; }

            public bool IsRecord { get; }

            /// <summary>The property read for each constructor parameter, in parameter order.</summary>
            public PropertyInfo[] Parameters { get; }

            public string[] ParameterNames { get; }

            public PropertyInfo[] Extra { get; }
        }
    }
}
