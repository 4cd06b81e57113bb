using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.AccessModel.Tests.Binding.Support;
using VfioPolicy.AccessModel.Tests.Interpretation.Support;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Interpretation
{
    /// <summary>
    /// The engine core's fast path, the one generated handlers run (<c>CaseOf</c>, <c>DwordDispatch</c>,
    /// <c>ReadCase</c>/<c>WriteCase</c> over <see cref="PieceCase"/> tables), in this assembly's own tests: a firewall
    /// built here the way the generator builds one (every distinct dword of the binding a block, every piece shape of
    /// it a case) is compared, access by access, with the interpreter's general path on a policy with every kind of
    /// bit. The conformance suite does this for the library's real handlers; this one is small enough to run per
    /// mutant (docs/reliability.md, section 9).
    /// </summary>
    public sealed class CaseTablePathTests
    {
        private static readonly uint[] Patterns = { 0x0000_0000u, 0xFFFF_FFFFu, 0x5555_5555u, 0xAAAA_AAAAu, 0x1234_5678u };

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void every_single_access_through_the_case_tables_behaves_like_the_general_path(bool literalCases)
        {
            (Engine general, Engine tables, TableFirewall tableFirewall) = Open(literalCases);
            int fastPathAccesses = 0;

            for (int offset = 0; offset < 256; offset++)
            {
                for (int length = 1; length <= 4; length++)
                {
                    // From the reset shadow each time: write-1-to-clear bits are set again, or the first write of all
                    // ones (through the general path, at a lower offset) would have cleared them for good.
                    Assert.Equal(general.Core.ResetShadow(), tables.Core.ResetShadow());
                    fastPathAccesses += tableFirewall.ServesByCase(offset, length) ? 1 : 0;
                    Compare(general, tables, offset, length, null);
                    foreach (uint pattern in Patterns)
                    {
                        Compare(general, tables, offset, length, pattern);
                        Compare(general, tables, offset, length, null);
                    }
                }
            }

            Assert.Equal(general.Shadow, tables.Shadow);
            Assert.Equal(general.Hardware.Bytes.ToArray(), tables.Hardware.Bytes.ToArray());

            // The behavior registers were reached through the cases (the calls are compared above).
            Compare(general, tables, 0x04, 2, 0x0007);
            Assert.Single(tables.Behaviors.Calls);
            Compare(general, tables, 0x54, 4, 0xFEE0_0000u);
            Assert.Single(tables.Behaviors.Calls);

            // Accesses no case may serve are refused alike.
            foreach ((int offset, int length) in new[] { (0, 0), (0, 5), (-1, 1), (-4, 4), (int.MinValue, 4), (int.MaxValue, 1), (256, 1), (255, 2), (253, 4), (0, -1), (0, int.MinValue) })
            {
                Assert.NotEqual(AccessStatus.Ok, general.Run(offset, length, null).Status);
                Compare(general, tables, offset, length, null);
                Compare(general, tables, offset, length, 0xFFFF_FFFFu);
            }

            // Every naturally aligned single piece is served by a case: 256 bytes, 128 words, 64 dwords.
            Assert.Equal(256 + 128 + 64, fastPathAccesses);
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void a_failing_hardware_access_fails_a_case_as_it_fails_the_general_path(bool literalCases)
        {
            // Every single-piece access of every dword, with the hardware failing reads, then writes, at one byte of
            // it: the status, the value read (0), the traffic (nothing written after a failed read), the audit and the
            // behaviors (none after a failure) and the shadow (unchanged) must be those of the general path.
            (Engine general, Engine tables, _) = Open(literalCases);
            int failures = 0;
            foreach (bool failWrites in new[] { false, true })
            {
                for (int at = 0; at < 256; at++)
                {
                    for (int shape = 0; shape < PieceShape.Count; shape++)
                    {
                        int offset = (at & ~3) + PieceShape.ByteInDword(shape);
                        int length = PieceShape.Width(shape);
                        foreach (uint? write in new uint?[] { null, 0xFFFF_FFFFu, 0x0000_0000u, 0xA5A5_A5A5u })
                        {
                            Assert.Equal(general.Core.ResetShadow(), tables.Core.ResetShadow());
                            general.Fail(at, failWrites);
                            tables.Fail(at, failWrites);
                            failures += Compare(general, tables, offset, length, write) == AccessStatus.HardwareError ? 1 : 0;
                            general.Hardware.ClearFaults();
                            tables.Hardware.ClearFaults();
                        }
                    }
                }
            }

            // The header's reads and the passthrough bits at 0x40 reach the hardware (capabilities and gaps are denied):
            // 542 of these accesses failed when this was written.
            Assert.InRange(failures, 500, int.MaxValue);
        }

        [Fact]
        public void a_case_table_of_an_unknown_width_is_refused()
            => Assert.Throws<ArgumentOutOfRangeException>(() => new PieceCase(3, default));

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void a_case_calls_no_behavior_when_nothing_implements_them(bool literalCases)
        {
            BoundConfigSpace bound = DeviceBinder.Bind(MixedPolicy().Build(), Image().Bytes, Image().Walk());
            var firewall = new TableFirewall(bound, new SimulatedConfigHardware(Image().Bytes), new RecordingAuditSink(), null, literalCases);

            Assert.True(firewall.ServesByCase(0x04, 2));
            Assert.Equal(AccessStatus.Ok, firewall.Write(0x04, 2, 0x0007));
            Assert.Equal(AccessStatus.Ok, firewall.Write(0x54, 4, 0xFEE0_0000u));
            Assert.Equal(AccessStatus.Ok, firewall.Read(0x54, 4, out uint address));
            Assert.Equal(0xFEE0_0000u, address);
        }

        private static (Engine General, Engine Tables, TableFirewall TableFirewall) Open(bool literalCases)
        {
            BoundConfigSpace bound = DeviceBinder.Bind(MixedPolicy().Build(), Image().Bytes, Image().Walk());
            byte[] hardwareRw1c = new byte[256];
            hardwareRw1c[0x42] = 0x0F;
            hardwareRw1c[0x43] = 0xFF;     // read-only to the consumer: a read-modify-write of STATUS must write 0 there
            var general = new Engine(bound, Image().Bytes, hardwareRw1c, (b, h, a, behaviors) =>
            {
                var interpreter = new PolicyInterpreter(b, h, a, behaviors);
                return (interpreter, () => interpreter.Shadow.ToArray());
            });
            TableFirewall? tableFirewall = null;
            var tables = new Engine(bound, Image().Bytes, hardwareRw1c, (b, h, a, behaviors) =>
            {
                tableFirewall = new TableFirewall(b, h, a, behaviors, literalCases);
                return (tableFirewall, () => tableFirewall.Shadow.ToArray());
            });
            return (general, tables, tableFirewall!);
        }

        private static AccessStatus Compare(Engine expected, Engine actual, int offset, int length, uint? write)
        {
            string what = (write is null ? "read" : "write 0x" + write.Value.ToString("x8", System.Globalization.CultureInfo.InvariantCulture)) + " of " + length + " at 0x" + offset.ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
            (AccessStatus Status, uint Value) e = expected.Run(offset, length, write);
            (AccessStatus Status, uint Value) a = actual.Run(offset, length, write);
            Assert.True(e == a, what + ": expected " + e + ", got " + a);
            Assert.True(expected.Traffic().SequenceEqual(actual.Traffic()), what + ": hardware traffic differs: " + string.Join(", ", expected.Traffic()) + " / " + string.Join(", ", actual.Traffic()));
            Assert.True(expected.AuditText().SequenceEqual(actual.AuditText()), what + ": audit differs");
            Assert.True(expected.Behaviors.Calls.SequenceEqual(actual.Behaviors.Calls), what + ": behavior calls differ");
            Assert.True(expected.Shadow.SequenceEqual(actual.Shadow), what + ": shadow differs");
            return e.Status;
        }

        /// <summary>VNDR at 0x40 (every kind of bit), MSI at 0x50, an unknown capability at 0x60.</summary>
        private static ConfigImage Image()
        {
            var image = new ConfigImage().AddCapability(0x40, 0x09, 0x10, "VNDR").AddCapability(0x50, 0x05, 0x10, "MSI").AddCapability(0x60, 0x7E, 0x10, "UNKNOWN");
            for (int offset = 0x44; offset < 0x50; offset++)
            {
                image.Set8(offset, (uint)(offset * 37));
            }

            // STATUS' upper byte holds set write-1-to-clear bits: a write of the word or dword must not clear them.
            return image.Set16(0x00, 0x8086).Set16(0x02, 0x10D3).Set8(0x43, 0xA5);
        }

        private static PolicyBuilder MixedPolicy()
        {
            var policy = new PolicyBuilder().Defaults(header: Act.PassRo, capability: Act.Deny(0x5A), gap: Act.DenySilent(0), unknown: Act.PassRw);
            policy.Header(0x04, 2, "COMMAND", Behavior.Command).Bits(0, 1, Act.VirtRw(1)).Bits(2, 2, Act.PassRw).Bits(3, 15, Act.Deny());
            policy.Header(0x10, 4, "BAR0").All(Act.VirtRw(0));
            policy.Capability(0x09, "VNDR")
                .Register(0x02, 2, "STATUS").Bits(0, 3, Act.PassRw, hardwareRw1c: true).Bits(4, 7, Act.VirtRw1c(0xF)).Bits(8, 15, Act.PassRo, hardwareRw1c: true);
            policy.Capability(0x09, "VNDR").Register(0x04, 4, "MIXED")
                .Bits(0, 7, Act.VirtRo(0x12)).Bits(8, 15, Act.VirtFromHardware(WriteSemantics.ReadWrite)).Bits(16, 23, Act.VirtFromHardware(WriteSemantics.WriteHardware)).Bits(24, 31, Act.Deny(0xA5));
            policy.Capability(0x09, "VNDR").Register(0x08, 4, "PLAIN").Bits(0, 15, Act.PassRw).Bits(16, 31, Act.VirtRw(0xBEEF));
            policy.DeviceSpecific(0xFC, 4, "LAST").Bits(0, 23, Act.VirtRw(0x12_3456)).Bits(24, 31, Act.VirtRw1c(0xC3));     // the shadow's last bytes
            policy.Capability(0x05, "MSI").Register(0x04, 4, "ADDRESS", Behavior.Msi).Bits(0, 1, Act.VirtRo(0)).Bits(2, 31, Act.VirtRw(0));
            return policy;
        }

        /// <summary>
        /// A firewall shaped like a generated one whose every case runs from its tables or, with literal cases, as
        /// the generator's literal cases do (<c>ReadPiece</c>/<c>WritePiece</c> with the case's masks; variables here,
        /// constants there).
        /// </summary>
        private sealed class TableFirewall : FirewallCore
        {
            private readonly bool _literalCases;
            private readonly ushort[] _readCases;
            private readonly ushort[] _writeCases;
            private readonly PieceCase[] _readPieces;
            private readonly PieceCase[] _writePieces;

            public TableFirewall(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors, bool literalCases)
                : base(bound, hardware, audit, behaviors)
            {
                _literalCases = literalCases;
                // Every distinct dword of masks is a block, and each of its seven piece shapes a case of its own.
                var blocks = new Dictionary<PieceMasks, ushort>();
                var readPieces = new List<PieceCase> { default };
                var writePieces = new List<PieceCase> { default };
                var caseOfBlockShape = new List<ushort>(Enumerable.Repeat((ushort)0, PieceShape.Count));
                for (int dword = 0; dword < bound.Size; dword += 4)
                {
                    PieceMasks masks = PieceMasks.FromBound(bound, dword, 4);
                    if (blocks.ContainsKey(masks))
                    {
                        continue;
                    }

                    blocks.Add(masks, (ushort)(blocks.Count + 1));     // 0 is "no block"
                    for (int shape = 0; shape < PieceShape.Count; shape++)
                    {
                        int width = PieceShape.Width(shape);
                        PieceMasks piece = masks.Piece(PieceShape.ByteInDword(shape), width);
                        readPieces.Add(PieceCase.Read(width, piece.Virt));
                        writePieces.Add(PieceCase.Write(width, piece.PassthroughWritable, piece.ShadowReadWrite, piece.ShadowWriteOneToClear, piece.HardwareWriteOneToClear, piece.Audit, piece.DeniedValue));
                        caseOfBlockShape.Add((ushort)(readPieces.Count - 1));
                    }
                }

                DwordDispatch dispatch = DwordDispatch.Build(bound, blocks, caseOfBlockShape.ToArray(), caseOfBlockShape.ToArray());
                _readCases = dispatch.ReadCases;
                _writeCases = dispatch.WriteCases;
                _readPieces = readPieces.ToArray();
                _writePieces = writePieces.ToArray();
            }

            public bool ServesByCase(int offset, int length) => CaseOf(_readCases, offset, length) != 0 && CaseOf(_writeCases, offset, length) != 0;

            public override AccessStatus Read(int offset, int length, out uint value)
            {
                int readCase = CaseOf(_readCases, offset, length);
                if (_literalCases && readCase != 0)
                {
                    PieceCase row = _readPieces[readCase];
                    return ReadPiece(offset, row.Width, row.Virt, out value);
                }

                return ReadCase(_readPieces, readCase, offset, length, out value);
            }

            public override AccessStatus Write(int offset, int length, uint value)
            {
                int writeCase = CaseOf(_writeCases, offset, length);
                if (_literalCases && writeCase != 0)
                {
                    PieceCase row = _writePieces[writeCase];
                    return WritePiece(offset, row.Width, value, row.PassthroughWritable, row.ShadowReadWrite, row.ShadowWriteOneToClear, row.HardwareWriteOneToClear, row.Audit, row.DeniedValue);
                }

                return WriteCase(_writePieces, writeCase, offset, length, value);
            }
        }

        private sealed class Engine
        {
            private readonly Func<byte[]> _shadow;

            public Engine(
                BoundConfigSpace bound, byte[] image, byte[] hardwareRw1c,
                Func<BoundConfigSpace, SimulatedConfigHardware, RecordingAuditSink, IBehaviorHost, (IConfigSpaceFirewall Firewall, Func<byte[]> Shadow)> open)
            {
                Hardware = new SimulatedConfigHardware(image, hardwareRw1c);
                Audit = new RecordingAuditSink();
                Behaviors = new RecordingBehaviorHost();
                (Core, _shadow) = open(bound, Hardware, Audit, Behaviors);
                Behaviors.ReadShadow = (offset, width) => ShadowValue(offset, width);
                Hardware.ClearTraffic();
            }

            public RecordingBehaviorHost Behaviors { get; }

            private uint ShadowValue(int offset, int width)
            {
                byte[] shadow = _shadow();
                uint value = 0;
                for (int b = width - 1; b >= 0; b--)
                {
                    value = (value << 8) | shadow[offset + b];
                }

                return value;
            }

            public SimulatedConfigHardware Hardware { get; }

            public RecordingAuditSink Audit { get; }

            public IConfigSpaceFirewall Core { get; }

            public byte[] Shadow => _shadow();

            public (AccessStatus Status, uint Value) Run(int offset, int length, uint? write)
            {
                Hardware.ClearTraffic();
                Audit.Clear();
                Behaviors.Calls.Clear();
                if (write is uint value)
                {
                    return (Core.Write(offset, length, value), 0u);
                }

                AccessStatus status = Core.Read(offset, length, out uint read);
                return (status, read);
            }

            public void Fail(int at, bool writes)
            {
                if (writes)
                {
                    Hardware.FailWritesAt(at);
                }
                else
                {
                    Hardware.FailReadsAt(at);
                }
            }

            public IEnumerable<string> Traffic() => Hardware.Traffic.Select(t => t.ToString());

            public IEnumerable<string> AuditText() => Audit.Events.Select(e => e.ToString());
        }
    }
}
