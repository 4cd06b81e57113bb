using System;
using System.Globalization;
using BenchmarkDotNet.Running;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;

namespace VfioPolicy.Bench
{
    /// <summary>Entry point: BenchmarkDotNet's switcher (all its arguments work), plus <c>--masks</c> to print the masks the hand-written baseline hard-codes, and <c>--quick</c> for the target ratios in a few minutes.</summary>
    public static class Program
    {
        /// <summary>Runs the benchmarks chosen by <paramref name="args"/>.</summary>
        public static int Main(string[] args)
        {
            // The benchmarks load the corpus and the policies from the repository, also in the child processes
            // BenchmarkDotNet starts from its own build folder.
            Environment.SetEnvironmentVariable(BenchDevice.RepositoryVariable, BenchDevice.RepositoryRoot());
            if (args.Length == 1 && args[0] == "--masks")
            {
                // The cases of ProbeRegisters.MasksOf (BenchmarkedRegisters has six of them), as the binding has them: paste them there when the policy changes.
                BoundConfigSpace bound = BenchDevice.Bind();
                foreach ((int offset, int width) in ProbeRegisters.Registers(BenchDevice.Image()))
                {
                    PieceMasks m = PieceMasks.FromBound(bound, offset, width);
                    Console.WriteLine(string.Format(
                        CultureInfo.InvariantCulture,
                        "case (0x{0:x3} << 3) | {1}: masks = new PieceMasks(0x{2:x8}u, 0x{3:x8}u, 0x{4:x8}u, 0x{5:x8}u, 0x{6:x8}u, 0x{7:x8}u, 0x{8:x8}u); return true;",
                        offset, width, m.Virt, m.PassthroughWritable, m.ShadowReadWrite, m.ShadowWriteOneToClear, m.HardwareWriteOneToClear, m.Audit, m.DeniedValue));
                }

                return 0;
            }

            if (args.Length == 1 && args[0] == "--denied")
            {
                BoundConfigSpace bound = BenchDevice.Bind();
                for (int offset = 0; offset < 0x100; offset += 2)
                {
                    PieceMasks masks = PieceMasks.FromBound(bound, offset, 2);
                    if (masks.Audit == 0xffff)
                    {
                        Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "0x{0:x3}: {1} {2}", offset, masks, bound.DominantRule(offset).Text));
                    }
                }

                return 0;
            }

            if (args.Length == 1 && args[0] == "--quick")
            {
                return QuickMode.Run();
            }

            BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
            return 0;
        }
    }
}
