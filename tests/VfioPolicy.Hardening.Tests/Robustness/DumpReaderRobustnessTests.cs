using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using VfioPolicy.Hardening.Fuzzing;
using VfioPolicy.Testing;
using Xunit;
using Xunit.Abstractions;

namespace VfioPolicy.Hardening.Tests.Robustness
{
    /// <summary>
    /// Issue 6, item 2 for the device-dump readers: ParseLspci, ReadBinary and Load throw only DeviceDumpException,
    /// never hang, and whatever they accept the chain walk and the binder (strict policy) handle too.
    /// </summary>
    public sealed class DumpReaderRobustnessTests
    {
        public const int CiDumpIterations = 6_000;

        private readonly ITestOutputHelper _output;

        public DumpReaderRobustnessTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void Mutated_dumps_are_handled()
        {
            var campaign = new FuzzCampaign(HardeningInputs.PolicyFiles(), HardeningInputs.DumpFiles(), HardeningInputs.Policies.Single(p => p.Name == "strict").Model);
            string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-harden-" + Guid.NewGuid().ToString("N"));
            try
            {
                FuzzReport report = campaign.Dumps(PolicyRobustnessTests.CiSeed, CiDumpIterations, TimeSpan.MaxValue, scratch);
                _output.WriteLine("dump mutation campaign (seed " + PolicyRobustnessTests.CiSeed.ToString(CultureInfo.InvariantCulture) + "): " + report);
                Assert.True(report.Findings.Count == 0, PolicyRobustnessTests.Describe(report));
                Assert.Equal(CiDumpIterations, report.Inputs);
                Figures.Add("fuzz.dumps.inputs", report.Inputs);
            }
            finally
            {
                Directory.Delete(scratch, recursive: true);
            }
        }

        [Fact]
        public void Every_prefix_of_every_corpus_dump_is_handled()
        {
            var model = HardeningInputs.Policies.Single(p => p.Name == "strict").Model;
            int prefixes = 0;
            foreach (string file in HardeningInputs.DumpFiles())
            {
                string text = File.ReadAllText(file);
                int[] lineEnds = Enumerable.Range(0, text.Length).Where(i => text[i] == '\n').ToArray();
                foreach (int end in lineEnds.Where((e, i) => i % 2 == 0).Concat(lineEnds.Where((e, i) => i % 2 == 1).Select(e => Math.Max(0, e - 7))))
                {
                    FuzzOutcome outcome = FuzzTargets.LspciText(text.Substring(0, end), model);
                    Assert.True(outcome.Verdict == FuzzVerdict.Handled, Path.GetFileName(file) + " cut at " + end.ToString(CultureInfo.InvariantCulture) + ": " + outcome.Detail);
                    prefixes++;
                }
            }

            _output.WriteLine(prefixes.ToString(CultureInfo.InvariantCulture) + " dump prefixes");
            Figures.Add("prefixes.dumps", prefixes);
        }

        [Fact]
        public void Kept_regression_dumps_are_handled()
        {
            var model = HardeningInputs.Policies.Single(p => p.Name == "strict").Model;
            string[] files = Directory.GetFiles(HardeningInputs.Regressions("dumps")).OrderBy(f => f, StringComparer.Ordinal).ToArray();
            Assert.NotEmpty(files);
            foreach (string file in files)
            {
                byte[] bytes = File.ReadAllBytes(file);
                FuzzOutcome[] outcomes =
                {
                    FuzzTargets.BinaryConfig(bytes, model),
                    FuzzTargets.LspciText(Encoding.UTF8.GetString(bytes), model),
                    FuzzTargets.LoadFile(file, null, model),
                    FuzzTargets.LoadFile(file, "00:02.0", model),
                };
                foreach (FuzzOutcome outcome in outcomes)
                {
                    Assert.True(outcome.Verdict == FuzzVerdict.Handled, Path.GetFileName(file) + ": " + outcome.Verdict + ": " + outcome.Detail);
                }
            }
        }
    }
}
