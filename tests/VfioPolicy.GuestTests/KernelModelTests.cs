using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// linux-vfio-default claims to reproduce vfio-pci's config-space model bit for bit. Here the claim meets the
    /// kernel: a user of the plain VFIO config region (the kernel's own firewall) and the policy executed over the raw
    /// sysfs config must read the same value in every dword of a freshly opened device.
    /// </summary>
    internal static class KernelModelTests
    {
        private static readonly IVfioKernel Kernel = new LinuxVfioKernel();

        public static IEnumerable<GuestTest> All(GuestMachine machine)
        {
            List<(PciFunction Function, string DevicePolicy)> devices;
            try
            {
                devices = machine.DevicesUnderTest().ToList();
            }
            catch (GuestTestFailure)
            {
                yield break;
            }

            foreach ((PciFunction function, _) in devices)
            {
                yield return new GuestTest(
                    "kernel " + function.Address + ": vfio-pci's config region reads what linux-vfio-default reads over sysfs",
                    () => KernelReadsEqualPolicy(function));
            }
        }

        private static void KernelReadsEqualPolicy(PciFunction function)
        {
            // Compared while the device is open: vfio-pci puts an idle device back into D3hot when it closes.
            WhileOpen(function, (kernelView, regionSize) =>
            {
                ICompiledPolicy policy = ConfigSpaceTests.CompiledPolicy("linux-vfio-default");
                using var sysfs = new SysfsConfigHardware(function);
                BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, function.ReadConfig());
                var model = new PolicyInterpreter(bound, sysfs, new RecordingAuditSink());
                int size = Math.Min(bound.Size, regionSize);
                var differences = new List<string>();
                for (int offset = 0; offset < size; offset += 4)
                {
                    Check.True(kernelView.TryRead(offset, 4, out uint fromKernel), "pread of the config region at " + Check.Hex((uint)offset, 2) + " failed: " + kernelView.LastError?.Message);
                    Check.Equal(AccessStatus.Ok, model.Read(offset, 4, out uint fromPolicy), "policy read status at " + Check.Hex((uint)offset, 2));
                    if (fromKernel != fromPolicy)
                    {
                        differences.Add(string.Format(
                            CultureInfo.InvariantCulture,
                            "0x{0:x3}: kernel 0x{1:x8}, policy 0x{2:x8} (bits 0x{3:x8}; {4})",
                            offset,
                            fromKernel,
                            fromPolicy,
                            fromKernel ^ fromPolicy,
                            bound.DominantRule(offset + LowestDifferingByte(fromKernel ^ fromPolicy))));
                    }
                }

                Check.True(differences.Count == 0, differences.Count.ToString(CultureInfo.InvariantCulture) + " dwords differ: " + string.Join("; ", differences.Take(8)));
                return 0;
            });
        }

        /// <summary>
        /// Opens the device through the legacy container/group sequence of the runtime's kernel seam, without the
        /// runtime's firewall (what any VFIO user, QEMU say, sees), and hands <paramref name="use"/> its config region and the region's size.
        /// </summary>
        internal static T WhileOpen<T>(PciFunction function, Func<VfioConfigHardware, int, T> use)
        {
            int group = function.IommuGroup ?? throw new GuestTestFailure(function.Address + " has no IOMMU group");
            int container = Kernel.Open("/dev/vfio/vfio");
            int groupFd = -1;
            int deviceFd = -1;
            try
            {
                groupFd = Kernel.Open("/dev/vfio/" + group.ToString(CultureInfo.InvariantCulture));
                Check.True((Kernel.GetGroupStatus(groupFd) & VfioGroupFlags.Viable) != 0, "group " + group.ToString(CultureInfo.InvariantCulture) + " is not viable");
                Kernel.SetContainer(groupFd, container);
                Kernel.SetIommu(container, VfioConstants.Type1v2Iommu);
                deviceFd = Kernel.GetDeviceFd(groupFd, function.Address);
                VfioRegionInfo region = Kernel.GetRegionInfo(deviceFd, VfioConstants.ConfigRegionIndex);
                return use(new VfioConfigHardware(Kernel, deviceFd, region.Offset, (int)region.Size), (int)region.Size);
            }
            finally
            {
                if (deviceFd >= 0)
                {
                    Kernel.Close(deviceFd);
                }

                if (groupFd >= 0)
                {
                    Kernel.Close(groupFd);
                }

                Kernel.Close(container);
            }
        }

        /// <summary>The whole config region of <paramref name="function"/>, read through <see cref="WhileOpen{T}"/>.</summary>
        internal static byte[] ReadConfigRegion(PciFunction function) => WhileOpen(function, (view, size) =>
        {
            var bytes = new byte[size];
            for (int offset = 0; offset < bytes.Length; offset += 4)
            {
                Check.True(view.TryRead(offset, 4, out uint value), "pread of the config region at " + Check.Hex((uint)offset, 2) + " failed: " + view.LastError?.Message);
                BitConverter.GetBytes(value).CopyTo(bytes, offset);
            }

            return bytes;
        });

        private static int LowestDifferingByte(uint difference)
        {
            for (int i = 0; i < 4; i++)
            {
                if (((difference >> (8 * i)) & 0xff) != 0)
                {
                    return i;
                }
            }

            return 0;
        }
    }
}
