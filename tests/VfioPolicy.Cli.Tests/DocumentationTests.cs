using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>Policy text shown in the documentation is a real policy of the library, so it cannot drift or rot.</summary>
    public sealed class DocumentationTests
    {
        private static readonly Regex PolicyBlock = new Regex("```vfiopolicy\n(?<text>.*?)```", RegexOptions.Singleline);

        [Fact]
        public void Every_policy_block_in_the_docs_is_a_library_file_verbatim_that_checks_clean()
        {
            string[] libraryFiles = Directory.GetFiles(RepositoryPaths.Policies, "*.vfiopolicy", SearchOption.AllDirectories);
            int blocks = 0;
            foreach (string doc in Directory.GetFiles(RepositoryPaths.InRepository("docs"), "*.md"))
            {
                foreach (Match block in PolicyBlock.Matches(File.ReadAllText(doc).Replace("\r\n", "\n")))
                {
                    blocks++;
                    string text = block.Groups["text"].Value;
                    string? file = libraryFiles.FirstOrDefault(f => File.ReadAllText(f).Replace("\r\n", "\n") == text);
                    Assert.True(file != null, Path.GetFileName(doc) + " shows a vfiopolicy block that is not a file of policies/ verbatim:\n" + text);

                    CliRun check = CliRunner.Run("check", Path.GetRelativePath(RepositoryPaths.Root, file!));
                    Assert.True(check.ExitCode == 0 && !check.Stdout.Contains("warning"), check.Transcript);
                }
            }

            Assert.True(blocks > 0, "docs/language.md's worked example is a vfiopolicy block");
        }
    }
}
