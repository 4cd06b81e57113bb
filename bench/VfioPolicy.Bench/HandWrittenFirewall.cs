using System;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// The floor a person would write by hand for the benchmarked registers of <see cref="BenchDevice"/>: a switch
    /// on (offset, length) with the masks as constants and no piece splitting, calling <see cref="BitSemantics"/>
    /// like the engines do. It covers only naturally aligned whole-register accesses of those registers (anything
    /// else is refused as <see cref="AccessStatus.OutOfRange"/>), and ignores behaviors (the benchmarks pass none).
    /// </summary>
    public sealed class HandWrittenFirewall : IConfigSpaceFirewall
    {
        private readonly IHardwareConfig _hardware;
        private readonly IAuditSink _audit;
        private readonly BoundConfigSpace _bound;
        private readonly byte[] _shadow;

        /// <summary>
        /// Opens the firewall. The constants are checked against <paramref name="bound"/> first, so the baseline cannot
        /// silently drift from the policy it claims to implement.
        /// </summary>
        /// <exception cref="InvalidOperationException">A constant no longer matches the binding.</exception>
        public HandWrittenFirewall(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit)
        {
            _bound = bound;
            _hardware = hardware;
            _audit = audit;
            _shadow = new byte[bound.Size];
            foreach ((int offset, int width) in new[]
            {
                (BenchDevice.VendorId, 2), (BenchDevice.Command, 2), (BenchDevice.Bar0, 4), (Denied, 4), (BenchDevice.MsiAddress, 4), (BenchDevice.DevCtl, 4),
            })
            {
                PieceMasks expected = PieceMasks.FromBound(bound, offset, width);
                if (!MasksOf(offset, width, out PieceMasks constant) || constant != expected)
                {
                    throw new InvalidOperationException(
                        "The hand-written baseline's masks for 0x" + offset.ToString("x3", System.Globalization.CultureInfo.InvariantCulture)
                        + " are " + constant + " but the policy binds " + expected + ": update HandWrittenFirewall.");
                }

                uint reset = LoadBytes(bound.ResetValue, offset, width);
                uint fromHardware = LoadBytes(bound.InitFromHardware, offset, width);
                uint hardwareValue = 0;
                if (fromHardware != 0 && !hardware.TryRead(offset, width, out hardwareValue))
                {
                    throw new InvalidOperationException("The hardware read at open failed.");
                }

                Store(offset, width, BitSemantics.InitialShadow(reset, hardwareValue, fromHardware));
            }
        }

        /// <summary>The reserved header dword at 0x38: denied, reads 0, audited.</summary>
        public const int Denied = 0x38;

        /// <inheritdoc />
        public string PolicyName => _bound.PolicyName;

        /// <inheritdoc />
        public int Size => _bound.Size;

        /// <inheritdoc />
        public AccessStatus Read(int offset, int length, out uint value)
        {
            value = 0;
            if (!MasksOf(offset, length, out PieceMasks masks))
            {
                return AccessStatus.OutOfRange;
            }

            uint hardware = 0;
            if (masks.Virt != BitSemantics.WidthMask(length) && !_hardware.TryRead(offset, length, out hardware))
            {
                return AccessStatus.HardwareError;
            }

            value = BitSemantics.MergeRead(hardware, Load(offset, length), masks.Virt);
            return AccessStatus.Ok;
        }

        /// <inheritdoc />
        public AccessStatus Write(int offset, int length, uint value)
        {
            if (!MasksOf(offset, length, out PieceMasks masks))
            {
                return AccessStatus.OutOfRange;
            }

            if (masks.PassthroughWritable != 0)
            {
                uint hardware = 0;
                if (BitSemantics.WriteNeedsHardwareRead(masks.PassthroughWritable, masks.HardwareWriteOneToClear, BitSemantics.WidthMask(length))
                    && !_hardware.TryRead(offset, length, out hardware))
                {
                    return AccessStatus.HardwareError;
                }

                if (!_hardware.TryWrite(offset, length, BitSemantics.MergeHardwareWrite(hardware, value, masks.PassthroughWritable, masks.HardwareWriteOneToClear)))
                {
                    return AccessStatus.HardwareError;
                }
            }

            Store(offset, length, BitSemantics.WriteShadow(Load(offset, length), value, masks.ShadowReadWrite, masks.ShadowWriteOneToClear));
            uint denied = BitSemantics.DeniedChange(value, masks.DeniedValue, masks.Audit);
            if (denied != 0)
            {
                int bit = BitSemantics.LowestSetBit(denied);
                RuleOrigin rule = _bound.OwnerOf(offset + (bit / 8), bit % 8);
                new AuditRecord(offset, length, value, rule, _bound.PolicyName).ReportTo(_audit);
            }

            return AccessStatus.Ok;
        }

        /// <inheritdoc />
        public AccessStatus ResetShadow() => AccessStatus.Ok;

        /// <summary>The hand-coded dispatch: constants for exactly the benchmarked registers.</summary>
        private static bool MasksOf(int offset, int length, out PieceMasks masks)
        {
            switch ((offset << 3) | length)
            {
                case (BenchDevice.VendorId << 3) | 2:
                    masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u);
                    return true;
                case (BenchDevice.Command << 3) | 2:
                    masks = new PieceMasks(0x0000_fffbu, 0x0000_0004u, 0x0000_0543u, 0x0000_0000u, 0x0000_0000u, 0x0000_faa8u, 0x0000_0000u);
                    return true;
                case (BenchDevice.Bar0 << 3) | 4:
                    masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u);
                    return true;
                case (Denied << 3) | 4:
                    masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u);
                    return true;
                case (BenchDevice.MsiAddress << 3) | 4:
                    masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_fffcu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u);
                    return true;
                case (BenchDevice.DevCtl << 3) | 4:
                    masks = new PieceMasks(0x0000_ffffu, 0x000f_0000u, 0x0000_ffffu, 0x0000_0000u, 0x004f_0000u, 0x0000_0000u, 0x0000_0000u);
                    return true;
                default:
                    masks = default;
                    return false;
            }
        }

        private uint Load(int offset, int width) => LoadBytes(_shadow, offset, width);

        private static uint LoadBytes(ReadOnlySpan<byte> bytes, int offset, int width)
        {
            uint value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | bytes[offset + b];
            }

            return value;
        }

        private void Store(int offset, int width, uint value)
        {
            for (int b = 0; b < width; b++)
            {
                _shadow[offset + b] = (byte)(value >> (8 * b));
            }
        }
    }
}
