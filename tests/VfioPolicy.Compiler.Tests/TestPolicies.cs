using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Grammar.Diagnostics;
using Xunit;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>Builds small policies in memory and compiles them.</summary>
    internal static class TestPolicies
    {
        public const string Path = "p.vfiopolicy";

        /// <summary>Six lines that make a complete policy; rules written after them start at line 7.</summary>
        public static readonly string[] Preamble =
        {
            "policy \"t\"",
            "match any",
            "default header passthrough ro",
            "default capability deny 0",
            "default gap deny 0",
            "default unknown-capability hide",
        };

        public static string Lines(params string[] lines) => string.Join("\n", lines) + "\n";

        /// <summary>A complete policy: the preamble, then <paramref name="body"/> from line 7.</summary>
        public static string Policy(params string[] body) => Lines(Preamble.Concat(body).ToArray());

        public static CompilationResult Compile(string text) => PolicyCompiler.CompileText(Path, text);

        /// <summary>Compiles the first file with the others available to include.</summary>
        public static CompilationResult CompileFiles(params (string Path, string Text)[] files)
        {
            var source = new InMemoryPolicySource();
            foreach ((string path, string text) in files)
            {
                source.Add(path, text);
            }

            return PolicyCompiler.Compile(files[0].Path, source);
        }

        public static PolicyModel CompileModel(string text)
        {
            CompilationResult result = Compile(text);
            Assert.True(result.Model != null, "expected a model, got: " + string.Join("\n", result.Diagnostics));
            Assert.Empty(result.Diagnostics);
            return result.Model!;
        }

        /// <summary>Asserts that the compilation reported exactly one diagnostic, of <paramref name="id"/>, printed as <paramref name="expected"/>.</summary>
        public static Diagnostic AssertOne(CompilationResult result, string id, string expected)
        {
            Diagnostic[] found = result.Diagnostics.Where(d => d.Id == id).ToArray();
            Assert.True(found.Length == 1 && result.Diagnostics.Count == 1, "expected one " + id + " and nothing else, got:\n" + string.Join("\n", result.Diagnostics));
            Assert.Equal(expected, found[0].ToString());
            return found[0];
        }

        /// <summary>Asserts that the compilation produced exactly these diagnostics, printed, in order.</summary>
        public static void AssertDiagnostics(CompilationResult result, params string[] expected)
            => Assert.Equal(expected, result.Diagnostics.Select(d => d.ToString()).ToArray());
    }
}
