using System;
using System.Buffers.Binary;
using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using Xunit;

namespace VfioPolicy.Runtime.Tests
{
    /// <summary>
    /// Config space mirrored inside a BAR goes through the same firewall as config space itself: the pages holding a
    /// mirror are trapped, accesses inside the window land at the mirrored config offset, everything else in those pages
    /// reaches the device.
    /// </summary>
    public sealed class ConfigMirrorTests
    {
        private static readonly RuleOrigin MirrorLine = new RuleOrigin("mirrors.vfiopolicy", 4, 1, "mirror");

        private static VfioDevice Open(SimulatedPciDevice nic, RecordingAuditSink audit, params ConfigMirror[] mirrors)
        {
            PolicyModel strict = Devices.Policy("strict").Model;
            PolicyModel model = strict with { Name = "strict-with-mirrors", Mirrors = mirrors.ToEquatableArray() };
            return VfioDevice.Open(Devices.E1000eAddress, model, new SimulatedVfioKernel(nic), new VfioDeviceOptions { Audit = audit });
        }

        private static uint Memory(SimulatedPciDevice nic, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(nic.Bars[0]!.Memory.Slice(offset, 4));

        [Fact]
        public void A_fixed_window_reads_and_writes_config_space_through_the_firewall()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            var audit = new RecordingAuditSink();
            using VfioDevice device = Open(nic, audit, new ConfigMirror(0, 0x1000, 0x100, MirrorLine));
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | 0x0006);
            VfioBar bar0 = device.Bar(0);

            Assert.Equal(BarAccessPath.ConfigMirror, bar0.PathOf(0x1000));
            Assert.Equal(BarAccessPath.ConfigMirror, bar0.PathOf(0x10FF));
            Assert.Equal(BarAccessPath.Trapped, bar0.PathOf(0x1100));       // the rest of the page reaches the device, trapped
            Assert.Equal(BarAccessPath.Mapped, bar0.PathOf(0x3000));
            Assert.DoesNotContain(bar0.ClientMappableAreas, a => a.Offset < 0x2000 && a.Offset + a.Size > 0x1000);

            Assert.Equal((ulong)device.ReadConfig(0x00, 4), bar0.Read(0x1000, 4));                 // vendor and device, as the consumer sees them
            Assert.Equal((ulong)device.ReadConfig(0x0c, 4) << 32 | device.ReadConfig(0x08, 4), bar0.Read(0x1008, 8));

            // BIST is denied under strict: a write through the mirror is dropped and audited at its config offset.
            bar0.Write(0x100c, 4, 0x4000_0000);
            AuditEvent denied = Assert.Single(audit.Events);
            Assert.Equal(0x0c, denied.Offset);
            Assert.Equal(0u, Memory(nic, 0x100c));                           // the BAR's own bytes were not written

            // A virtualized register written through the mirror reads back through config space.
            bar0.Write(0x103c, 1, 0x0b);
            Assert.Equal(0x0bu, device.ReadConfig(0x3c, 1));

            // Past the window, in the same page: the device's memory.
            bar0.Write(0x1100, 4, 0x1234_5678);
            Assert.Equal(0x1234_5678u, Memory(nic, 0x1100));
        }

        [Fact]
        public void An_access_straddling_the_window_edge_takes_each_byte_by_its_own_path()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            using VfioDevice device = Open(nic, new RecordingAuditSink(), new ConfigMirror(0, 0x1002, 0x02, MirrorLine));
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | 0x0006);
            nic.Bars[0]!.Memory[0x1000] = 0xAA;
            nic.Bars[0]!.Memory[0x1001] = 0xBB;

            ulong value = device.Bar(0).Read(0x1000, 4);

            uint deviceId = device.ReadConfig(0x00, 2);
            Assert.Equal(0xBBAAu | (deviceId << 16), (uint)value);
        }

        [Fact]
        public void An_address_data_pair_reaches_config_space_only_while_the_address_selects_it()
        {
            SimulatedPciDevice nic = Devices.E1000e();
            var audit = new RecordingAuditSink();
            using VfioDevice device = Open(nic, audit, new ConfigMirror(0, 0x2000, 0x100, MirrorLine) { DataOffset = 0x2004, Base = 0x4000 });
            device.WriteConfig(0x04, 2, device.ReadConfig(0x04, 2) | 0x0006);
            VfioBar bar0 = device.Bar(0);
            Assert.Equal(BarAccessPath.ConfigMirror, bar0.PathOf(0x2004));
            Assert.Equal(BarAccessPath.Trapped, bar0.PathOf(0x2000));

            bar0.Write(0x2000, 4, 0x4000);                                   // select config offset 0
            Assert.Equal(0x4000u, Memory(nic, 0x2000));                     // the address register itself reaches the device
            Assert.Equal((ulong)device.ReadConfig(0x00, 4), bar0.Read(0x2004, 4));

            bar0.Write(0x2000, 4, 0x400c);                                   // BIST, denied under strict
            bar0.Write(0x2004, 4, 0x4000_0000);
            Assert.Equal(0x0c, Assert.Single(audit.Events).Offset);
            Assert.Equal(0u, Memory(nic, 0x2004));

            bar0.Write(0x2000, 4, 0x9000);                                   // outside the window: the data register is the device's
            bar0.Write(0x2004, 4, 0xCAFE_F00D);
            Assert.Equal(0xCAFE_F00Du, Memory(nic, 0x2004));
            Assert.Equal(0xCAFE_F00DUL, bar0.Read(0x2004, 4));
        }

        /// <summary>A display controller of <paramref name="vendor"/>: BAR 0 and BAR 2 memory, BAR 4 I/O, no capabilities.</summary>
        private static SimulatedPciDevice Gpu(ushort vendor, long bar0Size, long bar2Size)
        {
            var config = new byte[256];
            BinaryPrimitives.WriteUInt16LittleEndian(config, vendor);
            BinaryPrimitives.WriteUInt16LittleEndian(config.AsSpan(0x02), 0x1234);
            config[0x0b] = 0x03;                                                  // class 0x030000: VGA controller
            BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(0x10), 0xE000_0000);
            BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(0x18), 0xD000_0000);
            BinaryPrimitives.WriteUInt32LittleEndian(config.AsSpan(0x20), 0x0000_E001);  // I/O
            config[0x3d] = 0x01;
            var gpu = new SimulatedPciDevice("0000:05:00.0", config);
            gpu.Bars[0] = new SimulatedBar(bar0Size);
            gpu.Bars[2] = new SimulatedBar(bar2Size);
            gpu.Bars[4] = new SimulatedBar(0x100, mappable: false);
            return gpu;
        }

        [Fact]
        public void The_nvidia_library_policy_routes_BAR0_0x88000_through_the_firewall()
        {
            SimulatedPciDevice gpu = Gpu(0x10de, 0x100000, 0x1000);
            var audit = new RecordingAuditSink();
            using VfioDevice device = VfioDevice.Open(gpu.Address, Devices.Policy("nvidia-gpu"), new SimulatedVfioKernel(gpu), new VfioDeviceOptions { Audit = audit });
            device.WriteConfig(0x04, 2, 0x0007);
            VfioBar bar0 = device.Bar(0);

            Assert.Equal(BarAccessPath.ConfigMirror, bar0.PathOf(0x88000));
            Assert.Equal((ulong)device.ReadConfig(0x00, 4), bar0.Read(0x88000, 4));
            bar0.Write(0x8800c, 4, 0x4000_0000);                                  // BIST, denied under strict
            Assert.Equal(0x0c, Assert.Single(audit.Events).Offset);
            Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(gpu.Bars[0]!.Memory.Slice(0x8800c, 4)));
        }

        [Fact]
        public void The_amd_library_policy_routes_the_BAR2_mirror_and_the_BAR4_window_through_the_firewall()
        {
            SimulatedPciDevice gpu = Gpu(0x1002, 0x1000, 0x10000);
            var audit = new RecordingAuditSink();
            using VfioDevice device = VfioDevice.Open(gpu.Address, Devices.Policy("amd-gpu"), new SimulatedVfioKernel(gpu), new VfioDeviceOptions { Audit = audit });
            device.WriteConfig(0x04, 2, 0x0007);
            uint identity = device.ReadConfig(0x00, 4);

            Assert.Equal((ulong)identity, device.Bar(2).Read(0x4000, 4));

            VfioBar io = device.Bar(4);
            io.Write(0x0, 4, 0x4000);
            Assert.Equal((ulong)identity, io.Read(0x4, 4));
            io.Write(0x0, 4, 0x400c);
            io.Write(0x4, 4, 0x4000_0000);                                        // BIST through the I/O window: denied
            Assert.Equal(0x0c, Assert.Single(audit.Events).Offset);
        }
    }
}
