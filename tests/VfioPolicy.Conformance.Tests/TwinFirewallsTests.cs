using System;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using Xunit;
using Xunit.Sdk;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>The comparison itself: twin engines that do differ must be caught, or the equivalence proof proves nothing.</summary>
    public sealed class TwinFirewallsTests
    {
        private const string VirtioNet = "qemu/vm1_06-00.0_1af4-1041_virtio-1-0-network-device.xxxx.txt@06:00.0";

        [Fact]
        public void a_handler_running_another_policy_is_caught()
        {
            ICompiledPolicy strict = ConformanceInputs.Policy("strict");
            ICompiledPolicy permissive = ConformanceInputs.Policy("linux-vfio-default");
            var impostor = new ImpostorPolicy(strict, (bound, hardware, audit, behaviors) => permissive.Open(
                DeviceBinder.Bind(permissive.Model, ConformanceInputs.Device(VirtioNet).Image.Bytes, ConformanceInputs.Device(VirtioNet).Image.WalkCapabilities()),
                hardware,
                audit,
                behaviors));

            XunitException error = Assert.ThrowsAny<XunitException>(() => RunEverywhere(new TwinFirewalls(impostor, ConformanceInputs.Device(VirtioNet))));
            Assert.Contains("differs from the interpreter", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void a_handler_that_drops_behavior_calls_is_caught()
        {
            ICompiledPolicy strict = ConformanceInputs.Policy("strict");
            var impostor = new ImpostorPolicy(strict, (bound, hardware, audit, behaviors) => new PolicyInterpreter(bound, hardware, audit, behaviors: null));
            var twins = new TwinFirewalls(impostor, ConformanceInputs.Device(VirtioNet));

            // COMMAND is a behavior register in every standard policy.
            XunitException error = Assert.ThrowsAny<XunitException>(() => twins.Run(ConsumerAccess.Write(0x04, 2, 0x0006)));
            Assert.Contains("behavior calls", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void identical_engines_pass()
        {
            ICompiledPolicy strict = ConformanceInputs.Policy("strict");
            var twin = new ImpostorPolicy(strict, (bound, hardware, audit, behaviors) => new PolicyInterpreter(bound, hardware, audit, behaviors));
            RunEverywhere(new TwinFirewalls(twin, ConformanceInputs.Device(VirtioNet)));
        }

        private static void RunEverywhere(TwinFirewalls twins)
        {
            for (int offset = 0; offset < twins.Bound.Size; offset += 2)
            {
                twins.Run(ConsumerAccess.Read(offset, 2));
                twins.Run(ConsumerAccess.Write(offset, 2, 0xffff));
                twins.Run(ConsumerAccess.Read(offset, 2));
            }

            twins.CompareImages("at the end");
        }

        private sealed class ImpostorPolicy : ICompiledPolicy
        {
            private readonly ICompiledPolicy _real;
            private readonly Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IBehaviorHost?, IConfigSpaceFirewall> _open;

            public ImpostorPolicy(ICompiledPolicy real, Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IBehaviorHost?, IConfigSpaceFirewall> open)
            {
                _real = real;
                _open = open;
            }

            public string Name => _real.Name;

            public PolicyModel Model => _real.Model;

            public IConfigSpaceFirewall Open(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null)
                => _open(bound, hardware, audit, behaviors);
        }
    }
}
