using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>Where a case serves: one <see cref="PieceShape"/> of one constant block.</summary>
    /// <param name="Block">The block.</param>
    /// <param name="Shape">The shape within the block's dword.</param>
    public sealed record CaseUse(ConstantBlock Block, int Shape)
    {
        /// <summary>The piece's place in words, with its block (e.g. <c>header 0x12 (block 2)</c>).</summary>
        public string Describe() => Block.PlaceAt(PieceShape.ByteInDword(Shape)) + " (block " + Block.Number.ToString(CultureInfo.InvariantCulture) + ")";
    }

    /// <summary>
    /// One specialised access of a generated handler: a piece width and the piece's masks (shifted down to bit 0), so
    /// that the code the case runs has nothing left to compute from the offset but the address.
    /// </summary>
    /// <param name="Number">The case's number in the generated switch (1 and up; 0 means "general path").</param>
    /// <param name="Width">The piece's width in bytes.</param>
    /// <param name="Masks">The piece's masks.</param>
    /// <param name="Uses">Every block and shape the case serves, in block order.</param>
    /// <param name="InEntry">
    /// Whether the handler's entry method (<c>Read</c> or <c>Write</c>) has the case as a literal case, whose masks
    /// the JIT folds: a read of a wholly virtualized piece (at most three: one per width), or a write that touches only
    /// the shadow (no hardware, no audit; the first <see cref="AccessCasePlanner.MaxEntryWriteCases"/> met, so the
    /// header's and the first capabilities'). The entry methods thus stay small enough for the JIT to inline wherever
    /// it devirtualizes a call, whatever the policy's size; every other case runs from its row of the handler's case
    /// table.
    /// </param>
    public sealed record AccessCase(int Number, int Width, PieceMasks Masks, IReadOnlyList<CaseUse> Uses, bool InEntry)
    {
        /// <summary>For a write case: whether it neither reaches the hardware nor may record an audit event.</summary>
        public bool TouchesOnlyShadow => TouchesOnlyShadowFor(Masks);

        /// <summary>Whether a write of a piece with <paramref name="masks"/> neither reaches the hardware nor may record an audit event.</summary>
        public static bool TouchesOnlyShadowFor(PieceMasks masks) => masks.PassthroughWritable == 0 && masks.Audit == 0;
    }

    /// <summary>The read and write cases of a handler, and the per-(block, shape) tables that name them.</summary>
    /// <param name="Reads">Read cases: one per distinct (width, virtualized-bit mask).</param>
    /// <param name="Writes">Write cases: one per distinct (width, write masks).</param>
    /// <param name="ReadCaseOfBlockShape">Entry <c>block * 7 + shape</c>: the read case, 0 for the general path (row 0 is "no block").</param>
    /// <param name="WriteCaseOfBlockShape">The same for writes.</param>
    public sealed record AccessCasePlan(
        IReadOnlyList<AccessCase> Reads, IReadOnlyList<AccessCase> Writes, IReadOnlyList<int> ReadCaseOfBlockShape, IReadOnlyList<int> WriteCaseOfBlockShape);

    /// <summary>
    /// Turns constant blocks into the cases a generated handler switches on. A piece's behavior depends only on its
    /// width and its masks, so every (block, shape) with the same ones shares a case: a handler has as many cases as
    /// distinct pieces, however many registers share them. Entry cases are numbered first (see
    /// <see cref="AccessCase.InEntry"/>), then the others, each group in the order first met. Past
    /// <see cref="MaxCases"/> distinct pieces the remaining ones take the general path, which bounds a huge policy's
    /// case tables; blocks are planned header first, so it is the rarely used tail that loses its case. No library
    /// policy comes near the limit.
    /// </summary>
    public static class AccessCasePlanner
    {
        /// <summary>The most cases a handler gets (per direction).</summary>
        public const int MaxCases = 1024;

        /// <summary>The most write cases the entry method <c>Write</c> has as literal cases.</summary>
        public const int MaxEntryWriteCases = 32;

        /// <summary>
        /// The cases of <paramref name="blocks"/> (numbered 1 to N in order), at most <paramref name="maxCases"/> per
        /// direction, of which at most <paramref name="maxEntryReadCases"/> reads and <paramref name="maxEntryWriteCases"/>
        /// writes are entry cases.
        /// </summary>
        public static AccessCasePlan Plan(
            IReadOnlyList<ConstantBlock> blocks, int maxCases = MaxCases, int maxEntryWriteCases = MaxEntryWriteCases, int maxEntryReadCases = int.MaxValue)
        {
            if (blocks is null)
            {
                throw new ArgumentNullException(nameof(blocks));
            }

            if (maxCases < 0 || maxCases > ushort.MaxValue)
            {
                throw new ArgumentOutOfRangeException(nameof(maxCases), maxCases, "A case number must fit a dispatch table entry.");
            }

            if (maxEntryWriteCases < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(maxEntryWriteCases), maxEntryWriteCases, "The limit cannot be negative.");
            }

            if (maxEntryReadCases < 0)
            {
                throw new ArgumentOutOfRangeException(nameof(maxEntryReadCases), maxEntryReadCases, "The limit cannot be negative.");
            }

            var reads = new Builder(
                masks => new PieceMasks(masks.Virt, 0, 0, 0, 0, 0, 0),
                (width, masks) => masks.Virt == BitSemantics.WidthMask(width),
                maxEntryReadCases); // at most three exist, one per width
            // Hardware rw1c bits matter only to a piece that writes hardware (FirewallCore.WritePiece reads them only
            // then), so pieces that differ in nothing else share a case.
            var writes = new Builder(
                masks => new PieceMasks(
                    0,
                    masks.PassthroughWritable,
                    masks.ShadowReadWrite,
                    masks.ShadowWriteOneToClear,
                    masks.PassthroughWritable == 0 ? 0 : masks.HardwareWriteOneToClear,
                    masks.Audit,
                    masks.DeniedValue),
                (width, masks) => AccessCase.TouchesOnlyShadowFor(masks),
                maxEntryWriteCases);
            foreach (ConstantBlock block in blocks)
            {
                for (int shape = 0; shape < PieceShape.Count; shape++)
                {
                    PieceMasks piece = block.Masks.Piece(PieceShape.ByteInDword(shape), PieceShape.Width(shape));
                    var use = new CaseUse(block, shape);
                    reads.Add(PieceShape.Width(shape), piece, use);
                    writes.Add(PieceShape.Width(shape), piece, use);
                }
            }

            IReadOnlyList<AccessCase> readCases = reads.Number(maxCases);
            IReadOnlyList<AccessCase> writeCases = writes.Number(maxCases);
            return new AccessCasePlan(readCases, writeCases, Table(blocks, readCases), Table(blocks, writeCases));
        }

        private static int[] Table(IReadOnlyList<ConstantBlock> blocks, IReadOnlyList<AccessCase> cases)
        {
            var table = new int[(blocks.Count + 1) * PieceShape.Count];
            foreach (AccessCase access in cases)
            {
                foreach (CaseUse use in access.Uses)
                {
                    table[(use.Block.Number * PieceShape.Count) + use.Shape] = access.Number;
                }
            }

            return table;
        }

        /// <summary>Collects distinct (width, relevant masks) pairs, then numbers them: entry cases (at most the limit, first met) first, each group in the order first met.</summary>
        private sealed class Builder
        {
            private readonly Func<PieceMasks, PieceMasks> _relevant;
            private readonly Func<int, PieceMasks, bool> _inEntry;
            private readonly int _maxInEntry;
            private readonly Dictionary<(int Width, PieceMasks Masks), List<CaseUse>> _uses = new Dictionary<(int Width, PieceMasks Masks), List<CaseUse>>();
            private readonly List<(int Width, PieceMasks Masks)> _order = new List<(int Width, PieceMasks Masks)>();

            public Builder(Func<PieceMasks, PieceMasks> relevant, Func<int, PieceMasks, bool> inEntry, int maxInEntry)
            {
                _maxInEntry = maxInEntry;
                _relevant = relevant;
                _inEntry = inEntry;
            }

            public void Add(int width, PieceMasks piece, CaseUse use)
            {
                var key = (width, _relevant(piece));
                if (!_uses.TryGetValue(key, out List<CaseUse>? uses))
                {
                    uses = new List<CaseUse>();
                    _uses.Add(key, uses);
                    _order.Add(key);
                }

                uses.Add(use);
            }

            public IReadOnlyList<AccessCase> Number(int maxCases)
            {
                var entry = new HashSet<(int Width, PieceMasks Masks)>(_order.Where(k => _inEntry(k.Width, k.Masks)).Take(_maxInEntry));
                return _order.Where(entry.Contains)
                    .Concat(_order.Where(k => !entry.Contains(k)))
                    .Take(maxCases)
                    .Select((k, i) => new AccessCase(i + 1, k.Width, k.Masks, _uses[k], entry.Contains(k)))
                    .ToList();
            }
        }
    }
}
