using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Audit
{
    /// <summary>The limits of a <see cref="BoundedAuditSink"/>.</summary>
    /// <param name="Capacity">Events held until <see cref="BoundedAuditSink.Drain()"/> takes them; further events are dropped and counted.</param>
    /// <param name="BurstPerRule">Events one rule may record at once (its token bucket's size).</param>
    /// <param name="EventsPerSecondPerRule">How fast a rule's bucket refills; 0 means a rule records at most <paramref name="BurstPerRule"/> events ever.</param>
    /// <param name="MaxTrackedRules">Rules with a bucket of their own; events of further rules share one overflow bucket, so the table stays bounded too.</param>
    public sealed record AuditLimits(int Capacity, int BurstPerRule, double EventsPerSecondPerRule, int MaxTrackedRules)
    {
        /// <summary>1024 held events, bursts of 16 per rule refilled at 1 event per second, 4096 tracked rules.</summary>
        public static AuditLimits Default { get; } = new AuditLimits(1024, 16, 1.0, 4096);
    }

    /// <summary>What one rule recorded and dropped so far.</summary>
    /// <param name="Policy">The policy the events came from; <see cref="BoundedAuditSink.OverflowPolicy"/> for the shared overflow bucket.</param>
    /// <param name="Rule">The deny rule; <see cref="BoundedAuditSink.OverflowRule"/> for rules past <see cref="AuditLimits.MaxTrackedRules"/>.</param>
    /// <param name="Recorded">Events accepted into the buffer.</param>
    /// <param name="DroppedByRate">Events refused because the rule's bucket was empty.</param>
    /// <param name="DroppedByCapacity">Events that passed the rate limit but found the buffer full.</param>
    public sealed record RuleAuditCounters(string Policy, RuleOrigin Rule, long Recorded, long DroppedByRate, long DroppedByCapacity)
    {
        /// <summary>Every event of this rule that was not recorded.</summary>
        public long Dropped => DroppedByRate + DroppedByCapacity;
    }

    /// <summary>A consistent snapshot of a <see cref="BoundedAuditSink"/>'s totals, read under one lock.</summary>
    /// <param name="Held">Events held now, waiting for <see cref="BoundedAuditSink.Drain()"/>.</param>
    /// <param name="Recorded">Events accepted since the sink was created (drained or not).</param>
    /// <param name="DroppedByRate">Events refused by a rule's rate limit.</param>
    /// <param name="DroppedByCapacity">Events that passed the rate limit but found the buffer full.</param>
    public readonly record struct AuditCounts(int Held, long Recorded, long DroppedByRate, long DroppedByCapacity)
    {
        /// <summary>Every event not recorded: <see cref="DroppedByRate"/> + <see cref="DroppedByCapacity"/>.</summary>
        public long Dropped => DroppedByRate + DroppedByCapacity;
    }

    /// <summary>
    /// An audit sink a consumer cannot flood: it holds at most <see cref="AuditLimits.Capacity"/> events until they are
    /// drained, lets each rule record through a token bucket (a burst, then a steady rate), and counts, in total and
    /// per rule, every event it did not record. Memory is bounded by the capacity and the rule table, whatever the
    /// consumer does. Thread-safe. The default sink of the runtime and of <c>simulate</c>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// When the buffer is full the newest event is dropped rather than the oldest: under a flood the first events
    /// of each rule are the evidence worth keeping, and the counters say how many more there were.
    /// </para>
    /// <para>
    /// Recording allocates nothing once a rule has been seen: held events are <see cref="AuditRecord"/> structs in a
    /// ring allocated with the sink, a rule's bucket is a struct in a table that grows (by doubling, up to
    /// <see cref="AuditLimits.MaxTrackedRules"/>) only when a new rule first reports, and the rule's slot is found
    /// through a small cache keyed by the identity of the binding's rule origin and policy name, then a dictionary
    /// keyed by their values. <see cref="AuditEvent"/> objects are made only by <see cref="Drain()"/>.
    /// </para>
    /// </remarks>
    public sealed class BoundedAuditSink : IAuditRecordSink
    {
        // Direct-mapped cache of (rule, policy) identity -> bucket slot; a power of two.
        private const int CacheSize = 64;

        // The slot the cache and the dictionary give rules past the table: the shared overflow bucket.
        private const int OverflowSlot = -1;

        private readonly object _gate = new object();
        private readonly AuditLimits _limits;
        private readonly Func<TimeSpan> _clock;
        private readonly AuditRecord[] _ring;
        private readonly Dictionary<RuleKey, int> _slots = new Dictionary<RuleKey, int>();
        private readonly CacheEntry[] _cache = new CacheEntry[CacheSize];
        private Bucket[] _buckets;
        private int _tracked;
        private Bucket _overflow;
        private bool _overflowUsed;
        private int _head;
        private int _count;
        private long _recorded;
        private long _droppedByRate;
        private long _droppedByCapacity;

        /// <summary>A sink with <see cref="AuditLimits.Default"/> limits and the monotonic system clock.</summary>
        public BoundedAuditSink()
            : this(AuditLimits.Default)
        {
        }

        /// <summary>A sink with <paramref name="limits"/> and the monotonic system clock.</summary>
        /// <exception cref="ArgumentException">A limit is out of range.</exception>
        public BoundedAuditSink(AuditLimits limits)
            : this(limits, StopwatchClock())
        {
        }

        /// <summary>A sink with <paramref name="limits"/> whose buckets refill by <paramref name="clock"/> (monotonic elapsed time; tests pass a manual one).</summary>
        /// <exception cref="ArgumentException">A limit is out of range.</exception>
        public BoundedAuditSink(AuditLimits limits, Func<TimeSpan> clock)
        {
            _limits = limits ?? throw new ArgumentNullException(nameof(limits));
            _clock = clock ?? throw new ArgumentNullException(nameof(clock));
            Require(limits.Capacity >= 1, "Capacity must be at least 1", limits.Capacity);
            Require(limits.BurstPerRule >= 1, "BurstPerRule must be at least 1", limits.BurstPerRule);
            Require(limits.MaxTrackedRules >= 1, "MaxTrackedRules must be at least 1", limits.MaxTrackedRules);
            if (double.IsNaN(limits.EventsPerSecondPerRule) || double.IsInfinity(limits.EventsPerSecondPerRule) || limits.EventsPerSecondPerRule < 0)
            {
                throw new ArgumentException(
                    "EventsPerSecondPerRule must be a finite number of at least 0; got " + limits.EventsPerSecondPerRule.ToString(CultureInfo.InvariantCulture) + ".",
                    nameof(limits));
            }

            _ring = new AuditRecord[limits.Capacity];
            _buckets = new Bucket[Math.Min(16, limits.MaxTrackedRules)];
        }

        /// <summary>The origin the counters of rules past <see cref="AuditLimits.MaxTrackedRules"/> are kept under.</summary>
        public static RuleOrigin OverflowRule { get; } = new RuleOrigin("<untracked rules>", 0, 0, "rules past the audit sink's rule table");

        /// <summary>The policy name the shared counters of rules past <see cref="AuditLimits.MaxTrackedRules"/> are reported under.</summary>
        public const string OverflowPolicy = "*";

        /// <summary>The sink's limits.</summary>
        public AuditLimits Limits => _limits;

        /// <summary>Events held now (at most <see cref="AuditLimits.Capacity"/>).</summary>
        public int Count => Counts.Held;

        /// <summary>Events accepted since the sink was created (drained or not).</summary>
        public long Recorded => Counts.Recorded;

        /// <summary>Events refused by a rule's rate limit.</summary>
        public long DroppedByRate => Counts.DroppedByRate;

        /// <summary>Events that passed the rate limit but found the buffer full.</summary>
        public long DroppedByCapacity => Counts.DroppedByCapacity;

        /// <summary>Every event not recorded: <see cref="DroppedByRate"/> + <see cref="DroppedByCapacity"/>.</summary>
        public long Dropped => Counts.Dropped;

        /// <summary>Held, recorded and dropped events, read together (allocates nothing).</summary>
        public AuditCounts Counts
        {
            get
            {
                lock (_gate)
                {
                    return new AuditCounts(_count, _recorded, _droppedByRate, _droppedByCapacity);
                }
            }
        }

        /// <summary>The counters of every rule that reported an event, ordered by policy, then rule location.</summary>
        public IReadOnlyList<RuleAuditCounters> RuleCounters
        {
            get
            {
                var counters = new List<RuleAuditCounters>();
                lock (_gate)
                {
                    for (int slot = 0; slot < _tracked; slot++)
                    {
                        counters.Add(_buckets[slot].Snapshot());
                    }

                    if (_overflowUsed)
                    {
                        counters.Add(_overflow.Snapshot());
                    }
                }

                counters.Sort((a, b) =>
                {
                    int byPolicy = string.CompareOrdinal(a.Policy, b.Policy);
                    if (byPolicy != 0)
                    {
                        return byPolicy;
                    }

                    int byPath = string.CompareOrdinal(a.Rule.Path, b.Rule.Path);
                    return byPath != 0 ? byPath : a.Rule.Line.CompareTo(b.Rule.Line) != 0 ? a.Rule.Line.CompareTo(b.Rule.Line) : a.Rule.Column.CompareTo(b.Rule.Column);
                });
                return counters;
            }
        }

        /// <inheritdoc />
        /// <remarks>
        /// Kept for callers that already hold an event: the sink keeps its facts as an <see cref="AuditRecord"/>, like
        /// <see cref="Record(in AuditRecord)"/>. A null event is ignored.
        /// </remarks>
        public void Record(AuditEvent auditEvent)
        {
            if (auditEvent is null)
            {
                return;
            }

            Record(AuditRecord.From(auditEvent));
        }

        /// <inheritdoc />
        /// <remarks>
        /// Never throws and never blocks beyond a short lock. Allocates nothing once the record's rule has been seen
        /// (a new rule may grow the rule table). A record without a rule or policy (a default struct) is counted
        /// under <see cref="OverflowRule"/> and the empty policy name.
        /// </remarks>
        public void Record(in AuditRecord record)
        {
            RuleOrigin rule = record.Rule ?? OverflowRule;
            string policy = record.Policy ?? string.Empty;
            lock (_gate)
            {
                int slot = SlotOf(rule, policy);
                ref Bucket bucket = ref slot == OverflowSlot ? ref _overflow : ref _buckets[slot];
                if (!bucket.TryTake(_clock(), _limits))
                {
                    bucket.DroppedByRate++;
                    _droppedByRate++;
                    return;
                }

                if (_count == _ring.Length)
                {
                    bucket.DroppedByCapacity++;
                    _droppedByCapacity++;
                    return;
                }

                _ring[(_head + _count) % _ring.Length] = new AuditRecord(record.Offset, record.Width, record.Value, rule, policy);
                _count++;
                bucket.Recorded++;
                _recorded++;
            }
        }

        /// <summary>Takes every held event, oldest first, leaving room for new ones; the events are made here. Counters are not reset.</summary>
        public IReadOnlyList<AuditEvent> Drain()
        {
            lock (_gate)
            {
                var events = new AuditEvent[_count];
                for (int i = 0; i < _count; i++)
                {
                    int slot = (_head + i) % _ring.Length;
                    events[i] = _ring[slot].ToEvent();
                    _ring[slot] = default;
                }

                _head = 0;
                _count = 0;
                return events;
            }
        }

        /// <summary>
        /// Moves up to <paramref name="destination"/>'s length held records, oldest first, into it and returns how many;
        /// the rest stay held. Allocates nothing: for a consumer that reads the records without making events of them.
        /// Counters are not reset.
        /// </summary>
        public int Drain(Span<AuditRecord> destination)
        {
            lock (_gate)
            {
                int taken = Math.Min(_count, destination.Length);
                for (int i = 0; i < taken; i++)
                {
                    int slot = (_head + i) % _ring.Length;
                    destination[i] = _ring[slot];
                    _ring[slot] = default;
                }

                _head = _count == taken ? 0 : (_head + taken) % _ring.Length;
                _count -= taken;
                return taken;
            }
        }

        /// <summary>The bucket slot of (<paramref name="rule"/>, <paramref name="policy"/>), adding one for a new rule while the table has room. Under the lock.</summary>
        private int SlotOf(RuleOrigin rule, string policy)
        {
            int index = ((RuntimeHelpers.GetHashCode(rule) * 31) ^ RuntimeHelpers.GetHashCode(policy)) & (CacheSize - 1);
            ref CacheEntry cached = ref _cache[index];
            if (ReferenceEquals(cached.Rule, rule) && ReferenceEquals(cached.Policy, policy))
            {
                return cached.Slot;
            }

            var key = new RuleKey(policy, rule);
            if (!_slots.TryGetValue(key, out int slot))
            {
                if (_tracked < _limits.MaxTrackedRules)
                {
                    if (_tracked == _buckets.Length)
                    {
                        Array.Resize(ref _buckets, (int)Math.Min((long)_buckets.Length * 2, _limits.MaxTrackedRules));
                    }

                    slot = _tracked++;
                    _buckets[slot] = new Bucket(policy, rule, _limits.BurstPerRule, _clock());
                    _slots.Add(key, slot);
                }
                else
                {
                    // Past the table's bound every further rule shares one bucket, so neither memory nor the event
                    // rate grows with the number of distinct rules a caller makes up. Such rules are not added to
                    // the dictionary either: they find the overflow bucket each time they miss the cache.
                    if (!_overflowUsed)
                    {
                        _overflow = new Bucket(OverflowPolicy, OverflowRule, _limits.BurstPerRule, _clock());
                        _overflowUsed = true;
                    }

                    slot = OverflowSlot;
                }
            }

            cached = new CacheEntry(rule, policy, slot);
            return slot;
        }

        private static void Require(bool condition, string problem, int value)
        {
            if (!condition)
            {
                throw new ArgumentException(problem + "; got " + value.ToString(CultureInfo.InvariantCulture) + ".", "limits");
            }
        }

        private static Func<TimeSpan> StopwatchClock()
        {
            Stopwatch watch = Stopwatch.StartNew();
            return () => watch.Elapsed;
        }

        private readonly struct RuleKey : IEquatable<RuleKey>
        {
            public RuleKey(string policy, RuleOrigin rule)
            {
                Policy = policy;
                Rule = rule;
            }

            public string Policy { get; }

            public RuleOrigin Rule { get; }

            public bool Equals(RuleKey other) => string.Equals(Policy, other.Policy, StringComparison.Ordinal) && Rule.Equals(other.Rule);

            public override bool Equals(object? obj) => obj is RuleKey other && Equals(other);

            public override int GetHashCode() => unchecked((StringComparer.Ordinal.GetHashCode(Policy) * 397) ^ Rule.GetHashCode());
        }

        /// <summary>One line of the identity cache: the objects a firewall reports a rule with, and that rule's slot.</summary>
        private readonly struct CacheEntry
        {
            public CacheEntry(RuleOrigin rule, string policy, int slot)
            {
                Rule = rule;
                Policy = policy;
                Slot = slot;
            }

            public RuleOrigin? Rule { get; }

            public string? Policy { get; }

            public int Slot { get; }
        }

        /// <summary>A rule's token bucket and counters, a struct in the sink's table. Guarded by the sink's lock.</summary>
        private struct Bucket
        {
            private readonly string _policy;
            private readonly RuleOrigin _rule;
            private double _tokens;
            private TimeSpan _refilledAt;

            public Bucket(string policy, RuleOrigin rule, int burst, TimeSpan now)
            {
                _policy = policy;
                _rule = rule;
                _tokens = burst;
                _refilledAt = now;
                Recorded = 0;
                DroppedByRate = 0;
                DroppedByCapacity = 0;
            }

            public long Recorded;

            public long DroppedByRate;

            public long DroppedByCapacity;

            public bool TryTake(TimeSpan now, AuditLimits limits)
            {
                // A clock that steps backwards refills nothing rather than draining the bucket.
                if (now > _refilledAt)
                {
                    _tokens = Math.Min(limits.BurstPerRule, _tokens + ((now - _refilledAt).TotalSeconds * limits.EventsPerSecondPerRule));
                    _refilledAt = now;
                }

                if (_tokens < 1.0)
                {
                    return false;
                }

                _tokens -= 1.0;
                return true;
            }

            public readonly RuleAuditCounters Snapshot() => new RuleAuditCounters(_policy, _rule, Recorded, DroppedByRate, DroppedByCapacity);
        }
    }
}
