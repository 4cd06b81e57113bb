using System;
using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.Cli.Simulation
{
    /// <summary>One consumer access of a script: a read (<see cref="Value"/> null) or a write.</summary>
    /// <param name="Line">1-based line in the script.</param>
    /// <param name="Offset">Absolute config-space offset.</param>
    /// <param name="Length">Bytes, 1 to 4.</param>
    /// <param name="Value">The value written; null for a read.</param>
    /// <param name="Text">The script line as written (trimmed, without its comment).</param>
    /// <param name="Comment">The full-line comments just above the access (without '#', one per line), shown in transcripts; null when none.</param>
    public sealed record ScriptAccess(int Line, int Offset, int Length, uint? Value, string Text, string? Comment = null)
    {
        /// <summary>True for a write.</summary>
        public bool IsWrite => Value.HasValue;
    }

    /// <summary>A script line that does not parse.</summary>
    public sealed class ScriptException : Exception
    {
        /// <summary>Creates the error for <paramref name="line"/> of <paramref name="scriptName"/>.</summary>
        public ScriptException(string scriptName, int line, string message)
            : base(scriptName + ":" + line.ToString(CultureInfo.InvariantCulture) + ": " + message)
        {
        }
    }

    /// <summary>
    /// The simulate verb's script language: <c>r OFFSET LEN</c>, <c>w OFFSET LEN VALUE</c>, <c>#</c> comments and
    /// blank lines; numbers are decimal or <c>0x</c> hex. Range checks against the device are the firewall's job
    /// (an access outside config space is a legitimate thing to simulate), so only the syntax and the length are checked here.
    /// </summary>
    public static class AccessScript
    {
        /// <summary>Parses <paramref name="text"/>; <paramref name="scriptName"/> prefixes error messages.</summary>
        /// <exception cref="ScriptException">A line is malformed.</exception>
        public static IReadOnlyList<ScriptAccess> Parse(string text, string scriptName)
        {
            var accesses = new List<ScriptAccess>();
            string? pendingComment = null;
            string[] lines = text.Replace("\r\n", "\n").Split('\n');
            for (int index = 0; index < lines.Length; index++)
            {
                int lineNumber = index + 1;
                string line = lines[index];
                int comment = line.IndexOf('#');
                string content = (comment >= 0 ? line.Substring(0, comment) : line).Trim();
                if (content.Length == 0)
                {
                    if (comment >= 0)
                    {
                        // Consecutive comment lines describe the next access together: keep all of them.
                        string commentText = line.Substring(comment + 1).Trim();
                        pendingComment = pendingComment == null ? commentText : pendingComment + "\n" + commentText;
                    }

                    continue;
                }

                string[] words = content.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                accesses.Add(ParseAccess(words, content, scriptName, lineNumber) with { Comment = pendingComment });
                pendingComment = null;
            }

            return accesses;
        }

        private static ScriptAccess ParseAccess(string[] words, string content, string scriptName, int line)
        {
            string verb = words[0];
            int expectedWords = verb switch { "r" => 3, "w" => 4, _ => 0 };
            if (expectedWords == 0)
            {
                throw new ScriptException(scriptName, line, "unknown command '" + verb + "', expected 'r OFFSET LEN' or 'w OFFSET LEN VALUE'");
            }

            if (words.Length != expectedWords)
            {
                string usage = verb == "r" ? "r OFFSET LEN" : "w OFFSET LEN VALUE";
                throw new ScriptException(scriptName, line, "expected '" + usage + "', got " + words.Length.ToString(CultureInfo.InvariantCulture) + " word(s)");
            }

            uint offset = ParseNumber(words[1], "offset", scriptName, line);
            uint length = ParseNumber(words[2], "length", scriptName, line);
            if (length < 1 || length > 4)
            {
                throw new ScriptException(scriptName, line, "length must be 1 to 4, got " + words[2]);
            }

            if (offset > int.MaxValue)
            {
                throw new ScriptException(scriptName, line, "offset " + words[1] + " is too large");
            }

            uint? value = null;
            if (verb == "w")
            {
                uint parsed = ParseNumber(words[3], "value", scriptName, line);
                if (length < 4 && parsed >> (int)(length * 8) != 0)
                {
                    throw new ScriptException(scriptName, line, "value " + words[3] + " does not fit in " + words[2] + " byte(s)");
                }

                value = parsed;
            }

            return new ScriptAccess(line, (int)offset, (int)length, value, content);
        }

        private static uint ParseNumber(string word, string what, string scriptName, int line)
        {
            bool hex = word.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            string digits = hex ? word.Substring(2) : word;
            NumberStyles style = hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None;
            if (digits.Length == 0 || !uint.TryParse(digits, style, CultureInfo.InvariantCulture, out uint value))
            {
                throw new ScriptException(scriptName, line, "bad " + what + " '" + word + "': expected a decimal or 0x-hex number of at most 32 bits");
            }

            return value;
        }
    }
}
