using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;

namespace VfioPolicy.Compiler.Sources
{
    /// <summary>
    /// The standard policy library (<c>strict</c>, <c>linux-vfio-default</c>, <c>standard/…</c>) as it travels inside
    /// the compiler assembly, so that <c>extends library "strict"</c> means the same file in the CLI, in a build that
    /// uses the generator package, and in a checkout, with no path to a copy on disk. Its files have paths under
    /// <see cref="Root"/>; their own relative includes stay inside it.
    /// </summary>
    public static class StandardLibrary
    {
        /// <summary>The prefix of every library file's path, as diagnostics show it: <c>library:/strict.vfiopolicy</c>.</summary>
        public const string Root = "library:/";

        private const string ResourcePrefix = "VfioPolicy.Library/";
        private static readonly Lazy<IReadOnlyDictionary<string, string>> Files = new Lazy<IReadOnlyDictionary<string, string>>(LoadFiles);

        /// <summary>Every library file's name relative to <see cref="Root"/> (<c>strict.vfiopolicy</c>, <c>standard/capabilities/pm.vfiopolicy</c>), sorted.</summary>
        public static IReadOnlyList<string> Names => Files.Value.Keys.OrderBy(n => n, StringComparer.Ordinal).ToArray();

        /// <summary>Every library file by the name <c>library</c> takes (<c>strict</c>, <c>standard/capabilities/pm</c>), sorted.</summary>
        public static IReadOnlyList<string> LibraryNames => Names.Select(WithoutExtension).ToArray();

        /// <summary>The complete policies of the library, by the name <c>extends library</c> takes (<c>strict</c>, <c>linux-vfio-default</c>).</summary>
        public static IReadOnlyList<string> Policies => LibraryNames.Where(n => n.IndexOf('/') < 0).ToArray();

        /// <summary><paramref name="name"/> without a trailing <c>.vfiopolicy</c>.</summary>
        public static string WithoutExtension(string name)
            => name.EndsWith(Extension, StringComparison.Ordinal) ? name.Substring(0, name.Length - Extension.Length) : name;

        private const string Extension = ".vfiopolicy";

        /// <summary>True when <paramref name="path"/> (normalised) names a file of the library.</summary>
        public static bool IsLibraryPath(string path) => path.StartsWith(Root, StringComparison.Ordinal);

        /// <summary>
        /// The path of library file <paramref name="name"/> as written after <c>library</c>: the extension is optional,
        /// '.' and '..' may not leave the library. Null when the name cannot name a library file.
        /// </summary>
        public static string? PathOf(string name)
        {
            string trimmed = name.Replace('\\', '/');
            if (trimmed.Length == 0 || trimmed.StartsWith("/", StringComparison.Ordinal) || trimmed.IndexOf(':') >= 0)
            {
                return null;
            }

            string normalized = PolicyPaths.Normalize(trimmed);
            if (normalized == "." || normalized.StartsWith("..", StringComparison.Ordinal))
            {
                return null;
            }

            return Root + WithoutExtension(normalized) + Extension;
        }

        /// <summary>Reads the library file at <paramref name="path"/> (a path under <see cref="Root"/>).</summary>
        public static bool TryRead(string path, out string text)
        {
            text = string.Empty;
            return IsLibraryPath(path) && Files.Value.TryGetValue(path.Substring(Root.Length), out text!);
        }

        private static IReadOnlyDictionary<string, string> LoadFiles()
        {
            var files = new Dictionary<string, string>(StringComparer.Ordinal);
            Assembly assembly = typeof(StandardLibrary).Assembly;
            foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
            {
                using Stream stream = assembly.GetManifestResourceStream(resource)!;
                using var reader = new StreamReader(stream);
                files[resource.Substring(ResourcePrefix.Length)] = reader.ReadToEnd();
            }

            return files;
        }
    }
}
