using System.Linq;
using VfioPolicy.AccessModel.Model;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>A capability block's own <c>default ACTION</c>: binding, restating, overriding and lowering.</summary>
    public sealed class BlockDefaultTests
    {
        [Fact]
        public void Block_default_lowers_onto_its_capability_only()
        {
            PolicyModel model = CompileModel(Policy(
                "capability VNDR {",
                "  default passthrough rw  # raw body",
                "  register 0x02 u8 LENGTH passthrough ro",
                "}",
                "capability PM {",
                "  register CTRL passthrough ro",
                "}"));

            CapabilityModel vendor = model.Capabilities.Single(c => c.Name == "VNDR");
            DefaultRule blockDefault = Assert.IsType<DefaultRule>(vendor.Default);
            Assert.Equal(DefaultTarget.Capability, blockDefault.Target);
            Assert.Equal(BitAction.PassthroughReadWrite, blockDefault.Action);
            Assert.False(blockDefault.Hide);
            Assert.Equal(new RuleOrigin(Path, 8, 3, "default passthrough rw"), blockDefault.Origin);
            Assert.Null(model.Capabilities.Single(c => c.Name == "PM").Default);
            Assert.Equal(BitAction.Deny(0), model.Defaults.Capability.Action);
        }

        [Fact]
        public void A_block_with_only_a_default_makes_its_capability_known()
        {
            PolicyModel model = CompileModel(Policy("extended-capability DVSEC {", "  default virtualize ro init 0x5a", "}"));

            CapabilityModel dvsec = Assert.Single(model.Capabilities);
            Assert.True(dvsec.Extended);
            Assert.Empty(dvsec.Registers);
            Assert.Equal(new BitAction(Disposition.Virtualize, WriteSemantics.ReadOnly, InitialValueSource.Literal, 0x5a, false), dvsec.Default!.Action);
        }

        [Fact]
        public void Block_defaults_of_the_same_capability_merge_across_blocks_like_policy_defaults()
        {
            CompilationResult result = Compile(Policy(
                "capability VNDR {",
                "  default passthrough rw",
                "}",
                "capability 0x09 {",
                "  default passthrough ro",
                "}"));

            AssertDiagnostics(result, "p.vfiopolicy(11,3): error VP0402: the default of capability VNDR is already stated differently at p.vfiopolicy:8; write 'override default' to replace it");
            Assert.Null(result.Model);
        }

        [Fact]
        public void Two_defaults_in_one_block_conflict_unless_the_later_overrides()
        {
            CompilationResult conflicting = Compile(Policy("capability VNDR {", "  default passthrough rw", "  default deny 0", "}"));
            AssertDiagnostics(conflicting, "p.vfiopolicy(9,3): error VP0402: the default of capability VNDR is already stated differently at p.vfiopolicy:8; write 'override default' to replace it");

            PolicyModel model = CompileModel(Policy("capability VNDR {", "  default passthrough rw", "  override default deny 0xff silent", "}"));
            Assert.Equal(BitAction.Deny(0xff, silent: true), model.Capabilities.Single().Default!.Action);
            Assert.Equal(9, model.Capabilities.Single().Default!.Origin.Line);
        }

        [Fact]
        public void An_identical_restatement_is_a_duplicate_and_the_first_stays()
        {
            CompilationResult result = Compile(Policy("capability VNDR {", "  default passthrough rw", "  default passthrough rw", "}"));

            AssertDiagnostics(result, "p.vfiopolicy(9,3): warning VP0302: the default of capability VNDR repeats the one at p.vfiopolicy:8");
            Assert.Equal(8, result.Model!.Capabilities.Single().Default!.Origin.Line);
        }

        [Fact]
        public void Override_of_no_earlier_block_default_is_a_warning_and_still_applies()
        {
            CompilationResult result = Compile(Policy("capability VNDR {", "  override default passthrough rw", "}"));

            AssertDiagnostics(result, "p.vfiopolicy(8,3): warning VP0303: override replaces nothing: no earlier default of capability VNDR is stated (a block default needs no override to replace 'default capability')");
            Assert.Equal(BitAction.PassthroughReadWrite, result.Model!.Capabilities.Single().Default!.Action);
        }

        [Fact]
        public void A_later_file_overrides_an_included_block_default_in_include_order()
        {
            CompilationResult result = CompileFiles(
                ("policy.vfiopolicy", Policy("include \"vendor.vfiopolicy\"", "capability VNDR {", "  override default passthrough ro", "}")),
                ("vendor.vfiopolicy", Lines("capability VNDR {", "  default passthrough rw", "}")));

            Assert.Empty(result.Diagnostics);
            DefaultRule blockDefault = result.Model!.Capabilities.Single().Default!;
            Assert.Equal(BitAction.PassthroughReadOnly, blockDefault.Action);
            Assert.Equal("policy.vfiopolicy", blockDefault.Origin.Path);
        }

        [Fact]
        public void A_later_file_that_restates_without_override_is_an_error()
        {
            CompilationResult result = CompileFiles(
                ("policy.vfiopolicy", Policy("include \"vendor.vfiopolicy\"", "capability VNDR {", "  default passthrough ro", "}")),
                ("vendor.vfiopolicy", Lines("capability VNDR {", "  default passthrough rw", "}")));

            AssertDiagnostics(result, "policy.vfiopolicy(9,3): error VP0402: the default of capability VNDR is already stated differently at vendor.vfiopolicy:2; write 'override default' to replace it");
        }

        [Fact]
        public void Block_default_values_are_per_byte_and_take_no_hw_rw1c()
        {
            CompilationResult tooWide = Compile(Policy("capability VNDR {", "  default deny 0x100", "}"));
            AssertOne(tooWide, "VP0207", "p.vfiopolicy(8,16): error VP0207: value 0x100 does not fit in a byte (a default's value is per byte) (at most 0xff)");

            CompilationResult rw1c = Compile(Policy("capability VNDR {", "  default passthrough rw hw-rw1c", "}"));
            AssertOne(rw1c, "VP0209", "p.vfiopolicy(8,11): error VP0209: hw-rw1c marks register bits; it is not allowed on defaults and hidden bodies");
        }

        [Theory]
        [InlineData("header {", "the header", "default header")]
        [InlineData("device-specific {", "the device-specific layout", "default gap")]
        public void VP0407_block_default_outside_a_capability_block(string opening, string description, string own)
        {
            CompilationResult result = Compile(Policy(opening, "  default passthrough rw", "}"));

            AssertDiagnostics(result, "p.vfiopolicy(8,3): error VP0407: a block default belongs in a capability or extended-capability block; " + description + " has none (its uncovered bytes follow '" + own + "')");
        }

        [Fact]
        public void A_block_default_of_an_unknown_capability_reports_only_the_name()
        {
            CompilationResult result = Compile(Policy("capability FOO {", "  default passthrough rw", "}"));

            Assert.Equal(new[] { "VP0101" }, result.Diagnostics.Select(d => d.Id).ToArray());
        }
    }
}
