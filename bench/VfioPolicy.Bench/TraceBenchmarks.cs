using BenchmarkDotNet.Attributes;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// A Linux driver's probe (<see cref="ProbeTrace"/>) replayed against the e1000e corpus device, through the
    /// interpreter, the generated handler and the hand-written baseline; results are per access (the trace's accesses are the operations). The
    /// whole probe mixes passthrough accesses (a hardware call each) with virtualized ones; the second pair replays
    /// only the probe's accesses whose every byte is virtualized (BAR and ROM sizing, MSI programming, ...).
    /// </summary>
    [MemoryDiagnoser]
    public class TraceBenchmarks
    {
        private IConfigSpaceFirewall _interpreter = null!;
        private IConfigSpaceFirewall _generated = null!;
        private IConfigSpaceFirewall _handWritten = null!;
        private TraceAccess[] _trace = null!;
        private TraceAccess[] _virtualizedTrace = null!;

        /// <summary>How many accesses the trace has (BenchmarkDotNet divides by it).</summary>
        public const int TraceLength = 59;

        /// <summary>How many of them are wholly virtualized.</summary>
        public const int VirtualizedTraceLength = 38;

        /// <summary>Opens both firewalls, each on its own copy of the device, and derives the trace.</summary>
        [GlobalSetup]
        public void Setup()
        {
            ConfigSpaceImage image = BenchDevice.Image();
            ICompiledPolicy policy = BenchDevice.Policy();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, image.Bytes, image.WalkCapabilities());
            _interpreter = new PolicyInterpreter(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
            _generated = policy.Open(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
            _handWritten = new HandWrittenFirewall<ProbeRegisters>(bound, image, new LeanHardware(image.Bytes), new CountingAuditSink());
            _trace = ProbeTrace.Of(image);
            if (_trace.Length != TraceLength)
            {
                throw new System.InvalidOperationException("The probe trace has " + _trace.Length + " accesses; set TraceLength to match.");
            }

            _virtualizedTrace = System.Array.FindAll(_trace, access => IsWhollyVirtualized(bound, access));
            if (_virtualizedTrace.Length != VirtualizedTraceLength)
            {
                throw new System.InvalidOperationException("The probe trace has " + _virtualizedTrace.Length + " wholly virtualized accesses; set VirtualizedTraceLength to match.");
            }
        }

        /// <summary>The probe through the interpreter.</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = TraceLength)]
        public uint ProbeInterpreter() => Replay(_interpreter, _trace);

        /// <summary>The probe through the generated handler.</summary>
        [Benchmark(OperationsPerInvoke = TraceLength)]
        public uint ProbeGenerated() => Replay(_generated, _trace);

        /// <summary>The probe through the hand-written firewall (which covers exactly the probe's accesses).</summary>
        [Benchmark(OperationsPerInvoke = TraceLength)]
        public uint ProbeHandWritten() => Replay(_handWritten, _trace);

        /// <summary>The probe's wholly virtualized accesses through the interpreter.</summary>
        [Benchmark(OperationsPerInvoke = VirtualizedTraceLength)]
        public uint VirtualizedProbeInterpreter() => Replay(_interpreter, _virtualizedTrace);

        /// <summary>The probe's wholly virtualized accesses through the generated handler.</summary>
        [Benchmark(OperationsPerInvoke = VirtualizedTraceLength)]
        public uint VirtualizedProbeGenerated() => Replay(_generated, _virtualizedTrace);

        /// <summary>The probe's wholly virtualized accesses through the hand-written firewall.</summary>
        [Benchmark(OperationsPerInvoke = VirtualizedTraceLength)]
        public uint VirtualizedProbeHandWritten() => Replay(_handWritten, _virtualizedTrace);

        /// <summary>Whether every bit <paramref name="access"/> touches is virtualized: it never reaches the hardware.</summary>
        public static bool IsWhollyVirtualized(BoundConfigSpace bound, TraceAccess access)
        {
            for (int b = 0; b < access.Length; b++)
            {
                if (bound.VirtMask[access.Offset + b] != 0xff || bound.PassthroughWritable[access.Offset + b] != 0)
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>Replays <paramref name="trace"/>; returns the reads' values folded, so nothing is optimised away.</summary>
        /// <remarks>Inlined, so that each benchmark has its own call site, whose profile sees one engine (see <see cref="FirewallBenchmarks"/>).</remarks>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public static uint Replay(IConfigSpaceFirewall firewall, TraceAccess[] trace)
        {
            uint sum = 0;
            foreach (TraceAccess access in trace)
            {
                if (access.IsWrite)
                {
                    sum += (uint)firewall.Write(access.Offset, access.Length, access.Value);
                }
                else
                {
                    firewall.Read(access.Offset, access.Length, out uint value);
                    sum += value;
                }
            }

            return sum;
        }
    }
}
