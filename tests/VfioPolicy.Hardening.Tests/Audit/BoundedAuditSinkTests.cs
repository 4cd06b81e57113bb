using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Audit;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using Xunit;
using Xunit.Abstractions;
using VfioPolicy.Testing;

namespace VfioPolicy.Hardening.Tests.Audit
{
    /// <summary>Issue 6, item 6: the audit sink is bounded, rate-limited per rule, and counts exactly what it dropped.</summary>
    /// <remarks>
    /// In a collection of its own that runs alone: the heap it measures is the process's, and a test allocating in
    /// parallel (the fuzzers, the isolation properties) once made it see 5 MB of growth that was not the sink's.
    /// </remarks>
    [Collection(ProcessWideMeasurements.Name)]
    public sealed class BoundedAuditSinkTests
    {
        private static readonly RuleOrigin RuleA = new RuleOrigin("a.vfiopolicy", 3, 5, "register 0x0c u8 deny 0");
        private static readonly RuleOrigin RuleB = new RuleOrigin("b.vfiopolicy", 7, 5, "register 0x0d u8 deny 0");

        private readonly ITestOutputHelper _output;

        public BoundedAuditSinkTests(ITestOutputHelper output) => _output = output;

        [Fact]
        public void A_rule_records_its_burst_then_its_refill_rate()
        {
            var clock = new ManualClock();
            var sink = new BoundedAuditSink(new AuditLimits(Capacity: 100, BurstPerRule: 3, EventsPerSecondPerRule: 2, MaxTrackedRules: 10), clock.Now);

            RecordMany(sink, RuleA, 10);
            Assert.Equal(3, sink.Recorded);
            Assert.Equal(7, sink.DroppedByRate);

            clock.Advance(TimeSpan.FromSeconds(1));
            RecordMany(sink, RuleA, 10);
            Assert.Equal(5, sink.Recorded);
            Assert.Equal(15, sink.DroppedByRate);

            // A long pause refills no more than the burst.
            clock.Advance(TimeSpan.FromHours(1));
            RecordMany(sink, RuleA, 10);
            Assert.Equal(8, sink.Recorded);
            Assert.Equal(22, sink.Dropped);
            Assert.Equal(0, sink.DroppedByCapacity);
        }

        [Fact]
        public void Rules_are_limited_independently()
        {
            var sink = new BoundedAuditSink(new AuditLimits(100, 2, 0, 10), new ManualClock().Now);
            RecordMany(sink, RuleA, 50);
            RecordMany(sink, RuleB, 1);

            RuleAuditCounters[] counters = sink.RuleCounters.ToArray();
            Assert.Equal(2, counters.Length);
            Assert.Equal((2L, 48L), (counters[0].Recorded, counters[0].DroppedByRate));
            Assert.Equal((1L, 0L), (counters[1].Recorded, counters[1].Dropped));
        }

        [Fact]
        public void A_full_buffer_drops_the_newest_events_and_drain_makes_room()
        {
            var sink = new BoundedAuditSink(new AuditLimits(4, 1000, 0, 10), new ManualClock().Now);
            for (int i = 0; i < 10; i++)
            {
                sink.Record(Event(RuleA, i));
            }

            Assert.Equal(4, sink.Count);
            Assert.Equal(6, sink.DroppedByCapacity);
            Assert.Equal(new[] { 0, 1, 2, 3 }, sink.Drain().Select(e => e.Offset));
            Assert.Equal(0, sink.Count);

            sink.Record(Event(RuleA, 42));
            Assert.Equal(new[] { 42 }, sink.Drain().Select(e => e.Offset));
            Assert.Equal(5, sink.Recorded);
        }

        [Fact]
        public void Rules_past_the_table_share_one_bucket()
        {
            var sink = new BoundedAuditSink(new AuditLimits(1000, 2, 0, 3), new ManualClock().Now);
            for (int line = 1; line <= 100; line++)
            {
                sink.Record(Event(new RuleOrigin("made-up.vfiopolicy", line, 1, "deny"), line));
            }

            RuleAuditCounters[] counters = sink.RuleCounters.ToArray();
            Assert.Equal(4, counters.Length);
            RuleAuditCounters overflow = Assert.Single(counters, c => ReferenceEquals(c.Rule, BoundedAuditSink.OverflowRule));
            Assert.Equal(2, overflow.Recorded);
            Assert.Equal(95, overflow.DroppedByRate);
            Assert.Equal(3 + 2, sink.Recorded);
            Assert.Equal(100 - sink.Recorded, sink.Dropped);
        }

        [Theory]
        [InlineData(0, 1, 1.0, 1)]
        [InlineData(1, 0, 1.0, 1)]
        [InlineData(1, 1, -1.0, 1)]
        [InlineData(1, 1, double.NaN, 1)]
        [InlineData(1, 1, double.PositiveInfinity, 1)]
        [InlineData(1, 1, 1.0, 0)]
        public void Limits_out_of_range_are_rejected(int capacity, int burst, double rate, int rules)
        {
            Assert.Throws<ArgumentException>(() => new BoundedAuditSink(new AuditLimits(capacity, burst, rate, rules)));
        }

        [Fact]
        public void Concurrent_producers_lose_no_count()
        {
            var sink = new BoundedAuditSink(new AuditLimits(500, 100, 1000, 16));
            const int Threads = 4;
            const int PerThread = 250_000;
            Parallel.For(0, Threads, t =>
            {
                var rule = new RuleOrigin("p.vfiopolicy", t + 1, 1, "deny");
                for (int i = 0; i < PerThread; i++)
                {
                    sink.Record(Event(rule, i & 0xff));
                    if ((i & 0xffff) == 0)
                    {
                        sink.Drain();
                    }
                }
            });

            Assert.Equal((long)Threads * PerThread, sink.Recorded + sink.Dropped);
            Assert.Equal(sink.Recorded, sink.RuleCounters.Sum(c => c.Recorded));
            Assert.Equal(sink.Dropped, sink.RuleCounters.Sum(c => c.Dropped));
            Assert.True(sink.Count <= 500);
        }

        /// <summary>
        /// A consumer writes a denied, audited register of the strict policy ten million times through the generated
        /// handler. Every event the firewall raises reaches the sink; the sink keeps at most its capacity, each rule at
        /// most its burst plus its rate over the elapsed time, counts every other event as dropped, and the heap does
        /// not grow with the number of writes.
        /// </summary>
        [Fact]
        public void A_consumer_hammering_a_denied_register_cannot_exhaust_memory_or_flood_the_log()
        {
            const int Writes = 10_000_000;
            ICompiledPolicy policy = HardeningInputs.Policies.Single(p => p.Name == "strict");
            CorpusDevice device = HardeningInputs.CorpusDevices.First(d => d.Name.StartsWith("qemu/", StringComparison.Ordinal));
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, device.Image.Bytes, device.Image.WalkCapabilities());
            int target = Enumerable.Range(0, bound.Size).First(at => bound.AuditMask[at] == 0xff && bound.DenyMask[at] == 0xff);
            uint hostile = (uint)(byte)~bound.ResetValue[target];

            var limits = new AuditLimits(Capacity: 256, BurstPerRule: 16, EventsPerSecondPerRule: 100, MaxTrackedRules: 64);
            var sink = new BoundedAuditSink(limits);
            var counted = new CountingTee(sink);
            IConfigSpaceFirewall firewall = policy.Open(bound, new SimulatedConfigHardware(device.Image.Bytes), counted);

            // Warm up (tiered JIT of the firewall and the sink, the first bucket, a full buffer), then give background
            // tier-1 compilation a moment, so the heap is measured around the steady state only.
            const int WarmUp = 200_000;
            Assert.Equal(AccessStatus.Ok, firewall.Write(target, 1, hostile));
            Hammer(firewall, target, hostile, WarmUp - 1);
            Thread.Sleep(300);
            long heapBefore = GC.GetTotalMemory(forceFullCollection: true);
            Stopwatch watch = Stopwatch.StartNew();
            Hammer(firewall, target, hostile, Writes);
            watch.Stop();
            long heapAfter = GC.GetTotalMemory(forceFullCollection: true);

            long raised = counted.Count;
            Assert.Equal((long)Writes + WarmUp, raised);
            Assert.Equal(raised, sink.Recorded + sink.Dropped);
            Assert.True(sink.Count <= limits.Capacity);
            double allowedPerRule = limits.BurstPerRule + (limits.EventsPerSecondPerRule * (watch.Elapsed.TotalSeconds + 1));
            RuleAuditCounters rule = Assert.Single(sink.RuleCounters);
            Assert.Equal(bound.DominantRule(target), rule.Rule);
            Assert.True(rule.Recorded <= allowedPerRule, rule.Recorded.ToString(CultureInfo.InvariantCulture) + " events recorded; the rate allows " + allowedPerRule.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(rule.Recorded, sink.Drain().Count);
            long growth = heapAfter - heapBefore;
            // A leak of even one small object per write would be hundreds of megabytes; 1 MB leaves room for runtime
            // noise (JIT, tiering) while holding the sink to its bound (256 events are about 15 KB).
            Assert.True(growth < 1024 * 1024, "the heap grew by " + growth.ToString(CultureInfo.InvariantCulture) + " bytes over " + Writes.ToString(CultureInfo.InvariantCulture) + " denied writes");

            _output.WriteLine(string.Format(
                CultureInfo.InvariantCulture,
                "{0} denied writes at 0x{1:x3} in {2:0.00} s: {3} events raised, {4} recorded, {5} dropped by rate, {6} by capacity; heap growth {7} bytes",
                Writes + WarmUp,
                target,
                watch.Elapsed.TotalSeconds,
                raised,
                rule.Recorded,
                rule.DroppedByRate,
                rule.DroppedByCapacity,
                growth));
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
        private static void Hammer(IConfigSpaceFirewall firewall, int offset, uint value, int writes)
        {
            for (int i = 0; i < writes; i++)
            {
                firewall.Write(offset, 1, value);
            }
        }

        private static void RecordMany(BoundedAuditSink sink, RuleOrigin rule, int count)
        {
            for (int i = 0; i < count; i++)
            {
                sink.Record(Event(rule, i));
            }
        }

        private static AuditEvent Event(RuleOrigin rule, int offset) => new AuditEvent(offset, 1, 0xff, rule, "p");

        private sealed class ManualClock
        {
            private TimeSpan _now;

            public Func<TimeSpan> Now => () => _now;

            public void Advance(TimeSpan by) => _now += by;
        }

        /// <summary>Counts every event the firewall raises before handing it on, as a record (the engines' allocation-free path).</summary>
        private sealed class CountingTee : IAuditRecordSink
        {
            private readonly IAuditRecordSink _inner;
            private long _count;

            public CountingTee(IAuditRecordSink inner) => _inner = inner;

            public long Count => Interlocked.Read(ref _count);

            public void Record(AuditEvent auditEvent)
            {
                Interlocked.Increment(ref _count);
                _inner.Record(auditEvent);
            }

            public void Record(in AuditRecord record)
            {
                Interlocked.Increment(ref _count);
                _inner.Record(in record);
            }
        }
    }

    /// <summary>Tests that measure the whole process (its heap): xUnit runs this collection after the others, alone.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class ProcessWideMeasurements
    {
        /// <summary>The collection's name.</summary>
        public const string Name = "Process-wide measurements";
    }
}
