using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.LanguageServer
{
    /// <summary>The keywords the editor completes are exactly those the grammar builds parsers for.</summary>
    public sealed class KeywordListTests
    {
        [Fact]
        public void Completion_keywords_are_the_grammars_keyword_calls()
        {
            string grammar = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "grammar", "VfioPolicy.Grammar", "Parsing", "PolicyGrammar.cs"));
            string[] used = Regex.Matches(grammar, "Keyword\\(\"([^\"]+)\"\\)").Select(m => m.Groups[1].Value).Distinct().OrderBy(k => k, System.StringComparer.Ordinal).ToArray();
            Assert.Equal(used, PolicyKeywords.All.OrderBy(k => k, System.StringComparer.Ordinal).ToArray());
        }
    }
}
