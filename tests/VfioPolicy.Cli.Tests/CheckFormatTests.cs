using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary><c>check --format json|sarif</c>: the same findings as the text lines, as documents CI tools read.</summary>
    public sealed class CheckFormatTests : IDisposable
    {
        private readonly string scratch = Path.Combine(Path.GetTempPath(), "vfiopolicy-cli-checkfmt-" + Guid.NewGuid().ToString("N"));

        public CheckFormatTests()
        {
            Directory.CreateDirectory(scratch);
            File.WriteAllText(Path.Combine(scratch, "bad.vfiopolicy"), string.Join("\n",
                "policy \"bad\"",
                "match any",
                "default header deny 0",
                "default capability deny 0",
                "default gap deny 0",
                "default unknown-capability hide",
                "header {",
                "  register COMAND passthrough ro",
                "}",
                string.Empty));
        }

        public void Dispose() => Directory.Delete(scratch, recursive: true);

        [Fact]
        public void Json_carries_every_finding_with_its_location_and_help_anchor()
        {
            CliRun run = CliRunner.RunIn(scratch, "check", "bad.vfiopolicy", "--format", "json");
            Assert.Equal(1, run.ExitCode);
            using JsonDocument document = JsonDocument.Parse(run.Stdout);
            JsonElement root = document.RootElement;
            Assert.Equal("vfiopolicy.check/1", root.GetProperty("schema").GetString());
            Assert.Equal(1, root.GetProperty("errors").GetInt32());
            JsonElement finding = Assert.Single(root.GetProperty("diagnostics").EnumerateArray());
            Assert.Equal(("VP0102", "error", "bad.vfiopolicy", 8, 12), (finding.GetProperty("id").GetString(), finding.GetProperty("severity").GetString(), finding.GetProperty("path").GetString(), finding.GetProperty("line").GetInt32(), finding.GetProperty("column").GetInt32()));
            Assert.Equal(18, finding.GetProperty("endColumn").GetInt32());
            Assert.Contains("did you mean 'COMMAND'", finding.GetProperty("message").GetString());
            Assert.Equal("docs/diagnostics.md#VP0102", finding.GetProperty("help").GetString());

            // The text form says the same thing on one line.
            CliRun text = CliRunner.RunIn(scratch, "check", "bad.vfiopolicy");
            Assert.StartsWith("bad.vfiopolicy(8,12): error VP0102: ", text.Stdout);
        }

        [Fact]
        public void Sarif_is_a_2_1_0_log_with_a_rule_per_id_and_a_result_per_finding()
        {
            CliRun run = CliRunner.RunIn(scratch, "check", "bad.vfiopolicy", "--format", "sarif");
            Assert.Equal(1, run.ExitCode);
            using JsonDocument document = JsonDocument.Parse(run.Stdout);
            Assert.Equal("2.1.0", document.RootElement.GetProperty("version").GetString());
            JsonElement sarifRun = Assert.Single(document.RootElement.GetProperty("runs").EnumerateArray());
            Assert.Equal("vfio-policy", sarifRun.GetProperty("tool").GetProperty("driver").GetProperty("name").GetString());
            Assert.Equal("VP0102", Assert.Single(sarifRun.GetProperty("tool").GetProperty("driver").GetProperty("rules").EnumerateArray()).GetProperty("id").GetString());
            JsonElement result = Assert.Single(sarifRun.GetProperty("results").EnumerateArray());
            Assert.Equal("error", result.GetProperty("level").GetString());
            JsonElement location = result.GetProperty("locations")[0].GetProperty("physicalLocation");
            Assert.Equal("bad.vfiopolicy", location.GetProperty("artifactLocation").GetProperty("uri").GetString());
            Assert.Equal(8, location.GetProperty("region").GetProperty("startLine").GetInt32());
        }

        [Fact]
        public void A_clean_library_is_an_empty_report_and_a_bad_format_is_a_usage_error()
        {
            CliRun run = CliRunner.Run("check", "policies", "--format", "json");
            Assert.Equal(0, run.ExitCode);
            using JsonDocument document = JsonDocument.Parse(run.Stdout);
            Assert.Empty(document.RootElement.GetProperty("diagnostics").EnumerateArray());
            Assert.True(document.RootElement.GetProperty("files").GetInt32() > 20);

            Assert.Equal(2, CliRunner.Run("check", "policies", "--format", "xml").ExitCode);
        }
    }
}
