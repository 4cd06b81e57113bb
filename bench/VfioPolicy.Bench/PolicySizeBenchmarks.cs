using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// The same accesses through the generated handlers of a 10-rule and a 1000-rule policy (Policies/*.vfiopolicy,
    /// compiled by the generator with this project), on the e1000e corpus device. The accesses meet the same rules in
    /// both; only the policy's size (and so its number of constant blocks) differs.
    /// </summary>
    [MemoryDiagnoser]
    [GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
    [CategoriesColumn]
    public class PolicySizeBenchmarks
    {
        private IConfigSpaceFirewall _small = null!;
        private IConfigSpaceFirewall _large = null!;

        /// <summary>Opens both handlers on the device.</summary>
        [GlobalSetup]
        public void Setup()
        {
            _small = Open(new VfioPolicy.Generated.Bench10RulesPolicy());
            _large = Open(new VfioPolicy.Generated.Bench1000RulesPolicy());
            if (VfioPolicy.Generated.Bench1000RulesPolicy.BlockCount <= VfioPolicy.Generated.Bench10RulesPolicy.BlockCount)
            {
                throw new InvalidOperationException("The 1000-rule policy should plan more constant blocks than the 10-rule one.");
            }
        }

        /// <summary>Read BAR0 (virtualized) under the 10-rule policy.</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read BAR0")]
        public uint ReadBar0Rules10() => Repeated.Read(_small, BenchDevice.Bar0, 4);

        /// <summary>Read BAR0 (virtualized) under the 1000-rule policy.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read BAR0")]
        public uint ReadBar0Rules1000() => Repeated.Read(_large, BenchDevice.Bar0, 4);

        /// <summary>Write COMMAND (virtualized) under the 10-rule policy.</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write COMMAND")]
        public uint WriteCommandRules10() => Repeated.Write(_small, BenchDevice.Command, 2, 0x0006);

        /// <summary>Write COMMAND (virtualized) under the 1000-rule policy.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write COMMAND")]
        public uint WriteCommandRules1000() => Repeated.Write(_large, BenchDevice.Command, 2, 0x0006);

        private static IConfigSpaceFirewall Open(ICompiledPolicy policy)
        {
            ConfigSpaceImage image = BenchDevice.Image();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, image.Bytes, image.WalkCapabilities());
            return policy.Open(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
        }
    }
}
