using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace VfioPolicy.Hardening.Fuzzing
{
    /// <summary>
    /// Deterministic mutations of policy texts, dump texts and binary dumps: byte flips, token swaps, line deletions
    /// and duplications, lines spliced in from other inputs, hostile tokens. The same seed gives the same inputs.
    /// </summary>
    internal sealed class Mutator
    {
        /// <summary>Tokens chosen to stress the lexer, the number parser, the block structure and the include loader.</summary>
        public static readonly string[] HostileTokens =
        {
            "{", "}", "{{{{{{{{{{{{{{{{", "}}}}}}}}", "(", ")", "..", "...", "0..", "..0", ",", "=", "\"", "\"\"\"", "\\", "#", "//", "/*", "*/",
            "0x", "0xffffffffffffffffffffffffffff", "99999999999999999999", "-1", "-0x1", "0b2", "1e9", "0..31", "31..0", "0..4294967295",
            "bits 40..0", "u8", "u16", "u32", "u64", "u0", "register", "capability", "extended", "header", "device-specific", "hide", "default",
            "override", "when", "init", "hw-rw1c", "silent", "behavior", "passthrough", "virtualize", "deny", "rw1c", "ro", "rw",
            "include \"strict.vfiopolicy\"", "include \"../../../../no-such-folder/x.vfiopolicy\"", "include \"\"", "include \"/\"", "include \"fuzz.vfiopolicy\"",
            "include \"standard/header-type0.vfiopolicy\"", "policy \"\"", "policy \"a\nb\"", "match vendor 0x8086 mask 0",
            "mirror bar 6 offset -1 size 0", "\0", "\u00a0", "\u200b", "\u202e", "\ud800", "\ufeff", "\r", "\r\n", "\t", "\v", "\f",
            new string('a', 5000), new string('9', 400), string.Concat(Enumerable.Repeat("x.", 300)), "🔥",
        };

        private readonly Random _random;

        public Mutator(int seed) => _random = new Random(seed);

        /// <summary>One to four stacked mutations of <paramref name="text"/>, splicing from <paramref name="others"/>.</summary>
        public string MutateText(string text, IReadOnlyList<string> others)
        {
            int rounds = 1 + _random.Next(4);
            for (int i = 0; i < rounds; i++)
            {
                text = MutateOnce(text, others);
            }

            // Keep inputs bounded: a runaway of duplications is not a more interesting input.
            return text.Length > 200_000 ? text.Substring(0, 200_000) : text;
        }

        /// <summary>Mutations of a binary config dump: flips, byte overwrites with chain-relevant values, truncation and extension.</summary>
        public byte[] MutateBytes(byte[] bytes)
        {
            var result = new List<byte>(bytes);
            int rounds = 1 + _random.Next(6);
            for (int i = 0; i < rounds; i++)
            {
                switch (_random.Next(6))
                {
                    case 0 when result.Count > 0:
                        result[_random.Next(result.Count)] ^= (byte)(1 << _random.Next(8));
                        break;
                    case 1 when result.Count > 0:
                        // Capability pointers, IDs and next fields are where chain walks go wrong.
                        int[] hot = { 0x06, 0x0e, 0x34, 0x100, 0x101, 0x102, 0x103 };
                        int at = _random.Next(2) == 0 ? hot[_random.Next(hot.Length)] : _random.Next(result.Count);
                        if (at < result.Count)
                        {
                            byte[] values = { 0x00, 0xff, 0x34, 0x40, 0x3c, 0x10, 0xfc, 0x01, 0x11, 0x05 };
                            result[at] = values[_random.Next(values.Length)];
                        }

                        break;
                    case 2 when result.Count > 0:
                        result.RemoveRange(_random.Next(result.Count), 1);
                        break;
                    case 3:
                        result.Add((byte)_random.Next(256));
                        break;
                    case 4:
                        int[] sizes = { 0, 1, 63, 64, 65, 255, 256, 257, 4095, 4096, 4097 };
                        int size = sizes[_random.Next(sizes.Length)];
                        while (result.Count < size)
                        {
                            result.Add((byte)_random.Next(256));
                        }

                        if (result.Count > size)
                        {
                            result.RemoveRange(size, result.Count - size);
                        }

                        break;
                    default:
                        if (result.Count >= 8)
                        {
                            int dword = _random.Next(result.Count / 4) * 4;
                            uint value = (uint)_random.Next() ^ ((uint)_random.Next(2) << 31);
                            for (int b = 0; b < 4 && dword + b < result.Count; b++)
                            {
                                result[dword + b] = (byte)(value >> (8 * b));
                            }
                        }

                        break;
                }
            }

            return result.ToArray();
        }

        private string MutateOnce(string text, IReadOnlyList<string> others)
        {
            switch (_random.Next(9))
            {
                case 0:
                    return FlipChar(text);
                case 1:
                    return SwapTokens(text);
                case 2:
                    return EditLines(text, (lines, i) => lines.RemoveAt(i));
                case 3:
                    return EditLines(text, (lines, i) => lines.Insert(i, lines[i]));
                case 4:
                    return SpliceLine(text, others);
                case 5:
                case 6:
                    return Insert(text, HostileTokens[_random.Next(HostileTokens.Length)]);
                case 7:
                    return DeleteRange(text);
                default:
                    return Truncate(text);
            }
        }

        private string FlipChar(string text)
        {
            if (text.Length == 0)
            {
                return "\u0001";
            }

            var builder = new StringBuilder(text);
            int at = _random.Next(text.Length);
            builder[at] = _random.Next(3) == 0 ? (char)_random.Next(0x20, 0x7f) : (char)(builder[at] ^ (1 << _random.Next(7)));
            return builder.ToString();
        }

        private string SwapTokens(string text)
        {
            string[] tokens = text.Split(' ');
            if (tokens.Length < 2)
            {
                return text;
            }

            int a = _random.Next(tokens.Length);
            int b = _random.Next(tokens.Length);
            (tokens[a], tokens[b]) = (tokens[b], tokens[a]);
            return string.Join(" ", tokens);
        }

        private string EditLines(string text, Action<List<string>, int> edit)
        {
            var lines = text.Split('\n').ToList();
            edit(lines, _random.Next(lines.Count));
            return string.Join("\n", lines);
        }

        private string SpliceLine(string text, IReadOnlyList<string> others)
        {
            if (others.Count == 0)
            {
                return text;
            }

            string[] donor = others[_random.Next(others.Count)].Split('\n');
            var lines = text.Split('\n').ToList();
            lines.Insert(_random.Next(lines.Count + 1), donor[_random.Next(donor.Length)]);
            return string.Join("\n", lines);
        }

        private string Insert(string text, string token)
        {
            int at = _random.Next(text.Length + 1);
            string separator = _random.Next(2) == 0 ? " " : string.Empty;
            return text.Substring(0, at) + separator + token + separator + text.Substring(at);
        }

        private string DeleteRange(string text)
        {
            if (text.Length == 0)
            {
                return text;
            }

            int at = _random.Next(text.Length);
            int length = Math.Min(text.Length - at, 1 + _random.Next(40));
            return text.Remove(at, length);
        }

        private string Truncate(string text) => text.Substring(0, _random.Next(text.Length + 1));
    }
}
