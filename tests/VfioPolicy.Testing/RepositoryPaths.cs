using System;
using System.IO;
using System.Runtime.CompilerServices;

namespace VfioPolicy.Testing
{
    /// <summary>Locates the repository from a running test, so tests never depend on the current directory.</summary>
    public static class RepositoryPaths
    {
        private static readonly Lazy<string> RootFolder = new Lazy<string>(FindRoot);

        /// <summary>The folder that holds VfioPolicy.sln.</summary>
        public static string Root => RootFolder.Value;

        /// <summary>tests/corpus: the device dumps tests read (a copy of the shared corpus).</summary>
        public static string Corpus => Path.Combine(Root, "tests", "corpus");

        /// <summary>policies/: the policy library.</summary>
        public static string Policies => Path.Combine(Root, "policies");

        /// <summary>A path under the repository root from '/'-separated parts.</summary>
        public static string InRepository(string relativePath) => Path.Combine(Root, relativePath.Replace('/', Path.DirectorySeparatorChar));

        private static string FindRoot()
        {
            // The test binaries normally live under the repository; a build with --artifacts-path puts them
            // elsewhere, so fall back to where this source file was compiled from.
            string? root = FindSolutionAbove(AppContext.BaseDirectory) ?? FindSolutionAbove(Path.GetDirectoryName(ThisSourceFile()));
            return root ?? throw new InvalidOperationException("No VfioPolicy.sln above " + AppContext.BaseDirectory + " or " + ThisSourceFile() + ".");
        }

        private static string? FindSolutionAbove(string? start)
        {
            for (DirectoryInfo? folder = start == null ? null : new DirectoryInfo(start); folder != null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "VfioPolicy.sln")))
                {
                    return folder.FullName;
                }
            }

            return null;
        }

        private static string ThisSourceFile([CallerFilePath] string path = "") => path;
    }
}
