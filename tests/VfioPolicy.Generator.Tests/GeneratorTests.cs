using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    public sealed class GeneratorTests
    {
        private const string Defaults =
            "default header deny 0\n" +
            "default capability deny 0\n" +
            "default gap deny 0\n" +
            "default unknown-capability hide body deny 0\n";

        private static string Tiny(string name) =>
            "policy " + name + "\n" +
            "match any\n" +
            Defaults +
            "header {\n" +
            "  register VENDOR_ID passthrough ro\n" +
            "}\n";

        [Fact]
        public void Generated_code_names_the_version_of_the_packages_that_generated_it()
        {
            // Directory.Build.props sets one version for every assembly and package; [GeneratedCode] must say the same.
            string assembly = typeof(VfioPolicy.Compiler.Emit.HandlerEmitter).Assembly.GetName().Version!.ToString(3);
            Assert.Equal(VfioPolicy.Compiler.Emit.HandlerEmitter.ToolVersion, assembly);
            Assert.Equal(assembly, typeof(VfioPolicy.Generator.PolicyGenerator).Assembly.GetName().Version!.ToString(3));
        }

        [Fact]
        public void The_policy_library_generates_one_handler_per_complete_policy_and_compiles_cleanly()
        {
            GeneratorRun run = GeneratorHarness.Run(GeneratorHarness.Library());

            Assert.DoesNotContain(run.GeneratorDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Contains(run.Sources, s => s.HintName.StartsWith("strict_vfiopolicy.", StringComparison.Ordinal));
            Assert.Contains(run.Sources, s => s.HintName.StartsWith("linux_vfio_default_vfiopolicy.", StringComparison.Ordinal));
            Assert.Empty(run.CompilationDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
            Assert.NotNull(run.Output.GetTypeByMetadataName("VfioPolicy.Generated.StrictPolicy"));
            Assert.NotNull(run.Output.GetTypeByMetadataName("VfioPolicy.Generated.LinuxVfioDefaultPolicy"));
        }

        [Fact]
        public void A_policy_with_a_400_character_name_and_rule_comment_generates_compiling_code()
        {
            // Regression: the model serializer threw "cannot rebuild a value of type System.String" (VP9001) once a
            // string's literal no longer fitted on one line.
            string name = string.Concat(Enumerable.Repeat("long \\\"quoted\\\" name ", 25));
            // The rule's text (which its origin records) is made long with spaces between its words, and a long comment.
            string text = Tiny("\"" + name + "\"").Replace("register VENDOR_ID passthrough ro", "register VENDOR_ID" + new string(' ', 400) + "passthrough ro  # " + new string('c', 400));

            GeneratorRun run = GeneratorHarness.Run(("/src/policies/" + new string('p', 200) + ".vfiopolicy", text));

            Assert.Empty(run.GeneratorDiagnostics);
            var source = Assert.Single(run.Sources);
            Assert.Empty(run.CompilationDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
            var compiled = VfioPolicy.Compiler.PolicyCompiler.CompileText("/x.vfiopolicy", text);
            Assert.True(compiled.Model!.Name.Length >= 400, "the name should be long: " + compiled.Model.Name.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Contains(VfioPolicy.Compiler.Emit.CSharpLiteral.String(compiled.Model.Name), source.Text, StringComparison.Ordinal);
            string ruleText = compiled.Model.Header.Single(r => r.Name == "VENDOR_ID").Rules.Single().Origin.Text;
            Assert.True(ruleText.Length >= 400, "the rule text should be long: " + ruleText);
            Assert.Contains(VfioPolicy.Compiler.Emit.CSharpLiteral.String(ruleText), source.Text, StringComparison.Ordinal);
        }

        [Fact]
        public void Two_runs_generate_identical_text()
        {
            GeneratorRun first = GeneratorHarness.Run(GeneratorHarness.Library());
            GeneratorRun second = GeneratorHarness.Run(GeneratorHarness.Library());

            Assert.Equal(first.Sources, second.Sources);
        }

        [Fact]
        public void An_application_naming_the_class_of_a_policy_with_errors_gets_the_policy_s_errors_and_no_CSharp_error()
        {
            string text = Tiny("\"my nic\"") + "header {\n  register NO_SUCH_REGISTER passthrough ro\n}\n";
            const string App = "public static class App\n{\n    public static string Describe() => VfioPolicy.Generated.MyNicPolicy.PolicyName + new VfioPolicy.Generated.MyNicPolicy().Name;\n}\n";

            GeneratorRun run = GeneratorHarness.RunWithCode(new[] { App }, ("/src/policies/nic.vfiopolicy", text));

            Assert.Equal(new[] { "VP0102" }, run.GeneratorDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.Id));
            Assert.Empty(run.CompilationDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning).Select(d => d.ToString()));
            (string _, string placeholder) = Assert.Single(run.Sources);
            Assert.Contains("public sealed class MyNicPolicy", placeholder, StringComparison.Ordinal);
            Assert.Contains("public const string PolicyName = \"my nic\";", placeholder, StringComparison.Ordinal);
            // Never registered: the registry cannot hand out a policy that did not compile.
            Assert.DoesNotContain("ModuleInitializer", placeholder, StringComparison.Ordinal);
        }

        [Fact]
        public void A_policy_error_is_a_build_error_at_its_file_line_and_column()
        {
            string text = Tiny("\"broken\"") + "header {\n  register NO_SUCH_REGISTER passthrough ro\n}\n";
            GeneratorRun run = GeneratorHarness.Run(("/src/policies/broken.vfiopolicy", text));

            Diagnostic error = Assert.Single(run.GeneratorDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.StartsWith("VP", error.Id, StringComparison.Ordinal);
            FileLinePositionSpan span = error.Location.GetLineSpan();
            Assert.Equal("/src/policies/broken.vfiopolicy", span.Path);
            Assert.Equal(11, span.StartLinePosition.Line + 1);
            Assert.Equal(12, span.StartLinePosition.Character + 1);
            Assert.Equal(text.IndexOf("NO_SUCH_REGISTER", StringComparison.Ordinal), error.Location.SourceSpan.Start);
            Assert.Contains("NO_SUCH_REGISTER", error.GetMessage(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
            (string hint, string placeholder) = Assert.Single(run.Sources);
            Assert.Contains("has errors", placeholder, StringComparison.Ordinal);

            // No link to a web site the project does not have; the help is the ID's anchor on the diagnostics page.
            Assert.True(string.IsNullOrEmpty(error.Descriptor.HelpLinkUri), error.Descriptor.HelpLinkUri);
            Assert.Contains("docs/diagnostics.md#" + error.Id, error.Descriptor.Description.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        [Fact]
        public void An_include_the_build_does_not_list_says_how_to_list_it()
        {
            string text = Tiny("\"includes\"") + "include \"fragments/not-listed.vfiopolicy\"\n";
            GeneratorRun run = GeneratorHarness.Run(("/src/policies/includes.vfiopolicy", text));

            Diagnostic error = Assert.Single(run.GeneratorDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Equal("VP0501", error.Id);
            string message = error.GetMessage(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Contains("cannot read 'fragments/not-listed.vfiopolicy'", message, StringComparison.Ordinal);
            Assert.Contains("if the file exists, list it (<VfioPolicy Include=\"PATH\" />)", message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_syntax_error_reports_the_parser_position()
        {
            string text = "policy \"syntax\"\nmatch any\nthis is not a statement\n" + Defaults;
            GeneratorRun run = GeneratorHarness.Run(("/src/syntax.vfiopolicy", text));

            Diagnostic error = Assert.Single(run.GeneratorDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Matches("^VP0[0-9]{3}$", error.Id);
            Assert.Equal(3, error.Location.GetLineSpan().StartLinePosition.Line + 1);
            Assert.Equal(1, error.Location.GetLineSpan().StartLinePosition.Character + 1);
        }

        [Fact]
        public void Warnings_stay_warnings_and_code_is_still_generated()
        {
            // An override of a bit nothing else rules: VP0303, a warning.
            string text = Tiny("\"warned\"") + "header {\n  register COMMAND {\n    override bit 2 MASTER passthrough rw\n  }\n}\n";
            GeneratorRun run = GeneratorHarness.Run(("/src/warned.vfiopolicy", text));

            Diagnostic warning = Assert.Single(run.GeneratorDiagnostics);
            Assert.Equal("VP0303", warning.Id);
            Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
            Assert.Equal(12, warning.Location.GetLineSpan().StartLinePosition.Line + 1);
            Assert.Single(run.Sources);
            Assert.Empty(run.CompilationDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
        }

        [Fact]
        public void A_fragment_is_checked_and_its_error_reported_once_however_many_policies_include_it()
        {
            string fragment = "header {\n  register NOT_A_REGISTER passthrough ro\n}\n";
            string Policy(string name) => Tiny("\"" + name + "\"") + "include \"lib/fragment.vfiopolicy\"\n";
            GeneratorRun run = GeneratorHarness.Run(
                ("/src/lib/fragment.vfiopolicy", fragment),
                ("/src/a.vfiopolicy", Policy("a")),
                ("/src/b.vfiopolicy", Policy("b")));

            Diagnostic error = Assert.Single(run.GeneratorDiagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Equal("/src/lib/fragment.vfiopolicy", error.Location.GetLineSpan().Path);
            Assert.Equal(2, error.Location.GetLineSpan().StartLinePosition.Line + 1);
        }

        [Fact]
        public void Includes_resolve_among_the_additional_files()
        {
            string fragment = "header {\n  register DEVICE_ID passthrough ro\n}\n";
            GeneratorRun run = GeneratorHarness.Run(
                ("/src/lib/ids.vfiopolicy", fragment),
                ("/src/p.vfiopolicy", Tiny("\"p\"") + "include \"lib/ids.vfiopolicy\"\n"));

            Assert.Empty(run.GeneratorDiagnostics);
            string source = Assert.Single(run.Sources).Text;
            Assert.Contains("DEVICE_ID", source, StringComparison.Ordinal);
        }

        [Fact]
        public void Policies_whose_names_collide_get_distinct_stable_class_names()
        {
            GeneratorRun run = GeneratorHarness.Run(
                ("/src/one.vfiopolicy", Tiny("\"same-name\"")),
                ("/src/two.vfiopolicy", Tiny("\"same name\"")));

            Assert.Empty(run.CompilationDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
            string[] classes = run.Output.SyntaxTrees
                .SelectMany(t => t.GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Where(c => c.Parent is BaseNamespaceDeclarationSyntax))
                .Select(c => c.Identifier.Text)
                .OrderBy(n => n, StringComparer.Ordinal)
                .ToArray();
            Assert.Equal(2, classes.Length);
            Assert.All(classes, c => Assert.Matches("^SameNamePolicy_[0-9a-f]{8}$", c));
            Assert.NotEqual(classes[0], classes[1]);
        }

        public static IEnumerable<object[]> HostileNames() => new[]
        {
            new object[] { "\"quote\\\"d\"" },
            new object[] { "\"end */ comment\"" },
            new object[] { "\"\\u0022; class Injected {} //\"" },
            new object[] { "\"#line 1 \\\"x\\\"\"" },
            new object[] { "\"class\"" },
            new object[] { "\"namespace\"" },
            new object[] { "\"Ünïcödé—名前\"" },
            new object[] { "\"a\\nb\"" },
            new object[] { "\"</summary><code>x</code>\"" },
            new object[] { "\"\"" },
            new object[] { "\"123\"" },
            new object[] { "\"} } public class Injected { \"" },
        };

        [Theory]
        [MemberData(nameof(HostileNames))]
        public void A_hostile_policy_name_gives_a_diagnostic_or_code_it_cannot_inject_into(string quotedName)
        {
            GeneratorRun run = GeneratorHarness.Run(("/src/hostile */ \"path\".vfiopolicy", Tiny(quotedName)));
            if (run.GeneratorDiagnostics.Any(d => d.Severity == DiagnosticSeverity.Error))
            {
                Assert.Empty(run.Sources);
                return;
            }

            (string _, string text) = Assert.Single(run.Sources);
            Assert.Empty(run.CompilationDiagnostics.Where(d => d.Severity >= DiagnosticSeverity.Warning));
            SyntaxTree tree = CSharpSyntaxTree.ParseText(text, new CSharpParseOptions(LanguageVersion.Latest, DocumentationMode.Diagnose));
            SyntaxNode root = tree.GetRoot();

            // Exactly the shape the emitter writes: one namespace, one class, one nested class, no other types.
            Assert.Single(root.DescendantNodes().OfType<BaseNamespaceDeclarationSyntax>());
            Assert.Equal(2, root.DescendantNodes().OfType<ClassDeclarationSyntax>().Count());
            Assert.Single(root.DescendantNodes().OfType<ClassDeclarationSyntax>(), c => c.Parent is BaseNamespaceDeclarationSyntax);
            Assert.Single(root.DescendantNodes().OfType<ClassDeclarationSyntax>(), c => c.Parent is ClassDeclarationSyntax && c.Identifier.Text == "Firewall");
            Assert.Empty(root.DescendantNodes().OfType<StructDeclarationSyntax>());
            Assert.Empty(root.DescendantNodes().OfType<EnumDeclarationSyntax>());
            Assert.Empty(root.DescendantNodes().OfType<InterfaceDeclarationSyntax>());

            string[] members = root.DescendantNodes().OfType<ClassDeclarationSyntax>().Single(c => c.Parent is BaseNamespaceDeclarationSyntax).Members
                .Select(m => m switch
                {
                    MethodDeclarationSyntax method => method.Identifier.Text,
                    PropertyDeclarationSyntax property => property.Identifier.Text,
                    FieldDeclarationSyntax field => field.Declaration.Variables.Single().Identifier.Text,
                    StructDeclarationSyntax type => type.Identifier.Text,
                    ClassDeclarationSyntax type => type.Identifier.Text,
                    _ => m.Kind().ToString(),
                })
                .OrderBy(n => n, StringComparer.Ordinal)
                .ToArray();
            Assert.Equal(new[] { "Block", "BlockCount", "CreateBlockIndex", "Firewall", "Model", "Name", "Open", "PolicyName", "Register", "s_blocks", "s_model", "s_readCaseOfBlockShape", "s_readPieces", "s_writeCaseOfBlockShape", "s_writePieces" }, members);

            // The only directives are the emitter's own.
            string[] directives = root.DescendantTrivia().Where(t => t.IsDirective).Select(t => t.ToString().Split(' ')[0]).ToArray();
            Assert.Equal(new[] { "#nullable", "#pragma" }, directives);

            // Comments hold printable ASCII only: nothing in them can end them or start a directive.
            foreach (SyntaxTrivia comment in root.DescendantTrivia().Where(t => t.IsKind(SyntaxKind.SingleLineCommentTrivia)))
            {
                Assert.All(comment.ToString(), c => Assert.InRange(c, ' ', '~'));
            }

            // The name survives as data: the generated constant equals the policy's name.
            string? constant = root.DescendantNodes().OfType<FieldDeclarationSyntax>()
                .Where(f => f.Declaration.Variables.Single().Identifier.Text == "PolicyName")
                .Select(f => f.Declaration.Variables.Single().Initializer!.Value)
                .OfType<LiteralExpressionSyntax>()
                .Single().Token.ValueText;
            var compiled = VfioPolicy.Compiler.PolicyCompiler.CompileText("/x.vfiopolicy", Tiny(quotedName));
            Assert.Equal(compiled.Model!.Name, constant);
        }
    }
}
