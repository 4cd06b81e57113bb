using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
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

        /// <summary>Writes <paramref name="value"/> as an expression: <paramref name="prefix"/>, the expression, <paramref name="suffix"/>.</summary>
        /// <exception cref="NotSupportedException">The value has a type the serializer cannot rebuild.</exception>
        public static void Write(SourceWriter writer, object? value, string prefix, string suffix)
        {
            string? inline = Inline(value);

            // A scalar (string, number, enum, null) has no parts to break over lines: it is written on one line
            // however long it is, so a long policy name or rule text never falls through to the composite cases.
            if (inline != null && (prefix.Length + inline.Length + suffix.Length <= InlineLimit || !IsComposite(value)))
            {
                writer.Line(prefix + inline + suffix);
                return;
            }

            if (value != null && IsEquatableArray(value.GetType()))
            {
                Type element = value.GetType().GetGenericArguments()[0];
                writer.Line(prefix + "new " + TypeName(value.GetType()) + "(new " + TypeName(element) + "[]");
                writer.Open();
                foreach (object? item in (IEnumerable)value)
                {
                    Write(writer, item, string.Empty, ",");
                }

                writer.Close(")" + suffix);
                return;
            }

            if (value != null && IsRecord(value.GetType(), out ConstructorInfo? constructor, out PropertyInfo[] extra))
            {
                ParameterInfo[] parameters = constructor!.GetParameters();
                writer.Line(prefix + "new " + TypeName(value.GetType()) + "(");
                using (writer.Indent())
                {
                    for (int i = 0; i < parameters.Length; i++)
                    {
                        object? argument = PropertyFor(value.GetType(), parameters[i]).GetValue(value);
                        Write(writer, argument, parameters[i].Name + ": ", i + 1 < parameters.Length ? "," : string.Empty);
                    }
                }

                if (extra.Length == 0)
                {
                    writer.Line(")" + suffix);
                    return;
                }

                writer.Line(")");
                writer.Open();
                foreach (PropertyInfo property in extra)
                {
                    Write(writer, property.GetValue(value), property.Name + " = ", ",");
                }

                writer.Close(suffix);
                return;
            }

            throw new NotSupportedException("The model serializer cannot rebuild a value of type " + (value?.GetType().FullName ?? "null") + ".");
        }

        /// <summary>The one-line expression for <paramref name="value"/>, or null when it has parts that need several lines.</summary>
        private static string? Inline(object? value)
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

            Type type = value.GetType();
            if (IsEquatableArray(type))
            {
                var items = ((IEnumerable)value).Cast<object?>().ToList();
                if (items.Count == 0)
                {
                    return TypeName(type) + ".Empty";
                }

                var parts = items.Select(Inline).ToList();
                return parts.Any(p => p == null)
                    ? null
                    : "new " + TypeName(type) + "(new " + TypeName(type.GetGenericArguments()[0]) + "[] { " + string.Join(", ", parts) + " })";
            }

            if (IsRecord(type, out ConstructorInfo? constructor, out PropertyInfo[] extra) && extra.Length == 0)
            {
                var arguments = new List<string>();
                foreach (ParameterInfo parameter in constructor!.GetParameters())
                {
                    string? argument = Inline(PropertyFor(type, parameter).GetValue(value));
                    if (argument == null)
                    {
                        return null;
                    }

                    arguments.Add(argument);
                }

                return "new " + TypeName(type) + "(" + string.Join(", ", arguments) + ")";
            }

            return null;
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
            => value != null && (IsEquatableArray(value.GetType()) || IsRecord(value.GetType(), out _, out _));

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

        private static PropertyInfo PropertyFor(Type type, ParameterInfo parameter) => FindProperty(type, parameter)!;

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
    }
}
