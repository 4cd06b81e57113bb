using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.AccessModel.Infrastructure
{
    /// <summary>
    /// Everything an access needs to know about the bits of one naturally aligned piece (or a whole dword): the
    /// binding's per-byte masks gathered into words. The interpreter loads them from the bound arrays; generated
    /// handlers hold them as constants. Reset values are not here: they matter only when the shadow is reset, which
    /// reads the binding directly, and for audited bits, whose denied value <see cref="DeniedValue"/> carries.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public readonly struct PieceMasks : IEquatable<PieceMasks>
    {
        /// <summary>Creates masks from their words (bit 0 is the lowest bit of the piece's first byte).</summary>
        public PieceMasks(uint virt, uint passthroughWritable, uint shadowReadWrite, uint shadowWriteOneToClear, uint hardwareWriteOneToClear, uint audit, uint deniedValue)
        {
            Virt = virt;
            PassthroughWritable = passthroughWritable;
            ShadowReadWrite = shadowReadWrite;
            ShadowWriteOneToClear = shadowWriteOneToClear;
            HardwareWriteOneToClear = hardwareWriteOneToClear;
            Audit = audit;
            DeniedValue = deniedValue & audit;
        }

        /// <summary>Bits whose read value does not come from hardware.</summary>
        public uint Virt { get; }

        /// <summary>Passthrough bits a consumer write reaches the hardware through.</summary>
        public uint PassthroughWritable { get; }

        /// <summary>Virtualized bits a write stores into the shadow.</summary>
        public uint ShadowReadWrite { get; }

        /// <summary>Virtualized bits a written 1 clears in the shadow.</summary>
        public uint ShadowWriteOneToClear { get; }

        /// <summary>Hardware write-1-to-clear bits: a read-modify-write writes them as 0 unless the consumer writes them.</summary>
        public uint HardwareWriteOneToClear { get; }

        /// <summary>Denied bits whose rule is not silent.</summary>
        public uint Audit { get; }

        /// <summary>The denied constant of the <see cref="Audit"/> bits (0 elsewhere): a write of another value is audited.</summary>
        public uint DeniedValue { get; }

        /// <summary>The masks of the <paramref name="width"/>-byte piece starting <paramref name="byteOffset"/> bytes into these.</summary>
        public PieceMasks Piece(int byteOffset, int width)
        {
            int shift = byteOffset * 8;
            uint mask = BitSemantics.WidthMask(width);
            return new PieceMasks(
                (Virt >> shift) & mask,
                (PassthroughWritable >> shift) & mask,
                (ShadowReadWrite >> shift) & mask,
                (ShadowWriteOneToClear >> shift) & mask,
                (HardwareWriteOneToClear >> shift) & mask,
                (Audit >> shift) & mask,
                (DeniedValue >> shift) & mask);
        }

        /// <summary>Loads the masks of <paramref name="width"/> bytes at <paramref name="offset"/> from <paramref name="bound"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The bytes lie outside the config space, or the width is not 1 to 4.</exception>
        public static PieceMasks FromBound(BoundConfigSpace bound, int offset, int width)
        {
            if (bound is null)
            {
                throw new ArgumentNullException(nameof(bound));
            }

            if (width < 1 || width > 4 || offset < 0 || (long)offset + width > bound.Size)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, "The piece must lie inside the config space and be 1 to 4 bytes wide.");
            }

            return Load(bound, offset, width);
        }

        /// <summary>The unchecked load the engines use on their hot path.</summary>
        internal static PieceMasks Load(BoundConfigSpace bound, int offset, int width)
        {
            return new PieceMasks(
                Load(bound.VirtArray, offset, width),
                Load(bound.PassthroughWritableArray, offset, width),
                Load(bound.ShadowReadWriteArray, offset, width),
                Load(bound.ShadowWriteOneToClearArray, offset, width),
                Load(bound.HardwareWriteOneToClearArray, offset, width),
                Load(bound.AuditArray, offset, width),
                Load(bound.ResetValueArray, offset, width));
        }

        /// <summary>Little-endian load of <paramref name="width"/> bytes (1 to 4), one unaligned load for 1, 2 or 4.</summary>
        /// <exception cref="IndexOutOfRangeException">The bytes lie outside <paramref name="bytes"/>.</exception>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint Load(byte[] bytes, int offset, int width)
        {
            // The last byte's bounds check guards the unaligned load that starts at the first one. The switch is not
            // delegated to Load(ref byte, int): taking the reference before it cost the interpreter 2 ns per read.
            _ = bytes[offset + width - 1];
            switch (width)
            {
                case 4:
                    return LittleEndian(Unsafe.ReadUnaligned<uint>(ref bytes[offset]));
                case 2:
                    return LittleEndian(Unsafe.ReadUnaligned<ushort>(ref bytes[offset]));
                case 1:
                    return bytes[offset];
                default:
                    return LoadByteByByte(ref bytes[offset], width);
            }
        }

        /// <summary>Little-endian store of the low <paramref name="width"/> bytes (1, 2 or 4: every caller's piece or dword) of <paramref name="value"/>.</summary>
        /// <exception cref="IndexOutOfRangeException">The bytes lie outside <paramref name="bytes"/>.</exception>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Store(byte[] bytes, int offset, int width, uint value)
        {
            _ = bytes[offset + width - 1];
            Store(ref bytes[offset], width, value);
        }

        /// <summary>The first of <paramref name="width"/> bytes at <paramref name="offset"/>, after one check that all of them lie inside <paramref name="bytes"/>.</summary>
        /// <exception cref="IndexOutOfRangeException">Some of the bytes lie outside <paramref name="bytes"/>.</exception>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static ref byte At(byte[] bytes, int offset, int width)
        {
            // In 64 bits, a negative offset or width is huge, so one comparison checks both ends.
            if ((ulong)(uint)offset + (uint)width > (uint)bytes.Length)
            {
                ThrowOutside();
            }

            return ref Unsafe.Add(ref MemoryMarshal.GetReference(new Span<byte>(bytes)), offset);
        }

        /// <summary>Little-endian load of <paramref name="width"/> bytes (1, 2 or 4) starting at <paramref name="first"/>, already checked.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static uint Load(ref byte first, int width)
        {
            switch (width)
            {
                case 4:
                    return LittleEndian(Unsafe.ReadUnaligned<uint>(ref first));
                case 2:
                    return LittleEndian(Unsafe.ReadUnaligned<ushort>(ref first));
                default:
                    return first;
            }
        }

        /// <summary>Little-endian store of the low <paramref name="width"/> bytes (1, 2 or 4) of <paramref name="value"/> starting at <paramref name="first"/>, already checked.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static void Store(ref byte first, int width, uint value)
        {
            switch (width)
            {
                case 4:
                    Unsafe.WriteUnaligned(ref first, LittleEndian(value));
                    return;
                case 2:
                    Unsafe.WriteUnaligned(ref first, LittleEndian((ushort)value));
                    return;
                default:
                    first = (byte)value;
                    return;
            }
        }

        // The byte order conversions of the unaligned loads and stores: the identity on a little-endian machine, where
        // the JIT folds the test away, so that the one code path every test runs is the one big-endian machines run.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static uint LittleEndian(uint value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ushort LittleEndian(ushort value) => BitConverter.IsLittleEndian ? value : BinaryPrimitives.ReverseEndianness(value);

        private static void ThrowOutside() => throw new IndexOutOfRangeException("The bytes lie outside the array.");

        // Out of line, so that the inlined loads stay small enough for the JIT to inline them everywhere. Only
        // FromBound's 3-byte pieces come here.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static uint LoadByteByByte(ref byte first, int width)
        {
            uint value = 0;
            for (int b = 0; b < width; b++)
            {
                value |= (uint)Unsafe.Add(ref first, b) << (8 * b);
            }

            return value;
        }

        /// <inheritdoc />
        public bool Equals(PieceMasks other)
            => Virt == other.Virt && PassthroughWritable == other.PassthroughWritable && ShadowReadWrite == other.ShadowReadWrite
               && ShadowWriteOneToClear == other.ShadowWriteOneToClear && HardwareWriteOneToClear == other.HardwareWriteOneToClear
               && Audit == other.Audit && DeniedValue == other.DeniedValue;

        /// <inheritdoc />
        public override bool Equals(object? obj) => obj is PieceMasks other && Equals(other);

        /// <inheritdoc />
        public override int GetHashCode()
            => (Virt, PassthroughWritable, ShadowReadWrite, ShadowWriteOneToClear, HardwareWriteOneToClear, Audit, DeniedValue).GetHashCode();

        /// <summary>Equality of every mask.</summary>
        public static bool operator ==(PieceMasks left, PieceMasks right) => left.Equals(right);

        /// <summary>Inequality of some mask.</summary>
        public static bool operator !=(PieceMasks left, PieceMasks right) => !left.Equals(right);

        /// <inheritdoc />
        public override string ToString() => string.Format(
            CultureInfo.InvariantCulture,
            "virt={0:x8} pw={1:x8} srw={2:x8} srw1c={3:x8} hrw1c={4:x8} audit={5:x8} denied={6:x8}",
            Virt,
            PassthroughWritable,
            ShadowReadWrite,
            ShadowWriteOneToClear,
            HardwareWriteOneToClear,
            Audit,
            DeniedValue);
    }
}
