using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Compiler.Tests.LinuxVfioDefault
{
    /// <summary>
    /// policies/linux-vfio-default.vfiopolicy, compiled and bound to every type-0 device of the corpus (the QEMU
    /// captures and the pciutils hardware dumps), must give per byte the <c>virt</c> and <c>write</c> masks the
    /// kernel's vfio-pci gives that device, as computed independently by <see cref="KernelVfioPciMasks"/>. Two
    /// kinds of difference are allowed, each matched at exact bytes and each argued in docs/linux-vfio-default.md
    /// ("What the language cannot say"): the chain link of a capability abutting one of the same type, which the
    /// kernel reads at the merged run's offsets, and the bytes between the kernel's HyperTransport length and the
    /// real structure's. Both must occur, so the allowance cannot outlive its cause unnoticed.
    /// </summary>
    /// <remarks>
    /// Type-1 headers (bridges, root ports) are left out: <c>vfio_pci_core_register_device</c> refuses every device
    /// whose <c>hdr_type</c> is not <c>PCI_HEADER_TYPE_NORMAL</c>, so the kernel has no masks for them.
    /// </remarks>
    public sealed class LinuxVfioDefaultExactnessTests
    {
        private const string AbuttingLink = "abutting capability of the same type";
        private const string HyperTransportLength = "HyperTransport length";

        private static readonly Lazy<PolicyModel> Policy = new Lazy<PolicyModel>(() =>
        {
            string path = Path.Combine(RepositoryPaths.Policies, "linux-vfio-default.vfiopolicy");
            CompilationResult result = PolicyCompiler.Compile(path, new FileSystemPolicySource());
            Assert.True(result.Model != null && result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics));
            return result.Model!;
        });

        public static IEnumerable<object[]> TypeZeroDevices()
            => CorpusImages().Concat(CraftedImages()).Where(d => HeaderType(d.Image) == 0).Select(d => new object[] { d.Name });

        [Theory]
        [MemberData(nameof(TypeZeroDevices))]
        public void Policy_masks_equal_the_kernels_byte_for_byte(string device)
        {
            (IReadOnlyList<string> unexplained, _) = Compare(device);
            Assert.True(unexplained.Count == 0, device + " differs from the kernel:\n" + string.Join("\n", unexplained));
        }

        [Fact]
        public void Every_allowed_difference_occurs_where_expected_and_nowhere_else()
        {
            var explained = TypeZeroDevices()
                .Select(row => (string)row[0])
                .SelectMany(device => Compare(device).Explained.Select(reason => (device, reason)))
                .GroupBy(d => (d.device, d.reason))
                .ToDictionary(g => g.Key, g => g.Count());

            // Virtio devices lay their vendor capabilities end to end (QEMU's virtio-net: 0x84, 0x94, 0xa4, 0xb4, 0xc8),
            // so the kernel reads every link after the first from hardware; the AMD northbridge of cap-ht.txt does the
            // same with HyperTransport at 0x40/0x54, and its HyperTransport capabilities are sized by the kernel's
            // 24/28 rule rather than by their type.
            var expected = new Dictionary<(string, string), int>
            {
                [("qemu/vm1_06-00.0_1af4-1041_virtio-1-0-network-device.xxxx.txt", AbuttingLink)] = 8,
                [("pciutils/cap-vendor-virtio.txt 00:09.0", AbuttingLink)] = 6,
                [("pciutils/cap-vendor-virtio.txt 00:04.0", AbuttingLink)] = 8,
                [("pciutils/cap-ht.txt 00:00.0", AbuttingLink)] = 2,
                [("pciutils/cap-ht.txt 00:00.0", HyperTransportLength)] = 24,
            };
            Assert.Equal(
                expected.OrderBy(e => e.Key.ToString(), StringComparer.Ordinal).Select(e => e.Key + ": " + e.Value),
                explained.OrderBy(e => e.Key.ToString(), StringComparer.Ordinal).Select(e => e.Key + ": " + e.Value));
        }

        [Fact]
        public void Every_type_zero_corpus_device_is_compared_and_bridges_are_refused()
        {
            string[] compared = TypeZeroDevices().Select(row => (string)row[0]).ToArray();
            Assert.Equal(5, compared.Count(name => name.StartsWith("qemu/", StringComparison.Ordinal)));
            Assert.Contains(compared, name => name.Contains("1234-11e8"));   // edu: 256 bytes, no PCI Express
            Assert.True(compared.Count(name => name.StartsWith("pciutils/", StringComparison.Ordinal)) >= 25);

            var bridges = CorpusImages().Where(d => HeaderType(d.Image) != 0).ToArray();
            Assert.Contains(bridges, d => d.Name.Contains("pcie-root-port"));
            Assert.All(bridges, d => Assert.Throws<NotSupportedException>(() => KernelVfioPciMasks.Compute(d.Image)));
        }

        [Fact]
        public void The_kernel_expectation_reproduces_the_documented_tables_on_the_e1000e()
        {
            // Values from docs/linux-vfio-default.md, which quotes the p_set* calls; the 82574L has PM at 0xc8,
            // MSI (64-bit, no mask) at 0xd0, PCI Express v1 at 0xe0, MSI-X at 0xa0, AER at 0x100, DSN at 0x140.
            KernelVfioPciMasks kernel = KernelVfioPciMasks.Compute(Image("qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt"));

            Assert.Equal((0x0400u, 0xffffu), Masks(kernel, 0x04, 2));            // COMMAND
            Assert.Equal((0x0010u, 0x0000u), Masks(kernel, 0x06, 2));            // STATUS
            Assert.Equal((0xffffffffu, 0xffffffffu), Masks(kernel, 0x10, 4));    // BAR0
            Assert.Equal((0xff00u, 0x0000u), Masks(kernel, 0xc8, 2));            // PM ID from hardware, next from vconfig
            Assert.Equal((0xf800u, 0x0000u), Masks(kernel, 0xca, 2));            // PM PMC
            Assert.Equal((0x00008100u, 0xffff7efcu), Masks(kernel, 0xcc, 4));    // PM CTRL dword
            Assert.Equal((0x00ffu, 0x00ffu), Masks(kernel, 0xd2, 2));            // MSI FLAGS
            Assert.Equal((0x00u, 0xffu), Masks(kernel, 0xde, 1));                // past MSI's 14 bytes: raw gap
            Assert.Equal((0xf0e0u, 0xfdffu), Masks(kernel, 0xe8, 2));            // EXP DEVCTL
            Assert.Equal((0x00u, 0xffu), Masks(kernel, 0xe0 + 0x14, 1));         // past EXP v1's 0x14 bytes: raw gap
            Assert.Equal((0xffffu, 0x0000u), Masks(kernel, 0xa0, 2));            // MSI-X ID/next from vconfig
            Assert.Equal((0x0000u, 0x0000u), Masks(kernel, 0xa2, 2));            // MSI-X FLAGS: no writefn
            Assert.Equal((0xffffffffu, 0x0u), Masks(kernel, 0x100, 4));          // AER header
            Assert.Equal((0x0u, 0x03fff031u), Masks(kernel, 0x104, 4));          // UNCOR_STATUS
            Assert.Equal((0x0u, 0x0000f1c1u), Masks(kernel, 0x110, 4));          // COR_STATUS
            Assert.Equal((0x0u, 0x00000140u), Masks(kernel, 0x118, 4));          // AER CAP
            Assert.Equal((0x0u, 0xffffffffu), Masks(kernel, 0x12c, 4));          // past AER's 0x2c bytes: raw gap
            Assert.True(kernel.ExtendedCaps);
        }

        [Fact]
        public void The_kernel_expectation_writes_vendor_links_raw_and_reads_the_second_of_two_abutting_ones_from_hardware()
        {
            // virtio-net: VNDR at 0x84 (16 bytes) then 0x94: the first link is vconfig-read, the second hardware-read.
            KernelVfioPciMasks kernel = KernelVfioPciMasks.Compute(Image("qemu/vm1_06-00.0_1af4-1041_virtio-1-0-network-device.xxxx.txt"));
            Assert.Equal((0xffffu, 0xffffu), Masks(kernel, 0x84, 2));
            Assert.Equal((0x0000u, 0xffffu), Masks(kernel, 0x94, 2));
            Assert.Contains(0x94, kernel.MergedRun);
            Assert.DoesNotContain(0x84, kernel.MergedRun);
        }

        /// <summary>The differences on one device: those no allowance explains, and the reason of each explained one.</summary>
        private static (IReadOnlyList<string> Unexplained, IReadOnlyList<string> Explained) Compare(string device)
        {
            byte[] config = Image(device);
            KernelVfioPciMasks kernel = KernelVfioPciMasks.Compute(config);
            BoundConfigSpace bound = DeviceBinder.Bind(Policy.Value, config);
            Assert.Equal(kernel.Size, bound.Size);

            var unexplained = new List<string>();
            var explained = new List<string>();
            for (int offset = 0; offset < kernel.Size; offset++)
            {
                byte virt = bound.VirtMask[offset];
                byte write = bound.WriteMask[offset];
                if (virt == kernel.Virt[offset] && write == kernel.Write[offset])
                {
                    continue;
                }

                string? reason = Allowance(kernel, bound, offset, virt, write);
                if (reason == null)
                {
                    unexplained.Add(Hex(offset) + ": kernel virt " + Hex(kernel.Virt[offset]) + " write " + Hex(kernel.Write[offset])
                        + ", policy virt " + Hex(virt) + " write " + Hex(write) + " (" + bound.DominantRule(offset).Location + ")");
                }
                else
                {
                    explained.Add(reason);
                }
            }

            return (unexplained, explained);
        }

        /// <summary>Which documented allowance explains a difference at <paramref name="offset"/>, or null.</summary>
        private static string? Allowance(KernelVfioPciMasks kernel, BoundConfigSpace bound, int offset, byte virt, byte write)
        {
            KernelCapability? owner = kernel.OwnerOf(offset);

            // The second of two abutting capabilities of one type: the kernel reads its link from hardware. The
            // policy reads the chain's value (equal, unless hiding rewrote it); the write mask agrees.
            if (owner != null && kernel.MergedRun.Contains(offset) && offset - owner.Offset < (owner.Extended ? 4 : 2)
                && kernel.Virt[offset] == 0x00 && virt == 0xff && write == kernel.Write[offset])
            {
                return AbuttingLink;
            }

            // HyperTransport: the kernel sizes it 24 or 28 bytes from one bit field; the walker by its real type.
            // Bytes between the two ends belong to the capability on one side and are raw gap on the other.
            foreach (BoundCapability capability in bound.Capabilities.Where(c => !c.Info.Extended && c.Info.Id == 0x08))
            {
                KernelCapability? same = kernel.Capabilities.FirstOrDefault(k => !k.Extended && k.Offset == capability.Info.Offset);
                if (same == null)
                {
                    continue;
                }

                int low = capability.Info.Offset + Math.Min(same.Length, capability.Info.Length);
                int high = capability.Info.Offset + Math.Max(same.Length, capability.Info.Length);
                if (offset >= low && offset < high)
                {
                    return HyperTransportLength;
                }
            }

            return null;
        }

        private static (uint Virt, uint Write) Masks(KernelVfioPciMasks kernel, int offset, int width)
        {
            uint virt = 0;
            uint write = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                virt = (virt << 8) | kernel.Virt[offset + b];
                write = (write << 8) | kernel.Write[offset + b];
            }

            return (virt, write);
        }

        /// <summary>Every image of the corpus, named <c>qemu/FILE</c>, <c>pciutils/FILE SLOT</c> or <c>sriov/FILE SLOT</c>.</summary>
        private static IEnumerable<(string Name, byte[] Image)> CorpusImages()
        {
            foreach (string dump in Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt").OrderBy(f => f, StringComparer.Ordinal))
            {
                yield return ("qemu/" + Path.GetFileName(dump), ConfigDumpReader.Load(dump, null).Bytes);
            }

            foreach (string folder in new[] { "pciutils", "sriov" })
            {
                foreach (string file in Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, folder), "*.txt").OrderBy(f => f, StringComparer.Ordinal))
                {
                    foreach (ConfigSpaceImage image in ConfigDumpReader.ParseLspci(File.ReadAllText(file), file))
                    {
                        yield return (folder + "/" + Path.GetFileName(file) + " " + image.Slot, image.Bytes);
                    }
                }
            }
        }

        /// <summary>
        /// Malformed chains real devices have, built byte by byte: overlapping capabilities (the kernel's map lets the
        /// later one win, and so does the binder) and a loop (the kernel follows it until its loop bound; the walk stops).
        /// </summary>
        private static IEnumerable<(string Name, byte[] Image)> CraftedImages()
        {
            static byte[] Device(params (int Offset, byte[] Bytes)[] parts)
            {
                var config = new byte[256];
                config[0x00] = 0x34;
                config[0x01] = 0x12;
                config[0x02] = 0x78;
                config[0x03] = 0x56;
                config[0x06] = 0x10;                                            // Capabilities List
                foreach ((int offset, byte[] bytes) in parts)
                {
                    bytes.CopyTo(config, offset);
                }

                return config;
            }

            // PM at 0x40 -> MSI at 0x48 (64-bit, 14 bytes, to 0x55) -> vendor-specific at 0x50 (12 bytes) over MSI's tail.
            yield return ("crafted/vendor capability over MSI's tail", Device(
                (0x34, new byte[] { 0x40 }),
                (0x40, new byte[] { 0x01, 0x48, 0x03, 0x00 }),
                (0x48, new byte[] { 0x05, 0x50, 0x80, 0x00 }),
                (0x50, new byte[] { 0x09, 0x00, 0x0c, 0x00 })));

            // MSI at 0x40 (64-bit with mask bits, 24 bytes, to 0x57) -> PM at 0x50 inside it.
            yield return ("crafted/PM inside MSI", Device(
                (0x34, new byte[] { 0x40 }),
                (0x40, new byte[] { 0x05, 0x50, 0x80, 0x01 }),
                (0x50, new byte[] { 0x01, 0x00, 0x03, 0x00 })));

            // PM at 0x40 -> MSI at 0x50 -> back to PM.
            yield return ("crafted/looping chain", Device(
                (0x34, new byte[] { 0x40 }),
                (0x40, new byte[] { 0x01, 0x50, 0x03, 0x00 }),
                (0x50, new byte[] { 0x05, 0x40, 0x00, 0x00 })));
        }

        private static byte[] Image(string name) => CorpusImages().Concat(CraftedImages()).Single(d => d.Name == name).Image;

        private static int HeaderType(byte[] image) => image[0x0e] & 0x7f;

        private static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);
    }
}
