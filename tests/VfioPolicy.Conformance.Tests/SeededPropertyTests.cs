using System.Collections.Generic;
using System.Text.RegularExpressions;
using CsCheck;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>The seeds the property suites run with: fixed per property, printed on failure, replayable.</summary>
    public sealed class SeededPropertyTests
    {
        private static readonly Gen<int[]> Inputs = Gen.Int[0, 1_000_000].Array[3];

        [Fact]
        public void A_property_sees_the_same_inputs_on_every_run_and_another_property_other_ones()
        {
            List<string> first = Collect("property A");
            List<string> again = Collect("property A");
            List<string> other = Collect("property B");

            Assert.Equal(50, first.Count);
            Assert.Equal(first, again);
            Assert.NotEqual(first, other);
            Assert.Equal(first.Count, new HashSet<string>(first).Count); // every case its own seed
        }

        [Fact]
        public void A_failure_names_the_seed_that_replays_exactly_its_input()
        {
            PropertyFailedException failure = Assert.Throws<PropertyFailedException>(() => SeededProperty.Check(
                Inputs, values => Assert.True(values[0] % 7 != 3, "planted failure"), 1_000, "planted", Print));

            Match seed = Regex.Match(failure.Message, "with seed (\\S+) \\(replay it alone with " + SeededProperty.SeedVariable + "=\\1\\)");
            Assert.True(seed.Success, failure.Message);
            Match input = Regex.Match(failure.Message, "input: (.*)");
            Assert.Contains("shrunk: ", failure.Message, System.StringComparison.Ordinal);

            string? replayed = null;
            SeededProperty.Replay(Inputs, values => replayed = Print(values), seed.Groups[1].Value, "planted", Print);
            Assert.Equal(input.Groups[1].Value, replayed);
        }

        private static List<string> Collect(string property)
        {
            var seen = new List<string>();
            SeededProperty.Check(Inputs, values => seen.Add(Print(values)), 50, property, Print);
            return seen;
        }

        private static string Print(int[] values) => string.Join(",", values);
    }
}
