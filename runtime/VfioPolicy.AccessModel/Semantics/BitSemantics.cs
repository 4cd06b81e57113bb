using System.Runtime.CompilerServices;

namespace VfioPolicy.AccessModel.Semantics
{
    /// <summary>
    /// The one definition of the access model's bit arithmetic. The interpreter and the generated handlers both
    /// call these functions rather than re-deriving them, so they cannot disagree on meaning. All masks are over
    /// one naturally aligned piece of 1, 2 or 4 bytes. Each is marked for inlining: a generated handler inlines
    /// dozens of cases into one method, and the JIT's inlining budget must not run out on a one-line function.
    /// </summary>
    public static class BitSemantics
    {
        /// <summary>The read merge: hardware for passthrough bits, shadow or constant for <paramref name="virtMask"/> bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint MergeRead(uint hardware, uint shadow, uint virtMask) => (hardware & ~virtMask) | (shadow & virtMask);

        /// <summary>
        /// The shadow after a consumer write: <paramref name="rwMask"/> bits take the value, <paramref name="rw1cMask"/>
        /// bits written with 1 clear, every other bit keeps its value.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint WriteShadow(uint shadow, uint value, uint rwMask, uint rw1cMask)
            => ((shadow & ~rwMask) | (value & rwMask)) & ~(value & rw1cMask);

        /// <summary>
        /// The value written to hardware by the read-modify-write of a piece: passthrough-writable bits take the
        /// consumer's value; every other bit keeps the hardware value, except hardware RW1C bits, which are written
        /// as 0 so that the merge never clears a status bit the consumer did not ask to clear.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint MergeHardwareWrite(uint hardware, uint value, uint passthroughWritable, uint hardwareRw1c)
            => (hardware & ~passthroughWritable & ~hardwareRw1c) | (value & passthroughWritable);

        /// <summary>True when the hardware must be read before writing: some bit of the piece keeps its hardware value.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool WriteNeedsHardwareRead(uint passthroughWritable, uint hardwareRw1c, uint pieceMask)
            => (pieceMask & ~passthroughWritable & ~hardwareRw1c) != 0;

        /// <summary>The audited bits a write tried to change: denied, not silent, and written with a value other than the one they read.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint DeniedChange(uint value, uint denyValue, uint auditMask) => (value ^ denyValue) & auditMask;

        /// <summary>
        /// A shadow value at open or after a reset: bits in <paramref name="initFromHardware"/> take the hardware's
        /// value, every other bit its reset value (a virtualized literal or a denied constant).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint InitialShadow(uint resetValue, uint hardware, uint initFromHardware)
            => (resetValue & ~initFromHardware) | (hardware & initFromHardware);

        /// <summary>The index of the lowest set bit of <paramref name="mask"/>, 32 when it is 0: the bit whose owner an audit event names.</summary>
        public static int LowestSetBit(uint mask)
        {
            int index = 0;
            while ((mask & 1u) == 0 && index < 32)
            {
                mask >>= 1;
                index++;
            }

            return index;
        }

        /// <summary>All-ones over bits <paramref name="lowBit"/>..<paramref name="highBit"/> (inclusive, 0..31).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint RangeMask(int lowBit, int highBit) => highBit >= 31 ? (uint.MaxValue << lowBit) : (((1u << (highBit + 1)) - 1) & ~((1u << lowBit) - 1));

        /// <summary>All-ones over <paramref name="width"/> bytes (1, 2 or 4).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint WidthMask(int width) => width >= 4 ? uint.MaxValue : (1u << (width * 8)) - 1;
    }
}
