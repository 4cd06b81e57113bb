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
    /// policies/linux-vfio-default.vfiopolicy, compiled and bound to every type-0 QEMU device of the corpus, must give
    /// per byte the <c>virt</c> and <c>write</c> masks the kernel's vfio-pci gives that device, as computed
    /// independently by <see cref="KernelVfioPciMasks"/>. The only differences allowed are the language limits
    /// docs/linux-vfio-default.md lists, each matched exactly (offset and both masks), and each must occur.
    /// </summary>
    /// <remarks>
    /// The corpus's PCIe root port (type-1 header) is left out: <c>vfio_pci_core_register_device</c> refuses every
    /// device whose <c>hdr_type</c> is not <c>PCI_HEADER_TYPE_NORMAL</c>, so the kernel has no masks for it.
    /// </remarks>
    public sealed class LinuxVfioDefaultExactnessTests
    {
        private static readonly Lazy<PolicyModel> Policy = new Lazy<PolicyModel>(() =>
        {
            string path = Path.Combine(RepositoryPaths.Policies, "linux-vfio-default.vfiopolicy");
            CompilationResult result = PolicyCompiler.Compile(path, new FileSystemPolicySource());
            Assert.True(result.Model != null && result.Diagnostics.Count == 0, string.Join("\n", result.Diagnostics));
            return result.Model!;
        });

        public static IEnumerable<object[]> TypeZeroQemuDevices()
            => QemuDumps().Where(dump => HeaderType(dump) == 0).Select(dump => new object[] { Path.GetFileName(dump) });

        [Theory]
        [MemberData(nameof(TypeZeroQemuDevices))]
        public void Policy_masks_equal_the_kernels_byte_for_byte(string dumpFile)
        {
            byte[] config = Load(dumpFile);
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

                string difference = Hex(offset) + ": kernel virt " + Hex(kernel.Virt[offset]) + " write " + Hex(kernel.Write[offset])
                    + ", policy virt " + Hex(virt) + " write " + Hex(write) + " (" + bound.DominantRule(offset).Location + ")";
                string? limit = LanguageLimit(kernel, offset, virt, write);
                (limit == null ? unexplained : explained).Add(limit == null ? difference : difference + ": " + limit);
            }

            Assert.True(unexplained.Count == 0, dumpFile + " differs from the kernel:\n" + string.Join("\n", unexplained));
            Assert.Equal(ExpectedLimitBytes(kernel), explained.Count);
        }

        [Fact]
        public void Every_type_zero_qemu_device_is_compared_and_the_root_port_is_a_bridge_vfio_pci_refuses()
        {
            string[] compared = TypeZeroQemuDevices().Select(row => (string)row[0]).ToArray();
            Assert.Equal(5, compared.Length);
            Assert.Contains(compared, name => name.Contains("1234-11e8"));   // edu: 256 bytes, no PCI Express

            string rootPort = Assert.Single(QemuDumps(), dump => HeaderType(dump) != 0);
            Assert.Contains("pcie-root-port", rootPort);
            Assert.Equal(1, HeaderType(rootPort));
            Assert.Throws<NotSupportedException>(() => KernelVfioPciMasks.Compute(Load(Path.GetFileName(rootPort))));
        }

        [Fact]
        public void The_kernel_expectation_reproduces_the_documented_tables_on_the_e1000e()
        {
            // Values from docs/linux-vfio-default.md, which quotes the p_set* calls; the 82574L has PM at 0xc8,
            // MSI (64-bit, no mask) at 0xd0, PCI Express v1 at 0xe0, MSI-X at 0xa0, AER at 0x100, DSN at 0x140.
            KernelVfioPciMasks kernel = KernelVfioPciMasks.Compute(Load("vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt"));

            Assert.Equal((0x0400u, 0xffffu), Masks(kernel, 0x04, 2));            // COMMAND
            Assert.Equal((0x0010u, 0x0000u), Masks(kernel, 0x06, 2));            // STATUS
            Assert.Equal((0xffffffffu, 0xffffffffu), Masks(kernel, 0x10, 4));    // BAR0
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

        /// <summary>
        /// Which documented language limit explains a difference at <paramref name="offset"/>, or null. Each limit
        /// matches one exact pair of kernel and policy masks at exact offsets, so nothing else can hide behind it.
        /// </summary>
        private static string? LanguageLimit(KernelVfioPciMasks kernel, int offset, byte virt, byte write)
        {
            foreach (KernelCapability capability in kernel.Capabilities)
            {
                // Limit 1: the chain keeps every capability ID virtual; the kernel's tables (PM, VPD, MSI, PCI
                // Express, AF) leave the standard ID byte in the zero state and read it from hardware.
                if (!capability.Extended && capability.Kind == KernelCapabilityKind.Table && offset == capability.Offset
                    && kernel.Virt[offset] == 0x00 && kernel.Write[offset] == 0x00 && virt == 0xff && write == 0x00)
                {
                    return "limit 1, capability ID byte of a tabled capability";
                }

                // Limit 2 (rest): vfio_raw_config_write writes the chain link of VNDR, extended VNDR and DVSEC raw;
                // the chain keeps it read-only.
                int link = capability.Extended ? 4 : 2;
                if (capability.Kind == KernelCapabilityKind.DirectReadRawWrite && offset >= capability.Offset && offset < capability.Offset + link
                    && kernel.Virt[offset] == 0xff && kernel.Write[offset] == 0xff && virt == 0xff && write == 0x00)
                {
                    return "limit 2, raw write to a vendor-specific capability's chain link";
                }
            }

            return null;
        }

        private static int ExpectedLimitBytes(KernelVfioPciMasks kernel)
            => kernel.Capabilities.Sum(c =>
                c.Kind == KernelCapabilityKind.Table && !c.Extended ? 1
                : c.Kind == KernelCapabilityKind.DirectReadRawWrite ? (c.Extended ? 4 : 2)
                : 0);

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

        private static IEnumerable<string> QemuDumps()
            => Directory.GetFiles(Path.Combine(RepositoryPaths.Corpus, "qemu"), "*.xxxx.txt").OrderBy(f => f, StringComparer.Ordinal);

        private static byte[] Load(string dumpFile)
            => ConfigDumpReader.Load(Path.Combine(RepositoryPaths.Corpus, "qemu", dumpFile), null).Bytes;

        private static int HeaderType(string dump) => ConfigDumpReader.Load(dump, null).Bytes[0x0e] & 0x7f;

        private static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);
    }
}
