using System;
using BenchmarkDotNet.Attributes;
using VfioPolicy.AccessModel.Audit;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// A consumer hammering a denied, audited register (issue 14, item 2): <see cref="Writes"/> denied writes per
    /// operation into the runtime's default sink, a <see cref="BoundedAuditSink"/> with its default limits, so after
    /// the rule's burst every write is a rate-limited drop, counted; and through a sink that records every write (its
    /// rate limit out of reach), drained without allocating after each operation, so that the ring is written too.
    /// The target is 0 B per operation on every path.
    /// </summary>
    [MemoryDiagnoser]
    public class AuditStormBenchmarks
    {
        /// <summary>Denied writes per operation.</summary>
        public const int Writes = 1000;

        private readonly AuditRecord[] _drained = new AuditRecord[Writes];
        private IConfigSpaceFirewall _interpreter = null!;
        private IConfigSpaceFirewall _generated = null!;
        private IConfigSpaceFirewall _generatedRecording = null!;
        private BoundedAuditSink _recordingSink = null!;

        /// <summary>Opens the firewalls, each on its own copy of the device and with its own sink.</summary>
        [GlobalSetup]
        public void Setup()
        {
            ConfigSpaceImage image = BenchDevice.Image();
            ICompiledPolicy policy = BenchDevice.Policy();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, image.Bytes, image.WalkCapabilities());
            _interpreter = new PolicyInterpreter(bound, new LeanHardware(image.Bytes), new BoundedAuditSink());
            _generated = policy.Open(bound, new LeanHardware(image.Bytes), new BoundedAuditSink());
            _recordingSink = new BoundedAuditSink(new AuditLimits(Writes, int.MaxValue, 1e12, 16));
            _generatedRecording = policy.Open(bound, new LeanHardware(image.Bytes), _recordingSink);
        }

        /// <summary>The storm through the reference interpreter, default sink.</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Writes)]
        public uint DeniedStormInterpreter() => Storm(_interpreter);

        /// <summary>The storm through the generated handler, default sink.</summary>
        [Benchmark(OperationsPerInvoke = Writes)]
        public uint DeniedStormGenerated() => Storm(_generated);

        /// <summary>The storm through the generated handler into a sink that records every write, then drains them into a reused buffer.</summary>
        [Benchmark(OperationsPerInvoke = Writes)]
        public uint DeniedStormGeneratedRecorded()
        {
            uint sum = Storm(_generatedRecording);
            int drained = _recordingSink.Drain(_drained.AsSpan());
            if (drained != Writes)
            {
                throw new InvalidOperationException("The recording sink held " + drained + " records, not " + Writes + ".");
            }

            return sum;
        }

        private static uint Storm(IConfigSpaceFirewall firewall)
        {
            uint sum = 0;
            for (int i = 0; i < Writes; i++)
            {
                sum += (uint)firewall.Write(BenchDevice.Denied, 4, 0xffff_ffffu);
            }

            return sum;
        }
    }
}
