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
    /// The engine core's public pieces that generated code builds on (<see cref="PieceMasks"/>,
    /// <see cref="DwordDispatch"/>, <see cref="FirewallCore"/>'s shadow access, opening and behavior routing), each
    /// against values written out by hand: the case-table comparison cannot see a fault the two paths share.
    /// </summary>
    public sealed class EngineCoreTests
    {
        private static readonly PieceMasks Sample = new(0x0000_0001, 0x0000_0020, 0x0000_0300, 0x0000_4000, 0x0005_0000, 0x00F0_0000, 0x0060_0000);

        [Fact]
        public void masks_are_equal_only_when_every_mask_is()
        {
            PieceMasks[] others =
            {
                new(0x8000_0001, 0x0000_0020, 0x0000_0300, 0x0000_4000, 0x0005_0000, 0x00F0_0000, 0x0060_0000),
                new(0x0000_0001, 0x8000_0020, 0x0000_0300, 0x0000_4000, 0x0005_0000, 0x00F0_0000, 0x0060_0000),
                new(0x0000_0001, 0x0000_0020, 0x8000_0300, 0x0000_4000, 0x0005_0000, 0x00F0_0000, 0x0060_0000),
                new(0x0000_0001, 0x0000_0020, 0x0000_0300, 0x8000_4000, 0x0005_0000, 0x00F0_0000, 0x0060_0000),
                new(0x0000_0001, 0x0000_0020, 0x0000_0300, 0x0000_4000, 0x8005_0000, 0x00F0_0000, 0x0060_0000),
                new(0x0000_0001, 0x0000_0020, 0x0000_0300, 0x0000_4000, 0x0005_0000, 0x80F0_0000, 0x0060_0000),
                new(0x0000_0001, 0x0000_0020, 0x0000_0300, 0x0000_4000, 0x0005_0000, 0x00F0_0000, 0x0070_0000),
            };
            foreach (PieceMasks other in others)
            {
                Assert.False(Sample.Equals(other), other.ToString());
                Assert.False(Sample.Equals((object)other), other.ToString());
                Assert.False(Sample == other, other.ToString());
                Assert.True(Sample != other, other.ToString());
            }

            PieceMasks same = new(0x0000_0001, 0x0000_0020, 0x0000_0300, 0x0000_4000, 0x0005_0000, 0x00F0_0000, 0x0060_0000);
            Assert.True(Sample.Equals(same));
            Assert.True(Sample.Equals((object)same));
            Assert.True(Sample == same);
            Assert.False(Sample != same);
            Assert.Equal(Sample.GetHashCode(), same.GetHashCode());
            Assert.False(Sample.Equals(null));
            Assert.False(Sample.Equals("virt=00000001"));

            // Dictionaries of blocks find masks by value.
            var blocks = new Dictionary<PieceMasks, int> { [Sample] = 1 };
            Assert.True(blocks.ContainsKey(same));
            Assert.All(others, other => Assert.False(blocks.ContainsKey(other)));
        }

        [Fact]
        public void the_denied_value_is_kept_only_where_writes_are_audited()
        {
            Assert.Equal(0x0000_000Fu, new PieceMasks(0, 0, 0, 0, 0, 0x0000_000F, 0xFFFF_FFFF).DeniedValue);
            Assert.Equal(0x0060_0000u, Sample.DeniedValue);
        }

        [Fact]
        public void masks_print_every_word_in_hex()
            => Assert.Equal("virt=00000001 pw=00000020 srw=00000300 srw1c=00004000 hrw1c=00050000 audit=00f00000 denied=00600000", Sample.ToString());

        [Fact]
        public void a_piece_of_the_masks_is_each_word_shifted_down_and_cut_to_its_width()
        {
            var dword = new PieceMasks(0x4433_2211, 0x8877_6655, 0xCCBB_AA99, 0x00FF_EEDD, 0x1357_9BDF, 0xFFFF_FFFF, 0x2468_ACE0);

            PieceMasks middle = dword.Piece(1, 2);

            Assert.Equal(new PieceMasks(0x3322, 0x7766, 0xBBAA, 0xFFEE, 0x579B, 0xFFFF, 0x68AC), middle);
            Assert.Equal(new PieceMasks(0x44, 0x88, 0xCC, 0x00, 0x13, 0xFF, 0x24), dword.Piece(3, 1));
            Assert.Equal(dword, dword.Piece(0, 4));
        }

        [Fact]
        public void masks_loaded_from_a_binding_at_any_width_are_its_bytes_in_little_endian_order()
        {
            BoundConfigSpace bound = MixedBytes();

            // Width 3 is loaded byte by byte, 2 and 4 by one unaligned load each, 1 by one byte: each is checked
            // against single bytes put together here.
            for (int width = 2; width <= 4; width++)
            {
                for (int offset = 0; offset + width <= bound.Size; offset++)
                {
                    PieceMasks whole = PieceMasks.FromBound(bound, offset, width);
                    uint virt = 0, writable = 0, shadow = 0, clear = 0, hardwareClear = 0, audit = 0, denied = 0;
                    for (int b = 0; b < width; b++)
                    {
                        PieceMasks one = PieceMasks.FromBound(bound, offset + b, 1);
                        int shift = 8 * b;
                        virt |= one.Virt << shift;
                        writable |= one.PassthroughWritable << shift;
                        shadow |= one.ShadowReadWrite << shift;
                        clear |= one.ShadowWriteOneToClear << shift;
                        hardwareClear |= one.HardwareWriteOneToClear << shift;
                        audit |= one.Audit << shift;
                        denied |= one.DeniedValue << shift;
                    }

                    Assert.Equal(new PieceMasks(virt, writable, shadow, clear, hardwareClear, audit, denied), whole);
                }
            }

            // The bytes written out: virtualized rw (reset 0x11), passthrough rw, denied 0x5a (read from the shadow:
            // virtualized to a reader), virtualized rw1c.
            Assert.Equal(new PieceMasks(0xFFFF_00FF, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000, 0, 0x00FF_0000, 0x005A_0000), PieceMasks.FromBound(bound, 0x40, 4));
            Assert.Equal(new PieceMasks(0xFF_FF00, 0x00_00FF, 0, 0xFF_0000, 0, 0x00_FF00, 0x00_5A00), PieceMasks.FromBound(bound, 0x41, 3));
        }

        [Theory]
        [InlineData(-1, 1)]
        [InlineData(0, 0)]
        [InlineData(0, 5)]
        [InlineData(0, -1)]
        [InlineData(255, 2)]
        [InlineData(253, 4)]
        [InlineData(256, 1)]
        [InlineData(int.MaxValue, 4)]
        [InlineData(int.MinValue, 4)]
        public void masks_outside_the_config_space_or_of_no_width_are_refused(int offset, int width)
            => Assert.Throws<ArgumentOutOfRangeException>(() => PieceMasks.FromBound(MixedBytes(), offset, width));

        [Fact]
        public void masks_at_the_very_end_of_the_config_space_are_loaded()
        {
            BoundConfigSpace bound = MixedBytes();
            Assert.Equal(PieceMasks.FromBound(bound, 0xFC, 4).Piece(3, 1), PieceMasks.FromBound(bound, 0xFF, 1));
            Assert.Equal(PieceMasks.FromBound(bound, 0xFC, 4).Piece(1, 3), PieceMasks.FromBound(bound, 0xFD, 3));
            Assert.Throws<ArgumentNullException>(() => PieceMasks.FromBound(null!, 0, 4));
        }

        [Fact]
        public void the_dispatch_serves_exactly_the_dwords_whose_masks_have_a_block()
        {
            BoundConfigSpace bound = MixedBytes();
            PieceMasks mixed = PieceMasks.FromBound(bound, 0x40, 4);
            ushort[] readCases = CaseTable(blocks: 1, first: 11);
            ushort[] writeCases = CaseTable(blocks: 1, first: 31);

            DwordDispatch dispatch = DwordDispatch.Build(bound, new Dictionary<PieceMasks, ushort> { [mixed] = 1 }, readCases, writeCases);

            Assert.Equal(1, dispatch.ConstantDwords);
            Assert.Equal(64, dispatch.BlockOfDword.Length);
            Assert.Equal(new ushort[] { 1 }, dispatch.BlockOfDword.Where(b => b != 0));
            Assert.Equal(1, dispatch.BlockOfDword[0x10]);
            for (int shape = 0; shape < PieceShape.Count; shape++)
            {
                int key = PieceShape.AccessKey(0x40 + PieceShape.ByteInDword(shape), PieceShape.Width(shape));
                Assert.Equal(11 + shape, dispatch.ReadCases[key]);
                Assert.Equal(31 + shape, dispatch.WriteCases[key]);
            }

            Assert.Equal(PieceShape.Count, dispatch.ReadCases.Count(c => c != 0));
            Assert.Equal(PieceShape.Count, dispatch.WriteCases.Count(c => c != 0));

            // Every dword whose masks equal a block's is served: here the 61 plain passthrough dwords (all but 0x40 to 0x4b).
            PieceMasks plain = PieceMasks.FromBound(bound, 0x00, 4);
            DwordDispatch plainDispatch = DwordDispatch.Build(bound, new Dictionary<PieceMasks, ushort> { [plain] = 2 }, CaseTable(2, 11), CaseTable(2, 31));
            Assert.Equal(Enumerable.Range(0, 64).Count(d => PieceMasks.FromBound(bound, d * 4, 4) == plain), plainDispatch.ConstantDwords);
            Assert.Equal(61, plainDispatch.ConstantDwords);
            Assert.Equal(61, plainDispatch.BlockOfDword.Count(b => b == 2));
        }

        [Fact]
        public void the_dispatch_refuses_missing_tables_block_zero_and_tables_without_an_entry_for_a_block()
        {
            BoundConfigSpace bound = MixedBytes();
            var blocks = new Dictionary<PieceMasks, ushort> { [PieceMasks.FromBound(bound, 0x40, 4)] = 1 };
            ushort[] full = CaseTable(1, 1);

            Assert.Equal("bound", Assert.Throws<ArgumentNullException>(() => DwordDispatch.Build(null!, blocks, full, full)).ParamName);
            Assert.Equal("blocks", Assert.Throws<ArgumentNullException>(() => DwordDispatch.Build(bound, null!, full, full)).ParamName);
            Assert.Equal("readCaseOfBlockShape", Assert.Throws<ArgumentNullException>(() => DwordDispatch.Build(bound, blocks, null!, full)).ParamName);
            Assert.Equal("writeCaseOfBlockShape", Assert.Throws<ArgumentNullException>(() => DwordDispatch.Build(bound, blocks, full, null!)).ParamName);

            var zero = new Dictionary<PieceMasks, ushort> { [PieceMasks.FromBound(bound, 0x40, 4)] = 0 };
            ArgumentException reserved = Assert.Throws<ArgumentException>(() => DwordDispatch.Build(bound, zero, full, full));
            Assert.Equal("blocks", reserved.ParamName);
            Assert.Contains("reserved", reserved.Message, StringComparison.Ordinal);

            // One entry short of block 1's last shape.
            ushort[] shortTable = full.Take(full.Length - 1).ToArray();
            ArgumentException shortRead = Assert.Throws<ArgumentException>(() => DwordDispatch.Build(bound, blocks, shortTable, full));
            Assert.Equal("readCaseOfBlockShape", shortRead.ParamName);
            Assert.Contains("block 1", shortRead.Message, StringComparison.Ordinal);
            Assert.Equal("writeCaseOfBlockShape", Assert.Throws<ArgumentException>(() => DwordDispatch.Build(bound, blocks, full, shortTable)).ParamName);
        }

        [Fact]
        public void the_shadow_is_read_and_written_little_endian_without_touching_the_hardware()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "V").All(Act.VirtRw(0));
            var h = new FirewallHarness(policy.Build(), new ConfigImage());
            PolicyInterpreter core = h.Interpreter;

            core.WriteShadow(0x40, 4, 0x1122_3344);
            core.WriteShadow(0x42, 2, 0xBEEF);
            core.WriteShadow(0xFF, 1, 0xA5);
            core.WriteShadow(0xFC, 2, 0x0102);

            Assert.Equal(new byte[] { 0x44, 0x33, 0xEF, 0xBE }, core.Shadow.Slice(0x40, 4).ToArray());
            Assert.Equal(0xBEEF_3344u, core.ReadShadow(0x40, 4));
            Assert.Equal(0x33u, core.ReadShadow(0x41, 1));
            Assert.Equal(0xA5u, core.ReadShadow(0xFF, 1));
            Assert.Equal(0xA500_0102u, core.ReadShadow(0xFC, 4));
            Assert.Equal(0xBEEF_3344u, h.Read(0x40, 4));
            Assert.Empty(h.Hardware.Traffic);
        }

        [Theory]
        [InlineData(0x40, 0, "width")]
        [InlineData(0x40, 3, "width")]
        [InlineData(0x40, 5, "width")]
        [InlineData(0x40, -4, "width")]
        [InlineData(-1, 1, "offset")]
        [InlineData(256, 1, "offset")]
        [InlineData(255, 2, "offset")]
        [InlineData(254, 4, "offset")]
        [InlineData(int.MaxValue, 4, "offset")]
        public void a_shadow_access_of_no_piece_width_or_outside_the_config_space_is_refused(int offset, int width, string parameter)
        {
            var h = new FirewallHarness(new PolicyBuilder().Build(), new ConfigImage());
            byte[] before = h.Interpreter.Shadow.ToArray();

            Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => h.Interpreter.ReadShadow(offset, width)).ParamName);
            Assert.Equal(parameter, Assert.Throws<ArgumentOutOfRangeException>(() => h.Interpreter.WriteShadow(offset, width, 0xFFFF_FFFF)).ParamName);
            Assert.Equal(before, h.Interpreter.Shadow.ToArray());
        }

        [Fact]
        public void opening_and_resetting_fail_on_a_failed_read_of_the_first_dword()
        {
            var policy = new PolicyBuilder();
            policy.Header(0x00, 2, "VENDOR").All(Act.VirtFromHardware(WriteSemantics.ReadOnly));
            var image = new ConfigImage().Set16(0x00, 0x8086);
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
            var hardware = new SimulatedConfigHardware(image.Bytes);
            hardware.FailReadsAt(0x01);

            var error = Assert.Throws<InvalidOperationException>(() => new PolicyInterpreter(bound, hardware, new RecordingAuditSink()));
            Assert.Equal(
                "Opening the firewall for policy 'test-policy' failed: the hardware read of the config dword at 0x000 (needed for fields initialised from hardware) failed.",
                error.Message);

            hardware.ClearFaults();
            var interpreter = new PolicyInterpreter(bound, hardware, new RecordingAuditSink());
            interpreter.WriteShadow(0x00, 2, 0x1234);
            hardware.FailReadsAt(0x00);
            Assert.Equal(AccessStatus.HardwareError, interpreter.ResetShadow());
            Assert.Equal(0x1234u, interpreter.ReadShadow(0x00, 2));

            hardware.ClearFaults();
            Assert.Equal(AccessStatus.Ok, interpreter.ResetShadow());
            Assert.Equal(0x8086u, interpreter.ReadShadow(0x00, 2));
        }

        [Fact]
        public void a_sink_of_records_gets_each_denied_write_as_a_record_and_never_as_an_event()
        {
            var policy = new PolicyBuilder();
            policy.DeviceSpecific(0x40, 4, "D").Bits(0, 7, Act.PassRw).Bits(8, 15, Act.Deny(0x5A)).Bits(16, 31, Act.DenySilent(0));
            var image = new ConfigImage();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
            var sink = new RecordSink();
            var interpreter = new PolicyInterpreter(bound, new SimulatedConfigHardware(image.Bytes), sink);

            Assert.Equal(AccessStatus.Ok, interpreter.Write(0x40, 4, 0xFFFF_5AFF));     // the denied byte keeps its value: no record
            Assert.Equal(AccessStatus.Ok, interpreter.Write(0x40, 4, 0x0000_5B00));
            Assert.Equal(AccessStatus.Ok, interpreter.Write(0x41, 1, 0x00));

            Assert.Equal(2, sink.Records.Count);
            Assert.Equal((0x40, 4, 0x0000_5B00u, "test-policy"), (sink.Records[0].Offset, sink.Records[0].Width, sink.Records[0].Value, sink.Records[0].Policy));
            Assert.Equal((0x41, 1, 0x00u), (sink.Records[1].Offset, sink.Records[1].Width, sink.Records[1].Value));
            Assert.Equal(bound.Rules[bound.OwnerIndexOf(0x41, 0)], sink.Records[0].Rule);
        }

        [Fact]
        public void a_write_reaching_into_a_behavior_register_from_the_dword_before_calls_it_with_its_bytes()
        {
            var policy = new PolicyBuilder().Defaults(unknown: Act.PassRw);
            policy.DeviceSpecific(0x44, 4, "ADDRESS", Behavior.Msi).All(Act.VirtRw(0));
            policy.DeviceSpecific(0x4C, 2, "CONTROL", Behavior.Msi).All(Act.VirtRw(0));
            var h = new FirewallHarness(policy.Build(), new ConfigImage());

            h.Write(0x42, 4, 0xAABB_CCDD);      // 0x42..0x45: only the last dword holds a behavior register
            h.Write(0x3E, 4, 0x1122_3344);      // 0x3e..0x41: no behavior register
            h.Write(0x4A, 4, 0x5566_7788);      // 0x4a..0x4d: CONTROL's two bytes are the upper half
            h.Write(0x46, 4, 0x99AA_BBCC);      // 0x46..0x49: ADDRESS's upper half, then a gap
            h.Write(0x43, 2, 0xEEFF);           // 0x43..0x44: ADDRESS's first byte is the access's second

            Assert.Equal(
                new[]
                {
                    (Behavior.Msi, 0x44, 0x44, 2, 0xAABBu, 0xAABBu),
                    (Behavior.Msi, 0x4C, 0x4C, 2, 0x5566u, 0x5566u),
                    (Behavior.Msi, 0x44, 0x46, 2, 0xBBCCu, 0xBBCCu),
                    (Behavior.Msi, 0x44, 0x44, 1, 0xEEu, 0xEEu),
                },
                h.Behaviors.Calls);
        }

        /// <summary>A policy whose dword at 0x40 holds four different kinds of byte; the rest passes through.</summary>
        private static BoundConfigSpace MixedBytes()
        {
            var policy = new PolicyBuilder().Defaults(header: Act.PassRw, capability: Act.PassRw, gap: Act.PassRw, unknown: Act.PassRw);
            policy.DeviceSpecific(0x40, 4, "MIXED").Bits(0, 7, Act.VirtRw(0x11)).Bits(8, 15, Act.PassRw).Bits(16, 23, Act.Deny(0x5A)).Bits(24, 31, Act.VirtRw1c(0x80));
            policy.DeviceSpecific(0x44, 4, "LITERAL").All(Act.VirtRo(0x0403_0201));
            policy.DeviceSpecific(0x48, 4, "HALF").Bits(0, 15, Act.PassRo).Bits(16, 31, Act.Deny());
            var image = new ConfigImage();
            return DeviceBinder.Bind(policy.Build(), image.Bytes, image.Walk());
        }

        /// <summary>A per-(block, shape) case table for blocks 1 to <paramref name="blocks"/>, the cases numbered from <paramref name="first"/>.</summary>
        private static ushort[] CaseTable(int blocks, int first)
        {
            var table = new ushort[(blocks + 1) * PieceShape.Count];
            for (int shape = 0; shape < PieceShape.Count; shape++)
            {
                table[(blocks * PieceShape.Count) + shape] = (ushort)(first + shape);
            }

            return table;
        }

        private sealed class RecordSink : IAuditRecordSink
        {
            public List<AuditRecord> Records { get; } = new();

            public void Record(in AuditRecord record) => Records.Add(record);

            public void Record(AuditEvent auditEvent) => throw new InvalidOperationException("a record sink is given records");
        }
    }
}
