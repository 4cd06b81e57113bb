using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Sources;

namespace VfioPolicy.Hardening.Fuzzing
{
    /// <summary>One input that was not handled, with what to save to replay it.</summary>
    internal sealed record FuzzFinding(string Target, FuzzOutcome Outcome, string Name, byte[] Input);

    /// <summary>What a campaign tried and found.</summary>
    internal sealed class FuzzReport
    {
        public long Inputs { get; set; }

        public TimeSpan Elapsed { get; set; }

        public List<FuzzFinding> Findings { get; } = new List<FuzzFinding>();

        public override string ToString()
            => string.Format(CultureInfo.InvariantCulture, "{0} inputs in {1:0.0} s, {2} findings", Inputs, Elapsed.TotalSeconds, Findings.Count)
               + string.Concat(Findings.Take(5).Select(f => Environment.NewLine + "  " + f.Target + " " + f.Outcome.Verdict + " (" + f.Name + "): " + FirstLine(f.Outcome.Detail)));

        private static string FirstLine(string text)
        {
            int end = text.IndexOf('\n');
            return end < 0 ? text : text.Substring(0, end);
        }
    }

    /// <summary>
    /// A mutation-fuzzing campaign over the policy library and the dump corpus. The test suite runs a bounded one in
    /// CI; tests/fuzz runs longer ones from the command line. Deterministic for a seed and an iteration count (a time
    /// budget can end it earlier).
    /// </summary>
    internal sealed class FuzzCampaign
    {
        private readonly IReadOnlyList<(string Path, string Text)> _policies;
        private readonly IReadOnlyList<string> _dumpTexts;
        private readonly PolicyModel? _model;
        private readonly IPolicySource _library = new CachedLibrarySource();

        public FuzzCampaign(IReadOnlyList<string> policyFiles, IReadOnlyList<string> dumpFiles, PolicyModel? model)
        {
            _policies = policyFiles.Select(p => (PolicyPaths.Normalize(p), File.ReadAllText(p))).ToArray();
            _dumpTexts = dumpFiles.Select(File.ReadAllText).ToArray();
            _model = model;
        }

        /// <summary>Mutated policies, each parsed and compiled as the file it came from (includes from the real library).</summary>
        public FuzzReport Policies(int seed, long iterations, TimeSpan budget)
        {
            var mutator = new Mutator(seed);
            string[] texts = _policies.Select(p => p.Text).ToArray();
            return Run(iterations, budget, (i, report) =>
            {
                var (path, text) = _policies[(int)(i % _policies.Count)];
                string input = mutator.MutateText(text, texts);
                FuzzOutcome outcome = FuzzTargets.Policy(path, input, _library);
                Note(report, "policy", outcome, Path.GetFileNameWithoutExtension(path) + "-" + seed.ToString(CultureInfo.InvariantCulture) + "-" + i.ToString(CultureInfo.InvariantCulture) + ".vfiopolicy", Encoding.UTF8.GetBytes(input));
            });
        }

        /// <summary>Mutated lspci texts and binary dumps through every reader entry point, then the chain walk and the binder.</summary>
        public FuzzReport Dumps(int seed, long iterations, TimeSpan budget, string scratchFolder)
        {
            var mutator = new Mutator(seed);
            Directory.CreateDirectory(scratchFolder);
            string scratch = Path.Combine(scratchFolder, "fuzz-" + seed.ToString(CultureInfo.InvariantCulture) + ".dump");
            var images = _dumpTexts.SelectMany(t => VfioPolicy.AccessModel.Devices.ConfigDumpReader.ParseLspci(t, "corpus")).Select(i => i.Bytes).ToArray();
            return Run(iterations, budget, (i, report) =>
            {
                string name = "dump-" + seed.ToString(CultureInfo.InvariantCulture) + "-" + i.ToString(CultureInfo.InvariantCulture);
                switch (i % 3)
                {
                    case 0:
                        string text = mutator.MutateText(_dumpTexts[(int)(i / 3 % _dumpTexts.Count)], _dumpTexts);
                        Note(report, "lspci", FuzzTargets.LspciText(text, _model), name + ".txt", Encoding.UTF8.GetBytes(text));
                        break;
                    case 1:
                        byte[] bytes = mutator.MutateBytes(images[(int)(i / 3 % images.Length)]);
                        Note(report, "binary", FuzzTargets.BinaryConfig(bytes, _model), name + ".bin", bytes);
                        break;
                    default:
                        // Load picks text or binary by content, so feed it both kinds of mutants from disk.
                        byte[] file = (i / 3) % 2 == 0
                            ? mutator.MutateBytes(images[(int)(i / 3 % images.Length)])
                            : Encoding.UTF8.GetBytes(mutator.MutateText(_dumpTexts[(int)(i / 3 % _dumpTexts.Count)], _dumpTexts));
                        File.WriteAllBytes(scratch, file);
                        string? slot = (i / 3) % 4 == 1 ? null : new[] { "00:02.0", "0000:01:00.0", "zz:zz.z", string.Empty, "01:00.0" }[(int)(i % 5)];
                        Note(report, "load", FuzzTargets.LoadFile(scratch, slot, _model), name + ".load", file);
                        break;
                }
            });
        }

        private static FuzzReport Run(long iterations, TimeSpan budget, Action<long, FuzzReport> step)
        {
            var report = new FuzzReport();
            Stopwatch watch = Stopwatch.StartNew();
            for (long i = 0; i < iterations && watch.Elapsed < budget; i++)
            {
                step(i, report);
                report.Inputs++;
            }

            report.Elapsed = watch.Elapsed;
            return report;
        }

        private static void Note(FuzzReport report, string target, FuzzOutcome outcome, string name, byte[] input)
        {
            if (outcome.Verdict != FuzzVerdict.Handled)
            {
                report.Findings.Add(new FuzzFinding(target, outcome, name, input));
            }
        }
    }
}
