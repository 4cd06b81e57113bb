using System;
using System.Linq;
using System.Text.Json;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Diff;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Diff
{
    /// <summary>
    /// The three renderings of a diff (text, Markdown, JSON) and the text helpers under them, on diffs built by hand:
    /// the expected outputs are written out here from docs/reviewing-policies.md, not taken from a run. The CLI's
    /// snapshot tests show the same renderers on real policies; these pin every branch on the compiler's own tests.
    /// </summary>
    public sealed class DiffRenderingTests
    {
        private static readonly RuleOrigin HeaderDefault = new RuleOrigin("<default header>", 0, 0, "default header passthrough ro");
        private static readonly RuleOrigin A7 = new RuleOrigin("a.vfiopolicy", 7, 5, "bits 0..1 passthrough rw");
        private static readonly RuleOrigin A9 = new RuleOrigin("a.vfiopolicy", 9, 5, "bit 2 passthrough rw");
        private static readonly RuleOrigin B12 = new RuleOrigin("b.vfiopolicy", 12, 5, "bit 2 deny 1");
        private static readonly RuleOrigin C1 = new RuleOrigin("c.vfiopolicy", 1, 1, "policy \"c\"");

        private static PolicyChange Bits(ChangeImpact impact, ChangeArea area, string? scope, string register, int offset, string? condition, int low, int high, string before, string after, RuleOrigin? oldOrigin, RuleOrigin? newOrigin, string reason)
            => new PolicyChange(impact, area, scope, register, offset, 2, condition, ChangeAspect.Bits, low, high, before, after, oldOrigin, newOrigin, reason);

        /// <summary>Four changes over three subjects, two of them under one register, and a device view with two ranges and a warning.</summary>
        private static PolicyDiff Modified() => new PolicyDiff("a.vfiopolicy", "b.vfiopolicy", "t", "t", new[]
        {
            Bits(ChangeImpact.Widening, ChangeArea.Header, null, "COMMAND", 4, null, 0, 1, "passthrough ro", "passthrough rw", HeaderDefault, A7, "reach hardware reads → hardware reads and writes")
                with { NewOrigins = new[] { A7, A9 } },
            Bits(ChangeImpact.Narrowing, ChangeArea.Header, null, "COMMAND", 4, null, 2, 2, "passthrough rw", "deny 1", A9, B12, "reach hardware reads and writes → constant"),
            Bits(ChangeImpact.Neutral, ChangeArea.Capability, "EXP", "DEVCTL", 8, "TYPE == 0 || TYPE == 4", 5, 5, "virtualize rw init 0", "virtualize rw init 1", A7, B12, "initial value only"),
            new PolicyChange(ChangeImpact.Neutral, ChangeArea.Default, "gap", null, null, null, null, ChangeAspect.Default, null, null, "deny 0", "deny 0xff", null, null, "denied read value\nonly"),
        })
        {
            Device = new DeviceDiff(
                "01:00.0 test | device",
                new[]
                {
                    new DeviceChange(ChangeImpact.Widening, 0x20, 0x21, "header", "passthrough ro", "passthrough rw", HeaderDefault, A7) { NewOrigins = new[] { A7, A9 } },
                    new DeviceChange(ChangeImpact.Narrowing, (0x48 * 8) + 5, (0x48 * 8) + 5, "capability EXP at 0x40 +0x08", "virtualize rw init 0", "deny 1", A7, B12) { OldOrigins = new[] { A7, B12, A7 } },
                },
                new[] { "old: capability at 0x40 is cut short" }),
        };

        private static PolicyDiff Added() => new PolicyDiff(null, "c.vfiopolicy", null, "c", new[]
        {
            new PolicyChange(ChangeImpact.Widening, ChangeArea.Policy, null, null, null, null, null, ChangeAspect.Added, null, null, "(none)", "policy \"c\"", null, C1, "a new policy selects devices"),
        });

        private static PolicyDiff Unchanged() => new PolicyDiff("d.vfiopolicy", "d.vfiopolicy", "d", "d", Array.Empty<PolicyChange>());

        [Fact]
        public void Text_groups_changes_per_subject_with_their_rules_and_reasons_then_the_device_view()
        {
            string expected = string.Join("\n",
                "a.vfiopolicy → b.vfiopolicy: 4 changes: 1 widening, 1 narrowing, 2 neutral",
                "  header COMMAND (0x04 u16)",
                "    widening  bits 0..1: passthrough ro → passthrough rw",
                "              old <default header>, new a.vfiopolicy:7,9; reach hardware reads → hardware reads and writes",
                "    narrowing bit 2: passthrough rw → deny 1",
                "              old a.vfiopolicy:9, new b.vfiopolicy:12; reach hardware reads and writes → constant",
                "  capability EXP DEVCTL (+0x08 u16 when TYPE == 0 || TYPE == 4)",
                "    neutral   bit 5: virtualize rw init 0 → virtualize rw init 1",
                "              old a.vfiopolicy:7, new b.vfiopolicy:12; initial value only",
                "  defaults",
                "    neutral   default gap: deny 0 → deny 0xff",
                "              old -, new -; denied read value",
                "only",
                "  on 01:00.0 test | device: 2 changed ranges",
                "    widening  0x04 bits 0..1 (header): passthrough ro → passthrough rw",
                "              old <default header>, new a.vfiopolicy:7,9",
                "    narrowing 0x48 bit 5 (capability EXP at 0x40 +0x08): virtualize rw init 0 → deny 1",
                "              old a.vfiopolicy:7, b.vfiopolicy:12, new b.vfiopolicy:12",
                "    warning: old: capability at 0x40 is cut short",
                string.Empty);
            Assert.Equal(expected, DiffTextRenderer.Render(new[] { Modified() }, color: false));
        }

        [Fact]
        public void Text_of_several_policies_ends_with_a_total_and_names_added_and_unchanged_ones()
        {
            PolicyDiff noChangeOnDevice = Unchanged() with { Device = new DeviceDiff("01:00.0 quiet", Array.Empty<DeviceChange>(), Array.Empty<string>()) };
            string expected = string.Join("\n",
                "c.vfiopolicy (added): 1 change: 1 widening, 0 narrowing, 0 neutral",
                "  policy",
                "    widening  added: (none) → policy \"c\"",
                "              old -, new c.vfiopolicy:1; a new policy selects devices",
                "d.vfiopolicy: no semantic change",
                "  on 01:00.0 quiet: no change",
                "d.vfiopolicy: no semantic change",
                "1 policy changed of 3: 1 change: 1 widening, 0 narrowing, 0 neutral",
                string.Empty);
            Assert.Equal(expected, DiffTextRenderer.Render(new[] { Added(), noChangeOnDevice, Unchanged() }, color: false));
        }

        [Fact]
        public void Text_in_colour_paints_titles_bold_impacts_by_kind_and_rule_lines_dim()
        {
            string text = DiffTextRenderer.Render(new[] { Modified() }, color: true);
            Assert.StartsWith("\u001b[1ma.vfiopolicy → b.vfiopolicy\u001b[0m: 4 changes", text);
            Assert.Contains("  \u001b[1mheader COMMAND (0x04 u16)\u001b[0m\n", text);
            Assert.Contains("    \u001b[31mwidening \u001b[0m bits 0..1: passthrough ro → passthrough rw\n", text);
            Assert.Contains("    \u001b[32mnarrowing\u001b[0m bit 2: ", text);
            Assert.Contains("    \u001b[33mneutral  \u001b[0m bit 5: ", text);
            Assert.Contains("              \u001b[2mold a.vfiopolicy:9, new b.vfiopolicy:12; reach hardware reads and writes → constant\u001b[0m\n", text);
            Assert.Contains("  \u001b[1mon 01:00.0 test | device\u001b[0m: 2 changed ranges\n", text);
            Assert.Contains("    \u001b[2mwarning: old: capability at 0x40 is cut short\u001b[0m\n", text);
            Assert.Equal(DiffTextRenderer.Render(new[] { Modified() }, color: false), StripEscapes(text));
        }

        [Fact]
        public void Markdown_has_a_summary_a_table_per_subject_and_a_device_table_with_pipes_and_newlines_escaped()
        {
            const string Header = "| impact | what | before | after | old rule | new rule | why |\n| --- | --- | --- | --- | --- | --- | --- |\n";
            string expected =
                "**vfio-policy diff**: 1 policy changed, 4 changes: 1 widening, 1 narrowing, 2 neutral. **Widening changes need a security review.**\n"
                + "\n### `a.vfiopolicy → b.vfiopolicy`: 4 changes: 1 widening, 1 narrowing, 2 neutral\n"
                + "\n#### header COMMAND (0x04 u16)\n\n" + Header
                + "| **widening** | bits 0..1 | `passthrough ro` | `passthrough rw` | `<default header>` | `a.vfiopolicy:7,9` | reach hardware reads → hardware reads and writes |\n"
                + "| narrowing | bit 2 | `passthrough rw` | `deny 1` | `a.vfiopolicy:9` | `b.vfiopolicy:12` | reach hardware reads and writes → constant |\n"
                + "\n#### capability EXP DEVCTL (+0x08 u16 when TYPE == 0 \\|\\| TYPE == 4)\n\n" + Header
                + "| neutral | bit 5 | `virtualize rw init 0` | `virtualize rw init 1` | `a.vfiopolicy:7` | `b.vfiopolicy:12` | initial value only |\n"
                + "\n#### defaults\n\n" + Header
                + "| neutral | default gap | `deny 0` | `deny 0xff` | - | - | denied read value only |\n"
                + "\n#### On 01:00.0 test \\| device\n\n"
                + "| impact | bytes | location | before | after | old rule | new rule |\n| --- | --- | --- | --- | --- | --- | --- |\n"
                + "| **widening** | 0x04 bits 0..1 | header | `passthrough ro` | `passthrough rw` | `<default header>` | `a.vfiopolicy:7,9` |\n"
                + "| narrowing | 0x48 bit 5 | capability EXP at 0x40 +0x08 | `virtualize rw init 0` | `deny 1` | `a.vfiopolicy:7, b.vfiopolicy:12` | `b.vfiopolicy:12` |\n"
                + "\n### `d.vfiopolicy`: no semantic change\n";
            Assert.Equal(expected, DiffMarkdownRenderer.Render(new[] { Modified(), Unchanged() }));
        }

        [Fact]
        public void Markdown_without_changes_says_so_and_asks_for_no_review()
        {
            PolicyDiff onDevice = Unchanged() with { Device = new DeviceDiff("01:00.0 quiet", Array.Empty<DeviceChange>(), Array.Empty<string>()) };
            Assert.Equal(
                "**vfio-policy diff**: no semantic change in 2 policies.\n"
                + "\n### `d.vfiopolicy`: no semantic change\n"
                + "\n### `d.vfiopolicy`: no semantic change\n"
                + "\n#### On 01:00.0 quiet\n\nNo change on this device.\n",
                DiffMarkdownRenderer.Render(new[] { Unchanged(), onDevice }));

            PolicyDiff narrowing = new PolicyDiff("a", "b", "t", "t", new[] { Modified().Changes[1] });
            Assert.Equal(
                "**vfio-policy diff**: 1 policy changed, 1 change: 0 widening, 1 narrowing, 0 neutral.\n",
                DiffMarkdownRenderer.Render(new[] { narrowing }).Split('\n')[0] + "\n");
        }

        [Fact]
        public void Json_of_an_added_policy_is_written_property_by_property_in_the_documented_order()
        {
            string expected = string.Join("\n",
                "{",
                "  \"schema\": \"vfio-policy-diff/1\",",
                "  \"summary\": {",
                "    \"policies\": 1,",
                "    \"changed\": 1,",
                "    \"widening\": 1,",
                "    \"narrowing\": 0,",
                "    \"neutral\": 0",
                "  },",
                "  \"policies\": [",
                "    {",
                "      \"old\": null,",
                "      \"new\": \"c.vfiopolicy\",",
                "      \"oldName\": null,",
                "      \"newName\": \"c\",",
                "      \"status\": \"added\",",
                "      \"summary\": {",
                "        \"policies\": 1,",
                "        \"changed\": 1,",
                "        \"widening\": 1,",
                "        \"narrowing\": 0,",
                "        \"neutral\": 0",
                "      },",
                "      \"changes\": [",
                "        {",
                "          \"impact\": \"widening\",",
                "          \"area\": \"policy\",",
                "          \"scope\": null,",
                "          \"register\": null,",
                "          \"offset\": null,",
                "          \"width\": null,",
                "          \"condition\": null,",
                "          \"aspect\": \"added\",",
                "          \"lowBit\": null,",
                "          \"highBit\": null,",
                "          \"subject\": \"policy\",",
                "          \"what\": \"added\",",
                "          \"before\": \"(none)\",",
                "          \"after\": \"policy \\\"c\\\"\",",
                "          \"oldRules\": [],",
                "          \"newRules\": [",
                "            {",
                "              \"path\": \"c.vfiopolicy\",",
                "              \"line\": 1,",
                "              \"text\": \"policy \\\"c\\\"\"",
                "            }",
                "          ],",
                "          \"reason\": \"a new policy selects devices\"",
                "        }",
                "      ],",
                "      \"device\": null",
                "    }",
                "  ]",
                "}",
                string.Empty);
            Assert.Equal(expected, DiffJsonRenderer.Render(new[] { Added() }));
        }

        [Fact]
        public void Json_of_a_modified_policy_carries_every_field_of_every_change_and_the_device_view()
        {
            PolicyDiff removed = new PolicyDiff("e.vfiopolicy", null, "e", null, new[]
            {
                new PolicyChange(ChangeImpact.Narrowing, ChangeArea.Policy, null, null, null, null, null, ChangeAspect.Removed, null, null, "policy \"e\"", "(none)", C1, null, "gone"),
            });
            using JsonDocument document = JsonDocument.Parse(DiffJsonRenderer.Render(new[] { Modified(), removed, Unchanged() }));
            JsonElement root = document.RootElement;
            Assert.Equal("{\"policies\":3,\"changed\":2,\"widening\":1,\"narrowing\":2,\"neutral\":2}", Compact(root.GetProperty("summary")));
            JsonElement[] policies = root.GetProperty("policies").EnumerateArray().ToArray();
            Assert.Equal(new[] { "modified", "removed", "unchanged" }, policies.Select(p => p.GetProperty("status").GetString()));
            Assert.Equal(JsonValueKind.Null, policies[1].GetProperty("new").ValueKind);

            JsonElement[] changes = policies[0].GetProperty("changes").EnumerateArray().ToArray();
            Assert.Equal(
                "{\"impact\":\"neutral\",\"area\":\"capability\",\"scope\":\"EXP\",\"register\":\"DEVCTL\",\"offset\":8,\"width\":2,\"condition\":\"TYPE == 0 || TYPE == 4\","
                + "\"aspect\":\"bits\",\"lowBit\":5,\"highBit\":5,\"subject\":\"capability EXP DEVCTL (\\u002B0x08 u16 when TYPE == 0 || TYPE == 4)\",\"what\":\"bit 5\","
                + "\"before\":\"virtualize rw init 0\",\"after\":\"virtualize rw init 1\",\"oldRules\":[{\"path\":\"a.vfiopolicy\",\"line\":7,\"text\":\"bits 0..1 passthrough rw\"}],"
                + "\"newRules\":[{\"path\":\"b.vfiopolicy\",\"line\":12,\"text\":\"bit 2 deny 1\"}],\"reason\":\"initial value only\"}",
                Compact(changes[2]));
            Assert.Equal(2, changes[0].GetProperty("newRules").GetArrayLength());
            Assert.Equal("denied read value\nonly", changes[3].GetProperty("reason").GetString());
            Assert.Equal(("default", "default", "gap"), (changes[3].GetProperty("area").GetString(), changes[3].GetProperty("aspect").GetString(), changes[3].GetProperty("scope").GetString()));

            JsonElement device = policies[0].GetProperty("device");
            Assert.Equal("01:00.0 test | device", device.GetProperty("device").GetString());
            Assert.Equal(
                "{\"impact\":\"narrowing\",\"offset\":72,\"firstBit\":581,\"lastBit\":581,\"range\":\"0x48 bit 5\",\"location\":\"capability EXP at 0x40 \\u002B0x08\","
                + "\"before\":\"virtualize rw init 0\",\"after\":\"deny 1\",\"oldRules\":[{\"path\":\"a.vfiopolicy\",\"line\":7,\"text\":\"bits 0..1 passthrough rw\"},"
                + "{\"path\":\"b.vfiopolicy\",\"line\":12,\"text\":\"bit 2 deny 1\"},{\"path\":\"a.vfiopolicy\",\"line\":7,\"text\":\"bits 0..1 passthrough rw\"}],"
                + "\"newRules\":[{\"path\":\"b.vfiopolicy\",\"line\":12,\"text\":\"bit 2 deny 1\"}]}",
                Compact(device.GetProperty("changes")[1]));
            Assert.Equal(new[] { "old: capability at 0x40 is cut short" }, device.GetProperty("warnings").EnumerateArray().Select(w => w.GetString()));
            Assert.Equal(JsonValueKind.Null, policies[2].GetProperty("device").ValueKind);
        }

        [Theory]
        [InlineData(ChangeArea.Match, ChangeAspect.Match, "match", "match", "match", "devices selected")]
        [InlineData(ChangeArea.Mirror, ChangeAspect.Mirror, "mirror", "mirror", "mirrors", "mirror")]
        [InlineData(ChangeArea.Policy, ChangeAspect.Name, "policy", "name", "policy", "name")]
        [InlineData(ChangeArea.Capability, ChangeAspect.Hide, "capability", "hide", "capability MSI", "hidden")]
        [InlineData(ChangeArea.ExtendedCapability, ChangeAspect.CapabilityDefault, "extended-capability", "capability-default", "extended-capability AER", "uncovered bytes")]
        [InlineData(ChangeArea.Header, ChangeAspect.Behavior, "header", "behavior", "header", "behavior")]
        [InlineData(ChangeArea.DeviceSpecific, ChangeAspect.Removed, "device-specific", "removed", "device-specific", "removed")]
        public void Every_area_and_aspect_has_its_json_name_heading_and_what(ChangeArea area, ChangeAspect aspect, string areaName, string aspectName, string subject, string what)
        {
            string? scope = area == ChangeArea.Capability ? "MSI" : area == ChangeArea.ExtendedCapability ? "AER" : null;
            var change = new PolicyChange(ChangeImpact.Neutral, area, scope, null, null, null, null, aspect, null, null, "x", "y", null, null, "r");
            Assert.Equal((subject, what), (change.Subject, change.What));
            using JsonDocument document = JsonDocument.Parse(DiffJsonRenderer.Render(new[] { new PolicyDiff("a", "b", "t", "t", new[] { change }) }));
            JsonElement json = document.RootElement.GetProperty("policies")[0].GetProperty("changes")[0];
            Assert.Equal((areaName, aspectName), (json.GetProperty("area").GetString(), json.GetProperty("aspect").GetString()));
        }

        [Fact]
        public void Json_strings_escape_quotes_backslashes_and_control_characters()
        {
            string nasty = "q\"b\\n\nr\rt\tc\u0001e\u001fé";
            var change = new PolicyChange(ChangeImpact.Neutral, ChangeArea.Policy, null, null, null, null, null, ChangeAspect.Name, null, null, nasty, "y", null, null, "r");
            string json = DiffJsonRenderer.Render(new[] { new PolicyDiff("a", "b", "t", "t", new[] { change }) });
            Assert.Contains("\"before\": \"q\\\"b\\\\n\\nr\\rt\\tc\\u0001e\\u001fé\",", json);
            using JsonDocument document = JsonDocument.Parse(json);
            Assert.Equal(nasty, document.RootElement.GetProperty("policies")[0].GetProperty("changes")[0].GetProperty("before").GetString());
        }

        [Theory]
        [InlineData("a.vfiopolicy", "a.vfiopolicy", "a.vfiopolicy")]
        [InlineData("HEAD~1:p.vfiopolicy", "HEAD:p.vfiopolicy", "p.vfiopolicy (HEAD~1 → HEAD)")]
        [InlineData("main:p.vfiopolicy", "p.vfiopolicy", "p.vfiopolicy (main → work tree)")]
        [InlineData("main:p.vfiopolicy", "main:q.vfiopolicy", "main:p.vfiopolicy → main:q.vfiopolicy")]
        [InlineData(":p.vfiopolicy", "p.vfiopolicy", ":p.vfiopolicy → p.vfiopolicy")]
        [InlineData("a.vfiopolicy", "b.vfiopolicy", "a.vfiopolicy → b.vfiopolicy")]
        [InlineData(null, "b.vfiopolicy", "b.vfiopolicy (added)")]
        [InlineData("a.vfiopolicy", null, "a.vfiopolicy (removed)")]
        public void A_title_names_one_path_at_two_revisions_once(string? oldLabel, string? newLabel, string expected)
            => Assert.Equal(expected, new PolicyDiff(oldLabel, newLabel, null, null, Array.Empty<PolicyChange>()).Title);

        [Fact]
        public void A_diff_has_changes_and_widening_from_its_model_or_its_device_view()
        {
            DeviceChange device(ChangeImpact impact) => new DeviceChange(impact, 0, 7, "header", "x", "y", A7, A9);
            DeviceDiff view(params DeviceChange[] changes) => new DeviceDiff("d", changes, Array.Empty<string>());
            PolicyDiff empty = Unchanged();
            Assert.Equal((false, false), (empty.HasChanges, empty.HasWidening));
            Assert.Equal((false, false), ((empty with { Device = view() }).HasChanges, (empty with { Device = view() }).HasWidening));
            Assert.Equal((true, false), ((empty with { Device = view(device(ChangeImpact.Narrowing)) }).HasChanges, (empty with { Device = view(device(ChangeImpact.Narrowing)) }).HasWidening));
            Assert.Equal((true, true), ((empty with { Device = view(device(ChangeImpact.Widening)) }).HasChanges, (empty with { Device = view(device(ChangeImpact.Widening)) }).HasWidening));
            Assert.Equal((true, true), (Added().HasChanges, Added().HasWidening));
            PolicyDiff narrowOnly = new PolicyDiff("a", "b", "t", "t", new[] { Modified().Changes[1] });
            Assert.Equal((true, false), (narrowOnly.HasChanges, narrowOnly.HasWidening));
            Assert.Equal((1, 0, 0), (narrowOnly.Count(ChangeImpact.Narrowing), narrowOnly.Count(ChangeImpact.Widening), narrowOnly.Count(ChangeImpact.Neutral)));
        }

        [Fact]
        public void Origins_default_to_the_single_origin_or_none()
        {
            PolicyChange change = Modified().Changes[3];
            Assert.Empty(change.OldOrigins);
            Assert.Empty(change.NewOrigins);
            Assert.Equal(new[] { B12 }, Modified().Changes[1].NewOrigins);
            var device = new DeviceChange(ChangeImpact.Neutral, 0, 0, "header", "x", "y", A7, A9);
            Assert.Equal(new[] { A7 }, device.OldOrigins);
            Assert.Equal(new[] { A9 }, device.NewOrigins);
        }

        [Theory]
        [InlineData(0, 7, "0x00")]
        [InlineData(0, 15, "0x00..0x01")]
        [InlineData(8, 23, "0x01..0x02")]
        [InlineData(10, 10, "0x01 bit 2")]
        [InlineData(10, 13, "0x01 bits 2..5")]
        [InlineData(8, 14, "0x01 bits 0..6")]
        [InlineData(9, 15, "0x01 bits 1..7")]
        [InlineData(12, 17, "0x01 bit 4..0x02 bit 1")]
        [InlineData(8, 17, "0x01 bit 0..0x02 bit 1")]
        [InlineData(0x800, 0x807, "0x100")]
        public void A_device_range_names_whole_bytes_or_bits(int first, int last, string expected)
            => Assert.Equal(expected, DiffText.DeviceRange(first, last));

        [Theory]
        [InlineData(0u, 4, "0")]
        [InlineData(1u, 4, "1")]
        [InlineData(2u, 2, "0x2")]
        [InlineData(0xBu, 8, "0x0b")]
        [InlineData(0x10u, 16, "0x0010")]
        [InlineData(0xFFu, 8, "0xff")]
        public void A_value_is_decimal_below_two_and_hex_of_its_width_above(uint value, int bits, string expected)
            => Assert.Equal(expected, DiffText.Number(value, bits));

        [Fact]
        public void Locations_fold_lines_per_file_keep_built_in_origins_bare_and_print_a_dash_for_none()
        {
            var gap = new RuleOrigin("<default gap>", 0, 0, "default gap deny 0");
            var a3 = new RuleOrigin("a.vfiopolicy", 3, 1, "x");
            var a5 = new RuleOrigin("a.vfiopolicy", 5, 1, "y");
            var b4 = new RuleOrigin("b.vfiopolicy", 4, 1, "z");
            Assert.Equal("<default gap>, a.vfiopolicy:3,5, b.vfiopolicy:4", DiffText.Locations(new[] { gap, a3, a3, b4, a5 }));
            Assert.Equal("-", DiffText.Locations(Array.Empty<RuleOrigin>()));
            Assert.Equal("<chain>", DiffText.Locations(new[] { RuleOrigin.Chain }));
        }

        [Theory]
        [InlineData(ChangeArea.Header, "COMMAND", 4, 2, null, "header COMMAND (0x04 u16)")]
        [InlineData(ChangeArea.DeviceSpecific, "MAILBOX", 0x40, 4, null, "device-specific MAILBOX (0x40 u32)")]
        [InlineData(ChangeArea.Capability, "DEVCTL", 8, 2, "FLR == 1", "capability EXP DEVCTL (+0x08 u16 when FLR == 1)")]
        [InlineData(ChangeArea.ExtendedCapability, "UNCOR", 0x104, 4, null, "extended-capability EXP UNCOR (+0x104 u32)")]
        [InlineData(ChangeArea.Header, "LINE", 0x3c, 1, null, "header LINE (0x3c u8)")]
        [InlineData(ChangeArea.Header, "NO_WIDTH", null, null, null, "header NO_WIDTH (0x00 u32)")]
        [InlineData(ChangeArea.Capability, "", 0x0c, 2, "FLAGS.ADDR_64 = 1", "capability EXP (+0x0c u16 when FLAGS.ADDR_64 = 1)")]
        public void A_register_subject_names_its_area_offset_width_and_condition(ChangeArea area, string register, int? offset, int? width, string? condition, string expected)
        {
            var change = new PolicyChange(ChangeImpact.Neutral, area, "EXP", register, offset, width, condition, ChangeAspect.Bits, 3, 3, "x", "y", null, null, "r");
            Assert.Equal(expected, change.Subject);
        }

        [Theory]
        [InlineData(1, "policy", "1 policy")]
        [InlineData(0, "policy", "0 policies")]
        [InlineData(2, "policy", "2 policies")]
        [InlineData(1, "change", "1 change")]
        [InlineData(3, "change", "3 changes")]
        [InlineData(2, "changed range", "2 changed ranges")]
        public void Counts_are_spelled_in_the_singular_only_for_one(int count, string noun, string expected)
            => Assert.Equal(expected, DiffSummary.Plural(count, noun));

        [Fact]
        public void A_summary_counts_over_every_policy_and_says_when_nothing_changed()
        {
            Assert.Equal("no semantic change", DiffSummary.Describe(new[] { Unchanged(), Unchanged() }));
            Assert.Equal("5 changes: 2 widening, 1 narrowing, 2 neutral", DiffSummary.Describe(new[] { Modified(), Unchanged(), Added() }));
        }

        private static string Compact(JsonElement element) => JsonSerializer.Serialize(element);

        private static string StripEscapes(string text) => System.Text.RegularExpressions.Regex.Replace(text, "\u001b\\[[0-9]+m", string.Empty);
    }
}
