using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using VfioPolicy.AccessModel.Audit;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Testing;
using Xunit;
using Xunit.Abstractions;

namespace VfioPolicy.Hardening.Tests.Audit
{
    /// <summary>
    /// Issue 14, item 2: a denied write allocates nothing, in either engine, into the default bounded sink whatever it
    /// does with the write (records it, drops it by rate, drops it by capacity); events are made only when read. An
    /// allocation count is exact (bytes this thread allocated), so this is a correctness check, not a timing.
    /// </summary>
    [Collection(ProcessWideMeasurements.Name)]
    public sealed class DeniedWriteAllocationTests
    {
        private const int MeasuredWrites = 1_000_000;

        private readonly ITestOutputHelper _output;

        public DeniedWriteAllocationTests(ITestOutputHelper output) => _output = output;

        /// <summary>The sinks a storm can meet: the default limits (a burst, then drops by rate), a full buffer (drops by capacity), and one that records every write and is drained into a reused buffer.</summary>
        public static IEnumerable<object[]> Cases()
        {
            foreach (string engine in new[] { "interpreter", "generated" })
            {
                foreach (string sink in new[] { "default", "full", "recording" })
                {
                    yield return new object[] { engine, sink };
                }
            }
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void A_denied_write_storm_allocates_nothing(string engine, string sinkKind)
        {
            (IConfigSpaceFirewall firewall, BoundedAuditSink sink, int target, uint hostile) = Open(engine, sinkKind);
            var drained = new AuditRecord[1000];

            void Storm(int writes)
            {
                for (int done = 0; done < writes; done += drained.Length)
                {
                    Hammer(firewall, target, hostile, drained.Length);
                    // Checked by hand: xUnit's Assert.Equal allocates.
                    if (sinkKind == "recording" && sink.Drain(drained.AsSpan()) != drained.Length)
                    {
                        throw new InvalidOperationException("The recording sink did not hold every write of the round.");
                    }
                }
            }

            // Warm-up: the JIT's tiers, the rule's bucket, the buffer filled (for "full").
            Storm(200_000);
            AuditCounts before = sink.Counts;
            long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            Storm(MeasuredWrites);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            AuditCounts after = sink.Counts;

            // Every write reached the sink, and took the path this case is about.
            long recorded = after.Recorded - before.Recorded;
            long byRate = after.DroppedByRate - before.DroppedByRate;
            long byCapacity = after.DroppedByCapacity - before.DroppedByCapacity;
            Assert.Equal(MeasuredWrites, recorded + byRate + byCapacity);
            switch (sinkKind)
            {
                case "default":
                    Assert.Equal(MeasuredWrites, byRate + recorded);
                    Assert.True(byRate >= MeasuredWrites - 100, byRate.ToString(CultureInfo.InvariantCulture) + " dropped by rate");
                    break;
                case "full":
                    Assert.Equal(MeasuredWrites, byCapacity);
                    break;
                default:
                    Assert.Equal(MeasuredWrites, recorded);
                    break;
            }

            _output.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "{0}, {1} sink: {2} denied writes at 0x{3:x3}: {4} recorded, {5} dropped by rate, {6} by capacity; {7} bytes allocated",
                engine,
                sinkKind,
                MeasuredWrites,
                target,
                recorded,
                byRate,
                byCapacity,
                allocated));
            Assert.Equal(0, allocated);
        }

        [Fact]
        public void The_bounded_sink_drains_the_events_a_recording_sink_receives()
        {
            // Several rules, widths and values, in both engines: the records the bounded sink keeps become exactly the
            // events the engines hand a sink that takes events (the conformance suite compares those between engines).
            foreach (string engine in new[] { "interpreter", "generated" })
            {
                (IConfigSpaceFirewall recordingFirewall, RecordingAuditSink recording) = OpenWith(engine, new RecordingAuditSink());
                var bounded = new BoundedAuditSink(new AuditLimits(100_000, 100_000, 0, 4096));
                (IConfigSpaceFirewall boundedFirewall, _) = OpenWith(engine, bounded);
                var random = new Random(14);
                for (int i = 0; i < 5000; i++)
                {
                    int length = random.Next(1, 5);
                    int offset = random.Next(0, 256 - length + 1);
                    uint value = (uint)random.Next() ^ ((uint)random.Next() << 16);
                    Assert.Equal(recordingFirewall.Write(offset, length, value), boundedFirewall.Write(offset, length, value));
                }

                IReadOnlyList<AuditEvent> events = bounded.Drain();
                Assert.NotEmpty(events);
                Assert.True(events.Select(e => e.Rule).Distinct().Count() > 1, engine + ": the writes met only one rule");
                Assert.Equal(recording.Events, events);
                Assert.Equal(0, bounded.Dropped);
            }
        }

        [Fact]
        public void Reporting_a_record_to_the_bounded_sink_allocates_nothing_and_to_an_event_sink_makes_the_event()
        {
            var rule = new AccessModel.Model.RuleOrigin("flr.vfiopolicy", 9, 5, "register 0x08 u16 behavior flr");
            var record = new AuditRecord(0x48, 2, 0x8000, rule, "p");
            var bounded = new BoundedAuditSink(new AuditLimits(16, 1, 0, 16));
            record.ReportTo(bounded);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                record.ReportTo(bounded);
            }

            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(new AuditCounts(1, 1, 10_000, 0), bounded.Counts);
            Assert.Equal(new[] { new AuditEvent(0x48, 2, 0x8000, rule, "p") }, bounded.Drain());

            var events = new RecordingAuditSink();
            record.ReportTo(events);
            Assert.Equal(new[] { record.ToEvent() }, events.Events);
        }

        private static (IConfigSpaceFirewall Firewall, BoundedAuditSink Sink, int Target, uint Hostile) Open(string engine, string sinkKind)
        {
            BoundedAuditSink sink = sinkKind switch
            {
                "default" => new BoundedAuditSink(),
                "full" => new BoundedAuditSink(new AuditLimits(Capacity: 64, BurstPerRule: int.MaxValue, EventsPerSecondPerRule: 1e12, MaxTrackedRules: 16)),
                _ => new BoundedAuditSink(new AuditLimits(Capacity: 1000, BurstPerRule: int.MaxValue, EventsPerSecondPerRule: 1e12, MaxTrackedRules: 16)),
            };
            (IConfigSpaceFirewall firewall, BoundedAuditSink _) = OpenWith(engine, sink);
            BoundConfigSpace bound = Bind(out _);
            int target = Enumerable.Range(0, bound.Size).First(at => bound.AuditMask[at] == 0xff && bound.DenyMask[at] == 0xff);
            uint hostile = (uint)(byte)~bound.ResetValue[target];
            return (firewall, sink, target, hostile);
        }

        private static (IConfigSpaceFirewall Firewall, TSink Sink) OpenWith<TSink>(string engine, TSink sink)
            where TSink : IAuditSink
        {
            BoundConfigSpace bound = Bind(out CorpusDevice device);
            ICompiledPolicy policy = HardeningInputs.Policies.Single(p => p.Name == "strict");
            IConfigSpaceFirewall firewall = engine == "interpreter"
                ? new PolicyInterpreter(bound, new SimulatedConfigHardware(device.Image.Bytes), sink)
                : policy.Open(bound, new SimulatedConfigHardware(device.Image.Bytes), sink);
            return (firewall, sink);
        }

        private static BoundConfigSpace Bind(out CorpusDevice device)
        {
            ICompiledPolicy policy = HardeningInputs.Policies.Single(p => p.Name == "strict");
            device = HardeningInputs.CorpusDevices.First(d => d.Name.StartsWith("qemu/", StringComparison.Ordinal));
            return DeviceBinder.Bind(policy.Model, device.Image.Bytes, device.Image.WalkCapabilities());
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Hammer(IConfigSpaceFirewall firewall, int offset, uint value, int writes)
        {
            for (int i = 0; i < writes; i++)
            {
                firewall.Write(offset, 1, value);
            }
        }
    }
}
