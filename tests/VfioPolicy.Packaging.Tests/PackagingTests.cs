using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Packaging.Tests
{
    /// <summary>
    /// `dotnet pack` output checked from the outside: the package layout, and consumer projects that reference the
    /// packed generator from a folder feed, list their policies as VfioPolicy items, build and run.
    /// </summary>
    public sealed partial class PackagingTests : IClassFixture<PackageFeed>
    {
        private const string Defaults =
            "default header deny 0\n" +
            "default capability deny 0\n" +
            "default gap deny 0\n" +
            "default unknown-capability hide body deny 0\n";

        // A fragment in a subfolder, included by the policy: the glob must bring both, and includes resolve among them.
        private const string IdentityFragment =
            "# The consumer sees the real vendor and a made-up device ID.\n" +
            "header {\n" +
            "  register VENDOR_ID passthrough ro\n" +
            "  register DEVICE_ID virtualize ro init 0xbeef\n" +
            "}\n";

        private const string DemoPolicy =
            "policy \"package-demo\"\n" +
            "match vendor 0x1b36 device 0x0005\n" +
            "\n" +
            "include \"fragments/identity.vfiopolicy\"\n" +
            "\n" +
            Defaults;

        // Finds the generated handler through the registry, binds it to a small config image and reads through it.
        private const string Program = """
            using System;
            using System.Globalization;
            using VfioPolicy.AccessModel.Binding;
            using VfioPolicy.AccessModel.Contracts;
            using VfioPolicy.AccessModel.Devices;
            using VfioPolicy.AccessModel.Simulation;

            byte[] config = new byte[256];
            config[0x00] = 0x36; config[0x01] = 0x1b; // vendor 0x1b36
            config[0x02] = 0x05; config[0x03] = 0x00; // device 0x0005

            ICompiledPolicy policy = PolicyRegistry.Find(DeviceIdentityReader.Read(config));
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, config);
            var hardware = new SimulatedConfigHardware(config);
            var audit = new RecordingAuditSink();
            IConfigSpaceFirewall firewall = policy.Open(bound, hardware, audit);

            Console.WriteLine("policy " + policy.Name + " is " + policy.GetType().FullName);
            AccessStatus status = firewall.Read(0x00, 2, out uint vendor);
            Console.WriteLine("vendor " + status + " 0x" + vendor.ToString("x4", CultureInfo.InvariantCulture));
            status = firewall.Read(0x02, 2, out uint device);
            Console.WriteLine("device " + status + " 0x" + device.ToString("x4", CultureInfo.InvariantCulture));
            status = firewall.Write(0x04, 2, 0x0006);
            Console.WriteLine("command write " + status + ", audit events " + audit.Events.Count.ToString(CultureInfo.InvariantCulture));

            """;

        private static readonly string[] AnalyzerAssemblies =
        {
            "Sprache.dll", "VfioPolicy.AccessModel.dll", "VfioPolicy.Compiler.dll", "VfioPolicy.Generator.dll", "VfioPolicy.Grammar.dll",
        };

        private readonly PackageFeed _feed;

        public PackagingTests(PackageFeed feed) => _feed = feed;

        [Fact]
        public void The_generator_package_holds_the_generator_and_its_dependencies_as_analyzers_and_no_library()
        {
            string[] entries = PackageFeed.Entries(_feed.GeneratorPackage);

            Assert.Equal(
                AnalyzerAssemblies.Select(name => "analyzers/dotnet/cs/" + name),
                entries.Where(e => e.StartsWith("analyzers/", StringComparison.Ordinal)));
            Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) || e.StartsWith("ref/", StringComparison.Ordinal));
            Assert.Equal(
                new[] { "build/VfioPolicy.Generator.props", "build/VfioPolicy.Generator.targets" },
                entries.Where(e => e.StartsWith("build", StringComparison.Ordinal)));
        }

        [Fact]
        public void The_generator_package_ships_the_msbuild_files_the_repository_builds_with()
        {
            using ZipArchive archive = ZipFile.OpenRead(_feed.GeneratorPackage);
            foreach (string name in new[] { "VfioPolicy.Generator.props", "VfioPolicy.Generator.targets" })
            {
                using var reader = new StreamReader(archive.GetEntry("build/" + name)!.Open());
                Assert.Equal(File.ReadAllText(RepositoryPaths.InRepository("compiler/VfioPolicy.Generator/build/" + name)), reader.ReadToEnd());
            }

            // policies/ goes through the very same files, not through AdditionalFiles of its own.
            string policiesProject = File.ReadAllText(RepositoryPaths.InRepository("policies/VfioPolicy.Policies.csproj"));
            Assert.Contains(@"<Import Project=""..\compiler\VfioPolicy.Generator\build\VfioPolicy.Generator.props"" />", policiesProject, StringComparison.Ordinal);
            Assert.Contains(@"<Import Project=""..\compiler\VfioPolicy.Generator\build\VfioPolicy.Generator.targets"" />", policiesProject, StringComparison.Ordinal);
            Assert.Contains("<VfioPolicy Include=", policiesProject, StringComparison.Ordinal);
            Assert.DoesNotContain("<AdditionalFiles", policiesProject, StringComparison.Ordinal);
        }

        [Fact]
        public void The_generator_package_depends_on_exactly_its_own_version_of_the_access_model()
        {
            string accessModelVersion = PackageFeed.MetadataValue(_feed.AccessModelNuspec, "version");
            Assert.Equal(_feed.GeneratorVersion, accessModelVersion);

            XElement dependency = Assert.Single(_feed.GeneratorNuspec.Descendants(), e => e.Name.LocalName == "dependency");
            Assert.Equal(PackageFeed.AccessModelId, dependency.Attribute("id")?.Value);
            Assert.Equal("[" + accessModelVersion + "]", dependency.Attribute("version")?.Value);

            foreach (XDocument nuspec in new[] { _feed.GeneratorNuspec, _feed.AccessModelNuspec })
            {
                Assert.Equal("MIT", PackageFeed.MetadataValue(nuspec, "license"));
                Assert.False(string.IsNullOrWhiteSpace(PackageFeed.MetadataValue(nuspec, "description")));
            }
        }

        [Fact]
        public void The_access_model_package_is_a_netstandard_library_without_the_parser()
        {
            string[] entries = PackageFeed.Entries(_feed.AccessModelPackage);

            Assert.Contains("lib/netstandard2.0/VfioPolicy.AccessModel.dll", entries);
            Assert.DoesNotContain(entries, e => e.StartsWith("analyzers/", StringComparison.Ordinal) || e.EndsWith("Sprache.dll", StringComparison.Ordinal));
            string[] dependencies = _feed.AccessModelNuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value).ToArray();
            Assert.Equal(new[] { "System.Memory" }, dependencies);
        }

        [Fact]
        public void A_consumer_lists_policies_as_VfioPolicy_items_and_runs_the_generated_handler()
        {
            ConsumerProject consumer = Consumer("runs", new Dictionary<string, string>
            {
                ["policies/demo.vfiopolicy"] = DemoPolicy,
                ["policies/fragments/identity.vfiopolicy"] = IdentityFragment,
                ["Program.cs"] = Program,
            });

            CommandResult build = Dotnet(consumer, "build");
            Assert.True(build.ExitCode == 0, build.Transcript);
            Assert.DoesNotMatch(": warning [A-Z]+[0-9]+:", build.Output);

            CommandResult run = Dotnet(consumer, "run", "--no-build");
            Assert.True(run.ExitCode == 0, run.Transcript);
            Assert.Equal(
                "policy package-demo is VfioPolicy.Generated.PackageDemoPolicy\n" +
                "vendor Ok 0x1b36\n" + // passthrough: the device's own vendor ID
                "device Ok 0xbeef\n" + // virtualized: the shadow's initial value, not the device's 0x0005
                "command write Ok, audit events 1\n", // denied: dropped and audited
                run.Output);

            // The generated code runs on the access model alone: the parser and compiler stay in the build.
            string[] shipped = Directory.GetFiles(consumer.PathOf("bin"), "*.dll", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray()!;
            Assert.Contains("VfioPolicy.AccessModel.dll", shipped);
            Assert.DoesNotContain("VfioPolicy.Compiler.dll", shipped);
            Assert.DoesNotContain("VfioPolicy.Grammar.dll", shipped);
            Assert.DoesNotContain("Sprache.dll", shipped);
        }

        [Fact]
        public void A_policy_error_fails_the_consumer_build_at_the_policy_line_and_column()
        {
            string broken = DemoPolicy + "header {\n  register NO_SUCH_REGISTER passthrough ro\n}\n";
            ConsumerProject consumer = Consumer("broken", new Dictionary<string, string>
            {
                ["policies/demo.vfiopolicy"] = broken,
                ["policies/fragments/identity.vfiopolicy"] = IdentityFragment,
                ["Program.cs"] = Program,
            });
            (int line, int column) = Position(broken, "NO_SUCH_REGISTER");

            CommandResult build = Dotnet(consumer, "build");

            Assert.True(build.ExitCode != 0, build.Transcript);
            string expected = Regex.Escape(consumer.PathOf("policies/demo.vfiopolicy") + "(" + line + "," + column + "): error VP0102: ");
            Assert.Matches(new Regex("(?m)^" + expected + ".*NO_SUCH_REGISTER"), build.Output);
        }

        [Fact]
        public void A_VfioPolicy_item_the_generator_cannot_read_is_a_build_error()
        {
            ConsumerProject consumer = Consumer(
                "items",
                new Dictionary<string, string>
                {
                    ["policies/demo.vfiopolicy"] = DemoPolicy,
                    ["policies/fragments/identity.vfiopolicy"] = IdentityFragment,
                    ["notes.txt"] = "not a policy\n",
                    ["Program.cs"] = Program,
                },
                policyItems: "policies/**/*.vfiopolicy;notes.txt;policies/missing.vfiopolicy");

            CommandResult build = Dotnet(consumer, "build");

            Assert.True(build.ExitCode != 0, build.Transcript);
            Assert.Contains("error VPM0001: The VfioPolicy item 'notes.txt' is not a .vfiopolicy file", build.Output, StringComparison.Ordinal);
            Assert.Contains("error VPM0002: The VfioPolicy item 'policies/missing.vfiopolicy' names a file that does not exist", build.Output, StringComparison.Ordinal);
        }

        [Fact]
        public void The_runtime_package_is_a_net10_library_depending_on_its_access_model_exactly_and_on_Tmds_LibC()
        {
            string[] entries = PackageFeed.Entries(_feed.RuntimePackage);

            Assert.Contains("lib/net10.0/VfioPolicy.Runtime.dll", entries);
            Assert.Contains("lib/net10.0/VfioPolicy.Runtime.xml", entries);
            Assert.DoesNotContain(entries, e => e.EndsWith("Sprache.dll", StringComparison.Ordinal) || e.Contains("Compiler", StringComparison.Ordinal));
            var dependencies = _feed.RuntimeNuspec.Descendants().Where(e => e.Name.LocalName == "dependency")
                .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);
            Assert.Equal(new[] { "Tmds.LibC", PackageFeed.AccessModelId }, dependencies.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal("[" + _feed.GeneratorVersion + "]", dependencies[PackageFeed.AccessModelId]);
            Assert.Equal(_feed.GeneratorVersion, PackageFeed.MetadataValue(_feed.RuntimeNuspec, "version"));
            Assert.False(string.IsNullOrWhiteSpace(PackageFeed.MetadataValue(_feed.RuntimeNuspec, "description")));
        }

        [Fact]
        public void A_consumer_of_the_runtime_package_opens_a_device_with_its_compiled_policy_maps_DMA_and_takes_an_interrupt()
        {
            string example = RepositoryPaths.InRepository("docs/examples/runtime-consumer");
            ConsumerProject consumer = Consumer(
                "runtime",
                new Dictionary<string, string>
                {
                    ["Program.cs"] = File.ReadAllText(Path.Combine(example, "Program.cs")),
                    ["policies/edu.vfiopolicy"] = File.ReadAllText(Path.Combine(example, "edu.vfiopolicy")),
                    ["qemu-edu.lspci-xxx.txt"] = File.ReadAllText(RepositoryPaths.InRepository("policies/dumps/qemu-edu.lspci-xxx.txt")),
                },
                withRuntime: true);

            CommandResult build = Dotnet(consumer, "build");
            Assert.True(build.ExitCode == 0, build.Transcript);
            Assert.DoesNotMatch(": warning [A-Z]+[0-9]+:", build.Output);

            CommandResult run = Dotnet(consumer, "run", "--no-build", "--", "--simulate", "qemu-edu.lspci-xxx.txt");
            Assert.True(run.ExitCode == 0, run.Transcript);
            Assert.Equal(
                "0000:01:00.0: policy demo-edu, opened through Container\n" +
                "identification 0x010000ed\n" +
                "DMA round trip: hello through the IOMMU\n" +
                "MSI arrived (Msi, 1 vector)\n",
                run.Output);

            string[] shipped = Directory.GetFiles(consumer.PathOf("bin"), "*.dll", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray()!;
            Assert.Contains("VfioPolicy.Runtime.dll", shipped);
            Assert.Contains("Tmds.LibC.dll", shipped);
            Assert.DoesNotContain("VfioPolicy.Compiler.dll", shipped);
        }

        [Fact]
        public void The_program_docs_runtime_md_shows_is_the_one_the_packaging_test_builds()
        {
            string doc = File.ReadAllText(RepositoryPaths.InRepository("docs/runtime.md")).Replace("\r\n", "\n");
            string example = RepositoryPaths.InRepository("docs/examples/runtime-consumer");
            foreach ((string fence, string file) in new[] { ("csharp", "Program.cs"), ("text", "edu.vfiopolicy") })
            {
                string text = File.ReadAllText(Path.Combine(example, file)).Replace("\r\n", "\n");
                Assert.True(doc.Contains("```" + fence + "\n" + text + "```", StringComparison.Ordinal), "docs/runtime.md does not show docs/examples/runtime-consumer/" + file + " verbatim in a ```" + fence + " block");
            }
        }

        private ConsumerProject Consumer(string name, IReadOnlyDictionary<string, string> files, string policyItems = "policies/**/*.vfiopolicy", bool withRuntime = false) =>
            ConsumerProject.Create(_feed.Feed, Path.Combine(_feed.Root, "consumer-" + name), _feed.GeneratorVersion, policyItems, files, withRuntime);

        private CommandResult Dotnet(ConsumerProject consumer, params string[] arguments)
        {
            string[] all = arguments[0] == "build" ? arguments.Concat(DotnetCli.NoBuildServers).ToArray() : arguments;
            return DotnetCli.Run(consumer.Folder, _feed.PackageCache, all);
        }

        private static (int Line, int Column) Position(string text, string token)
        {
            int index = text.IndexOf(token, StringComparison.Ordinal);
            int lineStart = text.LastIndexOf('\n', index) + 1;
            return (text.Take(index).Count(c => c == '\n') + 1, index - lineStart + 1);
        }
    }
}
