using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using VfioPolicy.Generator;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Hardening.Tests.GeneratedCode
{
    /// <summary>
    /// Issue 6, item 3: hostile policy files (names, strings, paths, rule texts and comments built to break out of
    /// generated C#) run through the source generator. Each gives either a policy diagnostic and no code, or code whose
    /// syntax holds none of the injected text as code and which compiles without a warning.
    /// </summary>
    public sealed class HostilePolicyGeneratorTests
    {
        /// <summary>Every hostile input names this; it must never become an identifier of the generated code.</summary>
        private const string Marker = "Injected";

        private const string Defaults =
            "default header deny 0\n" +
            "default capability deny 0\n" +
            "default gap deny 0\n" +
            "default unknown-capability hide body deny 0\n";

        /// <summary>The nested types the emitter writes into every policy class (docs/generated-code.md).</summary>
        private static readonly string[] EmitterHelperTypes = { "Firewall" };

        private static readonly Regex AsciiIdentifier = new Regex("^@?[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

        private static readonly Lazy<MetadataReference[]> References = new Lazy<MetadataReference[]>(() =>
        {
            string trusted = (string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!;

            // The test host's own VfioPolicy assemblies (the compiled library among them) would clash with the output.
            var paths = trusted.Split(System.IO.Path.PathSeparator)
                .Where(p => p.Length > 0 && !System.IO.Path.GetFileName(p).StartsWith("VfioPolicy.", StringComparison.Ordinal))
                .ToList();
            paths.Add(typeof(VfioPolicy.AccessModel.Model.PolicyModel).Assembly.Location);
            return paths.Distinct().Select(p => (MetadataReference)MetadataReference.CreateFromFile(p)).ToArray();
        });

        /// <summary>A complete policy named by <paramref name="quotedName"/> (as written, quotes included) with <paramref name="extra"/> lines.</summary>
        private static string Complete(string quotedName, string extra = "")
            => "policy " + quotedName + "\nmatch any\n" + Defaults + "header {\n  register VENDOR_ID passthrough ro\n" + extra + "}\n";

        public static IEnumerable<object[]> HostileCases()
        {
            string bidi = "\u202e\u2066\u2069\u200b\u200d\ufeff";
            var cases = new (string Name, (string Path, string Text)[] Files)[]
            {
                ("string closes literal", new[] { ("/src/a.vfiopolicy", Complete("\"\\\"; } class " + Marker + " { //\"")) }),
                ("comment terminator in name", new[] { ("/src/a.vfiopolicy", Complete("\"*/ class " + Marker + " { /*\"")) }),
                ("unicode escape text", new[] { ("/src/a.vfiopolicy", Complete("\"\\\\u0022; class " + Marker + " {} \\\\u0022\"")) }),
                ("#line in name", new[] { ("/src/a.vfiopolicy", Complete("\"#line 1 \\\"" + Marker + "\\\"\"")) }),
                ("#error after newline", new[] { ("/src/a.vfiopolicy", Complete("\"a\n#error " + Marker + "\"")) }),
                ("@class name", new[] { ("/src/a.vfiopolicy", Complete("\"@class\"")) }),
                ("keyword name", new[] { ("/src/a.vfiopolicy", Complete("\"class\"")) }),
                ("bidi and zero-width in name", new[] { ("/src/a.vfiopolicy", Complete("\"" + bidi + "} class " + Marker + " {" + bidi + "\"")) }),
                ("nul and controls in name", new[] { ("/src/a.vfiopolicy", Complete("\"\0\u0001\u007f\u0085\u2028\u2029" + Marker + "\"")) }),
                ("very long name", new[] { ("/src/a.vfiopolicy", Complete("\"" + new string('N', 20_000) + "\"")) }),
                ("very long register name", new[] { ("/src/a.vfiopolicy", Complete("\"long-register\"", "  register 0x08 u8 " + new string('R', 5_000) + " passthrough ro\n")) }),
                ("hostile trailing comment", new[] { ("/src/a.vfiopolicy", Complete("\"comment\"", "  register 0x08 u8 passthrough ro   # */ } class " + Marker + " { \\u0022 #error " + bidi + "\n")) }),
                ("hostile comment lines", new[] { ("/src/a.vfiopolicy", "# */ #error " + Marker + "\n# \\u000a class " + Marker + " {}\n" + Complete("\"comments\"")) }),
                ("comment terminator in path", new[] { ("/src/*/ class " + Marker + " { /*.vfiopolicy", Complete("\"path1\"")) }),
                ("quotes and newline in path", new[] { ("/src/\"" + Marker + "\"\n#error x.vfiopolicy", Complete("\"path2\"")) }),
                ("bidi in path", new[] { ("/src/" + bidi + Marker + ".vfiopolicy", Complete("\"path3\"")) }),
                ("very long path", new[] { ("/src/" + new string('p', 400) + ".vfiopolicy", Complete("\"path4\"")) }),
                ("hostile include path", new[] { ("/src/a.vfiopolicy", Complete("\"include\"") + "include \"*/ class " + Marker + " { \\\" .vfiopolicy\"\n") }),
                (
                    "names that collide after sanitisation",
                    new[]
                    {
                        ("/src/c1.vfiopolicy", Complete("\"a b\"")),
                        ("/src/c2.vfiopolicy", Complete("\"a-b\"")),
                        ("/src/c3.vfiopolicy", Complete("\"A_B\"")),
                        ("/src/c4.vfiopolicy", Complete("\"a.b\"")),
                        ("/src/c5.vfiopolicy", Complete("\"AB\"")),
                        ("/src/c6.vfiopolicy", Complete("\"class\"")),
                        ("/src/c7.vfiopolicy", Complete("\"Class\"")),
                        ("/src/c8.vfiopolicy", Complete("\"\"")),
                        ("/src/c9.vfiopolicy", Complete("\"_\"")),
                        ("/src/c10.vfiopolicy", Complete("\"" + bidi + "\"")),
                    }
                ),
                (
                    "same file name in two folders",
                    new[] { ("/src/x/p.vfiopolicy", Complete("\"p\"")), ("/src/y/p.vfiopolicy", Complete("\"p\"")) }
                ),
            };
            return cases.Select(c => new object[] { c.Name, c.Files.Select(f => f.Path).ToArray(), c.Files.Select(f => f.Text).ToArray() });
        }

        [Theory]
        [MemberData(nameof(HostileCases))]
        public void A_hostile_policy_gives_a_diagnostic_or_code_it_cannot_inject_into(string name, string[] paths, string[] texts)
        {
            Figures.Add("hostile.cases", 1);
            var (diagnostics, sources, output) = Run(paths.Zip(texts, (p, t) => (p, t)).ToArray());

            // The generator itself never fails (CS8784/CS8785 are "generator threw").
            Assert.DoesNotContain(diagnostics, d => d.Id == "CS8784" || d.Id == "CS8785");
            int complete = texts.Count(t => VfioPolicy.Compiler.PolicyCompiler.CompileText("/probe.vfiopolicy", t).Model is not null);
            bool rejected = diagnostics.Any(d => d.Severity == DiagnosticSeverity.Error && d.Id.StartsWith("VP", StringComparison.Ordinal));
            Assert.True(rejected || sources.Count == complete, name + ": " + sources.Count + " sources for " + complete + " complete policies");
            if (sources.Count == 0)
            {
                Assert.True(rejected, name + ": no code and no diagnostic");
                return;
            }

            Diagnostic[] problems = output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning).ToArray();
            Assert.True(problems.Length == 0, name + ": the generated code does not compile cleanly: " + string.Join("; ", problems.Take(3)));

            var classNames = new List<string>();
            foreach ((string hint, string text) in sources)
            {
                CheckNoInjection(name + " (" + hint + ")", text, classNames);
            }

            Assert.Equal(classNames.Count, classNames.Distinct(StringComparer.Ordinal).Count());
        }

        private static void CheckNoInjection(string label, string text, List<string> classNames)
        {
            // No bidi, zero-width or control character anywhere: literals and comments escape them.
            char bad = text.FirstOrDefault(c => (c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c >= 0x7f);
            Assert.True(bad == default, label + ": the generated text holds U+" + ((int)bad).ToString("X4", System.Globalization.CultureInfo.InvariantCulture));

            SyntaxNode root = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose)).GetRoot();
            Assert.Empty(root.GetDiagnostics());

            // Only the emitter's own shape: one namespace, one policy class in it, and inside that class only the
            // emitter's fixed helper types; no other type anywhere.
            Assert.Single(root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>());
            ClassDeclarationSyntax policyClass = Assert.Single(root.DescendantNodes().OfType<ClassDeclarationSyntax>(), c => c.Parent is BaseNamespaceDeclarationSyntax);
            foreach (TypeDeclarationSyntax nested in root.DescendantNodes().OfType<TypeDeclarationSyntax>().Where(t => t != policyClass))
            {
                Assert.Same(policyClass, nested.Parent);
                Assert.Contains(nested.Identifier.Text, EmitterHelperTypes);
            }

            Assert.Empty(root.DescendantNodes().OfType<EnumDeclarationSyntax>());
            Assert.Empty(root.DescendantNodes().OfType<InterfaceDeclarationSyntax>());
            Assert.Empty(root.DescendantNodes().OfType<RecordDeclarationSyntax>());
            Assert.Empty(root.DescendantNodes().OfType<DelegateDeclarationSyntax>());
            classNames.Add(policyClass.Identifier.Text);

            // The only directives are the emitter's own.
            string[] directives = root.DescendantTrivia(descendIntoTrivia: true).Where(t => t.IsDirective).Select(t => t.ToString().Split(' ')[0]).Distinct().ToArray();
            Assert.All(directives, d => Assert.Contains(d, new[] { "#nullable", "#pragma" }));

            // Outside string literals and comments, the injected text never appears: every identifier is plain ASCII,
            // and the only one that may spell the marker is the policy class's own name, which is the policy name
            // reduced to letters and digits (by design: "} class Injected {" names the class ClassInjectedPolicy).
            string className = policyClass.Identifier.Text;
            Assert.Matches("^[A-Za-z_][A-Za-z0-9_]*Policy(_[0-9a-f]{8})?$", className);
            foreach (SyntaxToken token in root.DescendantTokens())
            {
                if (token.IsKind(SyntaxKind.IdentifierToken))
                {
                    Assert.Matches(AsciiIdentifier, token.Text);
                    Assert.True(token.Text == className || !token.Text.Contains(Marker, StringComparison.Ordinal), label + ": identifier " + token.Text);
                }
                else if (!token.IsKind(SyntaxKind.StringLiteralToken) && !token.IsKind(SyntaxKind.CharacterLiteralToken) && !token.IsKind(SyntaxKind.XmlTextLiteralToken))
                {
                    Assert.DoesNotContain(Marker, token.Text, StringComparison.Ordinal);
                }
            }
        }

        private static (ImmutableArray<Diagnostic> Diagnostics, IReadOnlyList<(string Hint, string Text)> Sources, Compilation Output) Run((string Path, string Text)[] files)
        {
            var compilation = CSharpCompilation.Create(
                "HostilePolicies",
                Array.Empty<SyntaxTree>(),
                References.Value,
                new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
            GeneratorDriver driver = CSharpGeneratorDriver.Create(
                new[] { new PolicyGenerator().AsSourceGenerator() },
                files.Select(f => (AdditionalText)new InMemoryText(f.Path, f.Text)),
                parseOptions: new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose));
            driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out Compilation output, out ImmutableArray<Diagnostic> diagnostics);
            var sources = driver.GetRunResult().Results.SelectMany(r => r.GeneratedSources).Select(s => (s.HintName, s.SourceText.ToString())).ToList();
            return (diagnostics, sources, output);
        }

        private sealed class InMemoryText : AdditionalText
        {
            private readonly SourceText _text;

            public InMemoryText(string path, string text)
            {
                Path = path;
                _text = SourceText.From(text);
            }

            public override string Path { get; }

            public override SourceText GetText(CancellationToken cancellationToken = default) => _text;
        }
    }
}
