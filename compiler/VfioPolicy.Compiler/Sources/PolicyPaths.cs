using System.Collections.Generic;

namespace VfioPolicy.Compiler.Sources
{
    /// <summary>
    /// Path arithmetic on policy paths, independent of the operating system: '/' separators, "." and ".." folded.
    /// The compiler compares files by these normalised paths, so the same file reached along two include paths is
    /// recognised as one.
    /// </summary>
    public static class PolicyPaths
    {
        /// <summary>Turns '\' into '/', drops "." segments and empty segments, and folds "name/.." pairs.</summary>
        public static string Normalize(string path)
        {
            string slashed = path.Replace('\\', '/');
            bool rooted = slashed.StartsWith("/", System.StringComparison.Ordinal);
            var segments = new List<string>();
            foreach (string segment in slashed.Split('/'))
            {
                if (segment.Length == 0 || segment == ".")
                {
                    continue;
                }

                if (segment == ".." && segments.Count > 0 && segments[segments.Count - 1] != "..")
                {
                    segments.RemoveAt(segments.Count - 1);
                    continue;
                }

                if (segment == ".." && rooted)
                {
                    // Above the root is the root.
                    continue;
                }

                segments.Add(segment);
            }

            string joined = string.Join("/", segments);
            return rooted ? "/" + joined : (joined.Length == 0 ? "." : joined);
        }

        /// <summary>The folder part of <paramref name="path"/> ("" for a bare file name).</summary>
        public static string Directory(string path)
        {
            string normalized = Normalize(path);
            int slash = normalized.LastIndexOf('/');
            return slash < 0 ? string.Empty : normalized.Substring(0, slash + 1);
        }

        /// <summary><paramref name="includePath"/> relative to the folder of <paramref name="includingFile"/> (absolute include paths stay absolute), normalised.</summary>
        public static string Combine(string includingFile, string includePath)
        {
            string include = includePath.Replace('\\', '/');
            if (include.StartsWith("/", System.StringComparison.Ordinal) || HasDriveLetter(include))
            {
                return Normalize(include);
            }

            return Normalize(Directory(includingFile) + include);
        }

        /// <summary>
        /// The path an <c>include</c> or <c>extends</c> of <paramref name="includePath"/> in <paramref name="includingFile"/>
        /// reads, as the compiler resolves it: a <c>library "NAME"</c> include (<paramref name="fromLibrary"/>) names a
        /// library file; a library file's relative includes stay in the library; any other file's go through
        /// <paramref name="source"/>. Null when the include cannot name a file (outside the library, or no such library name).
        /// </summary>
        public static string? ResolveInclude(string includingFile, string includePath, bool fromLibrary, IPolicySource source)
        {
            if (fromLibrary)
            {
                return StandardLibrary.PathOf(includePath);
            }

            if (!StandardLibrary.IsLibraryPath(includingFile))
            {
                return source.Resolve(includingFile, includePath);
            }

            string combined = Combine(includingFile, includePath);
            return StandardLibrary.IsLibraryPath(combined) ? combined : null;
        }

        private static bool HasDriveLetter(string path) => path.Length >= 3 && path[1] == ':' && path[2] == '/' && char.IsLetter(path[0]);
    }
}
