using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Hardening.Fuzzing;
using VfioPolicy.Testing;
using Xunit;
using Xunit.Abstractions;

namespace VfioPolicy.Hardening.Tests.Robustness
{
    /// <summary>
    /// Issue 6, item 2: the parser and the compiler never throw, never hang, and locate every diagnostic — on every
    /// prefix of every library policy and on a bounded mutation-fuzzing campaign (tests/fuzz runs longer ones).
    /// </summary>
    public sealed class PolicyRobustnessTests
    {
        /// <summary>The CI campaign's size and seed; tests/fuzz takes others on its command line.</summary>
        public const int CiSeed = 6;

        public const int CiPolicyIterations = 4_000;

        /// <summary>Prefixes parsed per file in CI; the every-character run is tests/fuzz's <c>prefixes</c> mode.</summary>
        public const int MaxParsedPrefixesPerFile = 1_500;

        private readonly ITestOutputHelper _output;

        public PolicyRobustnessTests(ITestOutputHelper output) => _output = output;

        public static IEnumerable<object[]> LibraryFiles()
            => HardeningInputs.PolicyFiles().Select(p => new object[] { Path.GetRelativePath(VfioPolicy.Testing.RepositoryPaths.Policies, p).Replace('\\', '/') });

        /// <summary>
        /// Prefixes through the parser, and through the parser and the compiler (includes resolved from the real
        /// library) at every line end and at one cut inside every line. Files up to <see cref="MaxParsedPrefixesPerFile"/>
        /// characters are parsed at every character; longer ones at a stride that keeps the count there. Parsing is
        /// linear, so every prefix of the largest policy (23k characters) costs minutes: tests/fuzz runs every
        /// character's prefix through both (<c>prefixes</c> mode), and docs/reliability.md gives its figures.
        /// </summary>
        [Theory]
        [MemberData(nameof(LibraryFiles))]
        public void Every_prefix_of_a_library_policy_is_handled(string relativePath)
        {
            string path = PolicyPaths.Normalize(Path.Combine(VfioPolicy.Testing.RepositoryPaths.Policies, relativePath));
            string text = File.ReadAllText(path);
            var library = new CachedLibrarySource();
            var failures = new ConcurrentBag<string>();
            int[] compiled = CompilerCuts(text);
            int stride = (text.Length / MaxParsedPrefixesPerFile) + 1;
            int[] parsed = Enumerable.Range(0, text.Length + 1).Where(length => length % stride == 0 || Array.BinarySearch(compiled, length) >= 0).ToArray();
            Stopwatch watch = Stopwatch.StartNew();
            Parallel.ForEach(parsed, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, length =>
            {
                bool compile = Array.BinarySearch(compiled, length) >= 0;
                FuzzOutcome outcome = FuzzTargets.Policy(path, text.Substring(0, length), library, compile);
                if (outcome.Verdict != FuzzVerdict.Handled)
                {
                    failures.Add("prefix of " + length.ToString(CultureInfo.InvariantCulture) + " chars: " + outcome.Verdict + ": " + outcome.Detail);
                }
            });

            _output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0}: {1} prefixes parsed, {2} compiled, in {3:0.00} s", relativePath, parsed.Length, compiled.Length, watch.Elapsed.TotalSeconds));
            Figures.Add("prefixes.policies.parsed", parsed.Length);
            Figures.Add("prefixes.policies.compiled", compiled.Length);
            Assert.True(failures.IsEmpty, relativePath + ":\n" + string.Join("\n", failures.OrderBy(f => f, StringComparer.Ordinal).Take(5)));
        }

        /// <summary>The prefix lengths the CI run also compiles: 0, the whole text, every line end, and one cut inside every line (fixed by the line's index).</summary>
        internal static int[] CompilerCuts(string text)
        {
            var cuts = new SortedSet<int> { 0, text.Length };
            int lineStart = 0;
            int index = 0;
            for (int at = 0; at <= text.Length; at++)
            {
                if (at == text.Length || text[at] == '\n')
                {
                    cuts.Add(at);
                    if (at > lineStart + 1)
                    {
                        cuts.Add(lineStart + 1 + (int)((uint)(index * 2654435761u) % (uint)(at - lineStart - 1)));
                    }

                    lineStart = at + 1;
                    index++;
                }
            }

            return cuts.ToArray();
        }

        [Fact]
        public void Mutated_policies_are_handled()
        {
            var campaign = new FuzzCampaign(HardeningInputs.PolicyFiles(), HardeningInputs.DumpFiles(), null);
            // A fixed number of cases, not "as many as fit": the figure in docs/reliability.md is what every run does.
            FuzzReport report = campaign.Policies(CiSeed, CiPolicyIterations, TimeSpan.MaxValue);
            _output.WriteLine("policy mutation campaign (seed " + CiSeed.ToString(CultureInfo.InvariantCulture) + "): " + report);
            Assert.True(report.Findings.Count == 0, Describe(report));
            Assert.Equal(CiPolicyIterations, report.Inputs);
            Figures.Add("fuzz.policies.inputs", report.Inputs);
        }

        [Fact]
        public void Kept_regression_policies_are_handled()
        {
            string folder = HardeningInputs.Regressions("policies");
            string[] files = Directory.GetFiles(folder, "*.vfiopolicy").OrderBy(f => f, StringComparer.Ordinal).ToArray();
            Assert.NotEmpty(files);
            var library = new CachedLibrarySource();
            foreach (string file in files)
            {
                // Each input is compiled as a file at the library's root, so its includes resolve against the real library.
                string asLibraryFile = PolicyPaths.Normalize(Path.Combine(VfioPolicy.Testing.RepositoryPaths.Policies, Path.GetFileName(file)));
                FuzzOutcome outcome = FuzzTargets.Policy(asLibraryFile, File.ReadAllText(file), library);
                Assert.True(outcome.Verdict == FuzzVerdict.Handled, Path.GetFileName(file) + ": " + outcome.Verdict + ": " + outcome.Detail);
            }
        }

        internal static string Describe(FuzzReport report)
        {
            var text = new StringBuilder(report.ToString());
            foreach (FuzzFinding finding in report.Findings.Take(3))
            {
                text.AppendLine().Append("--- ").Append(finding.Name).AppendLine(" (save under Regressions/ to replay):");
                text.AppendLine(Encoding.UTF8.GetString(finding.Input.Take(2000).ToArray()));
                text.AppendLine(finding.Outcome.Detail);
            }

            return text.ToString();
        }
    }
}
