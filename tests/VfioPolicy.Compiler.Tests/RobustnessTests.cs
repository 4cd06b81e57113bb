using System;
using VfioPolicy.Compiler.Sources;
using Xunit;
using static VfioPolicy.Compiler.Tests.TestPolicies;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>Bad input gives diagnostics, never exceptions.</summary>
    public sealed class RobustnessTests
    {
        private static readonly string Sample = Policy(
            "include \"lib.vfiopolicy\"",
            "mirror bar 0 offset 0x88000 size 0x100",
            "hide capability VPD body deny 0xff",
            "header {",
            "  override register COMMAND behavior command passthrough ro {   # comment",
            "    bits 0..1 virtualize rw init 0",
            "    field INTX_DISABLE virtualize rw",
            "    bit 2 MASTER passthrough rw",
            "  }",
            "  register 0x3c u8 deny 0xff silent",
            "}",
            "capability MSI {",
            "  register 0x0c u32 when FLAGS.MASKBIT = 1, FLAGS.ADDR_64 = 0 deny 0",
            "}",
            "device-specific {",
            "  register 0x40 u32 virtualize rw1c init 0x1234 hw-rw1c",
            "}");

        [Fact]
        public void Every_prefix_of_a_policy_compiles_without_throwing()
        {
            var source = new InMemoryPolicySource().Add("lib.vfiopolicy", Lines("header {", "  register COMMAND passthrough ro", "}"));
            for (int length = 0; length <= Sample.Length; length++)
            {
                CompilationResult result = PolicyCompiler.CompileText(Path, Sample.Substring(0, length), source);
                Assert.True(result.Model == null || !result.HasErrors);
            }

            CompilationResult whole = PolicyCompiler.CompileText(Path, Sample, source);
            Assert.True(whole.Model != null, string.Join("\n", whole.Diagnostics));
        }

        [Theory]
        [InlineData("device-specific {\n  register 0xffffffffffffffff u32 passthrough ro\n}", "VP0202")]
        [InlineData("header {\n  register COMMAND {\n    bits 0..0xffffffffffffffff deny 0\n  }\n}", "VP0205")]
        [InlineData("header {\n  register COMMAND deny 0xffffffffffffffff\n}", "VP0207")]
        [InlineData("capability 0xffffffffffffffff {\n}", "VP0208")]
        [InlineData("mirror bar 0 offset 0xffffffffffffffff size 1", "VP0208")]
        public void Huge_numbers_are_range_errors(string body, string id)
        {
            CompilationResult result = Compile(Policy(body));
            Assert.Contains(result.Diagnostics, d => d.Id == id);
            Assert.Null(result.Model);
        }
    }
}
