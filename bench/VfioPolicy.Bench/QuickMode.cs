using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// <c>--quick</c>: the benchmarks behind the target ratios, each in its own process with a short job (a
    /// few 100 ms iterations), then the ratios, each computed from benchmarks measured side by side in this one run.
    /// Minutes, not a precise figure: docs/performance.md has the longer run.
    /// </summary>
    public static class QuickMode
    {
        // The benchmarks the target ratios need. Each runs in its own process (BenchmarkDotNet's default toolchain):
        // in one shared process, benchmarks of a nanosecond or two measure each other's JIT state and code placement
        // (the floor firewall measured 2.5 ns there and 0.8 ns alone), not the firewall.
        private static readonly HashSet<string> Needed = new HashSet<string>(StringComparer.Ordinal)
        {
            "ReadBar0Interpreter", "ReadBar0Generated", "ReadBar0HandWritten", "ReadBar0Floor",
            "WriteBar0Interpreter", "WriteBar0Generated", "WriteBar0HandWritten", "WriteBar0Floor",
            "ReadMsiInterpreter", "ReadMsiGenerated", "ReadMsiHandWritten", "ReadMsiFloor",
            "WriteMsiInterpreter", "WriteMsiGenerated", "WriteMsiHandWritten", "WriteMsiFloor",
            "ReadVendorGenerated", "ReadVendorHandWritten", "ReadCommandGenerated", "ReadCommandHandWritten",
            "WriteCommandGenerated", "WriteCommandHandWritten", "WriteDevCtlGenerated", "WriteDevCtlHandWritten",
            "VirtualizedProbeInterpreter", "VirtualizedProbeGenerated", "VirtualizedProbeHandWritten",
            "ProbeInterpreter", "ProbeGenerated", "ProbeHandWritten",
            "ReadBar0Rules10", "ReadBar0Rules1000", "WriteCommandRules10", "WriteCommandRules1000",
            "CompileAndEmitLibrary",
            "WriteDeniedInterpreter", "WriteDeniedGenerated", "WriteDeniedHandWritten",
            "DeniedStormInterpreter", "DeniedStormGenerated", "DeniedStormGeneratedRecorded",
            "EditOneDevicePolicy",
        };

        // Every single access the hand-written baseline serves, and the probe: generated at most 1.1x its time on each.
        private static readonly string[] HandWrittenRows =
        {
            "ReadVendor", "ReadCommand", "ReadBar0", "ReadMsi", "WriteCommand", "WriteDevCtl", "WriteBar0", "WriteMsi", "WriteDenied", "Probe", "VirtualizedProbe",
        };

        /// <summary>How many processes measure the passthrough pair: its target is a median over them, with the spread.</summary>
        public const int PassthroughLaunches = 5;

        /// <summary>Runs the benchmarks and prints the ratios; returns 0.</summary>
        public static int Run()
        {
            Job job = Job.Default
                .WithLaunchCount(1)
                .WithWarmupCount(2)
                .WithIterationCount(5)
                .WithIterationTime(TimeInterval.FromMilliseconds(100))
                .WithId("Quick");
            IConfig config = DefaultConfig.Instance
                .AddJob(job)
                .AddDiagnoser(MemoryDiagnoser.Default)
                .AddFilter(new SimpleFilter(b => Needed.Contains(b.Descriptor.WorkloadMethod.Name)))
                .WithOptions(ConfigOptions.JoinSummary);
            Summary summary = BenchmarkRunner.Run(
                new[] { typeof(FirewallBenchmarks), typeof(TraceBenchmarks), typeof(PolicySizeBenchmarks), typeof(GeneratorBenchmarks), typeof(AuditStormBenchmarks), typeof(GeneratorEditBenchmarks) },
                config).Single();

            // A syscall's cost moves between processes more than the firewall's few nanoseconds: the passthrough pair
            // runs in several processes, and the target is the median, stated with the spread.
            Summary passthrough = BenchmarkRunner.Run<PassthroughBenchmarks>(
                DefaultConfig.Instance
                    .AddJob(job.WithLaunchCount(PassthroughLaunches).WithId("QuickPassthrough"))
                    .AddFilter(new SimpleFilter(b => b.Descriptor.WorkloadMethod.Name is "BarePread" or "PassthroughGenerated")));

            var mean = new Dictionary<string, double>(StringComparer.Ordinal);
            var allocated = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (BenchmarkReport report in summary.Reports.Concat(passthrough.Reports))
            {
                string name = report.BenchmarkCase.Descriptor.WorkloadMethod.Name;
                if (report.ResultStatistics != null)
                {
                    mean[name] = report.ResultStatistics.Mean;
                    allocated[name] = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? -1;
                }
            }

            Console.WriteLine();
            Console.WriteLine("Target ratios (one run, side by side; > 1 means the first is faster):");
            foreach (string access in new[] { "ReadBar0", "WriteBar0", "ReadMsi", "WriteMsi" })
            {
                Speedup(mean, "generated vs interpreter, " + access + " (virtualized)", access + "Interpreter", access + "Generated", 5.0);
            }

            Speedup(mean, "generated vs interpreter, e1000e probe trace, its wholly virtualized accesses", "VirtualizedProbeInterpreter", "VirtualizedProbeGenerated", 5.0);
            Console.WriteLine("The most any engine could gain (interpreter vs FloorFirewall, one range check and one shadow access; generated vs floor):");
            foreach (string access in new[] { "ReadBar0", "WriteBar0", "ReadMsi", "WriteMsi" })
            {
                Speedup(mean, "floor vs interpreter, " + access, access + "Interpreter", access + "Floor", null);
                Speedup(mean, "floor vs generated, " + access, access + "Generated", access + "Floor", null);
            }

            Console.WriteLine("The whole probe, passthrough accesses included (no target: with real hardware the device access dominates):");
            Speedup(mean, "generated vs interpreter, e1000e probe trace, every access", "ProbeInterpreter", "ProbeGenerated", null);
            Console.WriteLine("Generated vs hand-written (HandWrittenFirewall: a switch with the masks as constants; the probe's covers its 33 accesses):");
            foreach (string row in HandWrittenRows)
            {
                Slowdown(mean, "generated vs hand-written, " + row, row + "Generated", row + "HandWritten", 1.1);
            }

            Console.WriteLine("The other targets:");
            Slowdown(mean, "1000-rule vs 10-rule policy, read BAR0", "ReadBar0Rules1000", "ReadBar0Rules10", 1.2);
            Slowdown(mean, "1000-rule vs 10-rule policy, write COMMAND", "WriteCommandRules1000", "WriteCommandRules10", 1.2);
            PassthroughTarget(passthrough, 1.05);
            AtMost(mean, "generator on the whole library (compile + emit), warm", "CompileAndEmitLibrary", 150);
            AtMost(mean, "generator run after an edit of one device policy (" + GeneratorEditBenchmarks.EditedPolicy + ", Roslyn's incremental driver)", "EditOneDevicePolicy", 20);

            string[] allocating = allocated.Where(a => a.Value != 0 && a.Key != "CompileAndEmitLibrary" && a.Key != "EditOneDevicePolicy")
                .Select(a => a.Key + " " + a.Value.ToString(CultureInfo.InvariantCulture) + " B").ToArray();
            Console.WriteLine("  allocation per access, denied writes included: "
                + (allocating.Length == 0 ? "0 B everywhere [target 0 B: met]" : string.Join(", ", allocating) + " [target 0 B: NOT met]"));
            string[] storms = { "DeniedStormInterpreter", "DeniedStormGenerated", "DeniedStormGeneratedRecorded" };
            if (storms.All(allocated.ContainsKey))
            {
                bool flat = storms.All(name => allocated[name] == 0);
                Console.WriteLine(string.Format(
                    CultureInfo.InvariantCulture,
                    "  denied-write storm ({0} denied writes per op, default bounded sink; and a recording sink drained into a buffer): interpreter {1} B/op, generated {2} B/op, recorded {3} B/op [target 0 B/op: {4}]",
                    AuditStormBenchmarks.Writes,
                    allocated[storms[0]],
                    allocated[storms[1]],
                    allocated[storms[2]],
                    flat ? "met" : "NOT met"));
            }
            else
            {
                Console.WriteLine("  denied-write storm: not measured [target 0 B/op: NOT met]");
            }

            return 0;
        }

        private static void PassthroughTarget(Summary passthrough, double limit)
        {
            const string label = "passthrough through the firewall vs bare pread, median of the processes";
            double[] bare = LaunchMeans(passthrough, "BarePread");
            double[] generated = LaunchMeans(passthrough, "PassthroughGenerated");
            if (bare.Length == 0 || generated.Length == 0)
            {
                Console.WriteLine("  " + label + ": not measured [target <= " + limit.ToString(CultureInfo.InvariantCulture) + "x: NOT met]");
                return;
            }

            double ratio = Median(generated) / Median(bare);

            // The spread: each process of one against each of the other, the extremes a single pair of runs could have shown.
            double lowest = generated.Min() / bare.Max();
            double highest = generated.Max() / bare.Min();
            Console.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "  {0}: {1:0.000}x ({2:0.0} vs {3:0.0} ns; {4} and {5} processes, pairs from {6:0.000}x to {7:0.000}x) [target <= {8}x: {9}]",
                label, ratio, Median(generated), Median(bare), generated.Length, bare.Length, lowest, highest, limit, ratio <= limit ? "met" : "NOT met"));
        }

        // The mean time per operation of each process (launch) of a benchmark, over its measured iterations.
        private static double[] LaunchMeans(Summary summary, string benchmark)
            => summary.Reports
                .Where(r => r.BenchmarkCase.Descriptor.WorkloadMethod.Name == benchmark)
                .SelectMany(r => r.AllMeasurements)
                .Where(m => m.IterationMode == BenchmarkDotNet.Engines.IterationMode.Workload && m.IterationStage == BenchmarkDotNet.Engines.IterationStage.Actual)
                .GroupBy(m => m.LaunchIndex)
                .Select(g => g.Average(m => m.Nanoseconds / m.Operations))
                .ToArray();

        private static double Median(double[] values)
        {
            double[] sorted = values.OrderBy(v => v).ToArray();
            int middle = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        }

        private static void Speedup(Dictionary<string, double> mean, string label, string slow, string fast, double? target)
        {
            if (mean.TryGetValue(slow, out double slowNs) && mean.TryGetValue(fast, out double fastNs))
            {
                double ratio = slowNs / fastNs;
                string verdict = target is double t
                    ? string.Format(CultureInfo.InvariantCulture, " [target >= {0}x: {1}]", t, ratio >= t ? "met" : "NOT met")
                    : string.Empty;
                Console.WriteLine(string.Format(
                    CultureInfo.InvariantCulture, "  {0}: {1:0.00}x faster ({2:0.00} vs {3:0.00} ns){4}", label, ratio, fastNs, slowNs, verdict));
            }
            else if (target is double t)
            {
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0}: not measured [target >= {1}x: NOT met]", label, t));
            }
        }

        private static void AtMost(Dictionary<string, double> mean, string label, string benchmark, double limitMs)
        {
            if (mean.TryGetValue(benchmark, out double ns))
            {
                double ms = ns / 1e6;
                Console.WriteLine(string.Format(
                    CultureInfo.InvariantCulture, "  {0}: {1:0.0} ms [target <= {2} ms: {3}]", label, ms, limitMs, ms <= limitMs ? "met" : "NOT met"));
            }
            else
            {
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0}: not measured [target <= {1} ms: NOT met]", label, limitMs));
            }
        }

        private static void Slowdown(Dictionary<string, double> mean, string label, string measured, string floor, double limit)
        {
            if (mean.TryGetValue(measured, out double measuredNs) && mean.TryGetValue(floor, out double floorNs))
            {
                double ratio = measuredNs / floorNs;
                Console.WriteLine(string.Format(
                    CultureInfo.InvariantCulture, "  {0}: {1:0.000}x ({2:0.00} vs {3:0.00} ns) [target <= {4}x: {5}]",
                    label, ratio, measuredNs, floorNs, limit, ratio <= limit ? "met" : "NOT met"));
            }
            else
            {
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "  {0}: not measured [target <= {1}x: NOT met]", label, limit));
            }
        }
    }
}
