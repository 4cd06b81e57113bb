using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Grammar.Parsing;

namespace VfioPolicy.Cli.LanguageServer
{
    /// <summary>
    /// Completion from the text before the cursor, not the syntax tree: while typing, the document rarely parses. The
    /// enclosing block comes from the opening lines (<c>capability X {</c>, <c>register NAME … {</c>) and closing
    /// <c>}</c> lines above the cursor; the word before the cursor says whether a capability, register or field name fits.
    /// </summary>
    internal static class CompletionProvider
    {
        // LSP CompletionItemKind values.
        private const int FieldKind = 5;
        private const int ClassKind = 7;
        private const int PropertyKind = 10;
        private const int KeywordKind = 14;

        /// <summary>Words a <c>default</c> line takes as its target; the compiler (not the grammar) knows them.</summary>
        private static readonly string[] DefaultTargets = { "header", "capability", "gap", "unknown-capability" };

        private static readonly Regex Opening = new Regex(
            @"^\s*(?:override\s+)?(?<kind>header|device-specific|capability|extended-capability|register)\b(?:\s+(?<name>[A-Za-z0-9_]+))?(?:\s+(?<width>u8|u16|u32)\s+(?<named>[A-Za-z_][A-Za-z0-9_]*))?.*\{\s*$",
            RegexOptions.CultureInvariant);

        private sealed record Frame(string Kind, string? Name);

        public static JsonArray Complete(string text, int offset)
        {
            int lineStart = text.LastIndexOf('\n', Math.Max(0, offset - 1)) + 1;
            if (offset == 0)
            {
                lineStart = 0;
            }

            string prefix = text.Substring(lineStart, offset - lineStart);
            List<Frame> frames = Frames(text.Substring(0, lineStart));
            Frame? block = frames.FirstOrDefault(f => f.Kind != "register");
            Frame? register = frames.Count > 0 && frames[^1].Kind == "register" ? frames[^1] : null;
            BlockCatalog? catalogue = Catalogue(block);
            RegisterInfo? registerInfo = register?.Name is string registerName ? catalogue?.FindRegister(registerName) : null;

            var items = new JsonArray();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            void Add(string label, int kind, string? detail, string rank)
            {
                if (seen.Add(label))
                {
                    var item = new JsonObject { ["label"] = label, ["kind"] = kind, ["sortText"] = rank + label };
                    if (detail is not null)
                    {
                        item["detail"] = detail;
                    }

                    items.Add(item);
                }
            }

            string[] words = prefix.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            bool typingWord = prefix.Length > 0 && !char.IsWhiteSpace(prefix[^1]);
            string? previous = words.Length - (typingWord ? 2 : 1) is int index && index >= 0 ? words[index] : null;

            // `when REG.` and `field ` name fields; `capability ` names capabilities; `register ` names registers.
            Match dotted = Regex.Match(prefix, @"\bwhen\s+(?<register>[A-Za-z0-9_]+)\.[A-Za-z0-9_]*$", RegexOptions.CultureInvariant);
            if (dotted.Success)
            {
                foreach (FieldInfo field in catalogue?.FindRegister(dotted.Groups["register"].Value)?.Fields ?? Array.Empty<FieldInfo>())
                {
                    Add(field.Name, FieldKind, Bits(field), "0");
                }

                return items;
            }

            if (previous is "capability" or "extended-capability")
            {
                bool extended = previous == "extended-capability";
                foreach (BlockCatalog capability in RegisterCatalog.Capabilities.Where(c => c.Extended == extended))
                {
                    Add(capability.Name, ClassKind, (extended ? "extended capability 0x" : "capability 0x") + capability.Id.ToString("x2", System.Globalization.CultureInfo.InvariantCulture), "0");
                }

                return items;
            }

            if (previous == "default")
            {
                foreach (string target in DefaultTargets)
                {
                    Add(target, KeywordKind, "default target", "0");
                }
            }

            if (register is not null && registerInfo is not null)
            {
                foreach (FieldInfo field in registerInfo.Fields)
                {
                    Add(field.Name, FieldKind, Bits(field) + " of " + registerInfo.Name, "0");
                }
            }
            else if (catalogue is not null && (register is null || previous == "when"))
            {
                foreach (RegisterInfo info in catalogue.Registers)
                {
                    Add(info.Name, PropertyKind, string.Format(System.Globalization.CultureInfo.InvariantCulture, "0x{0:x2} u{1} in {2}", info.Offset, info.Width * 8, catalogue.Name), "0");
                }
            }

            if (previous is "register" or "field" or "when")
            {
                return items;
            }

            foreach (string keyword in PolicyKeywords.All)
            {
                Add(keyword, KeywordKind, null, "1");
            }

            return items;
        }

        private static string Bits(FieldInfo field) => field.LowBit == field.HighBit
            ? "bit " + field.LowBit.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : "bits " + field.LowBit.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".." + field.HighBit.ToString(System.Globalization.CultureInfo.InvariantCulture);

        private static BlockCatalog? Catalogue(Frame? block) => block?.Kind switch
        {
            "header" => RegisterCatalog.Header,
            "capability" when block.Name is not null => RegisterCatalog.FindCapability(block.Name, extended: false),
            "extended-capability" when block.Name is not null => RegisterCatalog.FindCapability(block.Name, extended: true),
            _ => null,
        };

        /// <summary>The blocks open at the end of <paramref name="before"/>, outermost first.</summary>
        private static List<Frame> Frames(string before)
        {
            var frames = new List<Frame>();
            foreach (string raw in before.Split('\n'))
            {
                string line = StripComment(raw).TrimEnd('\r');
                if (line.Trim() == "}")
                {
                    if (frames.Count > 0)
                    {
                        frames.RemoveAt(frames.Count - 1);
                    }

                    continue;
                }

                Match opening = Opening.Match(line);
                if (opening.Success)
                {
                    string kind = opening.Groups["kind"].Value;
                    string? name = opening.Groups["named"].Success ? opening.Groups["named"].Value : opening.Groups["name"].Success ? opening.Groups["name"].Value : null;
                    if (kind != "register" && frames.Count > 0)
                    {
                        frames.Clear(); // a block opens only at file level: an unclosed one above was abandoned
                    }

                    frames.Add(new Frame(kind, name));
                }
            }

            return frames;
        }

        private static string StripComment(string line)
        {
            bool quoted = false;
            for (int i = 0; i < line.Length; i++)
            {
                if (line[i] == '"')
                {
                    quoted = !quoted;
                }
                else if (line[i] == '#' && !quoted)
                {
                    return line.Substring(0, i);
                }
            }

            return line;
        }
    }
}
