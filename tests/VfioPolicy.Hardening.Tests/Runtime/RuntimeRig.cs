using System;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;

namespace VfioPolicy.Hardening.Tests.Runtime
{
    /// <summary>
    /// QEMU's edu device (from the project's dump) in a simulated kernel, opened through the runtime with the strict
    /// policy; BAR0 trapped (not mappable) so BAR accesses go through pread/pwrite where faults can be injected.
    /// </summary>
    internal sealed class RuntimeRig : IDisposable
    {
        public const string FirstAddress = "0000:01:00.0";
        private const uint CommandMemory = 0x2;

        private RuntimeRig(SimulatedVfioKernel kernel, SimulatedPciDevice hardware, VfioDevice device)
        {
            Kernel = kernel;
            Hardware = hardware;
            Device = device;
        }

        public SimulatedVfioKernel Kernel { get; }

        public SimulatedPciDevice Hardware { get; }

        public VfioDevice Device { get; }

        public IShadowAccess Shadow => (IShadowAccess)Device.Firewall;

        public static byte[] EduImage() => ConfigDumpReader.Load(RepositoryPaths.InRepository("policies/dumps/qemu-edu.lspci-xxx.txt"), null).Bytes;

        public static SimulatedPciDevice Edu(string address, int group)
        {
            var device = new SimulatedPciDevice(address, EduImage()) { IommuGroup = group };
            device.Bars[0] = new SimulatedBar(0x100000, mappable: false, new SimulatedEduModel());
            return device;
        }

        public static ICompiledPolicy Strict()
        {
            PolicyLibrary.EnsureRegistered();
            return PolicyRegistry.All.Single(p => p.Name == "strict");
        }

        /// <summary>Opens edu with the strict policy and turns the consumer's Memory decode on, so BAR0 is reachable.</summary>
        public static RuntimeRig Open(IAuditSink? audit = null)
        {
            SimulatedPciDevice hardware = Edu(FirstAddress, 5);
            var kernel = new SimulatedVfioKernel(hardware);
            VfioDevice device = VfioDevice.Open(FirstAddress, Strict(), kernel, new VfioDeviceOptions { Audit = audit });
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | CommandMemory);
            return new RuntimeRig(kernel, hardware, device);
        }

        /// <summary>Opens <paramref name="hardware"/>, one of several devices of <paramref name="kernel"/>, Memory decode on.</summary>
        public static RuntimeRig Attach(SimulatedVfioKernel kernel, SimulatedPciDevice hardware, IAuditSink audit)
        {
            VfioDevice device = VfioDevice.Open(hardware.Address, Strict(), kernel, new VfioDeviceOptions { Audit = audit });
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | CommandMemory);
            return new RuntimeRig(kernel, hardware, device);
        }

        public byte[] HardwareBytes() => Hardware.Config.ToArray();

        public uint[] ShadowDwords()
        {
            var dwords = new uint[Device.ConfigSize / 4];
            for (int i = 0; i < dwords.Length; i++)
            {
                dwords[i] = Shadow.ReadShadow(4 * i, 4);
            }

            return dwords;
        }

        /// <summary>The first byte a consumer write reaches the hardware through (passthrough-writable and writable on the device); in strict, Command's low byte.</summary>
        public int PassthroughWritableByte()
        {
            BoundConfigSpace binding = Device.Binding;
            for (int offset = 0; offset < binding.Size; offset++)
            {
                if (ReachingBits(offset) != 0)
                {
                    return offset;
                }
            }

            throw new InvalidOperationException("The strict policy lets no consumer write reach edu's hardware.");
        }

        /// <summary>Bits of the byte at <paramref name="offset"/> a consumer write changes on the hardware (passthrough-writable, writable on the device, not RW1C).</summary>
        public byte ReachingBits(int offset)
            => (byte)(Device.Binding.PassthroughWritable[offset] & Hardware.WritableMask[offset] & ~Device.Binding.HardwareWriteOneToClear[offset]);

        /// <summary>The dword mask of <see cref="ReachingBits"/>, at a dword-aligned <paramref name="offset"/>.</summary>
        public uint ReachingDword(int offset)
            => (uint)(ReachingBits(offset) | (ReachingBits(offset + 1) << 8) | (ReachingBits(offset + 2) << 16) | (ReachingBits(offset + 3) << 24));

        /// <summary>
        /// Offsets of bytes that are fully virtualized read-write and read back exactly what was written: no behavior
        /// attached, or (with <paramref name="allowMsi"/>) only the msi behavior, which re-syncs interrupts but keeps
        /// the value (BAR sizing and Command gating would change it).
        /// </summary>
        public int[] VirtualizedReadWriteBytes(bool allowMsi = false)
        {
            BoundConfigSpace binding = Device.Binding;
            return Enumerable.Range(0, binding.Size)
                .Where(o => binding.ShadowReadWrite[o] == 0xFF
                    && binding.Behaviors.All(b => o < b.Offset || o >= b.Offset + 4 || (allowMsi && b.Behavior == AccessModel.Model.Behavior.Msi)))
                .ToArray();
        }

        public void Dispose() => Device.Dispose();
    }
}
