using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis.CSharp;
using VfioPolicy.Compiler.Emit;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    /// <summary>
    /// Identifiers the emitter makes: names become PascalCase letters and digits, so only a fallback can be a C#
    /// keyword; every reserved keyword Roslyn knows (the oracle: <see cref="SyntaxFacts"/>, not the emitter's own
    /// list) must come out escaped and parse as one identifier.
    /// </summary>
    public sealed class CSharpLiteralTests
    {
        public static IEnumerable<object[]> ReservedKeywords()
            => SyntaxFacts.GetReservedKeywordKinds().Select(kind => new object[] { SyntaxFacts.GetText(kind) });

        [Theory]
        [MemberData(nameof(ReservedKeywords))]
        public void A_keyword_fallback_is_escaped_into_an_identifier(string keyword)
        {
            string identifier = CSharpLiteral.Identifier("-", keyword);
            Assert.Equal("@" + keyword, identifier);
            Assert.True(SyntaxFactory.ParseName(identifier) is Microsoft.CodeAnalysis.CSharp.Syntax.IdentifierNameSyntax { Identifier.ValueText: var text } && text == keyword, identifier);
        }

        [Theory]
        [InlineData("class", "X", "Class")]
        [InlineData("linux-vfio-default", "X", "LinuxVfioDefault")]
        [InlineData("9lives", "X", "_9lives")]
        [InlineData("--", "Policy", "Policy")]
        [InlineData("名前", "Policy", "Policy")]
        public void A_name_becomes_pascal_case_letters_and_digits(string name, string fallback, string expected)
            => Assert.Equal(expected, CSharpLiteral.Identifier(name, fallback));
    }
}
