using System.ComponentModel;
using System.IO;
using System.Linq;
using System.Reflection;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Interpretation
{
    /// <summary>
    /// The engine types generated code derives from and calls are public (the generated class lives in the consumer's
    /// assembly) but not the consumer's contract: they sit in the Infrastructure namespace, hidden from IntelliSense.
    /// </summary>
    public sealed class InfrastructureSurfaceTests
    {
        private const string Infrastructure = "VfioPolicy.AccessModel.Infrastructure";

        [Fact]
        public void Every_public_infrastructure_type_is_hidden_from_the_editor()
        {
            System.Type[] types = typeof(ICompiledPolicy).Assembly.GetExportedTypes().Where(t => t.Namespace == Infrastructure).ToArray();

            Assert.Equal(new[] { "DwordDispatch", "FirewallCore", "PieceCase", "PieceMasks", "PieceShape" }, types.Select(t => t.Name).OrderBy(n => n, System.StringComparer.Ordinal));
            Assert.All(types, t => Assert.Equal(EditorBrowsableState.Never, t.GetCustomAttribute<EditorBrowsableAttribute>()?.State));
        }

        [Fact]
        public void Generated_code_reaches_engine_internals_only_through_the_infrastructure_namespace()
        {
            string[] baselines = Directory.GetFiles(RepositoryPaths.InRepository("tests/VfioPolicy.Generator.Tests/Baselines"), "*.g.cs.verified.txt", SearchOption.AllDirectories);
            Assert.NotEmpty(baselines);
            foreach (string baseline in baselines)
            {
                string code = File.ReadAllText(baseline);
                Assert.DoesNotContain("global::VfioPolicy.AccessModel.Interpretation.", code, System.StringComparison.Ordinal);
                Assert.Contains("global::" + Infrastructure + ".FirewallCore", code, System.StringComparison.Ordinal);
            }
        }
    }
}
