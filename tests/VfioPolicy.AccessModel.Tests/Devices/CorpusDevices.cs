using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Testing;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    /// <summary>One <c>Capabilities: [OFF vN] text</c> line of an <c>lspci -vvv</c> decode.</summary>
    public sealed record LspciCapabilityLine(int Offset, bool Extended, int? Version, string Text);

    /// <summary>What <c>lspci -vvv</c> printed for one device: its capability lines and the chain markers it printed.</summary>
    public sealed record LspciDecode(string Slot, IReadOnlyList<LspciCapabilityLine> Capabilities, bool ChainMarked, bool HasDecode);

    /// <summary>The corpus under tests/corpus: every device with a hex dump, and what lspci decoded for it.</summary>
    public static class CorpusDevices
    {
        private static readonly Regex TitleLine = new Regex(@"^((?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\s", RegexOptions.CultureInvariant);

        private static readonly Regex CapabilityLine = new Regex(@"^\s+Capabilities: \[([0-9a-f]+)(?: v(\d+))?\] (.*)$", RegexOptions.CultureInvariant);

        /// <summary>Every (file, slot) of the corpus that has a hex dump, as theory rows; the file is relative to tests/corpus.</summary>
        public static IEnumerable<object[]> AllDumpedDevices()
        {
            foreach (string file in DumpFiles())
            {
                string relative = Relative(file);
                foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(File.ReadAllText(file), relative))
                {
                    yield return new object[] { relative, image.Slot! };
                }
            }
        }

        /// <summary>Theory rows for the devices whose lspci decode is in the corpus (beside or before the hex).</summary>
        public static IEnumerable<object[]> DecodedDevices()
            => AllDumpedDevices().Where(row => Decode((string)row[0], (string)row[1]).HasDecode);

        /// <summary>Theory rows for the devices the corpus dumps without any decode.</summary>
        public static IEnumerable<object[]> UndecodedDevices()
            => AllDumpedDevices().Where(row => !Decode((string)row[0], (string)row[1]).HasDecode);

        /// <summary>The image of <paramref name="slot"/> in the dump file <paramref name="relativeFile"/>.</summary>
        public static ConfigSpaceImage Image(string relativeFile, string slot)
            => ConfigDumpReader.SelectSlot(ConfigDumpReader.ParseLspci(File.ReadAllText(Full(relativeFile)), relativeFile), slot, relativeFile);

        /// <summary>What lspci decoded for <paramref name="slot"/>: from the paired <c>.lspci-vvv.txt</c> for QEMU dumps, else from the same file.</summary>
        public static LspciDecode Decode(string relativeFile, string slot)
        {
            string decodeFile = relativeFile.EndsWith(".xxxx.txt", StringComparison.Ordinal)
                ? relativeFile.Substring(0, relativeFile.Length - ".xxxx.txt".Length) + ".lspci-vvv.txt"
                : relativeFile;
            string[] lines = File.ReadAllLines(Full(decodeFile));
            var capabilities = new List<LspciCapabilityLine>();
            bool inDevice = false;
            bool marked = false;
            bool hasDecode = false;
            foreach (string line in lines)
            {
                Match title = TitleLine.Match(line);
                if (title.Success)
                {
                    if (inDevice)
                    {
                        break;
                    }

                    inDevice = string.Equals(title.Groups[1].Value, slot, StringComparison.OrdinalIgnoreCase);
                    continue;
                }

                if (!inDevice)
                {
                    continue;
                }

                if (line.Length > 0 && char.IsWhiteSpace(line[0]))
                {
                    hasDecode = true;
                }

                if (line.Contains("<access denied>") || line.Contains("<chain looped>") || line.Contains("<chain broken>"))
                {
                    marked = true;
                    continue;
                }

                Match capability = CapabilityLine.Match(line);
                if (capability.Success)
                {
                    string offsetText = capability.Groups[1].Value;
                    int offset = int.Parse(offsetText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                    int? version = capability.Groups[2].Success ? int.Parse(capability.Groups[2].Value, CultureInfo.InvariantCulture) : null;

                    // lspci prints standard offsets with two digits and extended ones with three.
                    capabilities.Add(new LspciCapabilityLine(offset, offsetText.Length >= 3, version, capability.Groups[3].Value));
                }
            }

            return new LspciDecode(slot, capabilities, marked, hasDecode);
        }

        private static IEnumerable<string> DumpFiles()
        {
            IEnumerable<string> qemu = Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt");
            IEnumerable<string> pciutils = Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, "pciutils"), "*.txt");
            return qemu.Concat(pciutils).OrderBy(path => path, StringComparer.Ordinal);
        }

        private static string Relative(string fullPath)
            => Path.GetRelativePath(RepositoryPaths.Corpus, fullPath).Replace(Path.DirectorySeparatorChar, '/');

        private static string Full(string relativeFile) => Path.Combine(RepositoryPaths.Corpus, relativeFile.Replace('/', Path.DirectorySeparatorChar));
    }
}
