using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary>explain takes registers by name as setpci does: the same explanation as the offset gives.</summary>
    public sealed class ExplainNamedTargetTests
    {
        private const string Strict = "policies/strict.vfiopolicy";
        private const string E1000e = "policies/dumps/qemu-e1000e.lspci-xxxx.txt";

        [Theory]
        [InlineData("COMMAND", "0x04")]
        [InlineData("command", "0x04:2")]
        [InlineData("STATUS:1", "0x06:1")]
        [InlineData("MSI.FLAGS", "MSI+0x02")]
        public void A_name_explains_what_its_offset_explains_without_a_device(string name, string offset)
        {
            CliRun byName = CliRunner.Run("explain", "--policy", Strict, name);
            CliRun byOffset = CliRunner.Run("explain", "--policy", Strict, offset);
            Assert.Equal(0, byName.ExitCode);
            Assert.Equal(byOffset.Stdout, byName.Stdout);
        }

        [Fact]
        public void A_capability_register_is_found_where_the_device_has_the_capability()
        {
            CliRun byName = CliRunner.Run("explain", "--policy", Strict, "--device", E1000e, "EXP.DEVCTL");
            CliRun byOffset = CliRunner.Run("explain", "--policy", Strict, "--device", E1000e, "EXP+0x08");
            Assert.Equal(0, byName.ExitCode);
            Assert.StartsWith("0x0e8 u16 EXP DEVCTL (capability EXP at 0xe0)", byName.Stdout);
            Assert.Equal(byOffset.Stdout, byName.Stdout);
        }

        [Fact]
        public void An_unknown_register_name_is_a_usage_error_with_a_suggestion()
            => CliRunner.Run("explain", "--policy", Strict, "EXP.DEVCT").AssertOneLineError("no register 'DEVCT' in EXP; did you mean 'DEVCTL'?");
    }
}
