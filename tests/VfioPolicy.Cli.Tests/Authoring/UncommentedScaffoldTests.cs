using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.Authoring
{
    /// <summary>
    /// init's promise for every section it writes: uncommented as it stands, it compiles (restating what the base does
    /// may warn, never fail). Every type-0 device of tests/corpus, over both library bases, every section at once.
    /// </summary>
    public sealed class UncommentedScaffoldTests
    {
        public static IEnumerable<object[]> Cases()
        {
            foreach (string folder in new[] { "qemu", "pciutils", "sriov" })
            {
                foreach (string file in Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, folder), "*.txt").Where(f => !f.EndsWith(".lspci-vvv.txt", StringComparison.Ordinal)).OrderBy(f => f, StringComparer.Ordinal))
                {
                    foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(File.ReadAllText(file), file))
                    {
                        if ((image.Bytes[0x0e] & 0x7f) != 0 || VirtualFunctions.LooksLikeVirtualFunction(image.Bytes))
                        {
                            continue;
                        }

                        foreach (string basePolicy in new[] { "strict", "linux-vfio-default" })
                        {
                            yield return new object[] { Path.GetRelativePath(RepositoryPaths.Root, file), image.Slot ?? string.Empty, basePolicy };
                        }
                    }
                }
            }
        }

        [Theory]
        [MemberData(nameof(Cases))]
        public void Every_section_compiles_uncommented(string dump, string slot, string basePolicy)
        {
            string[] args = slot.Length > 0
                ? new[] { "init", "--device", dump, "--slot", slot, "--base", basePolicy }
                : new[] { "init", "--device", dump, "--base", basePolicy };
            CliRun run = CliRunner.Run(args);
            Assert.True(run.ExitCode == 0, run.Transcript);

            string uncommented = ScaffoldText.Uncomment(run.Stdout);
            CompilationResult result = PolicyCompiler.CompileText(RepositoryPaths.InRepository("policies/devices/uncommented-under-test.vfiopolicy"), uncommented, new FileSystemPolicySource());
            string[] errors = result.Diagnostics.Where(d => d.IsError).Select(d => d.ToString()).ToArray();
            Assert.True(errors.Length == 0, dump + " " + slot + " over " + basePolicy + ":\n" + string.Join("\n", errors) + "\n---\n" + uncommented);
        }
    }
}
