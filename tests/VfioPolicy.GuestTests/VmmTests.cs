using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// What a VMM needs of the runtime, against the kernel's vfio-pci: the open path and its fallback, DMA through the
    /// emulated IOMMU with edu's engine (and a DMA the IOMMU stops), VMM-owned interrupts with the VMM's own eventfds,
    /// route events, two functions of one IOMMU group in one container with their bus reset, and an option ROM.
    /// </summary>
    internal static class VmmTests
    {
        private const ulong SourceIova = 0x100000;
        private const ulong TargetIova = 0x200000;
        private const ulong UnmappedIova = 0x300000;
        private const int Pattern = 256;

        private static readonly IVfioKernel Kernel = new LinuxVfioKernel();

        public static IEnumerable<GuestTest> All(GuestMachine machine)
        {
            PciFunction edu;
            try
            {
                edu = machine.Edu;
            }
            catch (GuestTestFailure)
            {
                yield break; // ConfigSpaceTests reports the missing device
            }

            string name = "vmm " + edu.Address;
            yield return new GuestTest(name + ": this kernel has no iommufd, so the container path is taken and the reason says so", () => OpenPathFallsBack(edu));
            yield return new GuestTest(name + ": forcing iommufd on this kernel is UnsupportedKernel and leaves nothing open", () => ForcedIommufdIsRefused(edu));
            yield return new GuestTest(name + ": the IOMMU reports its page sizes and IOVA ranges without the MSI window; a mapping there is DmaOutOfRange", () => IommuInfoExcludesMsiWindow(edu));
            yield return new GuestTest(name + ": edu's DMA engine copies a pattern from one mapped buffer into the device and back into another", () => DmaRoundTrip(edu));
            yield return new GuestTest(name + ": a DMA to an unmapped IOVA leaves memory unchanged and the guest kernel logs the IOMMU fault", () => DmaToUnmappedIovaFaults(edu));
            yield return new GuestTest(name + ": VMM-owned MSI reaches the VMM's own eventfd three times; the consumer's MSI registers program nothing", () => VmmOwnedMsi(edu));
            yield return new GuestTest(name + ": VMM-owned INTx fires, stays masked, and fires again once the VMM signals its resample eventfd", () => VmmOwnedIntxWithResample(edu));
            yield return new GuestTest(name + ": runtime-owned MSI raises a route event with the consumer's address and data", () => RouteEventOnMsiEnable(edu));

            IReadOnlyList<PciFunction> pair;
            string? pairProblem = null;
            try
            {
                pair = machine.BridgedEdus;
            }
            catch (GuestTestFailure failure)
            {
                pair = Array.Empty<PciFunction>();
                pairProblem = failure.Message;
            }

            if (pairProblem is not null)
            {
                yield return new GuestTest("vmm group: the two edus behind the PCIe-to-PCI bridge", () => throw new GuestTestFailure(pairProblem));
            }
            else
            {
                string group = "vmm group " + pair[0].Address + " + " + pair[1].Address;
                yield return new GuestTest(group + ": one IOMMU group; the second device opens through the group the container holds, and a second container cannot", () => PairSharesGroup(pair));
                yield return new GuestTest(group + ": one mapping serves both devices' DMA", () => PairSharesMappings(pair));
                yield return new GuestTest(group + ": neither has a reset of its own; Reset() bus-resets both and both work after", () => PairHotReset(pair));
                yield return new GuestTest(group + ": closing both closes the group, which a new container can open again", () => PairClosesGroup(pair));
            }

            PciFunction? rootBusEdu = null;
            try
            {
                rootBusEdu = machine.EduOnRootBus;
            }
            catch (GuestTestFailure)
            {
                // reported by ConfigSpaceTests
            }

            if (rootBusEdu is not null)
            {
                yield return new GuestTest("vmm " + rootBusEdu.Address + ": the option ROM reads through the ROM region exactly as the file QEMU was given", () => RomReadsTheFile(rootBusEdu));
            }
        }

        private static VfioDevice Open(PciFunction function, VfioDeviceOptions? options = null) =>
            VfioDevice.Open(function.Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"), Kernel, options);

        private static void OpenPathFallsBack(PciFunction edu)
        {
            Check.True(!File.Exists("/dev/iommu"), "/dev/iommu exists: this test expects a kernel without CONFIG_IOMMUFD (Debian's)");
            // Linux 6.1 already lists the device under sysfs vfio-dev/, but the character device /dev/vfio/devices/vfioN
            // came with CONFIG_VFIO_DEVICE_CDEV (6.6): the runtime must look for the node, not the sysfs entry.
            Check.True(!Directory.Exists("/dev/vfio/devices"), "/dev/vfio/devices exists: this test expects a kernel without CONFIG_VFIO_DEVICE_CDEV");
            using VfioDevice device = Open(edu);
            Check.Equal(VfioOpenPath.Container, device.OpenPath, "open path");
            string reason = device.Container.OpenPathReason;
            Console.WriteLine("  open path: " + reason);
            Check.True(reason.Contains("/dev/iommu does not exist", StringComparison.Ordinal) && reason.Contains("CONFIG_IOMMUFD", StringComparison.Ordinal), "the reason does not name the missing /dev/iommu: " + reason);
            Check.Equal("0x010000ed", Check.Hex((uint)EnabledBar0(device).Read(EduRegisters.Identification, 4), 4), "edu identification through the container path");
        }

        private static void ForcedIommufdIsRefused(PciFunction edu)
        {
            var options = new VfioDeviceOptions { Container = new VfioContainerOptions { OpenPath = VfioOpenPath.Iommufd } };
            try
            {
                using VfioDevice device = Open(edu, options);
            }
            catch (VfioException error)
            {
                Check.Equal(VfioErrorKind.UnsupportedKernel, error.Kind, "error kind (" + error.Message + ")");
                Check.True(error.Message.Contains("CONFIG_IOMMUFD", StringComparison.Ordinal), "the message does not say what is missing: " + error.Message);

                // Nothing stayed open: the group opens again at once.
                using VfioDevice again = Open(edu);
                return;
            }

            throw new GuestTestFailure("opening through iommufd succeeded on a kernel without it");
        }

        private static void IommuInfoExcludesMsiWindow(PciFunction edu)
        {
            using VfioContainer container = VfioContainer.Create(Kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            VfioIommuInfo info = container.IommuInfo ?? throw new GuestTestFailure("no IOMMU info with a device open");
            Console.WriteLine("  IOMMU: page sizes 0x" + info.PageSizes.ToString("x", CultureInfo.InvariantCulture) + ", ranges " + string.Join(" ", info.IovaRanges) + ", mappings available " + info.DmaMappingLimit);
            Check.True((info.PageSizes & 0x1000) != 0, "4 KiB pages are not among the IOMMU's page sizes");
            Check.True(info.IovaRanges.Any(r => r.Contains(SourceIova, 0x1000)), "no IOVA range holds 0x100000");
            Check.True(!info.IovaRanges.Any(r => r.Contains(0xfee00000, 0x1000)), "an IOVA range includes the MSI window 0xfee00000");
            Check.True(info.DmaMappingLimit is > 0, "no DMA mapping limit reported");
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(0x1000);
            try
            {
                container.MapDma(0xfee00000, buffer, VfioDmaAccess.ReadWrite);
            }
            catch (VfioException error)
            {
                Check.Equal(VfioErrorKind.DmaOutOfRange, error.Kind, "error kind of a mapping in the MSI window (" + error.Message + ")");
                Check.Equal(0, container.DmaMappings.Count, "mappings after the refused one");
                return;
            }

            throw new GuestTestFailure("a mapping in the MSI window was accepted");
        }

        private static void DmaRoundTrip(PciFunction edu)
        {
            using VfioContainer container = VfioContainer.Create(Kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            VfioBar bar0 = EnabledBar0(device);
            using VfioDmaBuffer source = container.AllocateDmaBuffer(0x1000);
            using VfioDmaBuffer target = container.AllocateDmaBuffer(0x1000, shareable: true);
            byte[] pattern = PatternBytes(11);
            source.Write(0, pattern);
            target.Write(0, Enumerable.Repeat((byte)0xEE, 0x1000).ToArray());
            using VfioDmaMapping read = container.MapDma(SourceIova, source, VfioDmaAccess.Read);
            using VfioDmaMapping write = container.MapDma(TargetIova, target, VfioDmaAccess.Write);

            EduDma(bar0, SourceIova, EduRegisters.DmaBuffer, toHost: false);
            EduDma(bar0, EduRegisters.DmaBuffer, TargetIova, toHost: true);

            Check.True(target.ToArray(0, Pattern).SequenceEqual(pattern), "the target buffer does not hold the pattern after the round trip through edu: " + Convert.ToHexString(target.ToArray(0, 16)) + "...");
            Check.Equal(0xEE, (int)target.ToArray(Pattern, 1)[0], "the byte after the transfer");
            Check.True(target.Fd >= 0, "a shareable buffer has no memfd");
        }

        private static void DmaToUnmappedIovaFaults(PciFunction edu)
        {
            using VfioContainer container = VfioContainer.Create(Kernel);
            using VfioDevice device = container.OpenDevice(edu.Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            VfioBar bar0 = EnabledBar0(device);
            using VfioDmaBuffer source = container.AllocateDmaBuffer(0x1000);
            using VfioDmaBuffer target = container.AllocateDmaBuffer(0x1000);
            source.Write(0, PatternBytes(29));
            byte[] untouched = Enumerable.Repeat((byte)0xEE, 0x1000).ToArray();
            target.Write(0, untouched);
            using VfioDmaMapping read = container.MapDma(SourceIova, source, VfioDmaAccess.Read);
            using VfioDmaMapping write = container.MapDma(TargetIova, target, VfioDmaAccess.Write);
            EduDma(bar0, SourceIova, EduRegisters.DmaBuffer, toHost: false);
            var fault = new Regex(@"DMAR:.*\[" + Regex.Escape(edu.Address.Substring(5)) + @"\].*fault addr (0x)?0*" + UnmappedIova.ToString("x", CultureInfo.InvariantCulture) + @"\b", RegexOptions.IgnoreCase);
            int before = KernelLog().Count(line => fault.IsMatch(line));

            EduDma(bar0, EduRegisters.DmaBuffer, UnmappedIova, toHost: true);

            Check.True(target.ToArray(0, 0x1000).SequenceEqual(untouched), "a DMA to unmapped IOVA 0x300000 changed the mapped buffer at 0x200000");
            string[] log = Array.Empty<string>();
            var clock = Stopwatch.StartNew();
            while (clock.ElapsedMilliseconds < 5000)
            {
                log = KernelLog();
                if (log.Count(line => fault.IsMatch(line)) > before)
                {
                    Console.WriteLine("  " + log.Last(line => fault.IsMatch(line)).Trim());
                    return;
                }

                Thread.Sleep(50);
            }

            throw new GuestTestFailure("the guest kernel logged no IOMMU fault for IOVA 0x300000 within 5 s; its last DMAR lines: " + string.Join(" | ", log.Where(l => l.Contains("DMAR", StringComparison.Ordinal)).TakeLast(3)));
        }

        private static void VmmOwnedMsi(PciFunction edu)
        {
            int eventFd = Kernel.CreateEventFd();
            try
            {
                using VfioDevice device = Open(edu, new VfioDeviceOptions { Interrupts = VfioInterruptOwner.Vmm });
                VfioBar bar0 = EnabledBar0(device);
                int msi = RuntimeTests.Capability(device, 0x05, "MSI");

                // The guest programs MSI in config space as it would under QEMU: virtual, and nothing reaches VFIO.
                device.WriteConfig(msi + 4, 4, 0xfee00000);
                device.WriteConfig(msi + 2, 2, device.ReadConfig(msi + 2, 2) | 1);
                Check.Equal(VfioInterruptMode.None, device.InterruptMode, "interrupt mode after the consumer enabled MSI with VMM-owned interrupts");
                Check.Equal(1u, device.ReadConfig(msi + 2, 2) & 1, "the consumer's MSI enable read back");

                device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { eventFd }));
                Check.Equal(VfioInterruptMode.Msi, device.InterruptMode, "interrupt mode after the VMM's SET_IRQS");
                for (int round = 1; round <= 3; round++)
                {
                    bar0.Write(EduRegisters.RaiseInterrupt, 4, 1);
                    Check.True(WaitFd(eventFd, RuntimeTests.InterruptWaitMilliseconds), "MSI " + round.ToString(CultureInfo.InvariantCulture) + " did not reach the VMM's eventfd");
                    bar0.Write(EduRegisters.AcknowledgeInterrupt, 4, 1);
                }

                device.SetIrqs(VfioIrqSet.Disable(VfioConstants.MsiIrqIndex));
                Check.Equal(VfioInterruptMode.None, device.InterruptMode, "interrupt mode after the VMM disabled MSI");
            }
            finally
            {
                Kernel.Close(eventFd);
            }
        }

        private static void VmmOwnedIntxWithResample(PciFunction edu)
        {
            int trigger = Kernel.CreateEventFd();
            int resample = Kernel.CreateEventFd();
            try
            {
                using VfioDevice device = Open(edu, new VfioDeviceOptions { Interrupts = VfioInterruptOwner.Vmm });
                VfioBar bar0 = EnabledBar0(device);
                device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.IntxIrqIndex, 0, new[] { trigger }));
                device.SetIrqs(new VfioIrqSet(VfioConstants.IntxIrqIndex, VfioIrqAction.Unmask, 0, 1, new[] { resample }));

                bar0.Write(EduRegisters.RaiseInterrupt, 4, 1);
                Check.True(WaitFd(trigger, RuntimeTests.InterruptWaitMilliseconds), "the first INTx did not reach the VMM's eventfd");
                bar0.Write(EduRegisters.AcknowledgeInterrupt, 4, 1);
                bar0.Write(EduRegisters.RaiseInterrupt, 4, 1);
                Check.True(!WaitFd(trigger, 300), "INTx fired again before the VMM resampled (vfio-pci masks the line after each interrupt)");
                bar0.Write(EduRegisters.AcknowledgeInterrupt, 4, 1);

                Kernel.WriteEventFd(resample, 1); // what KVM's resampler does after the guest's EOI
                Thread.Sleep(100); // the kernel unmasks from a work item
                bar0.Write(EduRegisters.RaiseInterrupt, 4, 1);
                Check.True(WaitFd(trigger, RuntimeTests.InterruptWaitMilliseconds), "INTx did not fire after the resample eventfd unmasked it");
                bar0.Write(EduRegisters.AcknowledgeInterrupt, 4, 1);
            }
            finally
            {
                Kernel.Close(trigger);
                Kernel.Close(resample);
            }
        }

        private static void RouteEventOnMsiEnable(PciFunction edu)
        {
            using VfioDevice device = Open(edu);
            var routes = new List<VfioVectorRoute>();
            device.VectorRouteChanged += (_, route) => routes.Add(route);
            int msi = RuntimeTests.Capability(device, 0x05, "MSI");
            bool is64 = (device.ReadConfig(msi + 2, 2) & 0x80) != 0;
            device.WriteConfig(msi + 4, 4, 0xfee01000);
            device.WriteConfig(msi + (is64 ? 0xc : 0x8), 2, 0x4321);
            device.WriteConfig(msi + 2, 2, device.ReadConfig(msi + 2, 2) | 1);

            Check.Equal(1, routes.Count, "route events after enabling MSI");
            Check.Equal(new VfioVectorRoute(VfioConstants.MsiIrqIndex, 0, 0xfee01000, 0x4321, true), routes[0], "the route");
        }

        private static void PairSharesGroup(IReadOnlyList<PciFunction> pair)
        {
            Check.True(pair[0].IommuGroup is not null && pair[0].IommuGroup == pair[1].IommuGroup, "the bridged edus are not in one IOMMU group: " + pair[0].IommuGroup + " and " + pair[1].IommuGroup);
            using VfioContainer container = VfioContainer.Create(Kernel);
            using VfioDevice first = container.OpenDevice(pair[0].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            try
            {
                using VfioDevice elsewhere = Open(pair[1]);
                throw new GuestTestFailure("a second container opened a device of a group the first container holds");
            }
            catch (VfioException error)
            {
                Check.Equal(VfioErrorKind.GroupInUse, error.Kind, "opening the sibling in its own container (" + error.Message + ")");
            }

            using VfioDevice second = container.OpenDevice(pair[1].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            Check.Equal(first.IommuGroup, second.IommuGroup, "group of the two devices");
            foreach (VfioDevice device in new[] { first, second })
            {
                Check.Equal("0x010000ed", Check.Hex((uint)EnabledBar0(device).Read(EduRegisters.Identification, 4), 4), device.Address + " identification");
            }
        }

        private static void PairSharesMappings(IReadOnlyList<PciFunction> pair)
        {
            using VfioContainer container = VfioContainer.Create(Kernel);
            using VfioDevice first = container.OpenDevice(pair[0].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            using VfioDevice second = container.OpenDevice(pair[1].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            using VfioDmaBuffer source = container.AllocateDmaBuffer(0x1000);
            using VfioDmaBuffer target = container.AllocateDmaBuffer(0x1000);
            byte[] pattern = PatternBytes(53);
            source.Write(0, pattern);
            using VfioDmaMapping read = container.MapDma(SourceIova, source, VfioDmaAccess.Read);
            using VfioDmaMapping write = container.MapDma(TargetIova, target, VfioDmaAccess.Write);

            VfioBar bar0 = EnabledBar0(first);
            VfioBar other = EnabledBar0(second);
            EduDma(bar0, SourceIova, EduRegisters.DmaBuffer, toHost: false);
            EduDma(other, SourceIova, EduRegisters.DmaBuffer, toHost: false);
            EduDma(bar0, EduRegisters.DmaBuffer, TargetIova, toHost: true);
            EduDma(other, EduRegisters.DmaBuffer, TargetIova + 0x800, toHost: true);

            Check.True(target.ToArray(0, Pattern).SequenceEqual(pattern), pair[0].Address + "'s copy is not the pattern");
            Check.True(target.ToArray(0x800, Pattern).SequenceEqual(pattern), pair[1].Address + "'s copy is not the pattern");
        }

        private static void PairHotReset(IReadOnlyList<PciFunction> pair)
        {
            using VfioContainer container = VfioContainer.Create(Kernel);
            using VfioDevice first = container.OpenDevice(pair[0].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            using VfioDevice second = container.OpenDevice(pair[1].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
            Check.True(!first.CanReset && !second.CanReset, "a bridged edu reports a reset of its own (VFIO_DEVICE_FLAGS_RESET); the bus reset is what this test is for");
            RuntimeTests.EnableMemoryAndBusMaster(first);
            RuntimeTests.EnableMemoryAndBusMaster(second);
            byte[][] before = pair.Select(f => f.ReadConfig()).ToArray();

            first.Reset();

            Check.Equal(1, first.ResetCount, pair[0].Address + " reset count");
            Check.Equal(1, second.ResetCount, pair[1].Address + " reset count (its sibling's bus reset reached it)");
            for (int i = 0; i < 2; i++)
            {
                byte[] after = pair[i].ReadConfig();
                for (int at = 0x10; at < 0x28; at++)
                {
                    Check.Equal(before[i][at], after[at], pair[i].Address + "'s BAR byte at " + Check.Hex((uint)at, 1) + " (sysfs) after the bus reset");
                }
            }

            // Both consumers see the reset values (Memory off) and the devices answer once decoding is on again.
            foreach (VfioDevice device in new[] { first, second })
            {
                Check.Equal(0u, device.ReadConfig(0x04, 2) & 0x2, device.Address + " consumer Memory bit after the reset");
                Check.Equal("0x010000ed", Check.Hex((uint)EnabledBar0(device).Read(EduRegisters.Identification, 4), 4), device.Address + " identification after the reset");
            }
        }

        private static void PairClosesGroup(IReadOnlyList<PciFunction> pair)
        {
            using (VfioContainer container = VfioContainer.Create(Kernel))
            {
                VfioDevice first = container.OpenDevice(pair[0].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
                VfioDevice second = container.OpenDevice(pair[1].Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"));
                first.Dispose();
                Check.Equal("0x010000ed", Check.Hex((uint)EnabledBar0(second).Read(EduRegisters.Identification, 4), 4), "the remaining device after its sibling closed");
                second.Dispose();
                Check.Equal(0, container.Devices.Count, "devices left in the container");
            }

            using VfioDevice again = Open(pair[1]);
            Check.Equal(pair[1].Address, again.Address, "reopened device");
        }

        private static void RomReadsTheFile(PciFunction edu)
        {
            string? path = Environment.GetEnvironmentVariable("VFIOPOLICY_GUEST_ROM");
            Check.True(!string.IsNullOrEmpty(path) && File.Exists(path), "the ROM file QEMU was given is not visible in the guest (VFIOPOLICY_GUEST_ROM=" + path + ")");
            byte[] expected = File.ReadAllBytes(path!);
            using VfioDevice device = Open(edu);
            VfioBar rom = device.Rom ?? throw new GuestTestFailure(edu.Address + " reports no ROM region");
            Check.Equal((long)expected.Length, rom.Size, "ROM region size");
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | 0x2);
            device.WriteConfig(0x30, 4, device.ReadConfig(0x30, 4) | 1);
            byte[] seen = new byte[expected.Length];
            for (int offset = 0; offset < seen.Length; offset += 8)
            {
                BitConverter.TryWriteBytes(seen.AsSpan(offset), rom.Read(offset, 8));
            }

            int first = Enumerable.Range(0, seen.Length).FirstOrDefault(i => seen[i] != expected[i], -1);
            Check.True(first < 0, string.Format(CultureInfo.InvariantCulture, "ROM byte 0x{0:x} reads 0x{1:x2}, the file has 0x{2:x2}", first, first < 0 ? 0 : seen[first], first < 0 ? 0 : expected[first]));
            Check.Equal(BarAccessPath.Trapped, rom.PathOf(0), "how the ROM is reached");
        }

        private static VfioBar EnabledBar0(VfioDevice device)
        {
            RuntimeTests.EnableMemoryAndBusMaster(device);
            return device.Bar(0);
        }

        private static byte[] PatternBytes(int seed) => Enumerable.Range(0, Pattern).Select(i => (byte)((i * 37) + seed)).ToArray();

        /// <summary>One transfer of edu's DMA engine (docs/specs/edu.rst), waiting for its run bit to clear.</summary>
        private static void EduDma(VfioBar bar0, ulong source, ulong destination, bool toHost)
        {
            bar0.Write(EduRegisters.DmaSource, 8, source);
            bar0.Write(EduRegisters.DmaDestination, 8, destination);
            bar0.Write(EduRegisters.DmaCount, 8, Pattern);
            bar0.Write(EduRegisters.DmaCommand, 8, toHost ? 0x3UL : 0x1UL);
            RuntimeTests.WaitUntil(() => (bar0.Read(EduRegisters.DmaCommand, 8) & 1) == 0, "edu's DMA to finish (command bit 0)");
        }

        private static bool WaitFd(int fd, int milliseconds)
        {
            Span<bool> ready = stackalloc bool[1];
            return Kernel.Poll(new[] { fd }, milliseconds, ready) > 0 && Kernel.TryReadEventFd(fd, out _);
        }

        private static string[] KernelLog()
        {
            using var dmesg = Process.Start(new ProcessStartInfo("dmesg") { RedirectStandardOutput = true, UseShellExecute = false })
                ?? throw new GuestTestFailure("dmesg did not start");
            string output = dmesg.StandardOutput.ReadToEnd();
            dmesg.WaitForExit();
            return output.Split('\n');
        }
    }
}
