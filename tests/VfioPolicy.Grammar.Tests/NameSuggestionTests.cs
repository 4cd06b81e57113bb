using VfioPolicy.Grammar.Text;
using Xunit;

namespace VfioPolicy.Grammar.Tests
{
    public sealed class NameSuggestionTests
    {
        private static readonly string[] Keywords = { "passthrough", "virtualize", "deny", "behavior", "when" };

        [Theory]
        [InlineData("passthru", "passthrough")]     // truncation: a long shared prefix
        [InlineData("pasthrough", "passthrough")]   // a dropped letter
        [InlineData("virtualise", "virtualize")]    // British spelling
        [InlineData("behaviour", "behavior")]
        [InlineData("DENY", null)]                  // the same word in another case is known, not misspelt
        [InlineData("whn", "when")]
        [InlineData("allow", null)]                 // another word altogether
        [InlineData("wo", null)]                    // too short to tell
        [InlineData("=", null)]                     // punctuation is not a name
        public void The_closest_keyword_is_suggested_only_when_it_is_a_likely_slip(string word, string? expected)
            => Assert.Equal(expected, NameSuggestions.Closest(word, Keywords));

        [Fact]
        public void Two_equally_close_names_suggest_neither()
            => Assert.Null(NameSuggestions.Closest("cat", new[] { "bat", "hat" }));
    }
}
