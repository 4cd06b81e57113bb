using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Interpretation.Support
{
    /// <summary>A behavior host that records every callback and what the shadow held when it came.</summary>
    internal sealed class RecordingBehaviorHost : IBehaviorHost
    {
        public List<(Behavior Behavior, int RegisterOffset, int Offset, int Width, uint Value, uint ShadowAtCall)> Calls { get; } = new();

        public Func<int, int, uint>? ReadShadow { get; set; }

        public void OnWrite(Behavior behavior, int registerOffset, int offset, int width, uint value)
            => Calls.Add((behavior, registerOffset, offset, width, value, ReadShadow?.Invoke(offset, width) ?? 0));
    }

    /// <summary>A policy bound to a simulated device and opened, with everything a test inspects.</summary>
    internal sealed class FirewallHarness
    {
        public FirewallHarness(PolicyModel model, ConfigImage image, byte[]? hardwareRw1c = null, byte[]? hardwareReadOnly = null)
        {
            Bound = DeviceBinder.Bind(model, image.Bytes, image.Walk());
            Hardware = new SimulatedConfigHardware(image.Bytes, hardwareRw1c, hardwareReadOnly);
            Audit = new RecordingAuditSink();
            Behaviors = new RecordingBehaviorHost();
            Interpreter = new PolicyInterpreter(Bound, Hardware, Audit, Behaviors);
            Behaviors.ReadShadow = (offset, width) =>
            {
                uint value = 0;
                for (int b = width - 1; b >= 0; b--)
                {
                    value = (value << 8) | Interpreter.Shadow[offset + b];
                }

                return value;
            };
            Hardware.ClearTraffic();
        }

        public BoundConfigSpace Bound { get; }

        public SimulatedConfigHardware Hardware { get; }

        public RecordingAuditSink Audit { get; }

        public RecordingBehaviorHost Behaviors { get; }

        public PolicyInterpreter Interpreter { get; }

        /// <summary>The firewall under test, through its contract only.</summary>
        public IConfigSpaceFirewall Firewall => Interpreter;

        public uint Read(int offset, int length)
        {
            Assert.Equal(AccessStatus.Ok, Firewall.Read(offset, length, out uint value));
            return value;
        }

        public void Write(int offset, int length, uint value) => Assert.Equal(AccessStatus.Ok, Firewall.Write(offset, length, value));

        public uint ShadowValue(int offset, int width)
        {
            uint value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | Interpreter.Shadow[offset + b];
            }

            return value;
        }

        public string[] TrafficText() => Hardware.Traffic.Select(t => t.ToString()).ToArray();
    }
}
