using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// The floor a person would write by hand for <see cref="BenchDevice"/>: a switch on (offset, length) with the
    /// masks as constants (<typeparamref name="TRegisters"/>'s) and no piece splitting, word loads and stores,
    /// calling <see cref="BitSemantics"/> like the engines do. It covers only its registers' naturally aligned
    /// accesses (anything else is refused as <see cref="AccessStatus.OutOfRange"/>), and ignores behaviors (the
    /// benchmarks pass none). A struct type argument makes the JIT compile a copy per register set, so the switch is
    /// the register set's own, as if written out.
    /// </summary>
    /// <typeparam name="TRegisters">The registers served and their masks.</typeparam>
    public sealed class HandWrittenFirewall<TRegisters> : IConfigSpaceFirewall
        where TRegisters : struct, IHandWrittenRegisters
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
        public HandWrittenFirewall(BoundConfigSpace bound, ConfigSpaceImage image, IHardwareConfig hardware, IAuditSink audit)
        {
            _bound = bound;
            _hardware = hardware;
            _audit = audit;
            _shadow = new byte[bound.Size];
            foreach ((int offset, int width) in TRegisters.Registers(image))
            {
                PieceMasks expected = PieceMasks.FromBound(bound, offset, width);
                if (!TRegisters.MasksOf(offset, width, out PieceMasks constant) || constant != expected)
                {
                    throw new InvalidOperationException(
                        "The hand-written baseline's masks for 0x" + offset.ToString("x3", System.Globalization.CultureInfo.InvariantCulture)
                        + " are " + constant + " but the policy binds " + expected + ": update " + typeof(TRegisters).Name + " (bench --masks prints the lines).");
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

        /// <inheritdoc />
        public string PolicyName => _bound.PolicyName;

        /// <inheritdoc />
        public int Size => _bound.Size;

        /// <inheritdoc />
        public AccessStatus Read(int offset, int length, out uint value)
        {
            value = 0;
            if (!TRegisters.MasksOf(offset, length, out PieceMasks masks))
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
            if (!TRegisters.MasksOf(offset, length, out PieceMasks masks))
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

        // Word loads and stores, as an expert would write them (the byte loops below serve only the constructor).
        private uint Load(int offset, int width) => width switch
        {
            4 => BinaryPrimitives.ReadUInt32LittleEndian(_shadow.AsSpan(offset, 4)),
            2 => BinaryPrimitives.ReadUInt16LittleEndian(_shadow.AsSpan(offset, 2)),
            _ => _shadow[offset],
        };

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
            switch (width)
            {
                case 4:
                    BinaryPrimitives.WriteUInt32LittleEndian(_shadow.AsSpan(offset, 4), value);
                    break;
                case 2:
                    BinaryPrimitives.WriteUInt16LittleEndian(_shadow.AsSpan(offset, 2), (ushort)value);
                    break;
                default:
                    _shadow[offset] = (byte)value;
                    break;
            }
        }
    }

    /// <summary>The registers a <see cref="HandWrittenFirewall{TRegisters}"/> serves, with their masks as constants.</summary>
    public interface IHandWrittenRegisters
    {
        /// <summary>The accesses served, each naturally aligned, ordered by offset then width; the constructor checks each one's constants against the binding.</summary>
        static abstract IReadOnlyList<(int Offset, int Width)> Registers(ConfigSpaceImage image);

        /// <summary>The hand-coded dispatch: the masks of an access of <see cref="Registers"/>, as constants; false for any other access.</summary>
        static abstract bool MasksOf(int offset, int length, out PieceMasks masks);
    }

    /// <summary>The six registers the single-access benchmarks use: the smallest switch, the hand-written firewall's best case.</summary>
    public readonly struct BenchmarkedRegisters : IHandWrittenRegisters
    {
        /// <inheritdoc />
        public static IReadOnlyList<(int Offset, int Width)> Registers(ConfigSpaceImage image)
            => new[] { (BenchDevice.VendorId, 2), (BenchDevice.Command, 2), (BenchDevice.Bar0, 4), (BenchDevice.Denied, 4), (BenchDevice.MsiAddress, 4), (BenchDevice.DevCtl, 4) };

        /// <inheritdoc />
        public static bool MasksOf(int offset, int length, out PieceMasks masks)
        {
            switch ((offset << 3) | length)
            {
                case (0x000 << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x004 << 3) | 2: masks = new PieceMasks(0x0000_fffbu, 0x0000_0004u, 0x0000_0543u, 0x0000_0000u, 0x0000_0000u, 0x0000_faa8u, 0x0000_0000u); return true;
                case (0x010 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x038 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u); return true;
                case (0x0d4 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_fffcu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0e8 << 3) | 4: masks = new PieceMasks(0x0000_ffffu, 0x000f_0000u, 0x0000_ffffu, 0x0000_0000u, 0x004f_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                default:
                    masks = default;
                    return false;
            }
        }
    }

    /// <summary>Every access of the device's probe trace (<see cref="ProbeTrace"/>), and the six benchmarked registers (<c>bench --masks</c> prints these lines from the binding).</summary>
    public readonly struct ProbeRegisters : IHandWrittenRegisters
    {
        /// <inheritdoc />
        public static IReadOnlyList<(int Offset, int Width)> Registers(ConfigSpaceImage image)
            => BenchmarkedRegisters.Registers(image)
                .Concat(ProbeTrace.Of(image).Select(access => (Offset: access.Offset, Width: access.Length)))
                .Distinct()
                .OrderBy(register => register.Offset)
                .ThenBy(register => register.Width)
                .ToArray();

        /// <inheritdoc />
        public static bool MasksOf(int offset, int length, out PieceMasks masks)
        {
            switch ((offset << 3) | length)
            {
                case (0x000 << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x000 << 3) | 4: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x004 << 3) | 2: masks = new PieceMasks(0x0000_fffbu, 0x0000_0004u, 0x0000_0543u, 0x0000_0000u, 0x0000_0000u, 0x0000_faa8u, 0x0000_0000u); return true;
                case (0x006 << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_f900u, 0x0000_0000u, 0x0000_0000u, 0x0000_f900u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x008 << 3) | 4: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x00e << 3) | 1: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x010 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x014 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x018 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x01c << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x020 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x024 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x02c << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x02e << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x030 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x034 << 3) | 1: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x038 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u); return true;
                case (0x03c << 3) | 1: masks = new PieceMasks(0x0000_00ffu, 0x0000_0000u, 0x0000_00ffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x03d << 3) | 1: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0a0 << 3) | 2: masks = new PieceMasks(0x0000_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0c8 << 3) | 2: masks = new PieceMasks(0x0000_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0d0 << 3) | 2: masks = new PieceMasks(0x0000_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0d2 << 3) | 2: masks = new PieceMasks(0x0000_fe71u, 0x0000_0000u, 0x0000_0071u, 0x0000_0000u, 0x0000_0000u, 0x0000_fe00u, 0x0000_0000u); return true;
                case (0x0d4 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_fffcu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0d8 << 3) | 4: masks = new PieceMasks(0xffff_ffffu, 0x0000_0000u, 0xffff_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0dc << 3) | 2: masks = new PieceMasks(0x0000_ffffu, 0x0000_0000u, 0x0000_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0e0 << 3) | 2: masks = new PieceMasks(0x0000_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0e2 << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0e4 << 3) | 4: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0e8 << 3) | 2: masks = new PieceMasks(0x0000_ffffu, 0x0000_0000u, 0x0000_ffffu, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0e8 << 3) | 4: masks = new PieceMasks(0x0000_ffffu, 0x000f_0000u, 0x0000_ffffu, 0x0000_0000u, 0x004f_0000u, 0x0000_0000u, 0x0000_0000u); return true;
                case (0x0f0 << 3) | 2: masks = new PieceMasks(0x0000_fffcu, 0x0000_0003u, 0x0000_ffccu, 0x0000_0000u, 0x0000_0000u, 0x0000_0030u, 0x0000_0000u); return true;
                case (0x0f2 << 3) | 2: masks = new PieceMasks(0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_0000u, 0x0000_c000u, 0x0000_0000u, 0x0000_0000u); return true;
                default:
                    masks = default;
                    return false;
            }
        }
    }
}
