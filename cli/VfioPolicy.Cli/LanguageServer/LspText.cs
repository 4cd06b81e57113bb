using System;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VfioPolicy.Cli.LanguageServer
{
    /// <summary>
    /// LSP positions, ranges and URIs, and defensive reads of request parameters. Clients send what they send: every
    /// read here returns null for a missing or mistyped member rather than throwing, so a bad request gets an empty
    /// answer and the server keeps running.
    /// </summary>
    internal static class LspText
    {
        /// <summary>The character offset of a 0-based LSP line/character in <paramref name="text"/>; a character past the line's end is clamped to it (as the spec asks), a line past the text's end gives null.</summary>
        public static int? ToOffset(string text, int line, int character)
        {
            if (line < 0 || character < 0)
            {
                return null;
            }

            int start = 0;
            for (int i = 0; i < line; i++)
            {
                int next = text.IndexOf('\n', start);
                if (next < 0)
                {
                    return null;
                }

                start = next + 1;
            }

            int end = text.IndexOf('\n', start);
            if (end < 0)
            {
                end = text.Length;
            }

            if (end > start && text[end - 1] == '\r')
            {
                end--;
            }

            return Math.Min(start + character, end);
        }

        /// <summary>The 0-based LSP line and character of <paramref name="offset"/>.</summary>
        public static (int Line, int Character) ToPosition(string text, int offset)
        {
            offset = Math.Clamp(offset, 0, text.Length);
            int line = 0;
            int lineStart = 0;
            for (int i = 0; i < offset; i++)
            {
                if (text[i] == '\n')
                {
                    line++;
                    lineStart = i + 1;
                }
            }

            return (line, offset - lineStart);
        }

        /// <summary>An LSP position object.</summary>
        public static JsonObject Position(int line, int character) => new JsonObject { ["line"] = Math.Max(0, line), ["character"] = Math.Max(0, character) };

        /// <summary>An LSP range object.</summary>
        public static JsonObject Range(int startLine, int startCharacter, int endLine, int endCharacter)
            => new JsonObject { ["start"] = Position(startLine, startCharacter), ["end"] = Position(endLine, endCharacter) };

        /// <summary>The compiler's 1-based line:column span as a 0-based LSP range.</summary>
        public static JsonObject Range(Grammar.Text.SourceSpan span)
        {
            int endLine = span.End.Line > 0 ? span.End.Line : span.Start.Line;
            int endColumn = span.End.Line > 0 ? span.End.Column : span.Start.Column;
            return Range(span.Start.Line - 1, span.Start.Column - 1, endLine - 1, endColumn - 1);
        }

        /// <summary>An LSP location: a file and a range.</summary>
        public static JsonObject Location(string uri, JsonObject range) => new JsonObject { ["uri"] = uri, ["range"] = range };

        /// <summary>The local path of a <c>file:</c> URI, or null for any other URI or garbage.</summary>
        public static string? PathOf(string? uri)
        {
            if (uri is null || !Uri.TryCreate(uri, UriKind.Absolute, out Uri? parsed) || !parsed.IsFile)
            {
                return null;
            }

            return parsed.LocalPath;
        }

        /// <summary>The <c>file:</c> URI of an absolute path.</summary>
        public static string UriOf(string absolutePath) => new Uri(absolutePath).AbsoluteUri;

        /// <summary>A member of an object, or null when the element is not an object or lacks it.</summary>
        public static JsonElement? Member(JsonElement? element, string name)
            => element is { ValueKind: JsonValueKind.Object } value && value.TryGetProperty(name, out JsonElement member) && member.ValueKind != JsonValueKind.Null ? member : null;

        /// <summary>A string member, or null.</summary>
        public static string? String(JsonElement? element, string name)
            => Member(element, name) is { ValueKind: JsonValueKind.String } value ? value.GetString() : null;

        /// <summary>An integer member, or null.</summary>
        public static int? Int(JsonElement? element, string name)
            => Member(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out int number) ? number : null;

        /// <summary><c>params.textDocument.uri</c>.</summary>
        public static string? DocumentUri(JsonElement? parameters) => String(Member(parameters, "textDocument"), "uri");

        /// <summary><c>params.position</c> as line and character, or null.</summary>
        public static (int Line, int Character)? PositionOf(JsonElement? parameters)
        {
            JsonElement? position = Member(parameters, "position");
            return Int(position, "line") is int line && Int(position, "character") is int character ? (line, character) : null;
        }
    }
}
