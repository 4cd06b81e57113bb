using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Audit
{
    /// <summary>The limits of a <see cref="BoundedAuditSink"/>.</summary>
    /// <param name="Capacity">Events held until <see cref="BoundedAuditSink.Drain"/> takes them; further events are dropped and counted.</param>
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

    /// <summary>
    /// An audit sink a consumer cannot flood: it holds at most <see cref="AuditLimits.Capacity"/> events until they are
    /// drained, lets each rule record through a token bucket (a burst, then a steady rate), and counts, in total and
    /// per rule, every event it did not record. Memory is bounded by the capacity and the rule table, whatever the
    /// consumer does. Thread-safe.
    /// </summary>
    /// <remarks>
    /// When the buffer is full the newest event is dropped rather than the oldest: under a flood the first events
    /// of each rule are the evidence worth keeping, and the counters say how many more there were.
    /// </remarks>
    public sealed class BoundedAuditSink : IAuditSink
    {
        private readonly object _gate = new object();
        private readonly AuditLimits _limits;
        private readonly Func<TimeSpan> _clock;
        private readonly AuditEvent[] _ring;
        private readonly Dictionary<RuleKey, Bucket> _buckets = new Dictionary<RuleKey, Bucket>();
        private Bucket? _overflow;
        private int _head;
        private int _count;
        private long _recorded;
        private long _droppedByRate;
        private long _droppedByCapacity;

        // The firewall reports the same rule object over and over: remember the last bucket to skip the hashing.
        private AuditEvent? _lastEvent;
        private Bucket? _lastBucket;

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

            _ring = new AuditEvent[limits.Capacity];
        }

        /// <summary>The origin the counters of rules past <see cref="AuditLimits.MaxTrackedRules"/> are kept under.</summary>
        public static RuleOrigin OverflowRule { get; } = new RuleOrigin("<untracked rules>", 0, 0, "rules past the audit sink's rule table");

        /// <summary>The policy name the shared counters of rules past <see cref="AuditLimits.MaxTrackedRules"/> are reported under.</summary>
        public const string OverflowPolicy = "*";

        /// <summary>The sink's limits.</summary>
        public AuditLimits Limits => _limits;

        /// <summary>Events held now (at most <see cref="AuditLimits.Capacity"/>).</summary>
        public int Count
        {
            get
            {
                lock (_gate)
                {
                    return _count;
                }
            }
        }

        /// <summary>Events accepted since the sink was created (drained or not).</summary>
        public long Recorded
        {
            get
            {
                lock (_gate)
                {
                    return _recorded;
                }
            }
        }

        /// <summary>Events refused by a rule's rate limit.</summary>
        public long DroppedByRate
        {
            get
            {
                lock (_gate)
                {
                    return _droppedByRate;
                }
            }
        }

        /// <summary>Events that passed the rate limit but found the buffer full.</summary>
        public long DroppedByCapacity
        {
            get
            {
                lock (_gate)
                {
                    return _droppedByCapacity;
                }
            }
        }

        /// <summary>Every event not recorded: <see cref="DroppedByRate"/> + <see cref="DroppedByCapacity"/>.</summary>
        public long Dropped
        {
            get
            {
                lock (_gate)
                {
                    return _droppedByRate + _droppedByCapacity;
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
                    foreach (KeyValuePair<RuleKey, Bucket> entry in _buckets)
                    {
                        counters.Add(entry.Value.Snapshot(entry.Key.Policy, entry.Key.Rule));
                    }

                    if (_overflow is not null)
                    {
                        counters.Add(_overflow.Snapshot(OverflowPolicy, OverflowRule));
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
        /// <remarks>Never throws for a well-formed event and never blocks beyond a short lock; a null event is ignored.</remarks>
        public void Record(AuditEvent auditEvent)
        {
            if (auditEvent is null)
            {
                return;
            }

            lock (_gate)
            {
                Bucket bucket = BucketOf(auditEvent);
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

                _ring[(_head + _count) % _ring.Length] = auditEvent;
                _count++;
                bucket.Recorded++;
                _recorded++;
            }
        }

        /// <summary>Takes every held event, oldest first, leaving room for new ones. Counters are not reset.</summary>
        public IReadOnlyList<AuditEvent> Drain()
        {
            lock (_gate)
            {
                var events = new AuditEvent[_count];
                for (int i = 0; i < _count; i++)
                {
                    int slot = (_head + i) % _ring.Length;
                    events[i] = _ring[slot];
                    _ring[slot] = null!;
                }

                _head = 0;
                _count = 0;
                return events;
            }
        }

        private Bucket BucketOf(AuditEvent auditEvent)
        {
            if (_lastEvent is not null && _lastBucket is not null
                && ReferenceEquals(_lastEvent.Rule, auditEvent.Rule) && ReferenceEquals(_lastEvent.Policy, auditEvent.Policy))
            {
                _lastEvent = auditEvent;
                return _lastBucket;
            }

            var key = new RuleKey(auditEvent.Policy ?? string.Empty, auditEvent.Rule ?? OverflowRule);
            if (!_buckets.TryGetValue(key, out Bucket? bucket))
            {
                if (_buckets.Count < _limits.MaxTrackedRules)
                {
                    bucket = new Bucket(_limits.BurstPerRule, _clock());
                    _buckets.Add(key, bucket);
                }
                else
                {
                    // Past the table's bound every further rule shares one bucket, so neither memory nor the event
                    // rate grows with the number of distinct rules a caller makes up.
                    bucket = _overflow ??= new Bucket(_limits.BurstPerRule, _clock());
                }
            }

            _lastEvent = auditEvent;
            _lastBucket = bucket;
            return bucket;
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

        /// <summary>A rule's token bucket and counters. Guarded by the sink's lock.</summary>
        private sealed class Bucket
        {
            private double _tokens;
            private TimeSpan _refilledAt;

            public Bucket(int burst, TimeSpan now)
            {
                _tokens = burst;
                _refilledAt = now;
            }

            public long Recorded { get; set; }

            public long DroppedByRate { get; set; }

            public long DroppedByCapacity { get; set; }

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

            public RuleAuditCounters Snapshot(string policy, RuleOrigin rule) => new RuleAuditCounters(policy, rule, Recorded, DroppedByRate, DroppedByCapacity);
        }
    }
}
