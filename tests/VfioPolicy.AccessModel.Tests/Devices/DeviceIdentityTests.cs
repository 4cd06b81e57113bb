using VfioPolicy.AccessModel.Devices;
using Xunit;

namespace VfioPolicy.AccessModel.Tests.Devices
{
    public sealed class DeviceIdentityTests
    {
        [Theory]
        // Type 0: subsystem from 0x2C/0x2E (values as lspci -nn printed them in the paired decode).
        [InlineData("qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt", "01:00.0", 0x8086, 0x10d3, 0x8086, 0x0000, 0x020000, 0x00)]
        [InlineData("qemu/vm2_08-03.0_1234-11e8.xxxx.txt", "08:03.0", 0x1234, 0x11e8, 0x1af4, 0x1100, 0x00ff00, 0x10)]
        // Type 1 with a Bridge Subsystem Vendor ID capability at 0x40: "Subsystem: Red Hat, Inc. QEMU PCIe Root port [1b36:0000]".
        [InlineData("qemu/vm1_00-02.0_1b36-000c_qemu-pcie-root-port.xxxx.txt", "00:02.0", 0x1b36, 0x000c, 0x1b36, 0x0000, 0x060400, 0x00)]
        // Type 1 with SSVID at 0xac: "Capabilities: [ac] Subsystem: Device 2222:1111".
        [InlineData("pciutils/cap-exp-lnkcap2.txt", "08:00.0", 0x8086, 0x15c0, 0x2222, 0x1111, 0x060400, 0x01)]
        public void identity_comes_from_the_header_or_the_bridge_subsystem_capability(
            string file, string slot, int vendor, int device, int subsystemVendor, int subsystem, int classCode, int revision)
        {
            DeviceIdentity identity = CorpusDevices.Image(file, slot).Identity;

            Assert.Equal(new DeviceIdentity(vendor, device, subsystemVendor, subsystem, classCode, revision), identity);
        }

        [Fact]
        public void a_bridge_without_the_subsystem_capability_reports_zero()
        {
            byte[] image = new ConfigImageBuilder().Byte(0x0E, 0x01).Word(0x2C, 0xAAAA).Word(0x2E, 0xBBBB).Bytes;

            DeviceIdentity identity = DeviceIdentityReader.Read(image);

            Assert.Equal(0, identity.SubsystemVendor);
            Assert.Equal(0, identity.Subsystem);
            Assert.Equal(0x1234, identity.Vendor);
        }
    }
}
