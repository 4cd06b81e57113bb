using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.LanguageServer
{
    /// <summary>
    /// <c>vfio-policy lsp</c> driven as an editor drives it. Every expected position and line below is counted by hand
    /// from the policy texts in this file (0-based, as LSP counts), not taken from the compiler.
    /// </summary>
    public sealed class LanguageServerTests : IDisposable
    {
        // Line numbers (0-based) on the right are what the assertions use.
        private const string Base =
            "# the base the device policy extends\n" +        // 0
            "policy \"lsp-base\"\n" +                           // 1
            "match any\n" +                                     // 2
            "\n" +                                              // 3
            "default header passthrough ro\n" +                 // 4
            "default capability deny 0\n" +                     // 5
            "default gap deny 0\n" +                            // 6
            "default unknown-capability hide\n" +               // 7
            "\n" +                                              // 8
            "header {\n" +                                      // 9
            "  register COMMAND {\n" +                          // 10
            "    field MEMORY passthrough rw\n" +               // 11
            "    field MASTER deny\n" +                         // 12
            "  }\n" +                                           // 13
            "}\n";                                              // 14

        private const string Device =
            "policy \"lsp-device\"\n" +                         // 0
            "match vendor 0x1234 device 0x11e8\n" +             // 1
            "\n" +                                              // 2
            "extends \"base.vfiopolicy\"\n" +                   // 3
            "\n" +                                              // 4
            "header {\n" +                                      // 5
            "  register COMMAND {\n" +                          // 6
            "    override field MASTER passthrough rw\n" +      // 7
            "  }\n" +                                           // 8
            "}\n";                                              // 9

        private readonly string root;
        private readonly string baseUri;
        private readonly string deviceUri;

        public LanguageServerTests()
        {
            root = Path.Combine(Path.GetTempPath(), "vfiopolicy-lsp-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(root);
            File.WriteAllText(Path.Combine(root, "base.vfiopolicy"), Base);
            File.WriteAllText(Path.Combine(root, "device.vfiopolicy"), Device);
            baseUri = new Uri(Path.Combine(root, "base.vfiopolicy")).AbsoluteUri;
            deviceUri = new Uri(Path.Combine(root, "device.vfiopolicy")).AbsoluteUri;
        }

        public void Dispose() => Directory.Delete(root, recursive: true);

        [Fact]
        public async Task Initialize_announces_the_features_and_shutdown_exits_cleanly()
        {
            await using LspClient client = LspClient.InProcess(root);
            JsonElement result = await client.InitializeAsync(root);
            JsonElement capabilities = result.GetProperty("capabilities");
            Assert.Equal(1, capabilities.GetProperty("textDocumentSync").GetProperty("change").GetInt32());
            Assert.True(capabilities.GetProperty("hoverProvider").GetBoolean());
            Assert.True(capabilities.GetProperty("definitionProvider").GetBoolean());
            Assert.True(capabilities.GetProperty("documentFormattingProvider").GetBoolean());
            Assert.True(capabilities.TryGetProperty("completionProvider", out _));
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Diagnostics_follow_the_text_as_typed_with_checks_ids_and_zero_based_ranges()
        {
            await using LspClient client = LspClient.InProcess(root);
            await client.InitializeAsync(root);

            string broken = Device.Replace("    override field MASTER passthrough rw\n", "    override field MASTER passthrough rw\n  }\n  register NOT_A_REGISTER passthrough rw\n  register STATUS {\n");
            // Line 9 now reads "  register NOT_A_REGISTER passthrough rw": the name starts at character 11, 14 characters long.
            await client.OpenAsync(deviceUri, broken);
            JsonElement diagnostics = await client.DiagnosticsAsync(deviceUri);
            JsonElement unknown = Assert.Single(diagnostics.EnumerateArray(), d => d.GetProperty("code").GetString() == "VP0102");
            Assert.Equal(1, unknown.GetProperty("severity").GetInt32());
            AssertRange(unknown.GetProperty("range"), 9, 11, 9, 25);
            Assert.Contains("unknown register 'NOT_A_REGISTER'", unknown.GetProperty("message").GetString());

            await client.ChangeAsync(deviceUri, 2, Device);
            Assert.Empty((await client.DiagnosticsAsync(deviceUri)).EnumerateArray());
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Theory]
        [InlineData("tests/VfioPolicy.Cli.Tests/Policies/bad/unknown-names.vfiopolicy")]
        [InlineData("tests/VfioPolicy.Cli.Tests/Policies/bad/syntax-error.vfiopolicy")]
        [InlineData("tests/VfioPolicy.Cli.Tests/Policies/bad/fragment.vfiopolicy")]
        [InlineData("tests/VfioPolicy.Cli.Tests/Policies/good/duplicate-warning.vfiopolicy")]
        public async Task Diagnostics_are_checks_lines_one_for_one(string relative)
        {
            // What check prints for the file, as (id, line, column, severity, message), against what the editor gets.
            CliRun check = CliRunner.Run("check", relative);
            var printed = check.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => System.Text.RegularExpressions.Regex.Match(l, "^(?<path>.*)\\((?<line>\\d+),(?<col>\\d+)\\): (?<severity>error|warning|info) (?<id>VP\\d+): (?<message>.*)$"))
                .Where(m => m.Success && m.Groups["path"].Value == relative)
                .Select(m => (m.Groups["id"].Value, int.Parse(m.Groups["line"].Value) - 1, int.Parse(m.Groups["col"].Value) - 1, m.Groups["severity"].Value, m.Groups["message"].Value))
                .ToArray();
            Assert.NotEmpty(printed);

            string path = Path.Combine(RepositoryPaths.Root, relative);
            string uri = new Uri(path).AbsoluteUri;
            await using LspClient client = LspClient.InProcess(RepositoryPaths.Root);
            await client.InitializeAsync(RepositoryPaths.Root);
            await client.OpenAsync(uri, File.ReadAllText(path));
            var published = (await client.DiagnosticsAsync(uri)).EnumerateArray()
                .Select(d => (d.GetProperty("code").GetString()!, d.GetProperty("range").GetProperty("start").GetProperty("line").GetInt32(),
                    d.GetProperty("range").GetProperty("start").GetProperty("character").GetInt32(),
                    d.GetProperty("severity").GetInt32() switch { 1 => "error", 2 => "warning", _ => "info" }, d.GetProperty("message").GetString()!))
                .ToArray();
            Assert.Equal(printed, published);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Diagnostics_use_the_unsaved_text_of_an_open_base_and_show_its_errors_on_the_extends_line()
        {
            await using LspClient client = LspClient.InProcess(root);
            await client.InitializeAsync(root);
            await client.OpenAsync(deviceUri, Device);
            Assert.Empty((await client.DiagnosticsAsync(deviceUri)).EnumerateArray());

            // The base, open and edited but not saved: line 12 now names a field COMMAND does not have.
            await client.OpenAsync(baseUri, Base.Replace("field MASTER deny", "field MASTERX deny"));
            JsonElement device = default;
            for (int i = 0; i < 4 && device.ValueKind != JsonValueKind.Array; i++)
            {
                JsonElement next = await client.DiagnosticsAsync(deviceUri);
                if (next.GetArrayLength() > 0)
                {
                    device = next;
                }
            }

            JsonElement carried = Assert.Single(device.EnumerateArray(), d => d.GetProperty("message").GetString()!.StartsWith("base.vfiopolicy(13,11): error ", StringComparison.Ordinal));
            AssertRange(carried.GetProperty("range"), 3, 0, 3, 25);
            JsonElement related = carried.GetProperty("relatedInformation")[0].GetProperty("location");
            Assert.Equal(baseUri, related.GetProperty("uri").GetString());
            AssertRange(related.GetProperty("range"), 12, 10, 12, 17);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Hover_on_a_register_says_what_explain_says()
        {
            await using LspClient client = await WithDeviceOpenAsync();

            JsonElement hover = await client.AtAsync("textDocument/hover", deviceUri, 6, 13);
            string text = HoverText(hover);
            Assert.Contains("**COMMAND**: offset 0x04, 16 bits", text);
            Assert.Contains("bit 1: passthrough rw", text);                   // MEMORY, from the base
            Assert.Contains("bit 2: passthrough rw", text);                   // MASTER, by the override
            Assert.Contains("decided by device.vfiopolicy:8", text);
            Assert.Contains("overrides  base.vfiopolicy:13", text);
            AssertRange(hover.GetProperty("range"), 6, 11, 6, 18);

            // Outside any register: nothing.
            Assert.Equal(JsonValueKind.Null, (await client.AtAsync("textDocument/hover", deviceUri, 1, 3)).ValueKind);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Hover_with_a_configured_device_adds_its_bits_and_a_trial_write()
        {
            string dump = Path.Combine(RepositoryPaths.Root, "policies", "dumps", "qemu-edu.lspci-xxx.txt");
            await using LspClient client = await WithDeviceOpenAsync(new { device = dump });

            string text = HoverText(await client.AtAsync("textDocument/hover", deviceUri, 6, 13));
            Assert.Contains("read: the hardware holds 0x", text);
            Assert.Contains("bit 2: passthrough rw", text);

            // Configured away again: the explanation without a device.
            await client.NotifyAsync("workspace/didChangeConfiguration", new { settings = new { vfiopolicy = new { device = (string?)null } } });
            text = HoverText(await client.AtAsync("textDocument/hover", deviceUri, 6, 13));
            Assert.DoesNotContain("read: the hardware holds", text);
            Assert.Contains("(no --device", text);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Completion_in_a_capability_block_offers_its_registers_and_keywords()
        {
            await using LspClient client = LspClient.InProcess(root);
            await client.InitializeAsync(root);
            string uri = new Uri(Path.Combine(root, "exp.vfiopolicy")).AbsoluteUri;
            await client.OpenAsync(uri, "capability EXP {\n  \n}\nhide capability \n");

            string[] inside = Labels(await client.AtAsync("textDocument/completion", uri, 1, 2));
            Assert.Contains("DEVCTL", inside);
            Assert.Contains("register", inside);
            Assert.DoesNotContain("COMMAND", inside);                   // a header register, not EXP's

            string[] capabilities = Labels(await client.AtAsync("textDocument/completion", uri, 3, 16));
            Assert.Contains("MSI", capabilities);
            Assert.Contains("EXP", capabilities);
            Assert.DoesNotContain("register", capabilities);

            string[] top = Labels(await client.AtAsync("textDocument/completion", uri, 4, 0));
            Assert.Contains("extends", top);
            Assert.DoesNotContain("DEVCTL", top);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Definition_goes_from_extends_to_the_base_file_and_from_an_override_to_the_rule_it_replaces()
        {
            await using LspClient client = await WithDeviceOpenAsync();

            JsonElement file = Assert.Single((await client.AtAsync("textDocument/definition", deviceUri, 3, 12)).EnumerateArray());
            Assert.Equal(baseUri, file.GetProperty("uri").GetString());
            AssertRange(file.GetProperty("range"), 0, 0, 0, 0);

            JsonElement rule = Assert.Single((await client.AtAsync("textDocument/definition", deviceUri, 7, 20)).EnumerateArray());
            Assert.Equal(baseUri, rule.GetProperty("uri").GetString());
            Assert.Equal(12, rule.GetProperty("range").GetProperty("start").GetProperty("line").GetInt32());

            // A line that overrides nothing has no definition.
            Assert.Equal(JsonValueKind.Null, (await client.AtAsync("textDocument/definition", deviceUri, 1, 3)).ValueKind);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Definition_goes_into_the_standard_library_as_the_copy_shipped_beside_the_tool()
        {
            const string Library = "policy \"lib-device\"\nmatch vendor 0x1234 device 0x11e8\nextends library \"strict\"\nheader {\n  override register LATENCY_TIMER passthrough rw\n}\n";
            string uri = new Uri(Path.Combine(root, "lib-device.vfiopolicy")).AbsoluteUri;
            File.WriteAllText(Path.Combine(root, "lib-device.vfiopolicy"), Library);
            await using LspClient client = LspClient.InProcess(root);
            await client.InitializeAsync(root);
            await client.OpenAsync(uri, Library);
            await client.DiagnosticsAsync(uri);

            JsonElement file = Assert.Single((await client.AtAsync("textDocument/definition", uri, 2, 18)).EnumerateArray());
            string strict = new Uri(file.GetProperty("uri").GetString()!).LocalPath;
            Assert.EndsWith(Path.Combine("policies", "strict.vfiopolicy"), strict, StringComparison.Ordinal);
            Assert.Equal(File.ReadAllText(RepositoryPaths.InRepository("policies/strict.vfiopolicy")), File.ReadAllText(strict));

            // LATENCY_TIMER's rule in the library's header fragment (standard/header-type0.vfiopolicy, "register LATENCY_TIMER virtualize rw init hw").
            JsonElement rule = Assert.Single((await client.AtAsync("textDocument/definition", uri, 4, 20)).EnumerateArray());
            string header = new Uri(rule.GetProperty("uri").GetString()!).LocalPath;
            Assert.EndsWith(Path.Combine("policies", "standard", "header-type0.vfiopolicy"), header, StringComparison.Ordinal);
            int line = rule.GetProperty("range").GetProperty("start").GetProperty("line").GetInt32();
            Assert.StartsWith("  register LATENCY_TIMER virtualize rw init hw", File.ReadAllLines(header)[line], StringComparison.Ordinal);
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Formatting_returns_what_fmt_writes_and_nothing_for_text_that_does_not_parse()
        {
            string messy = "policy   \"lsp-device\"\nmatch vendor 0x1234   device 0x11e8\nextends \"base.vfiopolicy\"\nheader {\nregister COMMAND {\noverride field MASTER passthrough rw\n}\n}\n";
            string path = Path.Combine(root, "messy.vfiopolicy");
            File.WriteAllText(path, messy);
            string uri = new Uri(path).AbsoluteUri;

            await using LspClient client = LspClient.InProcess(root);
            await client.InitializeAsync(root);
            await client.OpenAsync(uri, messy);
            JsonElement edit = Assert.Single((await client.RequestAsync("textDocument/formatting", new { textDocument = new { uri }, options = new { tabSize = 2, insertSpaces = true } })).EnumerateArray());
            AssertRange(edit.GetProperty("range"), 0, 0, 8, 0);

            CliRun fmt = CliRunner.RunIn(root, "fmt", "messy.vfiopolicy");
            Assert.Equal(0, fmt.ExitCode);
            string formatted = File.ReadAllText(path);
            Assert.NotEqual(messy, formatted);
            Assert.Equal(formatted, edit.GetProperty("newText").GetString());

            await client.ChangeAsync(uri, 2, "header {\n  register COMMAND passthrough\n");
            Assert.Empty((await client.RequestAsync("textDocument/formatting", new { textDocument = new { uri }, options = new { tabSize = 2, insertSpaces = true } })).EnumerateArray());
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task Bad_requests_get_empty_answers_and_the_server_keeps_serving()
        {
            await using LspClient client = await WithDeviceOpenAsync();

            string unknown = new Uri(Path.Combine(root, "never-opened.vfiopolicy")).AbsoluteUri;
            foreach (string method in new[] { "textDocument/hover", "textDocument/definition" })
            {
                Assert.Equal(JsonValueKind.Null, (await client.AtAsync(method, unknown, 0, 0)).ValueKind);
                Assert.Equal(JsonValueKind.Null, (await client.AtAsync(method, deviceUri, 500, 3)).ValueKind);
                Assert.Equal(JsonValueKind.Null, (await client.AtAsync(method, deviceUri, -1, -7)).ValueKind);
                Assert.Equal(JsonValueKind.Null, (await client.RequestAsync(method, new { textDocument = 42, position = "here" })).ValueKind);
                Assert.Equal(JsonValueKind.Null, (await client.AtAsync(method, "not a uri", 0, 0)).ValueKind);
            }

            Assert.Empty((await client.AtAsync("textDocument/completion", unknown, 0, 0)).EnumerateArray());
            Assert.Empty((await client.RequestAsync("textDocument/formatting", new { textDocument = new { uri = unknown } })).EnumerateArray());

            // Garbage as a document: diagnostics, no crash, and every feature still answers on it.
            string garbage = "\u0000{{{ }}} \"unterminated\n\t\tcapability capability {\n}\n}\n0x 0b2 99999999999999999999999\n";
            await client.ChangeAsync(deviceUri, 2, garbage);
            Assert.NotEmpty((await client.DiagnosticsAsync(deviceUri)).EnumerateArray());
            for (int line = 0; line < 6; line++)
            {
                await client.AtAsync("textDocument/hover", deviceUri, line, 3);
                await client.AtAsync("textDocument/definition", deviceUri, line, 3);
                await client.AtAsync("textDocument/completion", deviceUri, line, 3);
            }

            Assert.Empty((await client.RequestAsync("textDocument/formatting", new { textDocument = new { uri = deviceUri } })).EnumerateArray());
            await client.NotifyAsync("textDocument/didChange", new { textDocument = new { uri = deviceUri }, contentChanges = "nonsense" });
            await client.NotifyAsync("textDocument/didOpen", new { textDocument = new { uri = "http://example.com/x" } });
            await client.NotifyAsync("workspace/didChangeConfiguration", new { settings = 3 });

            // Still alive and still right.
            await client.ChangeAsync(deviceUri, 3, Device);
            Assert.Empty((await client.DiagnosticsAsync(deviceUri)).EnumerateArray());
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task A_client_that_names_only_workspace_folders_gets_paths_relative_to_the_first()
        {
            // Started elsewhere: only the workspace folder says where relative paths (and so messages) start.
            await using LspClient client = LspClient.InProcess(Path.GetTempPath());
            await client.RequestAsync("initialize", new { processId = (int?)null, rootUri = (string?)null, capabilities = new { }, workspaceFolders = new[] { new { uri = new Uri(root).AbsoluteUri, name = "policies" } } });
            await client.OpenAsync(baseUri, Base.Replace("field MASTER deny", "field MASTER deny\n    field MASTER deny"));
            JsonElement duplicate = Assert.Single((await client.DiagnosticsAsync(baseUri)).EnumerateArray(), d => d.GetProperty("code").GetString() == "VP0302");
            Assert.Contains("(base.vfiopolicy:13)", duplicate.GetProperty("message").GetString());
            Assert.Equal(0, await client.ShutdownAsync());
        }

        [Fact]
        public async Task The_real_process_speaks_lsp_over_stdio()
        {
            string dll = typeof(VfioPolicy.Cli.Cli).Assembly.Location;
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = false,
                UseShellExecute = false,
                WorkingDirectory = root,
            };
            start.ArgumentList.Add(dll);
            start.ArgumentList.Add("lsp");
            using Process process = Process.Start(start)!;
            await using LspClient client = LspClient.OverProcess(process);
            JsonElement result = await client.InitializeAsync(root);
            Assert.Equal("vfio-policy", result.GetProperty("serverInfo").GetProperty("name").GetString());
            Assert.Equal(0, await client.ShutdownAsync());
        }

        /// <summary>A server initialized on the test folder (with <paramref name="settings"/>), the device policy open and its first diagnostics in.</summary>
        private async Task<LspClient> WithDeviceOpenAsync(object? settings = null)
        {
            LspClient client = LspClient.InProcess(root);
            try
            {
                await client.InitializeAsync(root, settings);
                await client.OpenAsync(deviceUri, Device);
                await client.DiagnosticsAsync(deviceUri);
                return client;
            }
            catch
            {
                await client.DisposeAsync();
                throw;
            }
        }

        private static string HoverText(JsonElement hover) => hover.GetProperty("contents").GetProperty("value").GetString()!;

        private static string[] Labels(JsonElement items) => items.EnumerateArray().Select(i => i.GetProperty("label").GetString()!).ToArray();

        private static void AssertRange(JsonElement range, int startLine, int startCharacter, int endLine, int endCharacter)
        {
            Assert.Equal(
                (startLine, startCharacter, endLine, endCharacter),
                (range.GetProperty("start").GetProperty("line").GetInt32(), range.GetProperty("start").GetProperty("character").GetInt32(),
                 range.GetProperty("end").GetProperty("line").GetInt32(), range.GetProperty("end").GetProperty("character").GetInt32()));
        }
    }
}
