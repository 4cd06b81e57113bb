using System;

namespace VfioPolicy.Cli
{
    /// <summary>The process entry point: the console around <see cref="Cli.Run(string[], System.IO.TextWriter, System.IO.TextWriter)"/>.</summary>
    public static class Program
    {
        /// <summary>Runs <c>vfio-policy</c>.</summary>
        public static int Main(string[] args) => Cli.Run(args, Console.Out, Console.Error);
    }
}
