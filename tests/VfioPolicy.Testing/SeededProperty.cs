using System;
using System.Globalization;
using System.Text;
using CsCheck;

namespace VfioPolicy.Testing
{
    /// <summary>
    /// Property runs whose every case has a seed. CI's seeds are fixed (derived from the property's name), so a run is
    /// the same run every time; <see cref="VaryVariable"/>=1 draws fresh ones (the long run, tests/long-run); a failure
    /// names the failing case's seed, and <see cref="SeedVariable"/>=that seed replays exactly that case. CsCheck then
    /// shrinks the failure from that seed and its report is part of the message.
    /// </summary>
    public static class SeededProperty
    {
        /// <summary>Replays one case: its seed as a failure printed it.</summary>
        public const string SeedVariable = "VFIOPOLICY_SEED";

        /// <summary>1: every case draws a fresh seed instead of CI's fixed one.</summary>
        public const string VaryVariable = "VFIOPOLICY_VARY_SEEDS";

        private const int ShrinkIterations = 2_000;

        /// <summary>Runs <paramref name="assert"/> on <paramref name="iterations"/> values of <paramref name="gen"/> (one, when replaying a seed).</summary>
        /// <param name="gen">The inputs.</param>
        /// <param name="assert">Throws when the property does not hold for an input.</param>
        /// <param name="iterations">Cases to run (CI's count, fixed).</param>
        /// <param name="print">An input as the failure message shows it.</param>
        /// <param name="property">A name unique to this property and its inputs (e.g. test, policy and device): CI's seeds come from it.</param>
        /// <returns>How many cases ran.</returns>
        public static int Check<T>(Gen<T> gen, Action<T> assert, int iterations, string property, Func<T, string> print)
        {
            if (Environment.GetEnvironmentVariable(SeedVariable) is { Length: > 0 } replay)
            {
                Replay(gen, assert, replay, property, print);
                return 1;
            }

            bool vary = Environment.GetEnvironmentVariable(VaryVariable) == "1";
            ulong first = vary ? PCG.ThreadPCG.Next64() : StableSeed(property);
            for (int i = 0; i < iterations; i++)
            {
                RunCase(gen, assert, new PCG((uint)i, first + (ulong)i), property, i, print);
            }

            return iterations;
        }

        /// <summary>Runs the one case <paramref name="seed"/> (as a failure printed it) names.</summary>
        /// <param name="gen">The inputs.</param>
        /// <param name="assert">Throws when the property does not hold for an input.</param>
        /// <param name="seed">The seed.</param>
        /// <param name="property">The property's name, for the message.</param>
        /// <param name="print">An input as the failure message shows it.</param>
        public static void Replay<T>(Gen<T> gen, Action<T> assert, string seed, string property, Func<T, string> print)
        {
            PCG replayed;
            try
            {
                replayed = PCG.Parse(seed);
            }
            catch (Exception error) when (error is FormatException || error is ArgumentException || error is IndexOutOfRangeException || error is OverflowException)
            {
                throw new ArgumentException(SeedVariable + "='" + seed + "' is not a seed this suite printed", error);
            }

            RunCase(gen, assert, replayed, property, -1, print);
        }

        private static void RunCase<T>(Gen<T> gen, Action<T> assert, PCG pcg, string property, int index, Func<T, string> print)
        {
            string seed = pcg.ToString();
            T value = gen.Generate(pcg, null!, out _);
            try
            {
                assert(value);
            }
            catch (Exception failure)
            {
                string shrunk;
                try
                {
                    gen.Sample(assert, seed: seed, iter: ShrinkIterations, threads: 1, print: print);
                    shrunk = "CsCheck could not reproduce it from the seed (a failure that depends on more than the input)";
                }
                catch (Exception report)
                {
                    shrunk = report.Message;
                }

                throw new PropertyFailedException(
                    property + ": case " + (index < 0 ? "replayed" : index.ToString(CultureInfo.InvariantCulture)) + " failed with seed " + seed
                    + " (replay it alone with " + SeedVariable + "=" + seed + ")\ninput: " + print(value) + "\nfailure: " + failure.Message + "\nshrunk: " + shrunk,
                    failure);
            }
        }

        // FNV-1a of the name: the same name gives the same seeds on every machine and every run.
        private static ulong StableSeed(string property)
        {
            ulong hash = 14695981039346656037UL;
            foreach (byte b in Encoding.UTF8.GetBytes(property))
            {
                hash = unchecked((hash ^ b) * 1099511628211UL);
            }

            return hash;
        }
    }

    /// <summary>A property failed; the message names the seed that replays it.</summary>
    public sealed class PropertyFailedException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public PropertyFailedException(string message, Exception inner)
            : base(message, inner)
        {
        }
    }
}
