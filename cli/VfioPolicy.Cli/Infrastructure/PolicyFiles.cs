using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>Expands the PATH... arguments of <c>check</c> and <c>fmt</c>: files as given, folders recursively.</summary>
    public static class PolicyFiles
    {
        /// <summary>The extension of policy files.</summary>
        public const string Extension = ".vfiopolicy";

        /// <summary>
        /// Absolute paths of the files <paramref name="paths"/> name: each file as given (whatever its extension),
        /// each folder's <c>*.vfiopolicy</c> files at any depth in ordinal order; duplicates once.
        /// </summary>
        /// <exception cref="CommandFailedException">A path does not exist, or a folder holds no policy file.</exception>
        public static IReadOnlyList<string> Expand(CliContext context, IEnumerable<string> paths)
        {
            var files = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string path in paths)
            {
                string full = context.Resolve(path);
                IEnumerable<string> found;
                if (Directory.Exists(full))
                {
                    found = Directory.EnumerateFiles(full, "*" + Extension, SearchOption.AllDirectories)
                        .OrderBy(f => f.Replace(Path.DirectorySeparatorChar, '/'), StringComparer.Ordinal)
                        .ToList();
                    if (!found.Any())
                    {
                        throw new CommandFailedException("no " + Extension + " files in " + context.Display(full));
                    }
                }
                else if (File.Exists(full))
                {
                    found = new[] { full };
                }
                else
                {
                    throw new CommandFailedException("path not found: " + context.Display(full));
                }

                files.AddRange(found.Where(seen.Add));
            }

            return files;
        }
    }
}
