using System;
using System.Collections.Generic;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Semantics;
using VfioPolicy.Compiler.Emit;
using VfioPolicy.Policies;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    /// <summary>
    /// The cases a generated handler switches on, and the per-device tables that pick them: every single-piece access
    /// of a dword a block serves reaches the case of exactly its piece, and nothing else reaches a case.
    /// </summary>
    public class AccessCasePlannerTests
    {
        private static IReadOnlyList<ConstantBlock> Blocks(string policy)
            => ConstantBlockPlanner.Plan(PolicyLibrary.All.Single(p => p.Name == policy).Model);

        [Theory]
        [InlineData("strict")]
        [InlineData("linux-vfio-default")]
        [InlineData("qemu-e1000e")]
        public void Every_block_and_shape_reaches_a_case_with_its_width_and_masks(string policy)
        {
            IReadOnlyList<ConstantBlock> blocks = Blocks(policy);
            AccessCasePlan plan = AccessCasePlanner.Plan(blocks);
            foreach (ConstantBlock block in blocks)
            {
                for (int shape = 0; shape < PieceShape.Count; shape++)
                {
                    int width = PieceShape.Width(shape);
                    PieceMasks piece = block.Masks.Piece(PieceShape.ByteInDword(shape), width);
                    AccessCase read = plan.Reads[plan.ReadCaseOfBlockShape[(block.Number * PieceShape.Count) + shape] - 1];
                    AccessCase write = plan.Writes[plan.WriteCaseOfBlockShape[(block.Number * PieceShape.Count) + shape] - 1];

                    Assert.Equal(width, read.Width);
                    Assert.Equal(piece.Virt, read.Masks.Virt);
                    Assert.Equal(width, write.Width);
                    Assert.Equal(piece.PassthroughWritable, write.Masks.PassthroughWritable);
                    Assert.Equal(piece.ShadowReadWrite, write.Masks.ShadowReadWrite);
                    Assert.Equal(piece.ShadowWriteOneToClear, write.Masks.ShadowWriteOneToClear);
                    Assert.Equal(piece.Audit, write.Masks.Audit);
                    Assert.Equal(piece.DeniedValue, write.Masks.DeniedValue);

                    // Hardware rw1c bits only shape a write that reaches hardware.
                    Assert.Equal(piece.PassthroughWritable == 0 ? 0u : piece.HardwareWriteOneToClear, write.Masks.HardwareWriteOneToClear);
                    Assert.Contains(read.Uses, u => u.Block == block && u.Shape == shape);
                    Assert.Contains(write.Uses, u => u.Block == block && u.Shape == shape);
                }
            }

            Assert.All(plan.ReadCaseOfBlockShape.Take(PieceShape.Count), c => Assert.Equal(0, c));
            Assert.All(plan.WriteCaseOfBlockShape.Take(PieceShape.Count), c => Assert.Equal(0, c));
        }

        [Fact]
        public void Equal_pieces_share_one_case_and_entry_cases_come_first()
        {
            IReadOnlyList<ConstantBlock> blocks = Blocks("strict");
            AccessCasePlan plan = AccessCasePlanner.Plan(blocks);

            Assert.Equal(plan.Reads.Count, plan.Reads.Select(c => (c.Width, c.Masks)).Distinct().Count());
            Assert.Equal(plan.Writes.Count, plan.Writes.Select(c => (c.Width, c.Masks)).Distinct().Count());
            Assert.Equal(blocks.Count * PieceShape.Count, plan.Reads.Sum(c => c.Uses.Count));
            Assert.True(plan.Reads.Count < blocks.Count * PieceShape.Count / 2, "pieces that behave alike should share cases");
            Assert.Equal(Enumerable.Range(1, plan.Reads.Count), plan.Reads.Select(c => c.Number));

            foreach (IReadOnlyList<AccessCase> cases in new[] { plan.Reads, plan.Writes })
            {
                int lastInEntry = cases.Where(c => c.InEntry).Select(c => c.Number).DefaultIfEmpty(0).Max();
                int firstOther = cases.Where(c => !c.InEntry).Select(c => c.Number).DefaultIfEmpty(int.MaxValue).Min();
                Assert.True(lastInEntry < firstOther);
            }

            // Few enough to keep the entry methods small whatever the policy: a width has one wholly virtualized read;
            // writes that touch only the shadow are entry cases up to the limit, the first met.
            Assert.All(plan.Reads, c => Assert.Equal(c.Masks.Virt == BitSemantics.WidthMask(c.Width), c.InEntry));
            Assert.All(plan.Writes.Where(c => c.InEntry), c => Assert.True(c.Masks.PassthroughWritable == 0 && c.Masks.Audit == 0, c.ToString()));
            int shadowOnly = plan.Writes.Count(c => c.Masks.PassthroughWritable == 0 && c.Masks.Audit == 0);
            Assert.Equal(Math.Min(shadowOnly, AccessCasePlanner.MaxEntryWriteCases), plan.Writes.Count(c => c.InEntry));
            Assert.InRange(plan.Reads.Count(c => c.InEntry), 1, 3);
        }

        [Fact]
        public void Past_the_entry_limit_shadow_writes_run_from_the_table_and_the_first_met_stay_in_the_entry()
        {
            IReadOnlyList<ConstantBlock> blocks = Blocks("strict");
            AccessCasePlan all = AccessCasePlanner.Plan(blocks);
            AccessCasePlan limited = AccessCasePlanner.Plan(blocks, maxEntryWriteCases: 3);

            List<AccessCase> shadowOnly = all.Writes.Where(c => c.TouchesOnlyShadow).OrderBy(FirstUse).ToList();
            Assert.True(shadowOnly.Count > 3, "strict has more than three shadow-only write pieces");
            Assert.Equal(
                shadowOnly.Take(3).Select(c => (c.Width, c.Masks)),
                limited.Writes.Where(c => c.InEntry).Select(c => (c.Width, c.Masks)));
            Assert.Equal(new[] { 1, 2, 3 }, limited.Writes.Where(c => c.InEntry).Select(c => c.Number));
            Assert.Equal(all.Writes.Select(c => (c.Width, c.Masks)).OrderBy(k => k.ToString()), limited.Writes.Select(c => (c.Width, c.Masks)).OrderBy(k => k.ToString()));
            Assert.Throws<ArgumentOutOfRangeException>(() => AccessCasePlanner.Plan(blocks, maxEntryWriteCases: -1));
        }

        private static int FirstUse(AccessCase access) => access.Uses.Min(u => (u.Block.Number * PieceShape.Count) + u.Shape);

        [Fact]
        public void Past_the_case_limit_pieces_take_the_general_path()
        {
            IReadOnlyList<ConstantBlock> blocks = Blocks("strict");
            AccessCasePlan all = AccessCasePlanner.Plan(blocks);
            AccessCasePlan limited = AccessCasePlanner.Plan(blocks, 5);

            Assert.Equal(5, limited.Reads.Count);
            Assert.Equal(5, limited.Writes.Count);
            Assert.Equal(all.Reads.Take(5).Select(c => (c.Width, c.Masks)), limited.Reads.Select(c => (c.Width, c.Masks)));
            for (int i = 0; i < all.ReadCaseOfBlockShape.Count; i++)
            {
                Assert.Equal(all.ReadCaseOfBlockShape[i] <= 5 ? all.ReadCaseOfBlockShape[i] : 0, limited.ReadCaseOfBlockShape[i]);
                Assert.Equal(all.WriteCaseOfBlockShape[i] <= 5 ? all.WriteCaseOfBlockShape[i] : 0, limited.WriteCaseOfBlockShape[i]);
            }

            Assert.Throws<ArgumentOutOfRangeException>(() => AccessCasePlanner.Plan(blocks, -1));
            Assert.Throws<ArgumentOutOfRangeException>(() => AccessCasePlanner.Plan(blocks, ushort.MaxValue + 1));
        }

        [Fact]
        public void The_dispatch_gives_every_single_piece_access_of_a_served_dword_its_case_and_every_other_access_none()
        {
            IReadOnlyList<ConstantBlock> blocks = Blocks("strict");
            AccessCasePlan plan = AccessCasePlanner.Plan(blocks);
            ConfigSpaceImage image = CorpusDevices.All.Select(d => d.Image).First(i => i.Bytes.Length == 4096);
            BoundConfigSpace bound = DeviceBinder.Bind(PolicyLibrary.All.Single(p => p.Name == "strict").Model, image.Bytes, image.WalkCapabilities());
            DwordDispatch dispatch = DwordDispatch.Build(bound, Index(blocks), Table(plan.ReadCaseOfBlockShape), Table(plan.WriteCaseOfBlockShape));

            Assert.Equal(bound.Size * 4, dispatch.ReadCases.Length);
            int served = 0;
            for (int offset = 0; offset < bound.Size; offset++)
            {
                int dword = offset / 4;
                int block = dispatch.BlockOfDword[dword];
                served += offset % 4 == 0 && block != 0 ? 1 : 0;
                for (int length = 1; length <= 4; length++)
                {
                    int key = PieceShape.AccessKey(offset, length);
                    int shape = Enumerable.Range(0, PieceShape.Count)
                        .Where(s => PieceShape.ByteInDword(s) == offset % 4 && PieceShape.Width(s) == length)
                        .DefaultIfEmpty(-1).Single();
                    if (block == 0 || shape < 0)
                    {
                        Assert.Equal(0, dispatch.ReadCases[key]);
                        Assert.Equal(0, dispatch.WriteCases[key]);
                        continue;
                    }

                    Assert.Equal(PieceMasks.FromBound(bound, dword * 4, 4), blocks[block - 1].Masks);
                    Assert.Equal(plan.ReadCaseOfBlockShape[(block * PieceShape.Count) + shape], dispatch.ReadCases[key]);
                    Assert.Equal(plan.WriteCaseOfBlockShape[(block * PieceShape.Count) + shape], dispatch.WriteCases[key]);
                }
            }

            Assert.Equal(dispatch.ConstantDwords, served);
            Assert.True(served > bound.Size / 8);
        }

        [Fact]
        public void The_dispatch_rejects_block_zero_and_case_tables_that_miss_a_block()
        {
            IReadOnlyList<ConstantBlock> blocks = Blocks("strict");
            AccessCasePlan plan = AccessCasePlanner.Plan(blocks);
            ConfigSpaceImage image = CorpusDevices.All[0].Image;
            BoundConfigSpace bound = DeviceBinder.Bind(PolicyLibrary.All.Single(p => p.Name == "strict").Model, image.Bytes, image.WalkCapabilities());
            var zero = Index(blocks).ToDictionary(p => p.Key, p => p.Value == 1 ? (ushort)0 : p.Value);

            Assert.Throws<ArgumentException>(() => DwordDispatch.Build(bound, zero, Table(plan.ReadCaseOfBlockShape), Table(plan.WriteCaseOfBlockShape)));
            Assert.Throws<ArgumentException>(() => DwordDispatch.Build(bound, Index(blocks), new ushort[PieceShape.Count], Table(plan.WriteCaseOfBlockShape)));
        }

        private static Dictionary<PieceMasks, ushort> Index(IReadOnlyList<ConstantBlock> blocks) => blocks.ToDictionary(b => b.Masks, b => (ushort)b.Number);

        private static ushort[] Table(IReadOnlyList<int> cases) => cases.Select(c => (ushort)c).ToArray();
    }
}
