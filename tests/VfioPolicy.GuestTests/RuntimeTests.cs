using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// The runtime (VfioDevice over LinuxVfioKernel) against the kernel's vfio-pci: config through the firewall,
    /// virtual BARs, mapped and trapped BAR access, interrupts, resets, open errors and the release request.
    /// Each test opens what it needs and closes it again, so the tests do not depend on one another.
    /// </summary>
    internal static class RuntimeTests
    {
        private const int Command = 0x04;
        private const uint MemoryAndBusMaster = 0x6;
        private const uint IntxDisable = 0x400;
        internal const int InterruptWaitMilliseconds = 3000;

        private static readonly IVfioKernel Kernel = new LinuxVfioKernel();

        private static readonly string[] BasePolicies = { "strict", "linux-vfio-default" };

        public static IEnumerable<GuestTest> All(GuestMachine machine)
        {
            List<(PciFunction Function, string DevicePolicy)> devices;
            try
            {
                devices = machine.DevicesUnderTest().ToList();
            }
            catch (GuestTestFailure)
            {
                // ConfigSpaceTests already reports the missing device; nothing here can run without it.
                yield break;
            }

            foreach (string policy in BasePolicies)
            {
                foreach ((PciFunction function, _) in devices)
                {
                    string name = "runtime " + function.Address + " " + policy;
                    yield return new GuestTest(name + ": config reads through the firewall are what the policy says of sysfs config", () => ConfigReadsMatchPolicy(function, policy));
                    yield return new GuestTest(name + ": config writes to denied and virtualized bits leave the device unchanged", () => ConfigWritesDoNotReachDevice(function, policy));
                    yield return new GuestTest(name + ": BAR sizing reads the BARs' sizes and leaves the device's BARs alone", () => BarSizingIsVirtual(function, policy));
                }

                string edu = "runtime " + machine.Edu.Address + " " + policy;
                yield return new GuestTest(edu + ": BAR0 is mapped, identification reads 0x010000ed, liveness inverts, factorial computes", () => EduBar0Works(machine.Edu, policy));
                yield return new GuestTest(edu + ": MSI raised by the device reaches the eventfd, three times", () => EduMsiArrives(machine.Edu, policy));
                yield return new GuestTest(edu + ": INTx reaches the eventfd twice in a row, with unmask in between", () => EduIntxArrivesTwice(machine.Edu, policy));
                yield return new GuestTest(edu + ": Command's decode bit gates BAR access", () => MemoryDecodeGatesBar(machine.Edu, policy));
                yield return new GuestTest(edu + ": after a reset BARs and Command are restored and virtual fields read their reset values", () => ResetRestores(machine.Edu, policy));
                string e1000e = "runtime " + machine.E1000e.Address + " " + policy;
                yield return new GuestTest(e1000e + ": the MSI-X table is emulated; a vector is programmed, then masked, where the policy lets the consumer enable MSI-X", () => E1000eMsixVector(machine.E1000e, policy));
                yield return new GuestTest(e1000e + ": an interrupt raised while its MSI-X vector is masked sets the PBA bit and is sent once on unmask", () => E1000eMaskedVectorPends(machine.E1000e, policy));
                yield return new GuestTest(e1000e + ": after a reset BARs and Command are restored and virtual fields read their reset values", () => ResetRestores(machine.E1000e, policy));
                yield return new GuestTest(e1000e + ": in D3hot BAR0 reads all ones and drops writes, counted, until D0", () => D3hotBlocksBars(machine.E1000e, policy));
                yield return new GuestTest("runtime " + machine.Nvme.Address + " " + policy + ": controller registers CAP and VS read through the BAR0 mapping", () => NvmeControllerRegisters(machine.Nvme, policy));
                yield return new GuestTest(e1000e + ": Initiate FLR on a function without FLR Capable is dropped, audited and reads 0; the device keeps its state", () => InitiateFlr(machine.E1000e, policy, E1000eRdbal, 0x5A5A_0000, expectReset: false));
                yield return new GuestTest("runtime " + machine.Nvme.Address + " " + policy + ": Initiate FLR on a function with FLR Capable resets it and reads 0", () => InitiateFlr(machine.Nvme, policy, NvmeControllerConfiguration, 0x0046_0000, expectReset: true));
                yield return new GuestTest("runtime " + machine.EduOnRootBus.Address + " " + policy + ": the edu on the root bus cannot reset and says so", () => RootBusEduCannotReset(machine.EduOnRootBus, policy));
            }

            yield return new GuestTest("runtime open: a device that does not exist is DeviceNotFound", () => OpenFails("0000:7f:1f.7", "strict", VfioErrorKind.DeviceNotFound));
            PciFunction? rootPort = machine.Functions.FirstOrDefault(f => f.Driver == "pcieport");
            if (rootPort is not null)
            {
                yield return new GuestTest("runtime open: " + rootPort.Address + " (a root port, bound to pcieport) is NotBoundToVfioPci", () => OpenFails(rootPort.Address, "strict", VfioErrorKind.NotBoundToVfioPci));
            }

            yield return new GuestTest("runtime open: " + machine.Edu.Address + " with qemu-nvme's policy is PolicyMismatch", () => OpenFails(machine.Edu.Address, "qemu-nvme", VfioErrorKind.PolicyMismatch));
            yield return new GuestTest("runtime open: " + machine.Edu.Address + " by its sysfs path opens the same device", () => OpensBySysfsPath(machine.Edu));

            // Last: it unbinds the device from vfio-pci (and binds it again).
            yield return new GuestTest("runtime " + machine.Nvme.Address + " strict: the release request arrives when the guest unbinds the device", () => ReleaseRequestArrives(machine.Nvme, "strict"));
        }

        private static VfioDevice Open(PciFunction function, string policy) =>
            VfioDevice.Open(function.Address, ConfigSpaceTests.CompiledPolicy(policy), Kernel);

        internal static void EnableMemoryAndBusMaster(VfioDevice device) =>
            device.WriteConfig(Command, 2, device.ReadConfig(Command, 2) | MemoryAndBusMaster);

        private static void ConfigReadsMatchPolicy(PciFunction function, string policy)
        {
            using VfioDevice device = Open(function, policy);
            BoundConfigSpace bound = device.Binding;
            byte[] now = function.ReadConfig();
            for (int offset = 0; offset < bound.Size; offset += 4)
            {
                Check.Equal(AccessStatus.Ok, device.TryReadConfig(offset, 4, out uint seen), "read status at " + Check.Hex((uint)offset, 2));
                for (int i = 0; i < 4; i++)
                {
                    int at = offset + i;
                    int passthrough = ~bound.VirtMask[at] & 0xff;
                    int consumer = (int)(seen >> (8 * i)) & 0xff;
                    if (((consumer ^ now[at]) & passthrough) != 0)
                    {
                        throw new GuestTestFailure(string.Format(
                            CultureInfo.InvariantCulture,
                            "{0}: byte 0x{1:x3} reads 0x{2:x2} through the firewall but sysfs has 0x{3:x2} in passthrough bits 0x{4:x2}",
                            policy,
                            at,
                            consumer,
                            now[at],
                            passthrough));
                    }

                    // Denied bits read the rule's constant, which the binding keeps as their reset value.
                    int denied = bound.DenyMask[at];
                    if (((consumer ^ bound.ResetValue[at]) & denied) != 0)
                    {
                        throw new GuestTestFailure(string.Format(
                            CultureInfo.InvariantCulture,
                            "{0}: byte 0x{1:x3} reads 0x{2:x2} through the firewall, but denied bits 0x{3:x2} must read 0x{4:x2}",
                            policy,
                            at,
                            consumer,
                            denied,
                            bound.ResetValue[at] & denied));
                    }
                }
            }
        }

        /// <summary>
        /// Like the access-model test, through the runtime: registers a runtime behavior owns (BARs, MSI, FLR, power
        /// state…) are left out, because acting on the hardware is exactly what those behaviors are for.
        /// </summary>
        private static void ConfigWritesDoNotReachDevice(PciFunction function, string policy)
        {
            using VfioDevice device = Open(function, policy);
            BoundConfigSpace bound = device.Binding;
            byte[] before = function.ReadConfig();
            byte[] stable = function.ReadConfig();
            var written = new bool[bound.Size];
            for (int offset = 0; offset < bound.Size; offset += 4)
            {
                uint flip = 0;
                for (int i = 0; i < 4; i++)
                {
                    if (bound.FindBehavior(offset + i) is null)
                    {
                        flip |= (uint)bound.VirtMask[offset + i] << (8 * i);
                        written[offset + i] = true;
                    }
                }

                if (flip == 0)
                {
                    continue;
                }

                uint seen = device.ReadConfig(offset, 4);
                Check.Equal(AccessStatus.Ok, device.TryWriteConfig(offset, 4, seen ^ flip), "write status at " + Check.Hex((uint)offset, 2));
            }

            byte[] after = function.ReadConfig();
            for (int at = 0; at < bound.Size; at++)
            {
                int watched = written[at] ? bound.VirtMask[at] & ~(before[at] ^ stable[at]) : 0;
                if (((before[at] ^ after[at]) & watched) != 0)
                {
                    throw new GuestTestFailure(string.Format(
                        CultureInfo.InvariantCulture,
                        "{0}: the device's byte 0x{1:x3} changed from 0x{2:x2} to 0x{3:x2} in virtualized or denied bits",
                        policy,
                        at,
                        before[at],
                        after[at]));
                }
            }
        }

        private static void BarSizingIsVirtual(PciFunction function, string policy)
        {
            using VfioDevice device = Open(function, policy);
            byte[] hardwareBefore = function.ReadConfig();
            VfioBar[] bars = device.Bars.Where(b => !b.IsRom).ToArray();
            Check.True(bars.Length > 0, function.Address + " has no BARs");
            foreach (VfioBar bar in bars)
            {
                int register = 0x10 + (4 * bar.Index);
                uint original = device.ReadConfig(register, 4);
                device.WriteConfig(register, 4, 0xffffffff);
                uint sized = device.ReadConfig(register, 4);
                device.WriteConfig(register, 4, original);
                ulong sizeMask = ~((ulong)bar.Size - 1);
                uint expectedLow = (uint)(sizeMask & (bar.IsIo ? 0xfffffffcUL : 0xfffffff0UL)) | bar.TypeBits;
                Check.Equal(Check.Hex(expectedLow, 4), Check.Hex(sized, 4), "BAR" + bar.Index.ToString(CultureInfo.InvariantCulture) + " after writing all ones (size 0x" + bar.Size.ToString("x", CultureInfo.InvariantCulture) + ")");
                Check.Equal(Check.Hex(original, 4), Check.Hex(device.ReadConfig(register, 4), 4), "BAR" + bar.Index.ToString(CultureInfo.InvariantCulture) + " after writing its value back");
                if (bar.Is64Bit)
                {
                    uint upper = device.ReadConfig(register + 4, 4);
                    device.WriteConfig(register + 4, 4, 0xffffffff);
                    uint sizedUpper = device.ReadConfig(register + 4, 4);
                    device.WriteConfig(register + 4, 4, upper);
                    Check.Equal(Check.Hex((uint)(sizeMask >> 32), 4), Check.Hex(sizedUpper, 4), "upper half of 64-bit BAR" + bar.Index.ToString(CultureInfo.InvariantCulture) + " after writing all ones");
                }
            }

            byte[] hardwareAfter = function.ReadConfig();
            for (int at = 0x10; at < 0x28; at++)
            {
                Check.Equal(hardwareBefore[at], hardwareAfter[at], "the device's BAR byte at " + Check.Hex((uint)at, 1) + " (sysfs) after sizing");
            }
        }

        private static void EduBar0Works(PciFunction edu, string policy)
        {
            using VfioDevice device = Open(edu, policy);
            EnableMemoryAndBusMaster(device);
            VfioBar bar0 = device.Bar(0);
            Check.Equal(BarAccessPath.Mapped, bar0.PathOf(EduRegisters.Identification), "how BAR0's identification register is reached");
            Check.Equal("0x010000ed", Check.Hex((uint)bar0.Read(EduRegisters.Identification, 4), 4), "edu identification register");
            bar0.Write(EduRegisters.Liveness, 4, 0x12345678);
            Check.Equal(Check.Hex(~0x12345678u, 4), Check.Hex((uint)bar0.Read(EduRegisters.Liveness, 4), 4), "edu liveness register (inverts what was written)");
            bar0.Write(EduRegisters.Factorial, 4, 10);
            WaitUntil(() => (bar0.Read(EduRegisters.Status, 4) & 1) == 0, "edu's factorial to finish (status bit 0)");
            Check.Equal(3628800UL, bar0.Read(EduRegisters.Factorial, 4), "10! computed by edu");
        }

        private static void EduMsiArrives(PciFunction edu, string policy)
        {
            using VfioDevice device = Open(edu, policy);
            EnableMemoryAndBusMaster(device);
            int msi = Capability(device, 0x05, "MSI");
            uint control = device.ReadConfig(msi + 2, 2);
            bool is64 = (control & 0x80) != 0;
            device.WriteConfig(msi + 4, 4, 0xfee00000);
            if (is64)
            {
                device.WriteConfig(msi + 8, 4, 0);
            }

            device.WriteConfig(msi + (is64 ? 0xc : 0x8), 2, 0x41);
            device.WriteConfig(msi + 2, 2, (control & ~0x70u) | 1);
            Check.Equal(VfioInterruptMode.Msi, device.InterruptMode, "interrupt mode after the consumer enabled MSI");
            VfioInterruptVector vector = device.MsiVectors[0];
            Check.True(vector.Armed, "MSI vector 0 is not armed");
            vector.Consume();
            VfioBar bar0 = device.Bar(0);
            for (int round = 1; round <= 3; round++)
            {
                bar0.Write(EduRegisters.RaiseInterrupt, 4, 1);
                Check.True(vector.Wait(InterruptWaitMilliseconds), "MSI " + round.ToString(CultureInfo.InvariantCulture) + " did not reach the eventfd within " + InterruptWaitMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms");
                bar0.Write(EduRegisters.AcknowledgeInterrupt, 4, 1);
            }
        }

        private static void EduIntxArrivesTwice(PciFunction edu, string policy)
        {
            using VfioDevice device = Open(edu, policy);
            EnableMemoryAndBusMaster(device);
            device.WriteConfig(Command, 2, device.ReadConfig(Command, 2) & ~IntxDisable);
            Check.Equal(VfioInterruptMode.Intx, device.InterruptMode, "interrupt mode with MSI off and INTx Disable clear");
            VfioInterruptVector intx = device.Intx ?? throw new GuestTestFailure("edu reports no INTx line");
            intx.Consume();
            VfioBar bar0 = device.Bar(0);
            for (int round = 1; round <= 2; round++)
            {
                bar0.Write(EduRegisters.RaiseInterrupt, 4, 1);
                Check.True(intx.Wait(InterruptWaitMilliseconds), "INTx " + round.ToString(CultureInfo.InvariantCulture) + " did not reach the eventfd within " + InterruptWaitMilliseconds.ToString(CultureInfo.InvariantCulture) + " ms");
                // VFIO masked the line when it fired: acknowledge the device first, then unmask.
                bar0.Write(EduRegisters.AcknowledgeInterrupt, 4, 1);
                device.UnmaskIntx();
            }
        }

        private static void MemoryDecodeGatesBar(PciFunction edu, string policy)
        {
            using VfioDevice device = Open(edu, policy);
            VfioBar bar0 = device.Bar(0);
            device.WriteConfig(Command, 2, device.ReadConfig(Command, 2) & ~0x2u);
            long blocked = bar0.BlockedAccesses;
            Check.Equal(0xffffffffUL, bar0.Read(EduRegisters.Identification, 4), "BAR0 read with Memory Space disabled (a master abort reads all ones)");
            Check.Equal(blocked + 1, bar0.BlockedAccesses, "blocked BAR accesses");
            EnableMemoryAndBusMaster(device);
            Check.Equal(0x010000edUL, bar0.Read(EduRegisters.Identification, 4), "BAR0 identification with Memory Space enabled");
        }

        private static void ResetRestores(PciFunction function, string policy)
        {
            using VfioDevice device = Open(function, policy);
            Check.True(device.CanReset, function.Address + " reports no reset support");
            byte[] hardwareBefore = function.ReadConfig();
            EnableMemoryAndBusMaster(device);
            // Leave a consumer-visible trace in every virtualized register without a behavior, so the reset has
            // something to undo.
            BoundConfigSpace bound = device.Binding;
            for (int offset = 0; offset < bound.Size; offset += 4)
            {
                uint flip = 0;
                for (int i = 0; i < 4; i++)
                {
                    if (bound.FindBehavior(offset + i) is null)
                    {
                        flip |= (uint)(bound.VirtMask[offset + i] & bound.WriteMask[offset + i]) << (8 * i);
                    }
                }

                if (flip != 0)
                {
                    device.WriteConfig(offset, 4, device.ReadConfig(offset, 4) ^ flip);
                }
            }

            int resets = device.ResetCount;
            device.Reset();
            Check.Equal(resets + 1, device.ResetCount, "reset count");

            byte[] hardwareAfter = function.ReadConfig();
            for (int at = 0x10; at < 0x28; at++)
            {
                Check.Equal(hardwareBefore[at], hardwareAfter[at], "the device's BAR byte at " + Check.Hex((uint)at, 1) + " (sysfs) after the reset");
            }

            // The host's decode bits are back on the hardware (vfio-pci had Memory on; a bus reset clears it).
            Check.Equal(hardwareBefore[Command] & 0x3, hardwareAfter[Command] & 0x3, "the device's Command I/O and Memory bits (sysfs) after the reset");
            for (int at = 0; at < bound.Size; at++)
            {
                int check = bound.VirtMask[at] & ~bound.InitFromHardware[at];
                if (check == 0 || bound.FindBehavior(at) is not null)
                {
                    continue;
                }

                uint value = device.ReadConfig(at, 1);
                if (((value ^ bound.ResetValue[at]) & check) != 0)
                {
                    throw new GuestTestFailure(string.Format(
                        CultureInfo.InvariantCulture,
                        "{0}: virtualized byte 0x{1:x3} reads 0x{2:x2} after the reset; its reset value is 0x{3:x2} in bits 0x{4:x2}",
                        policy,
                        at,
                        value,
                        bound.ResetValue[at],
                        check));
                }
            }

            Check.True(device.InterruptMode == VfioInterruptMode.Intx || device.InterruptMode == VfioInterruptMode.None, "interrupt mode after the reset is " + device.InterruptMode + ", expected INTx or none (a reset turns MSI and MSI-X off)");
        }

        private static void E1000eMsixVector(PciFunction e1000e, string policy)
        {
            using VfioDevice device = Open(e1000e, policy);
            EnableMemoryAndBusMaster(device);
            int msix = Capability(device, 0x11, "MSI-X");
            uint table = device.ReadConfig(msix + 4, 4);
            int bir = (int)(table & 7);
            long tableOffset = table & ~7u;
            VfioBar bar = device.Bar(bir);
            Check.Equal(BarAccessPath.Emulated, bar.PathOf(tableOffset), "how the MSI-X table in BAR" + bir.ToString(CultureInfo.InvariantCulture) + " is reached");
            uint pba = device.ReadConfig(msix + 8, 4);
            Check.Equal(BarAccessPath.Emulated, device.Bar((int)(pba & 7)).PathOf(pba & ~7u), "how the MSI-X PBA is reached");

            bar.Write(tableOffset, 4, 0xfee00000);
            bar.Write(tableOffset + 4, 4, 0);
            bar.Write(tableOffset + 8, 4, 0x4242);
            bar.Write(tableOffset + 12, 4, 0);
            Check.Equal(0x4242UL, bar.Read(tableOffset + 8, 4), "MSI-X entry 0 message data read back");
            uint control = device.ReadConfig(msix + 2, 2);
            device.WriteConfig(msix + 2, 2, (control | 0x8000) & ~0x4000u);
            if (device.Binding.FindBehavior(msix + 2)?.Behavior != Behavior.Msix)
            {
                // linux-vfio-default reproduces the kernel: Message Control is passthrough read-only (the VMM, not
                // vfio-pci, emulates MSI-X enable), so the consumer's enable is dropped and nothing is programmed.
                Check.Equal(0u, device.ReadConfig(msix + 2, 2) & 0x8000, policy + ": MSI-X Enable after a consumer write the policy drops");
                Check.True(device.InterruptMode != VfioInterruptMode.Msix, policy + ": MSI-X was programmed although the policy drops the enable");
                return;
            }

            Check.Equal(VfioInterruptMode.Msix, device.InterruptMode, "interrupt mode after the consumer enabled MSI-X");
            VfioInterruptVector vector = device.MsixVectors[0];
            Check.True(vector.Armed, "MSI-X vector 0 is not armed after programming and unmasking it");
            Check.Equal(0xfee00000UL, vector.MessageAddress, "MSI-X vector 0 message address");
            Check.Equal(0x4242u, vector.MessageData, "MSI-X vector 0 message data");
            bar.Write(tableOffset + 12, 4, 1);
            Check.True(!vector.Armed, "MSI-X vector 0 is still armed after the consumer masked it");
            Check.Equal(1UL, bar.Read(tableOffset + 12, 4) & 1, "MSI-X entry 0 mask bit read back");
            device.WriteConfig(msix + 2, 2, control & ~0x8000u);
        }

        /// <summary>
        /// e1000e raises an interrupt cause written to ICS; with IVAR mapping the RXQ0 cause to vector 0 and IMS
        /// enabling it, the device fires MSI-X vector 0, which the consumer has masked.
        /// </summary>
        private static void E1000eMaskedVectorPends(PciFunction e1000e, string policy)
        {
            const long InterruptCauseRead = 0xC0;
            const long InterruptCauseSet = 0xC8;
            const long InterruptMaskSet = 0xD0;
            const long InterruptMaskClear = 0xD8;
            const long InterruptVectorAllocation = 0xE4;
            const uint Rxq0Cause = 1u << 20;
            using VfioDevice device = Open(e1000e, policy);
            EnableMemoryAndBusMaster(device);
            int msix = Capability(device, 0x11, "MSI-X");
            uint control = device.ReadConfig(msix + 2, 2);
            device.WriteConfig(msix + 2, 2, (control | 0x8000) & ~0x4000u);
            if (device.Binding.FindBehavior(msix + 2)?.Behavior != Behavior.Msix)
            {
                Check.True(device.InterruptMode != VfioInterruptMode.Msix, policy + ": MSI-X was programmed although the policy drops the enable");
                return;
            }

            uint table = device.ReadConfig(msix + 4, 4);
            uint pbaRegister = device.ReadConfig(msix + 8, 4);
            VfioBar tableBar = device.Bar((int)(table & 7));
            VfioBar pbaBar = device.Bar((int)(pbaRegister & 7));
            long tableOffset = table & ~7u;
            long pbaOffset = pbaRegister & ~7u;
            tableBar.Write(tableOffset, 4, 0xfee00000);
            tableBar.Write(tableOffset + 8, 4, 0x4343);
            tableBar.Write(tableOffset + 12, 4, 1); // vector 0 programmed, masked
            VfioInterruptVector vector = device.MsixVectors[0];
            vector.Consume();
            Check.Equal(0UL, pbaBar.Read(pbaOffset, 8) & 1, "PBA bit 0 before the device fired");

            VfioBar registers = device.Bar(0);
            registers.Write(InterruptVectorAllocation, 4, 0x8); // RXQ0 -> vector 0, valid
            registers.Write(InterruptMaskSet, 4, Rxq0Cause);
            registers.Write(InterruptCauseSet, 4, Rxq0Cause);
            var clock = Stopwatch.StartNew();
            while ((pbaBar.Read(pbaOffset, 8) & 1) == 0 && clock.ElapsedMilliseconds < 2000)
            {
                Thread.Sleep(1);
            }

            Check.Equal(1UL, pbaBar.Read(pbaOffset, 8) & 1, "PBA bit 0 after the device fired masked vector 0");
            Check.Equal(0UL, vector.Consume(), "interrupts on the consumer's eventfd while vector 0 was masked");

            tableBar.Write(tableOffset + 12, 4, 0);
            Check.True(vector.Wait(1000), "the pending interrupt did not reach the consumer's eventfd on unmask");
            Check.Equal(0UL, pbaBar.Read(pbaOffset, 8) & 1, "PBA bit 0 after unmask");

            registers.Write(InterruptMaskClear, 4, Rxq0Cause);
            registers.Read(InterruptCauseRead, 4); // reading ICR clears the causes
            registers.Write(InterruptVectorAllocation, 4, 0);
            device.WriteConfig(msix + 2, 2, control & ~0x8000u);
        }

        private static void NvmeControllerRegisters(PciFunction nvme, string policy)
        {
            using VfioDevice device = Open(nvme, policy);
            EnableMemoryAndBusMaster(device);
            VfioBar bar0 = device.Bar(0);
            Check.Equal(BarAccessPath.Mapped, bar0.PathOf(0), "how nvme's controller registers are reached");
            ulong capabilities = bar0.Read(0x00, 8);
            uint version = (uint)bar0.Read(0x08, 4);
            Console.WriteLine("  nvme CAP=0x" + capabilities.ToString("x16", CultureInfo.InvariantCulture) + " VS=" + Check.Hex(version, 4));
            Check.True((capabilities & 0xffff) != 0, "CAP.MQES is 0");
            Check.True((capabilities & (1UL << 37)) != 0, "CAP.CSS does not list the NVM command set");
            Check.Equal(1u, version >> 16, "VS major version");
            Check.True(((version >> 8) & 0xff) >= 2, "VS minor version below 1.2: " + Check.Hex(version, 4));
        }

        // Plain read-write registers in BAR0 that a function-level reset clears: the device's own witness of a reset.
        private const int E1000eRdbal = 0x2800;          // Receive Descriptor Base Address Low (82574L)
        private const int NvmeControllerConfiguration = 0x14; // CC: IOSQES/IOCQES written while disabled; a reset zeroes CC

        /// <summary>
        /// A consumer's Initiate-FLR write (PCI Express Device Control bit 15). The runtime must reset only a function
        /// whose Device Capabilities advertise FLR (QEMU's NVMe does, its e1000e does not); otherwise drop and audit the
        /// write. The register in BAR0 says independently whether the device was reset.
        /// </summary>
        private static void InitiateFlr(PciFunction function, string policy, int witnessRegister, uint witness, bool expectReset)
        {
            var audit = new RecordingAuditSink();
            using VfioDevice device = VfioDevice.Open(function.Address, ConfigSpaceTests.CompiledPolicy(policy), Kernel, new VfioDeviceOptions { Audit = audit });
            int express = device.Binding.Capabilities.Single(c => !c.Info.Extended && c.Info.Id == 0x10).Info.Offset;
            byte[] sysfs = function.ReadConfig();
            bool advertised = (sysfs[express + 7] & 0x10) != 0;
            Check.Equal(expectReset, advertised, function.Address + " Device Capabilities FLR Capable (sysfs)");

            EnableMemoryAndBusMaster(device);
            VfioBar bar0 = device.Bar(0);
            bar0.Write(witnessRegister, 4, witness);
            Check.Equal((ulong)witness, bar0.Read(witnessRegister, 4), "witness register before the FLR write");
            int resets = device.ResetCount;

            device.WriteConfig(express + 8, 2, device.ReadConfig(express + 8, 2) | 0x8000);

            Check.Equal(0u, device.ReadConfig(express + 8, 2) & 0x8000, "Initiate FLR as the consumer reads it back");
            EnableMemoryAndBusMaster(device);
            if (expectReset)
            {
                Check.Equal(resets + 1, device.ResetCount, "resets after the FLR write");
                Check.Equal(0UL, bar0.Read(witnessRegister, 4), "witness register after the reset");
                Check.Equal(0, audit.Events.Count, "audit events");
            }
            else
            {
                Check.Equal(resets, device.ResetCount, "resets after the FLR write");
                Check.Equal((ulong)witness, bar0.Read(witnessRegister, 4), "witness register (the device was not reset)");
                Check.Equal(1, audit.Events.Count, "audit events");
                Check.Equal(express + 8, audit.Events[0].Offset, "audited offset");
            }
        }

        /// <summary>
        /// A consumer's PMCSR write to D3hot reaches the device (sysfs shows the state; under linux-vfio-default the state
        /// bits are passthrough read-only and the pm behavior performs the change, as vfio_pm_config_write does), and
        /// BAR access is blocked until the write back to D0.
        /// </summary>
        private static void D3hotBlocksBars(PciFunction function, string policy)
        {
            using VfioDevice device = Open(function, policy);
            int pm = device.Binding.Capabilities.Single(c => !c.Info.Extended && c.Info.Id == 0x01).Info.Offset;
            EnableMemoryAndBusMaster(device);
            VfioBar bar0 = device.Bar(0);
            bar0.Write(E1000eRdbal, 4, 0x1234_5670);
            long blocked = bar0.BlockedAccesses;

            device.WriteConfig(pm + 4, 2, (device.ReadConfig(pm + 4, 2) & ~3u) | 3);

            Check.Equal(3, function.ReadConfig()[pm + 4] & 3, "the device's power state (sysfs) after the D3hot write");
            Check.Equal(3u, device.ReadConfig(pm + 4, 2) & 3, "the power state the consumer reads");
            Check.Equal(0xFFFF_FFFFUL, bar0.Read(E1000eRdbal, 4), "a BAR0 read in D3hot");
            bar0.Write(E1000eRdbal, 4, 0x0BAD_F000);
            Check.Equal(blocked + 2, bar0.BlockedAccesses, "blocked BAR accesses");

            device.WriteConfig(pm + 4, 2, device.ReadConfig(pm + 4, 2) & ~3u);

            Check.Equal(0, function.ReadConfig()[pm + 4] & 3, "the device's power state (sysfs) after the D0 write");
            EnableMemoryAndBusMaster(device);
            Check.True(bar0.Read(E1000eRdbal, 4) != 0x0BAD_F000UL, "the write made in D3hot reached the device");
            bar0.Write(E1000eRdbal, 4, 0x0765_4320);
            Check.Equal(0x0765_4320UL, bar0.Read(E1000eRdbal, 4), "BAR0 works again in D0");
        }

        private static void RootBusEduCannotReset(PciFunction edu, string policy)
        {
            using VfioDevice device = Open(edu, policy);
            Check.True(!device.CanReset, edu.Address + " on the root bus claims it can reset");
            try
            {
                device.Reset();
            }
            catch (VfioException exception)
            {
                Check.Equal(VfioErrorKind.CannotReset, exception.Kind, "error kind of Reset() (" + exception.Message + ")");
                Check.True(exception.Message.Contains("reset", StringComparison.OrdinalIgnoreCase), "the message does not say that the reset failed: " + exception.Message);
                return;
            }

            throw new GuestTestFailure("Reset() on " + edu.Address + " succeeded on a function with no reset method");
        }

        private static void OpenFails(string address, string policy, VfioErrorKind expected)
        {
            try
            {
                using VfioDevice device = VfioDevice.Open(address, ConfigSpaceTests.CompiledPolicy(policy), Kernel);
            }
            catch (VfioException exception)
            {
                Check.Equal(expected, exception.Kind, "error kind (" + exception.Message + ")");
                return;
            }

            throw new GuestTestFailure("opening " + address + " with " + policy + " succeeded");
        }

        private static void OpensBySysfsPath(PciFunction edu)
        {
            using VfioDevice device = VfioDevice.Open(edu.SysfsPath, ConfigSpaceTests.CompiledPolicy("qemu-edu"), Kernel);
            Check.Equal(edu.Address, device.Address, "address of the device opened by sysfs path");
            Check.Equal(edu.IommuGroup, (int?)device.IommuGroup, "IOMMU group");
        }

        /// <summary>
        /// Unbinding a device from vfio-pci blocks in the kernel, which signals the VFIO request notification until the
        /// user lets go; the consumer must see <see cref="VfioDevice.ReleaseRequested"/>, close, and the unbind completes.
        /// </summary>
        private static void ReleaseRequestArrives(PciFunction function, string policy)
        {
            var requested = new ManualResetEventSlim();
            Exception? unbindError = null;
            Thread? unbind = null;
            try
            {
                using (VfioDevice device = Open(function, policy))
                {
                    device.ReleaseRequested += (_, _) => requested.Set();
                    device.StartNotificationMonitor();
                    unbind = new Thread(() =>
                    {
                        try
                        {
                            File.WriteAllText("/sys/bus/pci/drivers/vfio-pci/unbind", function.Address);
                        }
                        catch (Exception exception)
                        {
                            unbindError = exception;
                        }
                    })
                    { IsBackground = true };
                    unbind.Start();
                    Check.True(requested.Wait(10000), "no release request within 10 s of the unbind");
                }

                Check.True(unbind.Join(10000), "the unbind did not complete within 10 s of closing the device");
                Check.True(unbindError is null, "the unbind failed: " + unbindError?.Message);
                Check.True(!File.Exists(Path.Combine(function.SysfsPath, "driver", "unbind")), function.Address + " is still bound after the unbind");
            }
            finally
            {
                // driver_override still names vfio-pci: a probe binds it again for whatever runs next.
                if (unbind is null || !unbind.IsAlive)
                {
                    File.WriteAllText("/sys/bus/pci/drivers_probe", function.Address);
                }
            }
        }

        internal static int Capability(VfioDevice device, int id, string name)
        {
            BoundCapability? capability = device.Binding.Capabilities.FirstOrDefault(c => !c.Info.Extended && c.Info.Id == id && !c.Hidden);
            return capability?.Info.Offset ?? throw new GuestTestFailure("the consumer sees no " + name + " capability");
        }

        internal static void WaitUntil(Func<bool> condition, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.ElapsedMilliseconds > InterruptWaitMilliseconds)
                {
                    throw new GuestTestFailure("timed out waiting for " + what);
                }

                Thread.Sleep(1);
            }
        }
    }
}
