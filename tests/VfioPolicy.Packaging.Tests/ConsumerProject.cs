using System.Collections.Generic;
using System.IO;

namespace VfioPolicy.Packaging.Tests
{
    /// <summary>
    /// A small project outside the repository that uses the packages the way a user would: a PackageReference to
    /// VfioPolicy.Generator from the folder feed and its policies as VfioPolicy items. Its own empty
    /// Directory.Build.props/.targets and Directory.Packages.props stop MSBuild from looking further up for the
    /// repository's settings (central package versions, warnings as errors), and its NuGet.config lists only the
    /// folder feed and nuget.org.
    /// </summary>
    public sealed class ConsumerProject
    {
        private ConsumerProject(string folder) => Folder = folder;

        public string Folder { get; }

        /// <summary>Writes the project, its NuGet.config and <paramref name="files"/> (relative path → text).</summary>
        /// <param name="feed">The package feed, for the consumer's NuGet.config.</param>
        /// <param name="folder">A new, empty folder for the project.</param>
        /// <param name="generatorVersion">The VfioPolicy.Generator version to reference.</param>
        /// <param name="policyItems">The Include of the project's VfioPolicy item.</param>
        /// <param name="files">Policies, Program.cs and anything else the project holds.</param>
        /// <param name="withRuntime">Also reference the VfioPolicy.Runtime package (same version).</param>
        public static ConsumerProject Create(string feed, string folder, string generatorVersion, string policyItems, IReadOnlyDictionary<string, string> files, bool withRuntime = false)
        {
            Directory.CreateDirectory(folder);
            foreach (string barrier in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
            {
                File.WriteAllText(Path.Combine(folder, barrier), "<Project />\n");
            }

            File.WriteAllText(Path.Combine(folder, "NuGet.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="vfiopolicy-packed" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>

                """);
            File.WriteAllText(Path.Combine(folder, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>disable</ImplicitUsings>
                    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="{PackageFeed.GeneratorId}" Version="{generatorVersion}" />{(withRuntime ? $"\n    <PackageReference Include=\"{PackageFeed.RuntimeId}\" Version=\"{generatorVersion}\" />" : string.Empty)}
                    <VfioPolicy Include="{policyItems}" />
                  </ItemGroup>
                </Project>

                """);
            foreach (KeyValuePair<string, string> file in files)
            {
                string path = Path.Combine(folder, file.Key.Replace('/', Path.DirectorySeparatorChar));
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllText(path, file.Value);
            }

            return new ConsumerProject(folder);
        }

        public string PathOf(string relativePath) => Path.Combine(Folder, relativePath.Replace('/', Path.DirectorySeparatorChar));
    }
}
