using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Policies;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// Config space of the real devices (kernel's sysfs view) against the compiled policies: identity, the chain
    /// walk, policy selection, what the firewall reads, and that writes to denied and virtualized bits never reach
    /// the device.
    /// </summary>
    internal static class ConfigSpaceTests
    {
        /// <summary>The capabilities QEMU 7.2 gives each model, in chain order (docs/integration-testing.md).</summary>
        private static readonly Dictionary<int, string[]> ExpectedCapabilities = new Dictionary<int, string[]>
        {
            [GuestMachine.EduDevice] = new[] { "MSI" },
            [GuestMachine.E1000eDevice] = new[] { "Power Management", "MSI", "Express", "MSI-X", "Advanced Error Reporting", "Device Serial Number" },
            [GuestMachine.NvmeDevice] = new[] { "MSI-X", "Express", "Power Management" },
        };

        public static IEnumerable<GuestTest> All(GuestMachine machine)
        {
            List<(PciFunction Function, string DevicePolicy)> devices;
            GuestTestFailure? missing = null;
            try
            {
                devices = machine.DevicesUnderTest().ToList();
            }
            catch (GuestTestFailure failure)
            {
                devices = new List<(PciFunction Function, string DevicePolicy)>();
                missing = failure;
            }

            if (missing is not null)
            {
                yield return new GuestTest("machine: the devices under test exist", () => throw missing);
                yield break;
            }

            yield return new GuestTest("machine: the devices under test are bound to vfio-pci, each alone in an IOMMU group", () => DevicesAreBound(machine));
            foreach ((PciFunction function, string devicePolicy) in devices)
            {
                string name = function.Address + " " + devicePolicy;
                yield return new GuestTest(name + ": identity from config space equals the kernel's sysfs attributes", () => IdentityMatchesKernel(function));
                yield return new GuestTest(name + ": the chain walk agrees with the kernel and with QEMU's layout", () => ChainWalkMatchesKernel(function));
                yield return new GuestTest(name + ": the compiled library selects " + devicePolicy, () => LibrarySelects(function, devicePolicy));
                yield return new GuestTest(name + ": the kernel offers a reset exactly when the function sits behind a root port", () => ResetOfferedBehindRootPortOnly(function));
                foreach (string policy in new[] { "strict", "linux-vfio-default", devicePolicy })
                {
                    yield return new GuestTest(name + ": reads through " + policy + " are what the policy says of sysfs config", () => ReadsMatchPolicy(function, policy));
                    yield return new GuestTest(name + ": writes through " + policy + " to denied and virtualized bits leave the device unchanged", () => WritesDoNotReachDevice(function, policy));
                    yield return new GuestTest(name + ": a write through " + policy + " to Command's passthrough Bus Master bit reaches the device", () => PassthroughWriteReachesDevice(function, policy));
                }
            }
        }

        private static void DevicesAreBound(GuestMachine machine)
        {
            var groups = new HashSet<int>();
            foreach ((PciFunction function, _) in machine.DevicesUnderTest())
            {
                Check.Equal("vfio-pci", function.Driver, function.Address + " driver");
                Check.True(function.IommuGroup.HasValue, function.Address + " has no IOMMU group (is intel_iommu=on?)");
                int group = function.IommuGroup!.Value;
                Check.True(groups.Add(group), function.Address + " shares IOMMU group " + group.ToString(CultureInfo.InvariantCulture) + " with another device under test");
                string[] members = Directory.GetFileSystemEntries("/sys/kernel/iommu_groups/" + group.ToString(CultureInfo.InvariantCulture) + "/devices");
                Check.Equal(1, members.Length, "devices in IOMMU group " + group.ToString(CultureInfo.InvariantCulture) + " of " + function.Address);
                Check.True(File.Exists("/dev/vfio/" + group.ToString(CultureInfo.InvariantCulture)), "/dev/vfio/" + group.ToString(CultureInfo.InvariantCulture) + " is missing for " + function.Address);
            }

            Check.True(File.Exists("/dev/vfio/vfio"), "/dev/vfio/vfio (the container) is missing");
        }

        private static void IdentityMatchesKernel(PciFunction function)
        {
            byte[] config = function.ReadConfig();
            DeviceIdentity identity = DeviceIdentityReader.Read(config);
            Check.Equal(function.ReadHexAttribute("vendor"), identity.Vendor, "vendor");
            Check.Equal(function.ReadHexAttribute("device"), identity.Device, "device");
            Check.Equal(function.ReadHexAttribute("subsystem_vendor"), identity.SubsystemVendor, "subsystem vendor");
            Check.Equal(function.ReadHexAttribute("subsystem_device"), identity.Subsystem, "subsystem");
            Check.Equal(function.ReadHexAttribute("class"), identity.ClassCode, "class code");
            Check.Equal(function.ReadHexAttribute("revision"), identity.Revision, "revision");
        }

        private static void ChainWalkMatchesKernel(PciFunction function)
        {
            byte[] config = function.ReadConfig();
            ChainWalk walk = CapabilityWalker.Walk(config);
            Check.True(walk.Warnings.Count == 0, "chain walk warnings: " + string.Join("; ", walk.Warnings));
            string[] names = walk.Capabilities.Select(c => c.Name).ToArray();
            string[] expected = ExpectedCapabilities[function.Device];
            Check.Equal(string.Join(", ", expected), string.Join(", ", names), "capabilities in chain order");

            // The kernel's own walk (pci_find_capability at enumeration) decides these sysfs views: link attributes
            // exist only for functions with a PCI Express capability, AER statistics only with an AER capability,
            // and the config file is 4096 bytes only when the kernel found extended config space.
            bool express = walk.Capabilities.Any(c => !c.Extended && c.Id == 0x10);
            Check.Equal(express, function.HasAttribute("current_link_speed"), "PCI Express capability found (kernel: current_link_speed exists)");
            bool aer = walk.Capabilities.Any(c => c.Extended && c.Id == 0x0001);
            Check.Equal(aer, function.HasAttribute("aer_dev_correctable"), "AER capability found (kernel: aer_dev_correctable exists)");
            if (walk.Capabilities.Any(c => c.Extended))
            {
                Check.Equal(4096, config.Length, "config size with extended capabilities");
            }

            foreach (CapabilityInfo capability in walk.Capabilities)
            {
                Check.True(capability.Offset + capability.Length <= config.Length, capability.Name + " at " + Check.Hex((uint)capability.Offset, 2) + " runs past config space");
            }
        }

        private static void LibrarySelects(PciFunction function, string devicePolicy)
        {
            DeviceIdentity identity = DeviceIdentityReader.Read(function.ReadConfig());
            Check.Equal(devicePolicy, PolicyRegistry.Find(identity, PolicyLibrary.All).Name, "policy selected for " + function.Address);
        }

        /// <summary>
        /// Every byte read through the compiled handler and through the reference interpreter equals the policy's
        /// promise over the hardware: passthrough bits are sysfs's, virtualized and denied bits the shadow's initial
        /// value (hardware's at open where the policy says "init hw", else the reset value).
        /// </summary>
        private static void ReadsMatchPolicy(PciFunction function, string policyName)
        {
            ICompiledPolicy policy = CompiledPolicy(policyName);
            using var hardware = new SysfsConfigHardware(function);
            byte[] before = function.ReadConfig();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, before);
            IConfigSpaceFirewall compiled = policy.Open(bound, hardware, new RecordingAuditSink());
            var interpreter = new PolicyInterpreter(bound, hardware, new RecordingAuditSink());
            byte[] now = function.ReadConfig();
            int size = bound.Size;
            for (int offset = 0; offset < size; offset += 4)
            {
                uint expected = 0;
                for (int i = 0; i < 4; i++)
                {
                    expected |= (uint)Promised(bound, before, now, offset + i) << (8 * i);
                }

                Check.Equal(AccessStatus.Ok, compiled.Read(offset, 4, out uint fromCompiled), "compiled read status at " + Check.Hex((uint)offset, 2));
                Check.Equal(AccessStatus.Ok, interpreter.Read(offset, 4, out uint fromInterpreter), "interpreter read status at " + Check.Hex((uint)offset, 2));
                Check.Equal(Check.Hex(expected, 4), Check.Hex(fromCompiled, 4), policyName + " dword at " + Check.Hex((uint)offset, 2) + " (compiled)");
                Check.Equal(Check.Hex(expected, 4), Check.Hex(fromInterpreter, 4), policyName + " dword at " + Check.Hex((uint)offset, 2) + " (interpreter)");
            }

            // Unaligned and narrow reads assemble the same bytes.
            for (int offset = 0; offset < Math.Min(size, 0x100); offset++)
            {
                Check.Equal(AccessStatus.Ok, compiled.Read(offset, 1, out uint single), "byte read status at " + Check.Hex((uint)offset, 2));
                Check.Equal(Check.Hex(Promised(bound, before, now, offset), 1), Check.Hex(single, 1), policyName + " byte at " + Check.Hex((uint)offset, 2));
            }
        }

        /// <summary>
        /// Writes every dword of config space through the compiled handler, keeping passthrough bits at what the
        /// firewall read (so the device sees no new value there) and flipping every virtualized and denied bit; then
        /// sysfs must show the virtualized and denied bits exactly as before.
        /// </summary>
        private static void WritesDoNotReachDevice(PciFunction function, string policyName)
        {
            ICompiledPolicy policy = CompiledPolicy(policyName);
            using var hardware = new SysfsConfigHardware(function);
            byte[] before = function.ReadConfig();
            byte[] stable = function.ReadConfig();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, before);
            var audit = new RecordingAuditSink();
            IConfigSpaceFirewall firewall = policy.Open(bound, hardware, audit);
            int size = bound.Size;
            for (int offset = 0; offset < size; offset += 4)
            {
                uint virt = Dword(bound.VirtMask, offset);
                if (virt == 0)
                {
                    continue;
                }

                Check.Equal(AccessStatus.Ok, firewall.Read(offset, 4, out uint seen), "read status at " + Check.Hex((uint)offset, 2));
                Check.Equal(AccessStatus.Ok, firewall.Write(offset, 4, seen ^ virt), "write status at " + Check.Hex((uint)offset, 2));
            }

            byte[] after = function.ReadConfig();
            for (int offset = 0; offset < size; offset++)
            {
                // Bits the device changes on its own between two back-to-back reads prove nothing either way.
                int watched = bound.VirtMask[offset] & ~(before[offset] ^ stable[offset]);
                if (((before[offset] ^ after[offset]) & watched) != 0)
                {
                    throw new GuestTestFailure(string.Format(
                        CultureInfo.InvariantCulture,
                        "{0}: the device's byte at 0x{1:x3} changed from 0x{2:x2} to 0x{3:x2} in bits 0x{4:x2}, which the policy virtualizes or denies",
                        policyName,
                        offset,
                        before[offset],
                        after[offset],
                        (before[offset] ^ after[offset]) & watched));
                }
            }
        }

        /// <summary>
        /// The kernel lists a function's reset methods in sysfs <c>reset_method</c> (absent when it has none): QEMU's
        /// models behind a root port get a secondary bus reset, the edu on the root bus has no FLR, PM reset or bus
        /// to reset, which is what VFIO_DEVICE_RESET's EINVAL on that function comes from.
        /// </summary>
        private static void ResetOfferedBehindRootPortOnly(PciFunction function)
        {
            string path = Path.Combine(function.SysfsPath, "reset_method");
            string methods = File.Exists(path) ? File.ReadAllText(path).Trim() : string.Empty;
            if (function.BehindRootPort)
            {
                Check.True(methods.Split(' ').Contains("bus"), function.Address + " behind a root port offers reset methods '" + methods + "', expected a bus reset among them");
            }
            else
            {
                Check.Equal(string.Empty, methods, function.Address + " on the root bus: reset methods");
            }
        }

        /// <summary>
        /// The control for <see cref="WritesDoNotReachDevice"/>: the same sysfs view does see a write the policy passes
        /// through. Every policy here passes Command's Bus Master bit through (a driver needs it for DMA and MSI).
        /// </summary>
        private static void PassthroughWriteReachesDevice(PciFunction function, string policyName)
        {
            const int command = 0x04;
            const uint busMaster = 0x4;
            ICompiledPolicy policy = CompiledPolicy(policyName);
            using var hardware = new SysfsConfigHardware(function);
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, function.ReadConfig());
            Check.True((bound.PassthroughWritable[command] & busMaster) != 0, policyName + " does not pass Command's Bus Master bit through");
            IConfigSpaceFirewall firewall = policy.Open(bound, hardware, new RecordingAuditSink());
            Check.Equal(AccessStatus.Ok, firewall.Read(command, 2, out uint original), "Command read status");
            try
            {
                Check.Equal(AccessStatus.Ok, firewall.Write(command, 2, original ^ busMaster), "Command write status");
                Check.True(hardware.TryRead(command, 2, out uint device), "sysfs read of Command failed");
                Check.Equal((original ^ busMaster) & busMaster, device & busMaster, "the device's Bus Master bit after the write");
            }
            finally
            {
                firewall.Write(command, 2, original);
            }

            Check.True(hardware.TryRead(command, 2, out uint restored), "sysfs read of Command failed");
            Check.Equal(original & busMaster, restored & busMaster, "the device's Bus Master bit after restoring it");
        }

        private static byte Promised(BoundConfigSpace bound, byte[] atOpen, byte[] now, int offset)
        {
            int virt = bound.VirtMask[offset];
            int fromHardwareAtOpen = bound.InitFromHardware[offset];
            int shadow = (atOpen[offset] & fromHardwareAtOpen) | (bound.ResetValue[offset] & ~fromHardwareAtOpen);
            return (byte)((now[offset] & ~virt) | (shadow & virt));
        }

        private static uint Dword(ReadOnlySpan<byte> bytes, int offset) =>
            (uint)(bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24));

        internal static ICompiledPolicy CompiledPolicy(string name)
        {
            ICompiledPolicy? policy = PolicyLibrary.All.FirstOrDefault(p => p.Name == name);
            return policy ?? throw new GuestTestFailure("the compiled policy library has no policy \"" + name + "\"");
        }
    }
}
