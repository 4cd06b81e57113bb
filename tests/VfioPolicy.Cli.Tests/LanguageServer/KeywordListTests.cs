using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.LanguageServer
{
    /// <summary>The keywords the editor completes are exactly those the grammar builds parsers for, and VS Code highlights them all.</summary>
    public sealed class KeywordListTests
    {
        [Fact]
        public void Completion_keywords_are_the_grammars_keyword_calls()
        {
            string grammar = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "grammar", "VfioPolicy.Grammar", "Parsing", "PolicyGrammar.cs"));
            string[] used = Regex.Matches(grammar, "Keyword\\(\"([^\"]+)\"\\)").Select(m => m.Groups[1].Value).Distinct().OrderBy(k => k, System.StringComparer.Ordinal).ToArray();
            Assert.Equal(used, PolicyKeywords.All.OrderBy(k => k, System.StringComparer.Ordinal).ToArray());
        }

        [Fact]
        public void The_vscode_grammar_highlights_every_keyword()
        {
            // Each keyword must be one alternative of some (a|b|c) group in the TextMate grammar's patterns.
            string grammar = File.ReadAllText(Path.Combine(RepositoryPaths.Root, "editors", "vscode", "syntaxes", "vfiopolicy.tmLanguage.json"));
            string[] alternatives = Regex.Matches(grammar, "\\(([a-z0-9|-]+)\\)").SelectMany(m => m.Groups[1].Value.Split('|')).Distinct().ToArray();
            Assert.Equal(string.Empty, string.Join(" ", PolicyKeywords.All.Where(k => !alternatives.Contains(k))));
        }
    }
}
