using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Packaging.Tests
{
    /// <summary>
    /// The newcomer's path without a checkout: install the tool from the feed into a temporary tool path, scaffold a
    /// policy for a corpus device, check it, review a change; and a consumer build that extends the library by name.
    /// </summary>
    public sealed partial class PackagingTests
    {
        private const string E1000eDump = "tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt";

        [Fact]
        public void Every_package_carries_its_own_readme_and_release_notes()
        {
            foreach ((string id, string package, XDocument nuspec) in _feed.All)
            {
                Assert.Equal("README.md", PackageFeed.MetadataValue(nuspec, "readme"));
                Assert.Equal(File.ReadAllText(RepositoryPaths.InRepository("docs/packages/" + id + ".release-notes.md")).Trim(), PackageFeed.MetadataValue(nuspec, "releaseNotes").Trim());
                using ZipArchive archive = ZipFile.OpenRead(package);
                using var reader = new StreamReader(archive.GetEntry("README.md")!.Open());
                Assert.Equal(File.ReadAllText(RepositoryPaths.InRepository("docs/packages/" + id + ".md")), reader.ReadToEnd());
            }

            // One file per package: a shared text would not be "its own".
            Assert.Equal(_feed.All.Length, _feed.All.Select(p => PackageFeed.MetadataValue(p.Nuspec, "releaseNotes")).Distinct().Count());
        }

        [Fact]
        public void The_tool_installs_from_the_feed_and_scaffolds_checks_and_reviews_a_policy_outside_any_checkout()
        {
            Assert.Contains(PackageFeed.Entries(_feed.ToolPackage), e => e == "tools/net10.0/any/vfio-policy.dll");
            string toolPath = Path.Combine(_feed.Root, "tools");
            string home = Path.Combine(_feed.Root, "newcomer");
            Directory.CreateDirectory(home);
            File.Copy(RepositoryPaths.InRepository(E1000eDump), Path.Combine(home, "nic.txt"));

            CommandResult install = DotnetCli.Run(home, _feed.PackageCache, "tool", "install", PackageFeed.ToolId, "--tool-path", toolPath, "--add-source", _feed.Feed, "--version", PackageFeed.MetadataValue(_feed.ToolNuspec, "version"));
            Assert.True(install.ExitCode == 0, install.Transcript);
            string tool = Path.Combine(toolPath, "vfio-policy");

            CommandResult init = Tool(tool, home, "init", "--device", "nic.txt", "--base", "strict", "--output", "nic.vfiopolicy");
            Assert.True(init.ExitCode == 0, init.Transcript);
            string scaffold = File.ReadAllText(Path.Combine(home, "nic.vfiopolicy"));
            Assert.Contains("\nextends library \"strict\"\n", scaffold, StringComparison.Ordinal);
            Assert.Contains("policy \"intel-82574l-gigabit-network-connection\"", scaffold, StringComparison.Ordinal);

            CommandResult check = Tool(tool, home, "check", "nic.vfiopolicy");
            Assert.True(check.ExitCode == 0, check.Transcript);

            // Every section uncommented as it stands still checks clean.
            string uncommented = ScaffoldText.Uncomment(scaffold);
            Assert.Contains("\ncapability EXP {\n", uncommented, StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(home, "nic.vfiopolicy"), uncommented);
            check = Tool(tool, home, "check", "nic.vfiopolicy", "--device", "nic.txt");
            Assert.True(check.ExitCode == 0, check.Transcript);

            // A reviewer's change: the driver tunes the latency timer, which strict's header virtualizes.
            string changed = uncommented + "header {\n  override register LATENCY_TIMER passthrough rw  # the driver tunes it\n}\n";
            File.WriteAllText(Path.Combine(home, "nic-v2.vfiopolicy"), changed);
            CommandResult diff = Tool(tool, home, "diff", "nic.vfiopolicy", "nic-v2.vfiopolicy", "--format", "markdown");
            Assert.True(diff.ExitCode == 1, diff.Transcript); // 1: the change widens what the consumer reaches
            Assert.Contains("#### header LATENCY_TIMER (0x0d u8)", diff.Output, StringComparison.Ordinal);
            Assert.Contains("| **widening** | bits 0..7 | `virtualize rw init hw` | `passthrough rw` | `library:/standard/header-type0.vfiopolicy:", diff.Output, StringComparison.Ordinal);
            CommandResult picture = Tool(tool, home, "diff", "nic.vfiopolicy", "nic-v2.vfiopolicy", "--format", "html", "--device", "nic.txt");
            Assert.True(picture.ExitCode == 1, picture.Transcript);
            Assert.StartsWith("<!DOCTYPE html>", picture.Output, StringComparison.OrdinalIgnoreCase);
            Assert.Contains("LATENCY_TIMER", picture.Output, StringComparison.Ordinal);

            // The change builds into an application through the generator package, which finds it for the device. The
            // sections left as they stand are deleted first, as the scaffold asks: restating the base is a warning
            // (VP0302), and this application, like the repository, treats warnings as errors.
            ConsumerProject application = Consumer("newcomer", new Dictionary<string, string>
            {
                ["policies/nic.vfiopolicy"] = scaffold + "header {\n  override register LATENCY_TIMER passthrough rw  # the driver tunes it\n}\n",
                ["Program.cs"] = DumpProgram,
            });
            CommandResult build = Dotnet(application, "build");
            Assert.True(build.ExitCode == 0, build.Transcript);
            CommandResult run = Dotnet(application, "run", "--no-build", "--", Path.Combine(home, "nic.txt"));
            Assert.True(run.ExitCode == 0, run.Transcript);
            Assert.Equal(
                "policy intel-82574l-gigabit-network-connection\n" +
                "vendor Ok 0x8086\n" + // strict: VENDOR_ID passthrough ro
                "latency timer write Ok, reads back 0x20, hardware 0x20\n", // the change: passthrough rw reaches the device
                run.Output);

            // A mistake in the same file is located at its line and column.
            File.WriteAllText(Path.Combine(home, "broken.vfiopolicy"), "policy \"b\"\nmatch any\nextends library \"strikt\"\n");
            CommandResult broken = Tool(tool, home, "check", "broken.vfiopolicy");
            Assert.True(broken.ExitCode == 1, broken.Transcript);
            Assert.Contains("broken.vfiopolicy(3,17): error VP0501: the policy library has no 'strikt'; did you mean \"strict\"?", broken.Output, StringComparison.Ordinal);
        }

        [Fact]
        public void A_consumer_policy_extends_the_library_by_name_with_no_copy_of_it()
        {
            ConsumerProject consumer = Consumer("extends-library", new Dictionary<string, string>
            {
                ["policies/nic.vfiopolicy"] = "policy \"library-nic\"\nmatch vendor 0x1b36 device 0x0005\nextends library \"strict\"\n",
                ["Program.cs"] = Program.Replace("firewall.Write(0x04, 2, 0x0006)", "firewall.Write(0x04, 2, 0x8000)", StringComparison.Ordinal),
            });

            CommandResult build = Dotnet(consumer, "build");
            Assert.True(build.ExitCode == 0, build.Transcript);
            CommandResult run = Dotnet(consumer, "run", "--no-build");
            Assert.True(run.ExitCode == 0, run.Transcript);
            Assert.Equal(
                "policy library-nic is VfioPolicy.Generated.LibraryNicPolicy\n" +
                "vendor Ok 0x1b36\n" + // strict's header: VENDOR_ID passthrough ro
                "device Ok 0x0005\n" + // DEVICE_ID passthrough ro: the device's own
                "command write Ok, audit events 1\n", // COMMAND bit 15 is reserved, denied: dropped and audited
                run.Output);
            Assert.Empty(Directory.GetFiles(consumer.Folder, "strict.vfiopolicy", SearchOption.AllDirectories));
        }

        // Reads a dump, finds the compiled policy for its identity and writes the latency timer through it.
        private const string DumpProgram = """
            using System;
            using System.Globalization;
            using System.IO;
            using VfioPolicy.AccessModel.Binding;
            using VfioPolicy.AccessModel.Contracts;
            using VfioPolicy.AccessModel.Devices;
            using VfioPolicy.AccessModel.Simulation;

            byte[] config = ConfigDumpReader.ParseLspci(File.ReadAllText(args[0]), args[0])[0].Bytes;
            ICompiledPolicy policy = PolicyRegistry.Find(DeviceIdentityReader.Read(config));
            var hardware = new SimulatedConfigHardware(config);
            IConfigSpaceFirewall firewall = policy.Open(DeviceBinder.Bind(policy.Model, config), hardware, new RecordingAuditSink());
            Console.WriteLine("policy " + policy.Name);
            AccessStatus status = firewall.Read(0x00, 2, out uint vendor);
            Console.WriteLine("vendor " + status + " 0x" + vendor.ToString("x4", CultureInfo.InvariantCulture));
            status = firewall.Write(0x0d, 1, 0x20);
            firewall.Read(0x0d, 1, out uint timer);
            uint held = hardware.Bytes[0x0d];
            Console.WriteLine("latency timer write " + status + ", reads back 0x" + timer.ToString("x2", CultureInfo.InvariantCulture) + ", hardware 0x" + held.ToString("x2", CultureInfo.InvariantCulture));

            """;

        private static CommandResult Tool(string tool, string workingDirectory, params string[] arguments)
            => DotnetCli.RunProgram(tool, workingDirectory, nugetPackages: null, arguments);
    }
}
