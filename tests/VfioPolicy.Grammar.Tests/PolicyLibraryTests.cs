using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;
using Xunit;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>The policy library in <c>policies/</c> must parse and be in canonical layout's fixed point after one format.</summary>
    public class PolicyLibraryTests
    {
        public static IEnumerable<object[]> LibraryFiles()
            => Directory.GetFiles(Path.Combine(RepositoryRoot(), "policies"), "*.vfiopolicy", SearchOption.AllDirectories)
                .OrderBy(p => p, StringComparer.Ordinal)
                .Select(p => new object[] { Path.GetRelativePath(RepositoryRoot(), p).Replace('\\', '/') });

        [Fact]
        public void The_library_is_not_empty()
        {
            Assert.NotEmpty(LibraryFiles());
        }

        [Theory]
        [MemberData(nameof(LibraryFiles))]
        public void Library_policy_parses_without_syntax_errors_and_formats_idempotently(string relativePath)
        {
            string text = File.ReadAllText(Path.Combine(RepositoryRoot(), relativePath));

            ParseResult result = PolicyParser.Parse(new SourceFile(relativePath, text));

            Assert.True(result.File != null, string.Join("\n", result.Diagnostics));
            string formatted = PolicyFormatter.Format(result.File!);
            ParseResult reparsed = PolicyParser.Parse(new SourceFile(relativePath, formatted));
            Assert.True(reparsed.File != null, string.Join("\n", reparsed.Diagnostics));
            Assert.Equal(formatted, PolicyFormatter.Format(reparsed.File!));
            Assert.Equal(CommentTexts(text), CommentTexts(formatted));
        }

        /// <summary>
        /// The directory holding <c>VfioPolicy.sln</c>, found by walking up from the test binaries or, when they are
        /// built outside the work tree (<c>--artifacts-path</c>), from this project's source directory.
        /// </summary>
        public static string RepositoryRoot()
        {
            string? sourceDirectory = typeof(PolicyLibraryTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "SourceDirectory")?.Value;
            foreach (string? start in new[] { AppContext.BaseDirectory, sourceDirectory })
            {
                for (DirectoryInfo? directory = start == null ? null : new DirectoryInfo(start); directory != null; directory = directory.Parent)
                {
                    if (File.Exists(Path.Combine(directory.FullName, "VfioPolicy.sln")))
                    {
                        return directory.FullName;
                    }
                }
            }

            throw new InvalidOperationException("VfioPolicy.sln not found above " + AppContext.BaseDirectory + " or " + sourceDirectory);
        }

        /// <summary>Every comment of a parsed file, in order (formatting must keep them all).</summary>
        public static IReadOnlyList<string> CommentTexts(string text)
        {
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", text));
            Assert.NotNull(result.File);
            return SyntaxWalker.Comments(result.File!).Select(c => c.Text).ToArray();
        }
    }
}
