using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Binding;

namespace VfioPolicy.AccessModel.Infrastructure
{
    /// <summary>
    /// A generated handler's per-device dispatch, built once when it opens. First, for every dword of the config
    /// space, the number of the generated constant block whose masks equal the binding's there, or 0 when none does
    /// (chain links, hidden bodies, overrides the generator could not foresee). Then, for every access key
    /// (<see cref="PieceShape.AccessKey"/>), the generated read and write case that serves it: the case of its block
    /// and <see cref="PieceShape"/>, or 0 (the general path over the binding's masks) for accesses that are not a
    /// single piece or whose dword no block serves. A block serves a dword only after the equality check, so the
    /// generated constants can never disagree with the binding.
    /// </summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public sealed class DwordDispatch
    {
        private DwordDispatch(ushort[] blockOfDword, int constantDwords, ushort[] readCases, ushort[] writeCases)
        {
            BlockOfDword = blockOfDword;
            ConstantDwords = constantDwords;
            ReadCases = readCases;
            WriteCases = writeCases;
        }

        /// <summary>Per dword: the generated block number serving it (1 and up), or 0 for the general path.</summary>
        public ushort[] BlockOfDword { get; }

        /// <summary>How many dwords generated constants serve; the rest use the binding's masks.</summary>
        public int ConstantDwords { get; }

        /// <summary>Per access key: the generated read case (1 and up), or 0 for the general path.</summary>
        public ushort[] ReadCases { get; }

        /// <summary>Per access key: the generated write case (1 and up), or 0 for the general path.</summary>
        public ushort[] WriteCases { get; }

        /// <summary>
        /// Matches every dword of <paramref name="bound"/> against the generated <paramref name="blocks"/>, then fills
        /// the per-access case tables from the generated per-(block, shape) ones: entry
        /// <c>block * <see cref="PieceShape.Count"/> + shape</c> is that block's case for that shape, 0 for none.
        /// </summary>
        /// <exception cref="ArgumentException">A block number is 0, or the case tables do not cover every block.</exception>
        public static DwordDispatch Build(
            BoundConfigSpace bound, IReadOnlyDictionary<PieceMasks, ushort> blocks, ushort[] readCaseOfBlockShape, ushort[] writeCaseOfBlockShape)
        {
            if (bound is null)
            {
                throw new ArgumentNullException(nameof(bound));
            }

            if (blocks is null)
            {
                throw new ArgumentNullException(nameof(blocks));
            }

            if (readCaseOfBlockShape is null)
            {
                throw new ArgumentNullException(nameof(readCaseOfBlockShape));
            }

            if (writeCaseOfBlockShape is null)
            {
                throw new ArgumentNullException(nameof(writeCaseOfBlockShape));
            }

            int dwords = bound.Size / 4;
            var blockOfDword = new ushort[dwords];
            var readCases = new ushort[dwords * PieceShape.KeysPerDword];
            var writeCases = new ushort[dwords * PieceShape.KeysPerDword];
            int constant = 0;
            for (int dword = 0; dword < dwords; dword++)
            {
                if (!blocks.TryGetValue(PieceMasks.Load(bound, dword * 4, 4), out ushort block))
                {
                    continue;
                }

                if (block == 0)
                {
                    throw new ArgumentException("Block number 0 is reserved for the general path.", nameof(blocks));
                }

                blockOfDword[dword] = block;
                constant++;
                for (int shape = 0; shape < PieceShape.Count; shape++)
                {
                    int key = PieceShape.AccessKey((dword * 4) + PieceShape.ByteInDword(shape), PieceShape.Width(shape));
                    readCases[key] = CaseOf(readCaseOfBlockShape, block, shape, nameof(readCaseOfBlockShape));
                    writeCases[key] = CaseOf(writeCaseOfBlockShape, block, shape, nameof(writeCaseOfBlockShape));
                }
            }

            return new DwordDispatch(blockOfDword, constant, readCases, writeCases);
        }

        private static ushort CaseOf(ushort[] caseOfBlockShape, int block, int shape, string name)
        {
            int index = (block * PieceShape.Count) + shape;
            if (index >= caseOfBlockShape.Length)
            {
                throw new ArgumentException("The case table has no entry for block " + block + ".", name);
            }

            return caseOfBlockShape[index];
        }
    }
}
