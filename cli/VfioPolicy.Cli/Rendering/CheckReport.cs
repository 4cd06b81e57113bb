using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>One diagnostic of <c>check</c>, located: a compiler diagnostic or a binding error.</summary>
    /// <param name="Id">The VP ID.</param>
    /// <param name="Severity"><c>error</c>, <c>warning</c> or <c>info</c>.</param>
    /// <param name="Path">The policy file, as the CLI prints paths.</param>
    /// <param name="Line">1-based line.</param>
    /// <param name="Column">1-based column.</param>
    /// <param name="EndLine">1-based line where the span ends.</param>
    /// <param name="EndColumn">1-based column just past the span.</param>
    /// <param name="Message">The message.</param>
    public sealed record CheckFinding(string Id, string Severity, string Path, int Line, int Column, int EndLine, int EndColumn, string Message);

    /// <summary>
    /// <c>check --format json</c> (one object; schema <c>vfiopolicy.check/1</c>) and <c>--format sarif</c> (SARIF 2.1.0,
    /// which CI systems turn into annotations on the policy lines). Text stays the <c>path(line,col): error VP…</c> lines.
    /// </summary>
    public static class CheckReport
    {
        /// <summary>The JSON report: the files checked, and every finding with its location.</summary>
        public static string Json(IReadOnlyList<CheckFinding> findings, int files)
            => Write(json =>
            {
                json.WriteStartObject();
                json.WriteString("schema", "vfiopolicy.check/1");
                json.WriteNumber("files", files);
                json.WriteNumber("errors", findings.Count(f => f.Severity == "error"));
                json.WriteNumber("warnings", findings.Count(f => f.Severity == "warning"));
                json.WriteStartArray("diagnostics");
                foreach (CheckFinding finding in findings)
                {
                    json.WriteStartObject();
                    json.WriteString("id", finding.Id);
                    json.WriteString("severity", finding.Severity);
                    json.WriteString("path", finding.Path);
                    json.WriteNumber("line", finding.Line);
                    json.WriteNumber("column", finding.Column);
                    json.WriteNumber("endLine", finding.EndLine);
                    json.WriteNumber("endColumn", finding.EndColumn);
                    json.WriteString("message", finding.Message);
                    json.WriteString("help", "docs/diagnostics.md#" + finding.Id);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            });

        /// <summary>The SARIF 2.1.0 log: one run of <c>vfio-policy</c>, a rule per ID seen, a result per finding.</summary>
        public static string Sarif(IReadOnlyList<CheckFinding> findings, string version)
            => Write(json =>
            {
                json.WriteStartObject();
                json.WriteString("$schema", "https://json.schemastore.org/sarif-2.1.0.json");
                json.WriteString("version", "2.1.0");
                json.WriteStartArray("runs");
                json.WriteStartObject();
                json.WriteStartObject("tool");
                json.WriteStartObject("driver");
                json.WriteString("name", "vfio-policy");
                json.WriteString("version", version);
                json.WriteStartArray("rules");
                foreach (string id in findings.Select(f => f.Id).Distinct().OrderBy(i => i, System.StringComparer.Ordinal))
                {
                    json.WriteStartObject();
                    json.WriteString("id", id);
                    json.WriteStartObject("help");
                    json.WriteString("text", "See docs/diagnostics.md#" + id + " in VfioPolicy.");
                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndObject();
                json.WriteStartArray("results");
                foreach (CheckFinding finding in findings)
                {
                    json.WriteStartObject();
                    json.WriteString("ruleId", finding.Id);
                    json.WriteString("level", finding.Severity == "info" ? "note" : finding.Severity);
                    json.WriteStartObject("message");
                    json.WriteString("text", finding.Message);
                    json.WriteEndObject();
                    json.WriteStartArray("locations");
                    json.WriteStartObject();
                    json.WriteStartObject("physicalLocation");
                    json.WriteStartObject("artifactLocation");
                    json.WriteString("uri", finding.Path.Replace('\\', '/'));
                    json.WriteEndObject();
                    json.WriteStartObject("region");
                    json.WriteNumber("startLine", finding.Line);
                    json.WriteNumber("startColumn", finding.Column);
                    json.WriteNumber("endLine", finding.EndLine);
                    json.WriteNumber("endColumn", finding.EndColumn);
                    json.WriteEndObject();
                    json.WriteEndObject();
                    json.WriteEndObject();
                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
                json.WriteEndArray();
                json.WriteEndObject();
            });

        private static string Write(System.Action<Utf8JsonWriter> write)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                write(writer);
            }

            return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
        }
    }
}
