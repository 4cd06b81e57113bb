using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>Realistic, canonically formatted policies in <c>Samples/</c>, written for these tests.</summary>
    public static class SamplePolicies
    {
        public static IReadOnlyList<string> Names { get; } = Directory
            .GetFiles(Path.Combine(AppContext.BaseDirectory, "Samples"), "*.vfiopolicy")
            .Select(Path.GetFileName)
            .OrderBy(name => name, StringComparer.Ordinal)
            .ToArray()!;

        public static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Samples", name));
    }
}
