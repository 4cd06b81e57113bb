using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// SR-IOV virtual functions of QEMU's NVMe controller (enabled by /init through the nvme driver, bound to vfio-pci)
    /// opened through the runtime under both library policies and the NVMe device policy. A VF's own config space reads vendor and device 0xffff
    /// and its BARs 0; vfio-pci presents it as a normal function (vendor from the PF, device from the PF's SR-IOV VF
    /// Device ID, interrupt pin 0, BARs sized from the PF's VF BARs). The expectations come from the PF's sysfs config,
    /// not from the VF's VFIO region the runtime reads.
    /// </summary>
    internal static class VirtualFunctionTests
    {
        private const int SriovCapabilityId = 0x10;
        private const int SriovVfDeviceId = 0x1a;
        private const int SriovFirstVfBar = 0x24;

        private static readonly IVfioKernel Kernel = new LinuxVfioKernel();

        public static IEnumerable<GuestTest> All(GuestMachine machine)
        {
            IReadOnlyList<PciFunction> functions = machine.VirtualFunctions;
            yield return new GuestTest("sr-iov: the NVMe physical function has two virtual functions, bound to vfio-pci in their own IOMMU groups", () => VirtualFunctionsArePresent(machine));
            yield return new GuestTest("sr-iov: the secondary controllers get queue and interrupt resources and come online through the PF's admin queue", () => NvmeVirtualization.BringSecondaryControllersOnline(machine.SriovNvme));
            if (functions.Count == 0)
            {
                yield break;
            }

            PciFunction vf = functions[0];
            // Both library bases, and the device policy for QEMU's NVMe, whose match lines select the VF by the identity vfio-pci presents.
            foreach (string policy in new[] { "strict", "linux-vfio-default", "qemu-nvme" })
            {
                string name = "sr-iov " + vf.Address + " " + policy;
                yield return new GuestTest(name + ": opens through the runtime as the function vfio-pci presents (PF vendor, VF Device ID, pin 0)", () => OpensAsPresented(machine, vf, policy));
                yield return new GuestTest(name + ": BAR 0 is sized from the PF's VF BAR, mapped, and the controller's CAP and VS read through it", () => Bar0Works(machine, vf, policy));
            }

            yield return new GuestTest("sr-iov " + vf.Address + " linux-vfio-default: every config dword reads what vfio-pci's own config region reads", () => KernelRegionEqualsPolicy(vf));
        }

        private static void VirtualFunctionsArePresent(GuestMachine machine)
        {
            PciFunction pf = machine.SriovNvme;
            Check.Equal("nvme", pf.Driver ?? "(none)", "the physical function's driver");

            // The PF and its VFs as lspci -xxxx prints them, for the corpus (tests/corpus/qemu/vm3_*; run.sh's log).
            foreach (PciFunction function in new[] { pf }.Concat(machine.VirtualFunctions))
            {
                byte[] config = function.ReadConfig();
                Console.WriteLine("SRIOV-DUMP: " + function.Address.Substring(5) + " Non-Volatile memory controller: Red Hat, Inc. QEMU NVM Express Controller" + (function.IsVirtualFunction ? " (virtual function)" : string.Empty));
                for (int row = 0; row < config.Length; row += 16)
                {
                    Console.WriteLine("SRIOV-DUMP: " + row.ToString("x2", CultureInfo.InvariantCulture) + ": " + string.Join(" ", config.Skip(row).Take(16).Select(b => b.ToString("x2", CultureInfo.InvariantCulture))));
                }

                Console.WriteLine("SRIOV-DUMP:");
            }

            IReadOnlyList<PciFunction> vfs = machine.VirtualFunctions;
            Check.Equal(2, vfs.Count, "virtual functions");
            foreach (PciFunction vf in vfs)
            {
                Check.Equal(pf.Address, vf.PhysicalFunctionAddress ?? "(none)", vf.Address + "'s physical function");
                Check.Equal("vfio-pci", vf.Driver ?? "(none)", vf.Address + "'s driver");
                Check.True(vf.IommuGroup is not null && vf.IommuGroup != pf.IommuGroup, vf.Address + " shares the physical function's IOMMU group");
                byte[] own = vf.ReadConfig();
                Console.WriteLine("  " + vf.Address + " own config: vendor " + Check.Hex((uint)(own[0] | (own[1] << 8)), 2) + ", device " + Check.Hex((uint)(own[2] | (own[3] << 8)), 2)
                    + ", BAR0 " + Check.Hex(BitConverter.ToUInt32(own, 0x10), 4) + ", pin " + own[0x3d].ToString(CultureInfo.InvariantCulture));
            }
        }

        /// <summary>What vfio-pci presents of a VF, from the PF's sysfs config: (vendor, device, VF BAR 0's type bits).</summary>
        private static (uint Vendor, uint Device, uint Bar0Type) Expected(GuestMachine machine)
        {
            byte[] pf = machine.SriovNvme.ReadConfig();
            CapabilityInfo sriov = CapabilityWalker.Walk(pf).Capabilities.Single(c => c.Extended && c.Id == SriovCapabilityId);
            uint vendor = BitConverter.ToUInt16(pf, 0);
            uint device = BitConverter.ToUInt16(pf, sriov.Offset + SriovVfDeviceId);
            uint bar0Type = BitConverter.ToUInt32(pf, sriov.Offset + SriovFirstVfBar) & 0xF;
            return (vendor, device, bar0Type);
        }

        private static void OpensAsPresented(GuestMachine machine, PciFunction vf, string policy)
        {
            (uint vendor, uint device, uint _) = Expected(machine);
            using VfioDevice opened = VfioDevice.Open(vf.Address, ConfigSpaceTests.CompiledPolicy(policy), Kernel);
            Check.Equal(vendor, opened.ReadConfig(0x00, 2), "vendor ID through the firewall");
            Check.Equal(device, opened.ReadConfig(0x02, 2), "device ID through the firewall (the PF's VF Device ID)");
            Check.Equal(0u, opened.ReadConfig(0x3d, 1), "interrupt pin through the firewall");
            Check.True(opened.Binding.Capabilities.All(c => !(c.Info.Extended && c.Info.Id == SriovCapabilityId)), "a VF with an SR-IOV capability of its own");
        }

        private static void Bar0Works(GuestMachine machine, PciFunction vf, string policy)
        {
            (_, _, uint bar0Type) = Expected(machine);
            using VfioDevice opened = VfioDevice.Open(vf.Address, ConfigSpaceTests.CompiledPolicy(policy), Kernel);
            VfioBar bar0 = opened.Bar(0);
            Check.True(bar0.Size > 0, "BAR 0 has no size");
            Check.Equal(bar0Type & 0x6, (uint)(bar0.Is64Bit ? 0x4 : 0x0), "BAR 0's type (the PF's VF BAR 0 says)");

            // Sizing through the firewall reads the region's size back, in the PF's VF BAR type.
            uint saved = opened.ReadConfig(0x10, 4);
            opened.WriteConfig(0x10, 4, 0xFFFF_FFFF);
            uint sized = opened.ReadConfig(0x10, 4);
            opened.WriteConfig(0x10, 4, saved);
            Check.Equal((uint)~(bar0.Size - 1) & 0xFFFF_FFF0u, sized & 0xFFFF_FFF0u, "BAR 0 size mask");
            Check.Equal(bar0Type, sized & 0xF, "BAR 0 type bits");

            RuntimeTests.EnableMemoryAndBusMaster(opened);
            Check.Equal(BarAccessPath.Mapped, bar0.PathOf(0), "how BAR 0 is reached");
            ulong capabilities = bar0.Read(0x00, 8);
            uint version = (uint)bar0.Read(0x08, 4);
            Console.WriteLine("  " + vf.Address + " " + policy + ": CAP=0x" + capabilities.ToString("x16", CultureInfo.InvariantCulture) + " VS=" + Check.Hex(version, 4));
            Check.True(capabilities != 0 && capabilities != ulong.MaxValue, "CAP reads " + capabilities.ToString("x16", CultureInfo.InvariantCulture));
            Check.Equal(1u, version >> 16, "VS major version");
        }

        /// <summary>
        /// The kernel's own view first (the plain VFIO config region, no firewall), then the same function through the
        /// runtime under linux-vfio-default, before any write: every dword must agree.
        /// </summary>
        private static void KernelRegionEqualsPolicy(PciFunction vf)
        {
            byte[] kernel = KernelModelTests.ReadConfigRegion(vf);
            using VfioDevice opened = VfioDevice.Open(vf.Address, ConfigSpaceTests.CompiledPolicy("linux-vfio-default"), Kernel);
            var differences = new List<string>();
            for (int offset = 0; offset < Math.Min(kernel.Length, opened.Binding.Size); offset += 4)
            {
                Check.Equal(AccessStatus.Ok, opened.TryReadConfig(offset, 4, out uint seen), "read status at " + Check.Hex((uint)offset, 2));
                uint expected = BitConverter.ToUInt32(kernel, offset);

                // Command: the runtime turns on the decode bits vfio-pci leaves off at open (docs/runtime.md).
                if (offset == 0x04)
                {
                    expected |= seen & 0x3;
                }

                if (seen != expected)
                {
                    differences.Add(string.Format(CultureInfo.InvariantCulture, "0x{0:x3}: kernel 0x{1:x8}, policy 0x{2:x8}", offset, expected, seen));
                }
            }

            Check.True(differences.Count == 0, differences.Count.ToString(CultureInfo.InvariantCulture) + " dwords differ: " + string.Join("; ", differences.Take(8)));
        }
    }
}
