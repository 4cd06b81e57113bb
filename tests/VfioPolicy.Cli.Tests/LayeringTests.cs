using System;
using System.Linq;
using System.Reflection;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>
    /// The layers stay honest by construction: grammar knows nothing of the compiler, the access model nothing of
    /// the grammar, Sprache or Linux, the compiler nothing of Roslyn or Linux. Checked on the built assemblies, so it
    /// cannot go stale the way a diagram does.
    /// </summary>
    public sealed class LayeringTests
    {
        [Theory]
        [InlineData("VfioPolicy.Grammar", new[] { "Sprache" }, new[] { "VfioPolicy.", "Microsoft.CodeAnalysis", "Tmds.LibC" })]
        [InlineData("VfioPolicy.AccessModel", new string[0], new[] { "VfioPolicy.", "Sprache", "Microsoft.CodeAnalysis", "Tmds.LibC" })]
        [InlineData("VfioPolicy.Compiler", new[] { "VfioPolicy.Grammar", "VfioPolicy.AccessModel" }, new[] { "VfioPolicy.Cli", "vfio-policy", "Microsoft.CodeAnalysis", "Tmds.LibC" })]
        [InlineData("VfioPolicy.Runtime", new[] { "VfioPolicy.AccessModel", "Tmds.LibC" }, new[] { "VfioPolicy.", "Sprache", "Microsoft.CodeAnalysis" })]
        [InlineData("VfioPolicy.VfioUser", new[] { "VfioPolicy.Runtime", "VfioPolicy.AccessModel", "Tmds.LibC" }, new[] { "VfioPolicy.", "Sprache", "Microsoft.CodeAnalysis" })]
        public void Assembly_references_only_the_layers_below_it(string assemblyName, string[] required, string[] forbiddenPrefixes)
        {
            string[] references = Assembly.Load(assemblyName).GetReferencedAssemblies().Select(a => a.Name ?? string.Empty).ToArray();

            foreach (string name in required)
            {
                Assert.Contains(name, references);
            }

            string[] allowedProjects = required.Where(r => r.StartsWith("VfioPolicy.", StringComparison.Ordinal)).ToArray();
            string[] violations = references
                .Where(r => forbiddenPrefixes.Any(prefix => r.StartsWith(prefix, StringComparison.Ordinal)) && !allowedProjects.Contains(r))
                .ToArray();
            Assert.True(violations.Length == 0, assemblyName + " must not reference: " + string.Join(", ", violations));
        }
    }
}
