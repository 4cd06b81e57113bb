using System;
using System.Collections.Generic;

namespace VfioPolicy.Grammar.Text
{
    /// <summary>
    /// "Did you mean …?" for a name nobody knows: the known name closest to it, when it is close enough to be a slip
    /// (a typo, British spelling, a truncation) rather than another word. Case is ignored when comparing.
    /// </summary>
    public static class NameSuggestions
    {
        /// <summary>
        /// The candidate closest to <paramref name="word"/>: within an edit distance of one per three letters (at least
        /// one, at most three), or sharing a prefix of five or more letters that covers most of the shorter of the two
        /// (<c>passthru</c> for <c>passthrough</c>). Null when none qualifies or two qualify equally.
        /// </summary>
        public static string? Closest(string word, IEnumerable<string> candidates)
        {
            // Two letters are too few to tell a slip from another word; punctuation is never a misspelt name.
            if (word is null || word.Length < 3 || !IsName(word) || candidates is null)
            {
                return null;
            }

            string lower = word.ToLowerInvariant();
            string? best = null;
            int bestScore = int.MaxValue;
            bool tie = false;
            foreach (string candidate in candidates)
            {
                if (candidate is null || candidate.Length < 3 || !IsName(candidate))
                {
                    continue;
                }

                string other = candidate.ToLowerInvariant();
                if (other == lower)
                {
                    return null; // the word is known after all: nothing to suggest
                }

                int distance = Distance(lower, other);
                int allowed = Math.Min(3, Math.Max(1, Math.Min(lower.Length, other.Length) / 3));
                int prefix = CommonPrefix(lower, other);
                bool close = distance <= allowed || (prefix >= 5 && prefix * 5 >= Math.Min(lower.Length, other.Length) * 4);
                if (!close)
                {
                    continue;
                }

                int score = Math.Min(distance, Math.Max(lower.Length, other.Length) - prefix);
                if (score < bestScore)
                {
                    best = candidate;
                    bestScore = score;
                    tie = false;
                }
                else if (score == bestScore && !string.Equals(best, candidate, StringComparison.Ordinal))
                {
                    tie = true;
                }
            }

            return tie ? null : best;
        }

        /// <summary><c>; did you mean 'X'?</c> when <see cref="Closest"/> finds X, else the empty string.</summary>
        public static string Hint(string word, IEnumerable<string> candidates)
        {
            string? closest = Closest(word, candidates);
            return closest is null ? string.Empty : "; did you mean '" + closest + "'?";
        }

        private static bool IsName(string text)
        {
            foreach (char c in text)
            {
                if (!char.IsLetterOrDigit(c) && c != '_' && c != '-')
                {
                    return false;
                }
            }

            return true;
        }

        private static int CommonPrefix(string a, string b)
        {
            int n = 0;
            while (n < a.Length && n < b.Length && a[n] == b[n])
            {
                n++;
            }

            return n;
        }

        // Levenshtein distance, two rows.
        private static int Distance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (int j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }

            for (int i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (int j = 1; j <= b.Length; j++)
                {
                    int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                    current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
                }

                (previous, current) = (current, previous);
            }

            return previous[b.Length];
        }
    }
}
