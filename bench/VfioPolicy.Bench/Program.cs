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
                BoundConfigSpace bound = BenchDevice.Bind();
                foreach (int offset in new[] { BenchDevice.VendorId, BenchDevice.Command, BenchDevice.Bar0, BenchDevice.InterruptPin, BenchDevice.MsiAddress, BenchDevice.DevCtl, BenchDevice.DevCtl + 2 })
                {
                    foreach (int width in new[] { 1, 2, 4 })
                    {
                        if (offset % width == 0)
                        {
                            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "0x{0:x3}/{1}: {2}", offset, width, PieceMasks.FromBound(bound, offset, width)));
                        }
                    }
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
