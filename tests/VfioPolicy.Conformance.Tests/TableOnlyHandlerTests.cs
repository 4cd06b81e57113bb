using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.Loader;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Emit;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.Compiler.Emit;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>
    /// The case-table path of every library policy's handler, exhaustively. A real handler serves the pieces that need
    /// only the shadow as literal cases first (the first 32 write cases met), so its table path never sees those
    /// pieces, and no library policy has more of them: here each policy is emitted again with no literal case at all
    /// (<see cref="HandlerEmitter.Emit(AccessModel.Model.PolicyModel, string, string, bool)"/>), compiled in memory,
    /// and compared with the interpreter like the real handlers are, on every corpus device.
    /// </summary>
    public sealed class TableOnlyHandlerTests
    {
        private static readonly Lazy<IReadOnlyDictionary<string, ICompiledPolicy>> TableOnly = new Lazy<IReadOnlyDictionary<string, ICompiledPolicy>>(Compile);

        [Theory]
        [MemberData(nameof(ConformanceInputs.PolicyDevicePairs), MemberType = typeof(ConformanceInputs))]
        public void every_single_access_through_the_case_tables_behaves_like_the_interpreter(string policyName, string deviceName)
            => ExhaustiveEquivalenceTests.RunEverySingleAccess(TableOnly.Value[policyName], ConformanceInputs.Device(deviceName), "table-only|" + policyName + "|" + deviceName);

        [Fact]
        public void the_table_only_handlers_have_no_literal_case_and_the_real_ones_do()
        {
            ICompiledPolicy strict = ConformanceInputs.Policy("strict");
            string tableOnly = HandlerEmitter.Emit(strict.Model, "strict.vfiopolicy", "StrictPolicy", literalCases: false);
            string real = HandlerEmitter.Emit(strict.Model, "strict.vfiopolicy", "StrictPolicy");

            Assert.DoesNotContain("return ReadPiece(", tableOnly, StringComparison.Ordinal);
            Assert.DoesNotContain("return WritePiece(", tableOnly, StringComparison.Ordinal);
            Assert.Contains("return ReadPiece(", real, StringComparison.Ordinal);
            Assert.Contains("return WritePiece(", real, StringComparison.Ordinal);
        }

        /// <summary>Emits every library policy without literal cases, compiles them into one assembly and opens each.</summary>
        private static IReadOnlyDictionary<string, ICompiledPolicy> Compile()
        {
            var sources = new List<SyntaxTree>();
            foreach (ICompiledPolicy policy in ConformanceInputs.Policies)
            {
                string className = HandlerEmitter.ClassName(policy.Name) + "TableOnly";
                string code = HandlerEmitter.Emit(policy.Model, policy.Name + ".vfiopolicy", className, literalCases: false);

                // Not registered: the registry already holds the library's own handler of the same policy.
                code = code.Replace("[global::System.Runtime.CompilerServices.ModuleInitializer]", string.Empty, StringComparison.Ordinal);
                sources.Add(CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(LanguageVersion.Latest)));
            }

            string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;
            IEnumerable<MetadataReference> references = trusted.Split(Path.PathSeparator)
                .Where(p => p.Length > 0 && !Path.GetFileName(p).StartsWith("VfioPolicy.", StringComparison.Ordinal))
                .Append(typeof(ICompiledPolicy).Assembly.Location)
                .Distinct()
                .Select(p => MetadataReference.CreateFromFile(p));
            CSharpCompilation compilation = CSharpCompilation.Create(
                "TableOnlyPolicies",
                sources,
                references,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, optimizationLevel: OptimizationLevel.Release, nullableContextOptions: NullableContextOptions.Enable));
            using var image = new MemoryStream();
            EmitResult result = compilation.Emit(image);
            Assert.True(result.Success, string.Join(Environment.NewLine, result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));

            image.Position = 0;
            Assembly assembly = new AssemblyLoadContext("table-only policies", isCollectible: false).LoadFromStream(image);
            return assembly.GetTypes()
                .Where(t => typeof(ICompiledPolicy).IsAssignableFrom(t) && !t.IsAbstract)
                .Select(t => (ICompiledPolicy)Activator.CreateInstance(t)!)
                .ToDictionary(p => p.Name, StringComparer.Ordinal);
        }
    }
}
