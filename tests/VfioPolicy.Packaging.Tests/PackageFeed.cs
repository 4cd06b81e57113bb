using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Xml.Linq;
using VfioPolicy.Testing;

namespace VfioPolicy.Packaging.Tests
{
    /// <summary>
    /// Once per test class: the four packages packed from the working tree into a fresh folder feed, and a fresh, empty
    /// NuGet package folder for the consumers, so a package cached by an earlier run can never stand in for the one
    /// just packed. Everything lives in one temporary folder, deleted at the end.
    /// </summary>
    public sealed class PackageFeed : IDisposable
    {
        public const string GeneratorId = "VfioPolicy.Generator";
        public const string AccessModelId = "VfioPolicy.AccessModel";
        public const string RuntimeId = "VfioPolicy.Runtime";
        public const string ToolId = "VfioPolicy.Cli";

        public PackageFeed()
        {
            Root = Path.Combine(Path.GetTempPath(), "vfiopolicy-packaging-" + Guid.NewGuid().ToString("N"));
            Feed = Path.Combine(Root, "feed");
            PackageCache = Path.Combine(Root, "nuget-packages");
            Directory.CreateDirectory(Feed);
            Directory.CreateDirectory(PackageCache);
            string artifacts = Path.Combine(Root, "artifacts");

            // The generator's pack builds the access model too; its own pack then reuses that build.
            Pack("compiler/VfioPolicy.Generator/VfioPolicy.Generator.csproj", artifacts, build: true);
            Pack("runtime/VfioPolicy.AccessModel/VfioPolicy.AccessModel.csproj", artifacts, build: false);
            Pack("runtime/VfioPolicy.Runtime/VfioPolicy.Runtime.csproj", artifacts, build: true);
            Pack("cli/VfioPolicy.Cli/VfioPolicy.Cli.csproj", artifacts, build: true);

            GeneratorPackage = SinglePackage(GeneratorId);
            AccessModelPackage = SinglePackage(AccessModelId);
            GeneratorNuspec = ReadNuspec(GeneratorPackage);
            AccessModelNuspec = ReadNuspec(AccessModelPackage);
            RuntimePackage = SinglePackage(RuntimeId);
            RuntimeNuspec = ReadNuspec(RuntimePackage);
            GeneratorVersion = MetadataValue(GeneratorNuspec, "version");
            ToolPackage = SinglePackage(ToolId);
            ToolNuspec = ReadNuspec(ToolPackage);
        }

        /// <summary>The temporary folder holding everything below.</summary>
        public string Root { get; }

        /// <summary>The folder feed both packages were packed into.</summary>
        public string Feed { get; }

        /// <summary>The NuGet global packages folder the consumers restore into.</summary>
        public string PackageCache { get; }

        public string GeneratorPackage { get; }

        public string AccessModelPackage { get; }

        public XDocument GeneratorNuspec { get; }

        public XDocument AccessModelNuspec { get; }

        public string RuntimePackage { get; }

        public XDocument RuntimeNuspec { get; }

        public string ToolPackage { get; }

        public XDocument ToolNuspec { get; }

        /// <summary>Every package of the feed, by id.</summary>
        public (string Id, string Package, XDocument Nuspec)[] All => new[]
        {
            (GeneratorId, GeneratorPackage, GeneratorNuspec),
            (AccessModelId, AccessModelPackage, AccessModelNuspec),
            (RuntimeId, RuntimePackage, RuntimeNuspec),
            (ToolId, ToolPackage, ToolNuspec),
        };

        /// <summary>The version the generator package was packed with (the consumers reference exactly it).</summary>
        public string GeneratorVersion { get; }

        public static string MetadataValue(XDocument nuspec, string element) =>
            nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata").Elements().Single(e => e.Name.LocalName == element).Value;

        public static string[] Entries(string package)
        {
            using ZipArchive archive = ZipFile.OpenRead(package);
            return archive.Entries.Select(e => e.FullName).OrderBy(n => n, StringComparer.Ordinal).ToArray();
        }

        public void Dispose()
        {
            try
            {
                Directory.Delete(Root, recursive: true);
            }
            catch (IOException)
            {
                // A process that outlived its test still holds a file: leave the temporary folder to the OS.
            }
        }

        private void Pack(string project, string artifacts, bool build)
        {
            string[] arguments = new[] { "pack", RepositoryPaths.InRepository(project), "-c", "Release", "-o", Feed, "--artifacts-path", artifacts }
                .Concat(build ? DotnetCli.NoBuildServers : new[] { "--no-build" })
                .ToArray();
            CommandResult result = DotnetCli.Run(RepositoryPaths.Root, nugetPackages: null, arguments);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException("Packing " + project + " failed:\n" + result.Transcript);
            }
        }

        private string SinglePackage(string id)
        {
            string[] packages = Directory.GetFiles(Feed, id + ".*.nupkg")
                .Where(p => !Path.GetFileName(p).EndsWith(".snupkg", StringComparison.Ordinal))
                .Where(p => char.IsDigit(Path.GetFileName(p)[id.Length + 1]))
                .ToArray();
            if (packages.Length != 1)
            {
                throw new InvalidOperationException("Expected one " + id + " package in " + Feed + ", found: " + string.Join(", ", packages.Select(Path.GetFileName)));
            }

            return packages[0];
        }

        private static XDocument ReadNuspec(string package)
        {
            using ZipArchive archive = ZipFile.OpenRead(package);
            ZipArchiveEntry nuspec = archive.Entries.Single(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.Ordinal));
            using Stream stream = nuspec.Open();
            return XDocument.Load(stream);
        }
    }
}
