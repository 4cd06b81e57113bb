using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using System.Text;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using Xunit.Sdk;
using VfioPolicy.Testing;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>One consumer access (or a function reset of the shadow) to replay against both engines.</summary>
    public readonly record struct ConsumerAccess(AccessKind Kind, int Offset, int Length, uint Value)
    {
        /// <summary>A read.</summary>
        public static ConsumerAccess Read(int offset, int length) => new ConsumerAccess(AccessKind.Read, offset, length, 0);

        /// <summary>A write.</summary>
        public static ConsumerAccess Write(int offset, int length, uint value) => new ConsumerAccess(AccessKind.Write, offset, length, value);

        /// <summary>A function reset.</summary>
        public static ConsumerAccess Reset() => new ConsumerAccess(AccessKind.Reset, 0, 0, 0);

        /// <inheritdoc />
        public override string ToString() => Kind switch
        {
            AccessKind.Read => string.Format(CultureInfo.InvariantCulture, "read {0}@0x{1:x3}", Length, Offset),
            AccessKind.Write => string.Format(CultureInfo.InvariantCulture, "write {0}@0x{1:x3} = 0x{2:x8}", Length, Offset, Value),
            _ => "reset shadow",
        };
    }

    /// <summary>What a <see cref="ConsumerAccess"/> does.</summary>
    public enum AccessKind
    {
        /// <summary>A consumer read.</summary>
        Read,

        /// <summary>A consumer write.</summary>
        Write,

        /// <summary><see cref="IConfigSpaceFirewall.ResetShadow"/>.</summary>
        Reset,
    }

    /// <summary>A behavior host that records every callback.</summary>
    public sealed class RecordingBehaviorHost : IBehaviorHost
    {
        /// <summary>Every callback so far, in order.</summary>
        public List<(Behavior Behavior, int RegisterOffset, int Offset, int Width, uint Value)> Calls { get; } = new();

        /// <inheritdoc />
        public void OnWrite(Behavior behavior, int registerOffset, int offset, int width, uint value)
            => Calls.Add((behavior, registerOffset, offset, width, value));
    }

    /// <summary>Everything one engine touches: its own simulated device, audit sink and behavior host.</summary>
    public sealed class EngineUnderTest
    {
        private delegate ReadOnlySpan<byte> ShadowView();

        private readonly ShadowView _shadow;

        /// <summary>Opens <paramref name="open"/> over a fresh simulated copy of <paramref name="image"/>.</summary>
        public EngineUnderTest(string name, BoundConfigSpace bound, byte[] image, Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IBehaviorHost, IConfigSpaceFirewall> open)
        {
            Name = name;
            Hardware = new SimulatedConfigHardware(image, bound.HardwareWriteOneToClear.ToArray());
            Firewall = open(bound, Hardware, Audit, Behaviors);
            _shadow = ShadowOf(Firewall);
        }

        /// <summary>"interpreter" or "generated".</summary>
        public string Name { get; }

        /// <summary>The simulated device.</summary>
        public SimulatedConfigHardware Hardware { get; }

        /// <summary>The audit events.</summary>
        public RecordingAuditSink Audit { get; } = new RecordingAuditSink();

        /// <summary>The behavior callbacks.</summary>
        public RecordingBehaviorHost Behaviors { get; } = new RecordingBehaviorHost();

        /// <summary>The firewall under test.</summary>
        public IConfigSpaceFirewall Firewall { get; }

        /// <summary>The firewall's current shadow.</summary>
        public ReadOnlySpan<byte> Shadow => _shadow();

        /// <summary>Runs one access; returns its status and the value read (0 for writes and resets).</summary>
        public (AccessStatus Status, uint Value) Run(ConsumerAccess access)
        {
            switch (access.Kind)
            {
                case AccessKind.Read:
                    AccessStatus status = Firewall.Read(access.Offset, access.Length, out uint value);
                    return (status, value);
                case AccessKind.Write:
                    return (Firewall.Write(access.Offset, access.Length, access.Value), 0);
                default:
                    return (Firewall.ResetShadow(), 0);
            }
        }

        /// <summary>Forgets the traffic, events and calls recorded so far.</summary>
        public void ClearRecords()
        {
            Hardware.ClearTraffic();
            Audit.Clear();
            Behaviors.Calls.Clear();
        }

        /// <summary>
        /// The public <c>Shadow</c> of the engine behind a firewall. Both engines expose the one of their
        /// <see cref="FirewallCore"/> (the generated one is a private subclass), so the property is found on the runtime type; a span
        /// cannot be boxed, so it is bound as a delegate rather than invoked through reflection.
        /// </summary>
        private static ShadowView ShadowOf(IConfigSpaceFirewall firewall)
        {
            MethodInfo? getter = firewall.GetType().GetProperty("Shadow", BindingFlags.Public | BindingFlags.Instance)?.GetMethod;
            if (getter is null || getter.ReturnType != typeof(ReadOnlySpan<byte>))
            {
                throw new InvalidOperationException(
                    "The firewall " + firewall.GetType().FullName + " exposes no public ReadOnlySpan<byte> Shadow, so its shadow cannot be compared.");
            }

            return (ShadowView)Delegate.CreateDelegate(typeof(ShadowView), firewall, getter);
        }
    }

    /// <summary>
    /// The reference interpreter and a generated handler opened on the same binding over two identical simulated
    /// devices; <see cref="Run"/> replays an access on both and fails on the first observable difference.
    /// </summary>
    public sealed class TwinFirewalls
    {
        private readonly List<ConsumerAccess> _history = new List<ConsumerAccess>();

        /// <summary>Binds <paramref name="policy"/>'s model to <paramref name="device"/> (whatever its match lines say) and opens both engines.</summary>
        public TwinFirewalls(ICompiledPolicy policy, CorpusDevice device)
            : this(policy, device, DeviceBinder.Bind(policy.Model, device.Image.Bytes, device.Image.WalkCapabilities()))
        {
        }

        /// <summary>Opens both engines on an existing binding (binding is the slow part; sequences share one).</summary>
        public TwinFirewalls(ICompiledPolicy policy, CorpusDevice device, BoundConfigSpace bound)
        {
            Label = "policy '" + policy.Name + "' on " + device.Name;
            Bound = bound;
            Interpreter = new EngineUnderTest("interpreter", bound, device.Image.Bytes, (b, h, a, c) => new PolicyInterpreter(b, h, a, c));
            Generated = new EngineUnderTest("generated", bound, device.Image.Bytes, policy.Open);
            CompareRecords("opening the firewall");
            CompareImages("after opening");
        }

        /// <summary>Which policy on which device, for failure messages.</summary>
        public string Label { get; }

        /// <summary>The shared binding.</summary>
        public BoundConfigSpace Bound { get; }

        /// <summary>The reference interpreter's side.</summary>
        public EngineUnderTest Interpreter { get; }

        /// <summary>The generated handler's side.</summary>
        public EngineUnderTest Generated { get; }

        /// <summary>How many accesses both engines ran.</summary>
        public int AccessCount => _history.Count;

        /// <summary>Runs <paramref name="access"/> on both engines and compares status, value, traffic, audit events and behavior calls.</summary>
        public (AccessStatus Status, uint Value) Run(ConsumerAccess access)
        {
            _history.Add(access);
            var expected = Interpreter.Run(access);
            var actual = Generated.Run(access);
            if (expected != actual)
            {
                Fail("result", expected.ToString(), actual.ToString());
            }

            CompareRecords(access.ToString());
            return expected;
        }

        /// <summary>Compares the full hardware and shadow images of both engines.</summary>
        public void CompareImages(string when)
        {
            CompareBytes("hardware image " + when, Interpreter.Hardware.Bytes, Generated.Hardware.Bytes);
            CompareBytes("shadow " + when, Interpreter.Shadow, Generated.Shadow);
        }

        private void CompareRecords(string what)
        {
            CompareLists("hardware traffic of " + what, Interpreter.Hardware.Traffic, Generated.Hardware.Traffic);
            CompareLists("audit events of " + what, Interpreter.Audit.Events, Generated.Audit.Events);
            CompareLists("behavior calls of " + what, Interpreter.Behaviors.Calls, Generated.Behaviors.Calls);
            Interpreter.ClearRecords();
            Generated.ClearRecords();
        }

        private void CompareLists<T>(string what, IReadOnlyList<T> expected, IReadOnlyList<T> actual)
        {
            bool same = expected.Count == actual.Count;
            for (int i = 0; same && i < expected.Count; i++)
            {
                same = EqualityComparer<T>.Default.Equals(expected[i], actual[i]);
            }

            if (!same)
            {
                Fail(what, Describe(expected), Describe(actual));
            }
        }

        private void CompareBytes(string what, ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
        {
            if (expected.SequenceEqual(actual))
            {
                return;
            }

            int at = 0;
            while (at < expected.Length && at < actual.Length && expected[at] == actual[at])
            {
                at++;
            }

            Fail(
                what,
                string.Format(CultureInfo.InvariantCulture, "{0} bytes, first difference at 0x{1:x3}: 0x{2:x2}", expected.Length, at, at < expected.Length ? expected[at] : -1),
                string.Format(CultureInfo.InvariantCulture, "{0} bytes, at 0x{1:x3}: 0x{2:x2}", actual.Length, at, at < actual.Length ? actual[at] : -1));
        }

        private static string Describe<T>(IReadOnlyList<T> items)
            => items.Count == 0 ? "(none)" : string.Join("; ", items.Select(i => Convert.ToString(i, CultureInfo.InvariantCulture)));

        private void Fail(string what, string expected, string actual)
        {
            var message = new StringBuilder();
            message.Append("The generated handler differs from the interpreter: ").Append(what).Append(", ").Append(Label).AppendLine(".");
            message.Append("  interpreter: ").AppendLine(expected);
            message.Append("  generated:   ").AppendLine(actual);
            message.Append("  after ").Append(_history.Count.ToString(CultureInfo.InvariantCulture)).AppendLine(" accesses; the last ones:");
            foreach (ConsumerAccess access in _history.Skip(Math.Max(0, _history.Count - 8)))
            {
                message.Append("    ").AppendLine(access.ToString());
            }

            throw new XunitException(message.ToString());
        }
    }
}
