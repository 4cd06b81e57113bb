using System;
using System.Collections.Generic;

namespace VfioPolicy.Testing
{
    /// <summary>What a newcomer does to an <c>init</c> scaffold: uncomment its sections as they stand.</summary>
    public static class ScaffoldText
    {
        /// <summary>Removes the comment marker from every line of every section (from '# capability' or '# extended-capability' to '# }').</summary>
        public static string Uncomment(string scaffold)
        {
            var lines = new List<string>();
            bool inSection = false;
            foreach (string line in scaffold.Split('\n'))
            {
                if (line.StartsWith("# capability ", StringComparison.Ordinal) || line.StartsWith("# extended-capability ", StringComparison.Ordinal))
                {
                    inSection = true;
                }

                lines.Add(inSection && line.StartsWith("# ", StringComparison.Ordinal) ? line.Substring(2) : line);
                if (inSection && line.StartsWith("# }", StringComparison.Ordinal))
                {
                    inSection = false;
                }
            }

            return string.Join("\n", lines);
        }
    }
}
