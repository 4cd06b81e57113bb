using System.Collections.Generic;
using System.Linq;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;
using Xunit;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>Every case of <c>Cases/errors.cases</c>: the exact diagnostic lines, with line and column.</summary>
    public class ErrorMessageTests
    {
        public static IEnumerable<object[]> ErrorCases() => CaseFile.Read("errors.cases").Select(c => new object[] { c });

        [Theory]
        [MemberData(nameof(ErrorCases))]
        public void Syntax_errors_are_reported_with_exact_text_and_position(Case errorCase)
        {
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", errorCase.Input));

            Assert.Equal(string.Join("\n", errorCase.Expected), string.Join("\n", result.Diagnostics.Select(d => d.ToString())));
            Assert.Null(result.File);
            Assert.False(result.Succeeded);
        }

        [Fact]
        public void Error_cases_cover_at_least_25_distinct_mistakes()
        {
            IReadOnlyList<Case> cases = CaseFile.Read("errors.cases");

            Assert.True(cases.Count >= 25, $"only {cases.Count} error cases");
            Assert.Equal(cases.Count, cases.Select(c => c.Input).Distinct().Count());
            Assert.All(cases, c => Assert.NotEmpty(c.Expected));
        }
    }
}
