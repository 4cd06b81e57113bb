using System;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>
    /// A config-space dump could not be read: a bad hex line, a truncated dump, an unknown slot, an unreadable file.
    /// The message is one line and names the source (and the line, where there is one).
    /// </summary>
    public sealed class DeviceDumpException : Exception
    {
        /// <summary>Creates the exception.</summary>
        /// <param name="sourceName">The file or name the dump came from.</param>
        /// <param name="line">The 1-based line the problem is on, or null when it concerns the whole dump.</param>
        /// <param name="problem">What is wrong, without the source prefix.</param>
        public DeviceDumpException(string sourceName, int? line, string problem)
            : base(Format(sourceName, line, problem))
        {
            SourceName = sourceName;
            Line = line;
            Problem = problem;
        }

        /// <summary>Creates the exception for a failure with an underlying cause (an I/O error).</summary>
        public DeviceDumpException(string sourceName, string problem, Exception innerException)
            : base(Format(sourceName, null, problem), innerException)
        {
            SourceName = sourceName;
            Problem = problem;
        }

        /// <summary>The file or name the dump came from.</summary>
        public string SourceName { get; }

        /// <summary>The 1-based line of the problem, if it concerns one line.</summary>
        public int? Line { get; }

        /// <summary>The problem alone, without the source and line prefix.</summary>
        public string Problem { get; }

        private static string Format(string sourceName, int? line, string problem)
            => line is int number
                ? sourceName + ":" + number.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": " + problem
                : sourceName + ": " + problem;
    }
}
