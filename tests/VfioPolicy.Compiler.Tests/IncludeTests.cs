using System.Linq;
using VfioPolicy.AccessModel.Model;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>Include and extends resolution over in-memory files.</summary>
    public sealed class IncludeTests
    {
        [Fact]
        public void Diamond_include_is_read_once_and_its_rules_apply_once()
        {
            CompilationResult result = CompileFiles(
                ("p.vfiopolicy", Policy("include \"a.vfiopolicy\"", "include \"b.vfiopolicy\"")),
                ("a.vfiopolicy", Lines("include \"c.vfiopolicy\"")),
                ("b.vfiopolicy", Lines("include \"c.vfiopolicy\"")),
                ("c.vfiopolicy", Lines("header {", "  register COMMAND {", "    bit 1 virtualize rw", "  }", "}")));

            Assert.Empty(result.Diagnostics);
            Assert.Equal(new[] { "p.vfiopolicy", "a.vfiopolicy", "c.vfiopolicy", "b.vfiopolicy" }, result.Files);
            BitRule rule = Assert.Single(Assert.Single(result.Model!.Header).Rules);
            Assert.Equal("c.vfiopolicy:3", rule.Origin.Location);
        }

        [Fact]
        public void Include_paths_are_relative_to_the_including_file()
        {
            CompilationResult result = CompileFiles(
                ("policies/devices/d.vfiopolicy", Policy("include \"../lib/a.vfiopolicy\"")),
                ("policies/lib/a.vfiopolicy", Lines("include \"./sub/../b.vfiopolicy\"")),
                ("policies/lib/b.vfiopolicy", Lines("header {", "  register COMMAND passthrough ro", "}")));

            Assert.Empty(result.Diagnostics);
            Assert.Equal(new[] { "policies/devices/d.vfiopolicy", "policies/lib/a.vfiopolicy", "policies/lib/b.vfiopolicy" }, result.Files);
            Assert.Equal("policies/lib/b.vfiopolicy", result.Model!.Header[0].Rules[0].Origin.Path);
        }

        [Fact]
        public void Included_rules_come_first_and_an_override_in_the_including_file_replaces_them()
        {
            CompilationResult result = CompileFiles(
                ("p.vfiopolicy", Policy("include \"lib.vfiopolicy\"", "header {", "  register COMMAND {", "    override bit 2 MASTER passthrough rw", "  }", "}")),
                ("lib.vfiopolicy", Lines("header {", "  register COMMAND passthrough ro", "}")));

            Assert.Empty(result.Diagnostics);
            RegisterModel command = Assert.Single(result.Model!.Header);
            Assert.Equal(
                new[] { (0, 1, "lib.vfiopolicy:2"), (2, 2, "p.vfiopolicy:10"), (3, 15, "lib.vfiopolicy:2") },
                command.Rules.Select(r => (r.LowBit, r.HighBit, r.Origin.Location)).ToArray());
        }

        [Fact]
        public void A_conflict_with_an_included_rule_names_the_included_file()
        {
            CompilationResult result = CompileFiles(
                ("p.vfiopolicy", Policy("include \"lib.vfiopolicy\"", "header {", "  register COMMAND {", "    bit 2 passthrough rw", "  }", "}")),
                ("lib.vfiopolicy", Lines("header {", "  register COMMAND passthrough ro", "}")));

            AssertDiagnostics(result, "p.vfiopolicy(10,5): error VP0301: rule conflicts with 'register COMMAND passthrough ro' (lib.vfiopolicy:2) on bit 2 of COMMAND; start this rule with 'override' to replace it");
        }

        [Fact]
        public void Extends_takes_the_base_rules_and_defaults_but_not_its_name_or_matches()
        {
            CompilationResult result = CompileFiles(
                ("dev.vfiopolicy", Lines("policy \"dev\"", "match vendor 0x1234 device 0x11e8", "extends \"base.vfiopolicy\"", "override default gap passthrough ro")),
                ("base.vfiopolicy", Lines(Preamble.Concat(new[] { "header {", "  register COMMAND passthrough ro", "}" }).ToArray())));

            Assert.Empty(result.Diagnostics);
            PolicyModel model = result.Model!;
            Assert.Equal("dev", model.Name);
            Assert.Equal("dev.vfiopolicy:1", model.Origin.Location);
            DeviceMatch match = Assert.Single(model.Matches);
            Assert.Equal(new[] { new MatchCriterion(MatchField.Vendor, 0x1234, 0xffff), new MatchCriterion(MatchField.Device, 0x11e8, 0xffff) }, match.Criteria.ToArray());
            Assert.Equal("base.vfiopolicy:3", model.Defaults.Header.Origin.Location);
            Assert.Equal(BitAction.PassthroughReadOnly, model.Defaults.Gap.Action);
            Assert.Equal("dev.vfiopolicy:4", model.Defaults.Gap.Origin.Location);
            Assert.Equal("base.vfiopolicy:8", model.Header[0].Rules[0].Origin.Location);
        }

        [Fact]
        public void A_missing_include_inside_an_included_file_points_at_that_file()
        {
            CompilationResult result = CompileFiles(
                ("p.vfiopolicy", Policy("include \"a.vfiopolicy\"")),
                ("a.vfiopolicy", Lines("# library", "include \"gone.vfiopolicy\"")));

            AssertDiagnostics(result, "a.vfiopolicy(2,9): error VP0501: cannot read 'gone.vfiopolicy' (resolved to 'gone.vfiopolicy')");
            Assert.Null(result.Model);
        }

        [Fact]
        public void A_file_that_includes_itself_is_a_cycle()
        {
            CompilationResult result = CompileFiles(("p.vfiopolicy", Policy("include \"./p.vfiopolicy\"")));
            AssertDiagnostics(result, "p.vfiopolicy(7,9): error VP0502: include cycle: p.vfiopolicy -> p.vfiopolicy");
        }

        [Fact]
        public void An_unreadable_root_is_reported_at_its_first_position()
        {
            CompilationResult missing = PolicyCompiler.Compile("nothere.vfiopolicy", new Sources.InMemoryPolicySource());
            AssertDiagnostics(missing, "nothere.vfiopolicy(1,1): error VP0501: cannot read 'nothere.vfiopolicy'");
            Assert.Empty(missing.Files);
            Assert.False(missing.IsComplete);
            Assert.False(missing.IsFragment);
        }

        [Fact]
        public void A_fragment_is_checked_without_the_completeness_rules()
        {
            CompilationResult result = Compile(Lines("header {", "  register COMMAND passthrough ro", "}", "default gap deny 0"));
            Assert.Empty(result.Diagnostics);
            Assert.True(result.IsFragment);
            Assert.False(result.IsComplete);
            Assert.Null(result.Model);
            Assert.True(result.Succeeded);
        }

        [Fact]
        public void A_fragment_still_gets_every_other_check()
        {
            CompilationResult result = Compile(Lines("header {", "  register COMMAND passthrough ro", "  register COMMAND deny 0", "}"));
            AssertDiagnostics(result, "p.vfiopolicy(3,20): error VP0301: rule conflicts with 'register COMMAND passthrough ro' (p.vfiopolicy:2) on bits 0..15 of COMMAND; start this rule with 'override' to replace it");
            Assert.True(result.IsFragment);
        }
    }
}
