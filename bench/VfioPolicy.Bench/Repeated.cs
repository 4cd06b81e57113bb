using System.Runtime.CompilerServices;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// One access repeated in a loop, so that a nanosecond access is measured over <see cref="Times"/> calls rather than
    /// one (benchmarks set <c>OperationsPerInvoke</c> to it, and BenchmarkDotNet reports the time per access).
    /// </summary>
    /// <remarks>
    /// Inlined, so that every benchmark has its own call site: the JIT's profile of a call site (guarded
    /// devirtualization) then sees one engine, as a device's access loop does, and not whichever benchmark happened to
    /// run first in the process. The access's offset, length and value pass through <see cref="Opaque"/> first, so
    /// the JIT cannot fold them into an engine it inlines: a VMM learns them from the guest at run time, and a
    /// hand-written switch inlined with a constant offset would otherwise measure one folded case, not a firewall.
    /// </remarks>
    public static class Repeated
    {
        /// <summary>How many times each benchmark repeats its access.</summary>
        public const int Times = 64;

        /// <summary>Reads <paramref name="length"/> bytes at <paramref name="offset"/> <see cref="Times"/> times; returns the values folded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Read(IConfigSpaceFirewall firewall, int offset, int length)
        {
            offset = Opaque(offset);
            length = Opaque(length);
            uint sum = 0;
            for (int i = 0; i < Times; i++)
            {
                firewall.Read(offset, length, out uint value);
                sum += value;
            }

            return sum;
        }

        /// <summary>Writes <paramref name="value"/> <see cref="Times"/> times; returns the statuses folded.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static uint Write(IConfigSpaceFirewall firewall, int offset, int length, uint value)
        {
            offset = Opaque(offset);
            length = Opaque(length);
            value = (uint)Opaque((int)value);
            uint sum = 0;
            for (int i = 0; i < Times; i++)
            {
                sum += (uint)firewall.Write(offset, length, value);
            }

            return sum;
        }

        /// <summary>Returns <paramref name="value"/>, in a call the JIT may not inline, so that it is not a constant to the caller.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static int Opaque(int value) => value;
    }
}
