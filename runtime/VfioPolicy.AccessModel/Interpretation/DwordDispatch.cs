using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Binding;

namespace VfioPolicy.AccessModel.Interpretation
{
    /// <summary>
    /// A generated handler's per-device dispatch table, built once when it opens: for every dword of the config
    /// space, the number of the generated constant block whose masks equal the binding's there, or 0 when none does
    /// (chain links, hidden bodies, overrides the generator could not foresee), in which case the dword is served
    /// from <see cref="Table"/>, the binding's own masks. A block serves a dword only after this equality check, so
    /// generated constants can never disagree with the binding.
    /// </summary>
    public sealed class DwordDispatch
    {
        private DwordDispatch(ushort[] blockOfDword, PieceMasks[] table, int constantDwords)
        {
            BlockOfDword = blockOfDword;
            Table = table;
            ConstantDwords = constantDwords;
        }

        /// <summary>Per dword: the generated block number serving it (1 and up), or 0 for the table path.</summary>
        public ushort[] BlockOfDword { get; }

        /// <summary>Per dword: the binding's masks (used where <see cref="BlockOfDword"/> is 0).</summary>
        public PieceMasks[] Table { get; }

        /// <summary>How many dwords generated constants serve; the rest use <see cref="Table"/>.</summary>
        public int ConstantDwords { get; }

        /// <summary>Builds the table for <paramref name="bound"/> from the generated <paramref name="blocks"/> (masks → block number).</summary>
        /// <exception cref="ArgumentException">A block number is 0, which means "table path".</exception>
        public static DwordDispatch Build(BoundConfigSpace bound, IReadOnlyDictionary<PieceMasks, ushort> blocks)
        {
            if (bound is null)
            {
                throw new ArgumentNullException(nameof(bound));
            }

            if (blocks is null)
            {
                throw new ArgumentNullException(nameof(blocks));
            }

            int dwords = bound.Size / 4;
            var blockOfDword = new ushort[dwords];
            var table = new PieceMasks[dwords];
            int constant = 0;
            for (int dword = 0; dword < dwords; dword++)
            {
                PieceMasks masks = PieceMasks.Load(bound, dword * 4, 4);
                table[dword] = masks;
                if (blocks.TryGetValue(masks, out ushort block))
                {
                    if (block == 0)
                    {
                        throw new ArgumentException("Block number 0 is reserved for the table path.", nameof(blocks));
                    }

                    blockOfDword[dword] = block;
                    constant++;
                }
            }

            return new DwordDispatch(blockOfDword, table, constant);
        }
    }
}
