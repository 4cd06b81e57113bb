using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Hardening.Tests.Oracle;
using Xunit;
using VfioPolicy.Testing;

namespace VfioPolicy.Hardening.Tests.Isolation
{
    /// <summary>
    /// The isolation checker must catch a leaky firewall: each test opens a deliberately broken engine in place of the
    /// generated handler and expects the checker to name the broken invariant. Without these, the property suite
    /// could pass by checking nothing.
    /// </summary>
    public sealed class IsolationCheckerSelfTests
    {
        [Fact]
        public void A_firewall_that_writes_denied_bits_to_hardware_is_caught()
        {
            var (checker, bound, denied) = Open(Sabotage.WritesThrough, (b, hw, at) => b.DenyMask[at] == 0xff && b.PassthroughWritable[at] == 0);
            var failure = Assert.Throws<InvalidOperationException>(() => checker.Run(new Access(true, denied, 1, (uint)(byte)~bound.ResetValue[denied])));
            Assert.Contains("the oracle says", failure.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_firewall_that_clears_status_bits_on_a_merge_is_caught()
        {
            var (checker, _, status) = Open(Sabotage.ClearsWriteOneToClear, (b, hw, at) => (b.HardwareWriteOneToClear[at] & b.PassthroughWritable[at] & hw[at]) != 0);
            var failure = Assert.Throws<InvalidOperationException>(() => checker.Run(new Access(true, status, 1, 0)));
            Assert.Contains("RW1C", failure.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_firewall_that_reads_raw_hardware_is_caught()
        {
            var failure = Assert.Throws<InvalidOperationException>(() => Open(Sabotage.ReadsRaw, (b, hw, at) => (b.DenyMask[at] & (hw[at] ^ b.ResetValue[at])) != 0));
            Assert.Contains("the oracle says", failure.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_firewall_that_accepts_an_access_past_the_end_is_caught()
        {
            var (checker, bound, _) = Open(Sabotage.AcceptsPastTheEnd, (b, hw, at) => true);
            var failure = Assert.Throws<InvalidOperationException>(() => checker.Run(new Access(false, bound.Size - 1, 2, 0)));
            Assert.Contains("illegal access", failure.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_firewall_that_drops_audit_events_is_caught()
        {
            var (checker, bound, denied) = Open(Sabotage.SkipsAudit, (b, hw, at) => b.DenyMask[at] == 0xff && b.AuditMask[at] == 0xff);
            var failure = Assert.Throws<InvalidOperationException>(() => checker.Run(new Access(true, denied, 1, (uint)(byte)~bound.ResetValue[denied])));
            Assert.Contains("audit events []; the oracle says [1@", failure.Message, StringComparison.Ordinal);
        }

        /// <summary>Opens the checker on the first corpus device with a byte where <paramref name="where"/> holds under the strict policy (the defect can only show there).</summary>
        private static (IsolationChecker Checker, BoundConfigSpace Bound, int Offset) Open(Sabotage sabotage, Func<BoundConfigSpace, byte[], int, bool> where)
        {
            ICompiledPolicy strict = HardeningInputs.Policies.Single(p => p.Name == "strict");
            foreach (CorpusDevice device in HardeningInputs.CorpusDevices)
            {
                BoundConfigSpace bound = DeviceBinder.Bind(strict.Model, device.Image.Bytes, device.Image.WalkCapabilities());
                int offset = Enumerable.Range(0, bound.Size).FirstOrDefault(at => where(bound, device.Image.Bytes, at), -1);
                if (offset >= 0)
                {
                    OracleLayout layout = OracleLayout.Build(OraclePolicies.For(strict.Name), device.Image.Bytes);
                    return (new IsolationChecker(new SabotagedPolicy(strict, sabotage), bound, layout, device.Image.Bytes, "sabotaged " + sabotage), bound, offset);
                }
            }

            throw new InvalidOperationException("No corpus device has a byte where sabotage " + sabotage + " can show.");
        }

        private enum Sabotage
        {
            WritesThrough,
            ClearsWriteOneToClear,
            ReadsRaw,
            AcceptsPastTheEnd,
            SkipsAudit,
        }

        /// <summary>Where the audit-skipping firewall sends its events: nowhere.</summary>
        private sealed class DiscardingAuditSink : IAuditSink
        {
            public void Record(AuditEvent auditEvent)
            {
            }
        }

        private sealed class SabotagedPolicy : ICompiledPolicy
        {
            private readonly ICompiledPolicy _inner;
            private readonly Sabotage _sabotage;

            public SabotagedPolicy(ICompiledPolicy inner, Sabotage sabotage)
            {
                _inner = inner;
                _sabotage = sabotage;
            }

            public string Name => _inner.Name;

            public PolicyModel Model => _inner.Model;

            public IConfigSpaceFirewall Open(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null)
                => new SabotagedFirewall(new PolicyInterpreter(bound, hardware, _sabotage == Sabotage.SkipsAudit ? new DiscardingAuditSink() : audit, behaviors), hardware, _sabotage);
        }

        /// <summary>The interpreter with one defect; exposes its Shadow as the checker expects.</summary>
        private sealed class SabotagedFirewall : IConfigSpaceFirewall
        {
            private readonly PolicyInterpreter _inner;
            private readonly IHardwareConfig _hardware;
            private readonly Sabotage _sabotage;

            public SabotagedFirewall(PolicyInterpreter inner, IHardwareConfig hardware, Sabotage sabotage)
            {
                _inner = inner;
                _hardware = hardware;
                _sabotage = sabotage;
            }

            public string PolicyName => _inner.PolicyName;

            public int Size => _inner.Size;

            public ReadOnlySpan<byte> Shadow => _inner.Shadow;

            public AccessStatus Read(int offset, int length, out uint value)
            {
                if (_sabotage == Sabotage.ReadsRaw && length == 4 && offset % 4 == 0)
                {
                    return _hardware.TryRead(offset, 4, out value) ? AccessStatus.Ok : AccessStatus.HardwareError;
                }

                if (_sabotage == Sabotage.AcceptsPastTheEnd && offset + length > Size && offset < Size)
                {
                    value = 0;
                    return AccessStatus.Ok;
                }

                return _inner.Read(offset, length, out value);
            }

            public AccessStatus Write(int offset, int length, uint value)
            {
                AccessStatus status = _inner.Write(offset, length, value);
                if (status == AccessStatus.Ok && length == 1)
                {
                    if (_sabotage == Sabotage.WritesThrough)
                    {
                        _hardware.TryWrite(offset, 1, value & 0xff);
                    }
                    else if (_sabotage == Sabotage.ClearsWriteOneToClear)
                    {
                        // The vfio-pci defect: write back what was read, which clears every set RW1C bit.
                        _hardware.TryRead(offset, 1, out uint current);
                        _hardware.TryWrite(offset, 1, current);
                    }
                }

                return status;
            }

            public AccessStatus ResetShadow() => _inner.ResetShadow();
        }
    }
}
