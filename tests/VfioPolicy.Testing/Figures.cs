using System;
using System.Globalization;
using System.IO;

namespace VfioPolicy.Testing
{
    /// <summary>
    /// The counts docs/reliability.md quotes, as the tests of this run produced them. With <see cref="FileVariable"/>
    /// set (.ci/run sets it), every <see cref="Add"/> appends "id value" to that file; .ci/check-figures sums them per id
    /// and fails when the page states another number, so the page cannot drift from what the suite really ran.
    /// </summary>
    public static class Figures
    {
        /// <summary>The file the figures of this run are appended to.</summary>
        public const string FileVariable = "VFIOPOLICY_FIGURES";

        private static readonly object Gate = new object();

        /// <summary>Adds <paramref name="value"/> to the figure <paramref name="id"/> (figures add up across test cases and assemblies).</summary>
        public static void Add(string id, long value)
        {
            if (Environment.GetEnvironmentVariable(FileVariable) is not { Length: > 0 } file)
            {
                return;
            }

            string line = id + " " + value.ToString(CultureInfo.InvariantCulture) + "\n";
            lock (Gate)
            {
                // Assemblies run one after another in .ci/run; within one, the lock keeps lines whole.
                File.AppendAllText(file, line);
            }
        }
    }
}
