using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Cli.Tests.Authoring
{
    /// <summary>
    /// The structure of the html pictures: <c>map</c> names every capability and register on the grid and folds only
    /// uniform unnamed rows; <c>diff</c> outlines exactly the changed bytes by impact. Expected values come from
    /// outside the renderer: capability offsets from lspci's decode of the same device (tests/corpus/*.lspci-vvv.txt),
    /// register offsets from the PCI specifications (written here by hand), uniformity from the json map.
    /// </summary>
    public sealed class HtmlPictureTests
    {
        private const string Strict = "policies/strict.vfiopolicy";
        private const string HiddenAer = "tests/VfioPolicy.Cli.Tests/Authoring/Policies/e1000e-hidden-aer.vfiopolicy";
        private const string DiffOld = "tests/VfioPolicy.Cli.Tests/Diff/Policies/old.vfiopolicy";
        private const string DiffNew = "tests/VfioPolicy.Cli.Tests/Diff/Policies/new.vfiopolicy";

        /// <summary>Every corpus device with lspci's decode beside its dump.</summary>
        public static IEnumerable<object[]> DecodedDevices => Directory.GetFiles(RepositoryPaths.InRepository("tests/corpus/qemu"), "*.lspci-vvv.txt")
            .Select(f => Path.GetFileName(f).Replace(".lspci-vvv.txt", string.Empty, StringComparison.Ordinal))
            .Where(stem => File.Exists(RepositoryPaths.InRepository("tests/corpus/qemu/" + stem + ".xxxx.txt")))
            .OrderBy(s => s, StringComparer.Ordinal)
            .Select(stem => new object[] { stem });

        [Theory]
        [MemberData(nameof(DecodedDevices))]
        public void Map_names_every_capability_lspci_lists_at_its_first_byte(string stem)
        {
            string dump = "tests/corpus/qemu/" + stem + ".xxxx.txt";
            IReadOnlyList<int> expected = LspciCapabilities(stem);
            Assert.NotEmpty(expected);
            CliRun run = CliRunner.Run("map", "--policy", Strict, "--device", dump, "--format", "html", "--force");
            Assert.Equal(0, run.ExitCode);
            Page page = Page.Parse(run.Stdout);
            Assert.Equal(expected.OrderBy(o => o), page.Labels.Where(l => l.IsCapability).Select(l => l.Offset).OrderBy(o => o));
            foreach (int offset in expected)
            {
                // Drawn where it is, not folded away: its first byte is a cell of the grid.
                Assert.Contains(offset, page.Cells(0));
            }

            AssertFoldsAreHonest(page, dump, Strict, expected);
        }

        [Fact]
        public void Map_names_registers_above_their_first_byte()
        {
            Page page = Map(Strict, AuthoringGoldenTests.E1000e);

            // Type-0 header (PCI Local Bus 3.0, 6.1) and the PCI Express capability, which lspci puts at 0xe0
            // (PCIe Base 4.0, 7.5.3: Device Control +0x08, Device Status +0x0a, Link Control +0x10).
            var registers = new Dictionary<int, string>
            {
                [0x00] = "VENDOR_ID",
                [0x04] = "COMMAND",
                [0x06] = "STATUS",
                [0x0d] = "LATENCY_TIMER",
                [0x0f] = "BIST",
                [0x10] = "BASE_ADDRESS_0",
                [0x3c] = "INTERRUPT_LINE",
                [0xe8] = "DEVCTL",
                [0xea] = "DEVSTA",
                [0xf0] = "LNKCTL",
            };
            foreach ((int offset, string name) in registers)
            {
                Label label = Assert.Single(page.Labels, l => l.Offset == offset);
                Assert.Equal(name, label.Text);
            }

            Assert.StartsWith("EXP@0x0e0", Assert.Single(page.Labels, l => l.Offset == 0xe0).Text);
            Assert.Contains("capability EXP@0x0e0, register DEVCTL (0x0e8 u16)", page.CellTitle(0, 0xe9));
        }

        [Fact]
        public void Map_of_a_4k_device_folds_the_gaps_and_nothing_else()
        {
            // lspci: the last standard capability, MSI-X, starts at 0xa0; below it 0x40..0x9f is gap. The extended
            // chain ends with the Device Serial Number at 0x140, 12 bytes long (PCIe 7.9.3), so 0x150 on is gap.
            Page page = Map(Strict, AuthoringGoldenTests.E1000e);
            Assert.Equal(new[] { (0x40, 0x9f), (0x150, 0xfff) }, page.Folds(0).Select(f => (f.First, f.Last)));
            Assert.All(page.Folds(0), f => Assert.StartsWith(string.Format(CultureInfo.InvariantCulture, "0x{0:x3}\u20130x{1:x3}: {2} rows, all deny,", f.First, f.Last, (f.Last - f.First + 1) / 16), f.Text));
        }

        [Fact]
        public void A_hidden_capability_s_uniform_rows_stay_drawn_under_their_register_names()
        {
            // AER hidden (lspci: at 0x100): its body is one uniform hidden run, but PCIe 7.8.4 names registers in
            // every row of it: Correctable Error Status +0x10, Mask +0x14, Capabilities and Control +0x18, Header Log
            // +0x1c..+0x2b, Root Error Command +0x2c (named by the catalogue whatever the port type).
            Page page = Map(HiddenAer, AuthoringGoldenTests.E1000e);
            Label aer = Assert.Single(page.Labels, l => l.Offset == 0x100);
            Assert.True(aer.IsCapability);
            Assert.Contains("hidden", aer.Text);
            var registers = new Dictionary<int, string> { [0x110] = "COR_STATUS", [0x114] = "COR_MASK", [0x118] = "CAP", [0x11c] = "HEADER_LOG_0", [0x12c] = "ROOT_COMMAND" };
            foreach ((int offset, string name) in registers)
            {
                Assert.Equal(name, Assert.Single(page.Labels, l => l.Offset == offset).Text);
            }

            Assert.All(Enumerable.Range(0x100, 0x38), offset => Assert.Contains(offset, page.Cells(0)));
            AssertFoldsAreHonest(page, AuthoringGoldenTests.E1000e, HiddenAer, LspciCapabilities("vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection"));
        }

        [Fact]
        public void Diff_outlines_exactly_the_changed_bytes_by_impact_in_both_grids()
        {
            CliRun run = CliRunner.Run("diff", DiffOld, DiffNew, "--device", AuthoringGoldenTests.E1000e, "--format", "html");
            Assert.Equal(1, run.ExitCode);
            Assert.Equal(string.Empty, run.Stderr);
            Page page = Page.Parse(run.Stdout);

            // new.vfiopolicy opens DEVCTL's URRE and RELAX_EN (bits 3 and 4 of EXP+0x08, EXP at 0xe0 per lspci) and
            // drops hw-rw1c from DEVSTA's CED (bit 0 of EXP+0x0a): the consumer gains both; it denies LATENCY_TIMER
            // (0x0d), which strict virtualizes from the hardware: the consumer loses it.
            foreach (int panel in new[] { 0, 1 })
            {
                Assert.Equal(new[] { 0xe8, 0xea }, page.Outlines(panel, "xw"));
                Assert.Equal(new[] { 0x0d }, page.Outlines(panel, "xn"));
                Assert.Empty(page.Outlines(panel, "xu"));
                Assert.All(new[] { 0x0d, 0xe8, 0xea }, offset => Assert.Contains(offset, page.Cells(panel)));
                Assert.Equal(new[] { (0x40, 0x9f), (0x150, 0xfff) }, page.Folds(panel).Select(f => (f.First, f.Last)));
            }

            // The cells say what changed: 0x0d virtualized before, denied after; 0xe8 mixed both times (0xe8 keeps virtualized bits).
            Assert.Equal("vi", page.CellClass(0, 0x0d));
            Assert.Equal("dn", page.CellClass(1, 0x0d));

            // The entries below: the model's four changes and the device's three ranges, as the text form lists them.
            string[] impacts = Regex.Matches(run.Stdout, "<tr class=\"entry\" data-impact=\"([a-z]+)\"").Select(m => m.Groups[1].Value).ToArray();
            Assert.Equal(new[] { "widening", "narrowing", "widening", "widening", "narrowing", "widening", "widening" }, impacts);
        }

        [Fact]
        public void Diff_html_without_a_device_says_what_it_needs()
        {
            CliRunner.Run("diff", DiffOld, DiffNew, "--format", "html").AssertOneLineError("--format html draws both policies on a device: give --device");
        }

        [Fact]
        public void Diff_html_encodes_what_comes_from_files()
        {
            string folder = Path.Combine(Path.GetTempPath(), "vfiopolicy-<i>&\"-" + Guid.NewGuid().ToString("N"));
            try
            {
                Directory.CreateDirectory(folder);
                string policy = Path.Combine(folder, "p.vfiopolicy");
                File.WriteAllText(policy, "policy \"p\"\nmatch any\n\nextends \"" + RepositoryPaths.InRepository(Strict).Replace('\\', '/') + "\"\n");
                CliRun run = CliRunner.Run("diff", Strict, policy, "--device", AuthoringGoldenTests.Edu, "--format", "html");
                Assert.Equal(1, run.ExitCode);
                Assert.DoesNotContain("<i>", run.Stdout);
                Assert.Contains("&lt;i&gt;&amp;&quot;", run.Stdout);
            }
            finally
            {
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }
            }
        }

        private static Page Map(string policy, string device)
        {
            CliRun run = CliRunner.Run("map", "--policy", policy, "--device", device, "--format", "html");
            Assert.Equal(0, run.ExitCode);
            return Page.Parse(run.Stdout);
        }

        // lspci -vvv: "Capabilities: [c8] Power Management…", "Capabilities: [100 v2] Advanced Error Reporting".
        private static IReadOnlyList<int> LspciCapabilities(string stem)
            => Regex.Matches(File.ReadAllText(RepositoryPaths.InRepository("tests/corpus/qemu/" + stem + ".lspci-vvv.txt")), @"Capabilities: \[([0-9a-f]+)")
                .Select(m => int.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture))
                .ToList();

        /// <summary>
        /// Every byte is drawn exactly once, as a cell or inside one fold; a fold is at least two full rows; no fold holds
        /// a header byte or a capability's first byte (<paramref name="capabilities"/>, from lspci); and by the json map
        /// every byte of a fold has the masks and the owning rule of its first byte.
        /// </summary>
        private static void AssertFoldsAreHonest(Page page, string device, string policy, IReadOnlyList<int> capabilities)
        {
            CliRun json = CliRunner.Run("map", "--policy", policy, "--device", device, "--format", "json", "--force");
            Assert.Equal(0, json.ExitCode);
            using JsonDocument document = JsonDocument.Parse(json.Stdout);
            JsonElement[] bytes = document.RootElement.GetProperty("bytes").EnumerateArray().ToArray();
            int size = document.RootElement.GetProperty("size").GetInt32();
            var drawn = page.Cells(0).ToList();
            foreach (Fold fold in page.Folds(0))
            {
                Assert.Equal(0, fold.First % 16);
                Assert.Equal(15, fold.Last % 16);
                Assert.True(fold.Last - fold.First + 1 >= 32, "a fold of one row: " + fold.Text);
                Assert.True(fold.First >= 0x40, "a fold in the header: " + fold.Text);
                Assert.DoesNotContain(capabilities, c => c >= fold.First && c <= fold.Last);
                drawn.AddRange(Enumerable.Range(fold.First, fold.Last - fold.First + 1));
                string Key(int offset) => bytes[offset].GetProperty("virt").GetInt32() + "/" + bytes[offset].GetProperty("write").GetInt32() + "/" + bytes[offset].GetProperty("rule").GetString();
                Assert.All(Enumerable.Range(fold.First, fold.Last - fold.First + 1), offset => Assert.Equal(Key(fold.First), Key(offset)));
            }

            Assert.Equal(Enumerable.Range(0, size), drawn.OrderBy(o => o));
        }

        private sealed record Label(int Offset, string Text, bool IsCapability);

        private sealed record Fold(int First, int Last, string Text);

        /// <summary>The page's elements, by the attributes the renderer writes for them, per grid (data-panel).</summary>
        private sealed class Page
        {
            private readonly string[] _panels;

            private Page(string[] panels) => _panels = panels;

            public IReadOnlyList<Label> Labels => Regex.Matches(_panels[0], "<div class=\"r( cap)?\" data-o=\"0x([0-9a-f]+)\"[^>]*>([^<]*)</div>")
                .Select(m => new Label(Hex(m.Groups[2].Value), System.Net.WebUtility.HtmlDecode(m.Groups[3].Value), m.Groups[1].Success))
                .ToList();

            public static Page Parse(string html)
            {
                string[] parts = Regex.Split(html, "<div class=\"p\" data-panel=\"\\d+\">").Skip(1).ToArray();
                Assert.NotEmpty(parts);
                return new Page(parts);
            }

            public IEnumerable<int> Cells(int panel) => Regex.Matches(_panels[panel], "<div class=\"c [a-z]+\" data-o=\"0x([0-9a-f]+)\"").Select(m => Hex(m.Groups[1].Value));

            public string CellClass(int panel, int offset) => Regex.Match(_panels[panel], "<div class=\"c ([a-z]+)\" data-o=\"0x" + offset.ToString("x", CultureInfo.InvariantCulture) + "\"").Groups[1].Value;

            public string CellTitle(int panel, int offset)
                => System.Net.WebUtility.HtmlDecode(Regex.Match(_panels[panel], "<div class=\"c [a-z]+\" data-o=\"0x" + offset.ToString("x", CultureInfo.InvariantCulture) + "\"[^>]* title=\"([^\"]*)\"").Groups[1].Value);

            public IReadOnlyList<Fold> Folds(int panel) => Regex.Matches(_panels[panel], "<div class=\"f [a-z]+\" data-first=\"0x([0-9a-f]+)\" data-last=\"0x([0-9a-f]+)\"[^>]*>([^<]*)</div>")
                .Select(m => new Fold(Hex(m.Groups[1].Value), Hex(m.Groups[2].Value), System.Net.WebUtility.HtmlDecode(m.Groups[3].Value)))
                .ToList();

            public IReadOnlyList<int> Outlines(int panel, string kind) => Regex.Matches(_panels[panel], "<div class=\"x " + kind + "\" data-o=\"0x([0-9a-f]+)\"").Select(m => Hex(m.Groups[1].Value)).ToList();

            private static int Hex(string text) => int.Parse(text, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }
    }
}
