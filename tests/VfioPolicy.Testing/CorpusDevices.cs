using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Devices;

namespace VfioPolicy.Testing
{
    /// <summary>One device image of the test corpus, named by its dump file (relative to tests/corpus) and slot.</summary>
    public sealed record CorpusDevice(string Name, ConfigSpaceImage Image)
    {
        /// <inheritdoc />
        public override string ToString() => Name;
    }

    /// <summary>Every device of the test corpus the dump reader can read: the input of the suites that run over all of them.</summary>
    public static class CorpusDevices
    {
        private static readonly Lazy<IReadOnlyList<CorpusDevice>> Devices = new Lazy<IReadOnlyList<CorpusDevice>>(Load);

        /// <summary>Every device of tests/corpus/qemu/*.xxxx.txt and tests/corpus/pciutils/*.txt, in a stable order.</summary>
        public static IReadOnlyList<CorpusDevice> All => Devices.Value;

        /// <summary>The device called <paramref name="name"/> (as <see cref="CorpusDevice.Name"/>).</summary>
        public static CorpusDevice Named(string name)
            => All.SingleOrDefault(d => d.Name == name) ?? throw new InvalidOperationException("No corpus device named '" + name + "'.");

        /// <summary>Every dump file of the corpus (lspci text), absolute paths in a stable order.</summary>
        public static IReadOnlyList<string> DumpFiles()
            => Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt")
                .Concat(Directory.EnumerateFiles(Path.Combine(RepositoryPaths.Corpus, "pciutils"), "*.txt"))
                .OrderBy(f => f, StringComparer.Ordinal)
                .ToArray();

        private static IReadOnlyList<CorpusDevice> Load()
        {
            var devices = new List<CorpusDevice>();
            foreach (string file in DumpFiles())
            {
                string relative = Path.GetRelativePath(RepositoryPaths.Corpus, file).Replace(Path.DirectorySeparatorChar, '/');
                foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(File.ReadAllText(file), relative))
                {
                    devices.Add(new CorpusDevice(relative + "@" + (image.Slot ?? "?"), image));
                }
            }

            return devices;
        }
    }
}
