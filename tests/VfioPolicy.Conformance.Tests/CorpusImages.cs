using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Testing;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>One device image of the test corpus, named by its dump file (relative to tests/corpus) and slot.</summary>
    public sealed record CorpusDevice(string Name, ConfigSpaceImage Image)
    {
        /// <inheritdoc />
        public override string ToString() => Name;
    }

    /// <summary>The inputs of the equivalence proof: every compiled policy and every device the dump reader can read.</summary>
    public static class ConformanceInputs
    {
        private static readonly Lazy<IReadOnlyList<CorpusDevice>> Devices = new Lazy<IReadOnlyList<CorpusDevice>>(LoadDevices);

        /// <summary>Every device of tests/corpus/qemu/*.xxxx.txt and tests/corpus/pciutils/*.txt, in a stable order.</summary>
        public static IReadOnlyList<CorpusDevice> CorpusDevices => Devices.Value;

        /// <summary>Every policy the library's generated code registered, by name.</summary>
        public static IReadOnlyList<ICompiledPolicy> Policies
            => PolicyLibrary.All.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();

        /// <summary>The registered policy called <paramref name="name"/>.</summary>
        public static ICompiledPolicy Policy(string name)
            => Policies.SingleOrDefault(p => p.Name == name)
               ?? throw new InvalidOperationException("No compiled policy named '" + name + "'; registered: " + string.Join(", ", Policies.Select(p => p.Name)));

        /// <summary>The corpus device called <paramref name="name"/> (as <see cref="CorpusDevice.Name"/>).</summary>
        public static CorpusDevice Device(string name)
            => CorpusDevices.SingleOrDefault(d => d.Name == name)
               ?? throw new InvalidOperationException("No corpus device named '" + name + "'.");

        /// <summary>Theory rows: every (policy name, device name) pair.</summary>
        public static IEnumerable<object[]> PolicyDevicePairs()
            => from policy in Policies
               from device in CorpusDevices
               select new object[] { policy.Name, device.Name };

        private static IReadOnlyList<CorpusDevice> LoadDevices()
        {
            string corpus = RepositoryPaths.Corpus;
            IEnumerable<string> files = Directory.EnumerateFiles(Path.Combine(corpus, "qemu"), "*.xxxx.txt")
                .Concat(Directory.EnumerateFiles(Path.Combine(corpus, "pciutils"), "*.txt"))
                .OrderBy(f => f, StringComparer.Ordinal);
            var devices = new List<CorpusDevice>();
            foreach (string file in files)
            {
                string relative = Path.GetRelativePath(corpus, file).Replace(Path.DirectorySeparatorChar, '/');
                foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(File.ReadAllText(file), relative))
                {
                    devices.Add(new CorpusDevice(relative + "@" + (image.Slot ?? "?"), image));
                }
            }

            return devices;
        }
    }
}
