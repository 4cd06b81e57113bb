using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// Not a firewall: the least any engine behind <see cref="IConfigSpaceFirewall"/> must do for a wholly
    /// virtualized dword access, with no policy at all: one range check, then one shadow load or store. Every access is
    /// treated that way, so it is only meaningful for the virtualized dword benchmarks, where it is the floor: no engine,
    /// generated or not, can serve those accesses in less. The ratio interpreter / floor is therefore the largest
    /// speed-up any engine could show over the interpreter on them.
    /// </summary>
    public sealed class FloorFirewall : IConfigSpaceFirewall
    {
        private readonly byte[] _shadow;

        /// <summary>A floor over a config space of <paramref name="size"/> bytes.</summary>
        public FloorFirewall(int size) => _shadow = new byte[size];

        /// <inheritdoc />
        public string PolicyName => "floor";

        /// <inheritdoc />
        public int Size => _shadow.Length;

        /// <inheritdoc />
        public AccessStatus Read(int offset, int length, out uint value)
        {
            if ((ulong)(uint)offset + 4 > (uint)_shadow.Length)
            {
                value = 0;
                return AccessStatus.OutOfRange;
            }

            value = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_shadow), offset));
            return AccessStatus.Ok;
        }

        /// <inheritdoc />
        public AccessStatus Write(int offset, int length, uint value)
        {
            if ((ulong)(uint)offset + 4 > (uint)_shadow.Length)
            {
                return AccessStatus.OutOfRange;
            }

            Unsafe.WriteUnaligned(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_shadow), offset), value);
            return AccessStatus.Ok;
        }

        /// <inheritdoc />
        public AccessStatus ResetShadow()
        {
            Array.Clear(_shadow);
            return AccessStatus.Ok;
        }
    }
}
