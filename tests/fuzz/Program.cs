using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Hardening.Fuzzing;
using VfioPolicy.Policies;
using VfioPolicy.Testing;

namespace VfioPolicy.Fuzz
{
    /// <summary>
    /// Command line: <c>policies|dumps|prefixes [--seed N] [--iterations N] [--seconds S] [--findings DIR]</c>.
    /// Exit code 0 when every input was handled, 1 when something crashed, hung or gave an unlocated diagnostic
    /// (the inputs are saved under --findings to be kept as regression files), 2 for a usage error.
    /// </summary>
    internal static class Program
    {
        private const string Usage =
            "usage: VfioPolicy.Fuzz policies|dumps|prefixes [--seed N] [--iterations N] [--seconds S] [--findings DIR]\n"
            + "  policies  mutated library policies through the parser and the compiler (includes from the real library)\n"
            + "  dumps     mutated lspci texts and binary dumps through ParseLspci, ReadBinary and Load, then walk and bind\n"
            + "  prefixes  every prefix of every library policy, cut at every character, through the parser and the compiler";

        private static int Main(string[] args)
        {
            if (args.Length == 0)
            {
                Console.Error.WriteLine(Usage);
                return 2;
            }

            if (!TryOptions(args.Skip(1).ToArray(), out Options options, out string problem))
            {
                Console.Error.WriteLine(problem + "\n" + Usage);
                return 2;
            }

            string[] policies = Directory.EnumerateFiles(RepositoryPaths.Policies, "*.vfiopolicy", SearchOption.AllDirectories)
                .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
                .OrderBy(p => p, StringComparer.Ordinal)
                .ToArray();
            string[] dumps = Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt")
                .Concat(Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Corpus, "pciutils"), "*.txt"))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToArray();
            PolicyLibrary.EnsureRegistered();
            var strict = PolicyRegistry.All.Single(p => p.Name == "strict").Model;

            FuzzReport report;
            var campaign = new FuzzCampaign(policies, dumps, strict);
            switch (args[0])
            {
                case "policies":
                    report = campaign.Policies(options.Seed, options.Iterations, options.Budget);
                    break;
                case "dumps":
                    report = campaign.Dumps(options.Seed, options.Iterations, options.Budget, Path.Combine(Path.GetTempPath(), "vfiopolicy-fuzz-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
                    break;
                case "prefixes":
                    report = Prefixes(policies);
                    break;
                default:
                    Console.Error.WriteLine("unknown mode '" + args[0] + "'\n" + Usage);
                    return 2;
            }

            Console.WriteLine(args[0] + " (seed " + options.Seed.ToString(CultureInfo.InvariantCulture) + "): " + report);
            if (report.Findings.Count == 0)
            {
                return 0;
            }

            Directory.CreateDirectory(options.Findings);
            foreach (FuzzFinding finding in report.Findings)
            {
                string file = Path.Combine(options.Findings, finding.Name);
                File.WriteAllBytes(file, finding.Input);
                File.WriteAllText(file + ".why.txt", finding.Target + " " + finding.Outcome.Verdict + "\n" + finding.Outcome.Detail + "\n");
            }

            Console.WriteLine(report.Findings.Count.ToString(CultureInfo.InvariantCulture) + " findings saved under " + options.Findings);
            return 1;
        }

        private static FuzzReport Prefixes(IReadOnlyList<string> policies)
        {
            var report = new FuzzReport();
            var library = new CachedLibrarySource();
            Stopwatch watch = Stopwatch.StartNew();
            var findings = new List<FuzzFinding>();
            long inputs = 0;
            foreach (string file in policies)
            {
                string path = PolicyPaths.Normalize(file);
                string text = File.ReadAllText(file);
                Parallel.For(0, text.Length + 1, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, length =>
                {
                    string input = text.Substring(0, length);
                    FuzzOutcome outcome = FuzzTargets.Policy(path, input, library);
                    Interlocked.Increment(ref inputs);
                    if (outcome.Verdict != FuzzVerdict.Handled)
                    {
                        lock (findings)
                        {
                            findings.Add(new FuzzFinding("prefix", outcome, Path.GetFileNameWithoutExtension(file) + "-prefix-" + length.ToString(CultureInfo.InvariantCulture) + ".vfiopolicy", System.Text.Encoding.UTF8.GetBytes(input)));
                        }
                    }
                });
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0}: {1} prefixes, {2:0.0} s so far", Path.GetRelativePath(RepositoryPaths.Policies, file), text.Length + 1, watch.Elapsed.TotalSeconds));
            }

            report.Inputs = inputs;
            report.Elapsed = watch.Elapsed;
            report.Findings.AddRange(findings);
            return report;
        }

        private static bool TryOptions(string[] args, out Options options, out string problem)
        {
            options = new Options();
            problem = string.Empty;
            for (int i = 0; i < args.Length; i += 2)
            {
                if (i + 1 >= args.Length)
                {
                    problem = "option " + args[i] + " needs a value";
                    return false;
                }

                string value = args[i + 1];
                bool ok = args[i] switch
                {
                    "--seed" => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out options.Seed),
                    "--iterations" => long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out options.Iterations) && options.Iterations > 0,
                    "--seconds" => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0 && SetBudget(options, seconds),
                    "--findings" => (options.Findings = value).Length > 0,
                    _ => false,
                };
                if (!ok)
                {
                    problem = "bad option or value: " + args[i] + " " + value;
                    return false;
                }
            }

            return true;
        }

        private static bool SetBudget(Options options, double seconds)
        {
            options.Budget = TimeSpan.FromSeconds(seconds);
            return true;
        }

        private sealed class Options
        {
            public int Seed = 1;
            public long Iterations = long.MaxValue;
            public TimeSpan Budget = TimeSpan.FromMinutes(10);
            public string Findings = Path.Combine(RepositoryPaths.Root, "tests", "VfioPolicy.Hardening.Tests", "Regressions", "found");
        }
    }
}
