using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Testing;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary><c>extends library "NAME"</c>: the standard library that travels inside the compiler, reachable without a path.</summary>
    public sealed class StandardLibraryTests
    {
        [Fact]
        public void The_library_in_the_compiler_is_the_checkout_s_policies_folder_file_for_file()
        {
            string policies = RepositoryPaths.InRepository("policies");
            string[] expected = new[] { "strict.vfiopolicy", "linux-vfio-default.vfiopolicy" }
                .Concat(Directory.GetFiles(System.IO.Path.Combine(policies, "standard"), "*.vfiopolicy", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(policies, f).Replace('\\', '/')))
                .OrderBy(n => n, System.StringComparer.Ordinal)
                .ToArray();

            Assert.Equal(expected, StandardLibrary.Names);
            foreach (string name in expected)
            {
                Assert.True(StandardLibrary.TryRead(StandardLibrary.Root + name, out string text), name);
                Assert.Equal(File.ReadAllText(System.IO.Path.Combine(policies, name)), text);
            }
        }

        [Theory]
        [InlineData("strict")]
        [InlineData("linux-vfio-default")]
        public void A_policy_with_no_file_beside_it_extends_the_library_by_name_and_binds_as_the_checkout_s_file(string name)
        {
            CompilationResult byName = CompileFiles(("elsewhere/d.vfiopolicy", "policy \"d\"\nmatch any\nextends library \"" + name + "\"\n"));
            CompilationResult byPath = PolicyCompiler.Compile(RepositoryPaths.InRepository("policies/" + name + ".vfiopolicy"), new FileSystemPolicySource());

            Assert.DoesNotContain(byName.Diagnostics, d => d.IsError);
            Assert.Equal(
                byPath.Files.Select(f => "library:/" + f.Replace('\\', '/').Replace(RepositoryPaths.InRepository("policies/").Replace('\\', '/'), string.Empty)),
                byName.Files.Skip(1));
            Assert.Equal(Rules(byPath.Model!), Rules(byName.Model!));
        }

        [Fact]
        public void A_fragment_of_the_library_is_included_by_name_without_its_extension()
        {
            CompilationResult result = CompileFiles(("p.vfiopolicy", Policy("include library \"standard/capabilities/pm\"")));

            Assert.DoesNotContain(result.Diagnostics, d => d.IsError);
            Assert.Equal(new[] { "p.vfiopolicy", "library:/standard/capabilities/pm.vfiopolicy" }, result.Files);
        }

        [Theory]
        [InlineData("strikt", "p.vfiopolicy(7,17): error VP0501: the policy library has no 'strikt'; did you mean \"strict\"? (its policies: \"linux-vfio-default\", \"strict\"; its fragments are under standard/)")]
        [InlineData("../p", "p.vfiopolicy(7,17): error VP0501: '../p' cannot name a library file (a name such as \"strict\" or \"standard/capabilities/pm\"; the library has \"linux-vfio-default\", \"strict\")")]
        [InlineData("/etc/passwd", "p.vfiopolicy(7,17): error VP0501: '/etc/passwd' cannot name a library file (a name such as \"strict\" or \"standard/capabilities/pm\"; the library has \"linux-vfio-default\", \"strict\")")]
        public void A_name_the_library_does_not_have_is_a_located_error_that_never_reaches_the_disk(string name, string expected)
        {
            CompilationResult result = CompileFiles(("p.vfiopolicy", Policy("include library \"" + name + "\"")), ("p", "header {\n}\n"));

            Assert.Contains(expected, result.Diagnostics.Select(d => d.ToString()));
        }

        private static string[] Rules(PolicyModel model)
            => model.Header.Concat(model.Capabilities.SelectMany(c => c.Registers))
                .SelectMany(r => r.Rules.Select(b => r.Name + "@" + r.Offset + ":" + b.LowBit + ".." + b.HighBit + " " + b.Action + " " + b.Origin.Location.Replace("library:/", string.Empty).Replace(RepositoryPaths.InRepository("policies/").Replace('\\', '/'), string.Empty)))
                .ToArray();
    }
}
