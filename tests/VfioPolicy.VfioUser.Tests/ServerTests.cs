using System;
using System.Buffers.Binary;
using System.Linq;
using System.Runtime.InteropServices;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using Xunit;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>The server against a client that behaves: negotiation, device and region info, config through the policy, BARs, interrupts, DMA, reset, and cleanup when the client goes.</summary>
    public sealed class ServerTests
    {
        private const uint Config = 7;
        private const uint Bar0 = 0;

        [Fact]
        public void Version_negotiation_answers_0_0_with_the_servers_limits()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect(negotiate: false);

            VfioUserVersion version = connection.Client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 4, MaxDataTransferSize: 65536));

            Assert.Equal((ushort)0, version.Major);
            Assert.Equal((ushort)0, version.Minor);
            Assert.Equal(16, version.Capabilities.MaxMessageFds);
            Assert.Equal(1u << 20, version.Capabilities.MaxDataTransferSize);
            Assert.Equal(4096UL, version.Capabilities.PageSizes);
            Assert.False(version.Capabilities.WriteMultiple);
        }

        [Fact]
        public void Device_region_and_IRQ_info_describe_the_device_as_the_consumer_may_see_it()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();

            VfioUserReply info = connection.Client.Request(VfioUserCommand.DeviceGetInfo, new VfioUserInfo(16, 0, 0, 0).Encode());
            Assert.Equal(new VfioUserInfo(16, (uint)(VfioDeviceFlags.Pci | VfioDeviceFlags.Reset), 9, 5), Info(info.Payload));

            VfioUserReply config = RegionInfo(connection, 7);
            Assert.Equal(32, config.Payload.Length);
            Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(config.Payload.AsSpan(4))); // read | write, no mmap
            Assert.Equal(256UL, BinaryPrimitives.ReadUInt64LittleEndian(config.Payload.AsSpan(16)));
            Assert.Equal(0x100000UL, BinaryPrimitives.ReadUInt64LittleEndian(RegionInfo(connection, 0).Payload.AsSpan(16)));
            Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(RegionInfo(connection, 1).Payload.AsSpan(16)));
            Assert.Equal(VfioUserErrno.EINVAL, RegionInfo(connection, 9).Errno);

            Assert.Equal(1u, IrqCount(connection, VfioConstants.IntxIrqIndex));
            Assert.Equal(1u, IrqCount(connection, VfioConstants.MsiIrqIndex));
            Assert.Equal(0u, IrqCount(connection, VfioConstants.MsixIrqIndex));
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DeviceGetIrqInfo, new VfioUserInfo(16, 0, 5, 0).Encode()).Errno);
        }

        [Fact]
        public void Config_space_reads_and_writes_go_through_the_policy()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();

            byte[] whole = connection.ReadData(Config, 0, 256); // one message, as QEMU reads it
            Assert.Equal(0x11e8_1234u, BinaryPrimitives.ReadUInt32LittleEndian(whole));
            for (int offset = 0; offset < 256; offset += 4)
            {
                Assert.Equal(served.Device.ReadConfig(offset, 4), BinaryPrimitives.ReadUInt32LittleEndian(whole.AsSpan(offset)));
            }

            // Command's Memory bit is the consumer's own (virtual); the hardware decodes regardless.
            Assert.Equal(0u, connection.ReadConfig(0x04, 2) & 0x2);
            Assert.Equal(0x2u, served.Edu.PeekConfig(0x04, 2) & 0x2);

            // A virtualized register keeps the consumer's value and the hardware keeps its own.
            uint hardwareLine = served.Edu.PeekConfig(0x3c, 1);
            connection.WriteConfig(0x3c, 1, 0x5a);
            Assert.Equal(0x5au, connection.ReadConfig(0x3c, 1));
            Assert.Equal(hardwareLine, served.Edu.PeekConfig(0x3c, 1));

            // A denied one reads its constant, drops the write and is audited with its rule.
            int before = served.Audit.Events.Count;
            connection.WriteConfig(0x0f, 1, 0x40); // BIST: start a self test
            Assert.Equal(0u, connection.ReadConfig(0x0f, 1));
            Assert.Equal(0u, served.Edu.PeekConfig(0x0f, 1));
            Assert.Equal(before + 1, served.Audit.Events.Count);
        }

        [Fact]
        public void BAR0_reads_and_writes_reach_the_device_model_once_the_consumer_decodes_memory()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();

            Assert.Equal(0xFFFF_FFFFUL, connection.ReadBar0(0, 4)); // Memory off in the consumer's Command: a master abort
            connection.WriteConfig(0x04, 2, 0x0006);

            Assert.Equal(0x0100_00EDUL, connection.ReadBar0(0, 4));
            connection.WriteBar0(0x04, 4, 0x1234_5678);
            Assert.Equal(~0x1234_5678u, (uint)connection.ReadBar0(0x04, 4));
            connection.WriteBar0(0x80, 8, 0x0000_0001_2345_6000); // an 8-byte register
            Assert.Equal(0x0000_0001_2345_6000UL, connection.ReadBar0(0x80, 8));
            Assert.Equal(VfioUserErrno.EINVAL, connection.Read(Bar0, 0x100000 - 2, 4).Errno); // past the end
        }

        [Fact]
        public void A_posted_write_gets_no_reply_and_takes_effect_before_the_next_command_is_answered()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            connection.WriteConfig(0x04, 2, 0x0006);

            connection.Client.Post(VfioUserCommand.RegionWrite, new VfioUserRegionAccess(0x04, Bar0, 4, BitConverter.GetBytes(0xCAFEu)).Encode());

            Assert.Equal(~0xCAFEu, (uint)connection.ReadBar0(0x04, 4));
        }

        [Fact]
        public void The_clients_eventfd_receives_the_devices_MSI_and_the_consumer_registers_program_nothing()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            connection.WriteConfig(0x04, 2, 0x0006);
            connection.WriteConfig(0x40 + 4, 4, 0xfee00000);
            connection.WriteConfig(0x40 + 2, 2, 0x0001); // the guest enables MSI: virtual, as under QEMU
            Assert.Null(served.Edu.EnabledIrqIndex);
            int eventFd = served.Kernel.CreateEventFd();

            VfioUserReply reply = connection.Client.Request(VfioUserCommand.DeviceSetIrqs, Trigger(VfioConstants.MsiIrqIndex, 0, 1), new[] { eventFd });

            Assert.False(reply.IsError);
            Assert.Equal(VfioConstants.MsiIrqIndex, served.Edu.EnabledIrqIndex);
            connection.WriteBar0(0x60, 4, 1); // edu: raise
            Assert.True(served.Kernel.TryReadEventFd(eventFd, out ulong count));
            Assert.Equal(1UL, count);
        }

        [Fact]
        public void INTx_is_unmasked_by_the_clients_unmask_after_each_interrupt()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            connection.WriteConfig(0x04, 2, 0x0006);
            int eventFd = served.Kernel.CreateEventFd();
            VfioUserClient.ThrowIfError(connection.Client.Request(VfioUserCommand.DeviceSetIrqs, Trigger(VfioConstants.IntxIrqIndex, 0, 1), new[] { eventFd }), "SET_IRQS");

            connection.WriteBar0(0x60, 4, 1);
            Assert.True(served.Kernel.TryReadEventFd(eventFd, out _));
            connection.WriteBar0(0x64, 4, 1);
            connection.WriteBar0(0x60, 4, 1); // masked until the client unmasks, as QEMU does after the guest's EOI
            Assert.False(served.Kernel.TryReadEventFd(eventFd, out _));

            VfioUserClient.ThrowIfError(connection.Client.Request(VfioUserCommand.DeviceSetIrqs, new VfioUserSetIrqs(VfioUserSetIrqs.DataNone | VfioUserSetIrqs.ActionUnmask, 0, 0, 1, null).Encode()), "UNMASK");

            Assert.True(served.Kernel.TryReadEventFd(eventFd, out _)); // the line was still asserted
        }

        [Fact]
        public void DMA_into_client_memory_it_passed_as_a_memfd_reaches_that_memory()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            using IHostMemory guestRam = served.Kernel.AllocateMemory(0x20000, shareable: true);
            connection.WriteConfig(0x04, 2, 0x0006);

            VfioUserReply mapped = connection.Client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(3, 0x10000, 0x100000, 0x10000).Encode(), new[] { guestRam.Fd });

            Assert.False(mapped.IsError);
            byte[] pattern = Enumerable.Range(0, 64).Select(i => (byte)(i * 7)).ToArray();
            pattern.CopyTo(served.Model.DmaBuffer);
            connection.WriteBar0(0x80, 8, 0x40000); // edu buffer -> guest RAM at IOVA 0x100100
            connection.WriteBar0(0x88, 8, 0x100100);
            connection.WriteBar0(0x90, 8, 64);
            connection.WriteBar0(0x98, 8, 0x3);
            byte[] seen = new byte[64];
            Marshal.Copy(guestRam.Address + 0x10100, seen, 0, seen.Length);
            Assert.Equal(pattern, seen);

            VfioUserReply unmapped = connection.Client.Request(VfioUserCommand.DmaUnmap, new VfioUserDmaUnmap(24, 0, 0x100000, 0x10000).Encode());
            Assert.False(unmapped.IsError);
            Assert.Equal(new VfioUserDmaUnmap(24, 0, 0x100000, 0x10000).Encode(), unmapped.Payload); // the entry echoed
            Assert.Empty(served.Kernel.ContainerMappings);
        }

        [Fact]
        public void A_mapping_without_a_descriptor_is_accepted_but_not_reachable_by_the_device()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();

            VfioUserReply reply = connection.Client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(1, 0, 0xfffc0000, 0x40000).Encode());

            Assert.False(reply.IsError);
            Assert.Empty(served.Kernel.ContainerMappings);
            Assert.False(connection.Client.Request(VfioUserCommand.DmaUnmap, new VfioUserDmaUnmap(24, 0, 0xfffc0000, 0x40000).Encode()).IsError);
        }

        [Fact]
        public void DEVICE_RESET_resets_the_device_and_the_consumer_sees_the_reset_values()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            connection.WriteConfig(0x04, 2, 0x0006);

            VfioUserReply reply = connection.Client.Request(VfioUserCommand.DeviceReset, Array.Empty<byte>());

            Assert.False(reply.IsError);
            Assert.Equal(1, served.Edu.ResetCount);
            Assert.Equal(0u, connection.ReadConfig(0x04, 2) & 0x2);
        }

        [Fact]
        public void When_the_client_goes_its_interrupts_memory_and_descriptors_go_and_the_device_is_reset_for_the_next()
        {
            using ServedDevice served = ServedDevice.Create();
            int descriptors = served.Kernel.OpenDescriptorCount;
            using IHostMemory guestRam = served.Kernel.AllocateMemory(0x10000, shareable: true);
            int eventFd = served.Kernel.CreateEventFd();
            ServedDevice.Connection first = served.Connect();
            first.WriteConfig(0x04, 2, 0x0006);
            VfioUserClient.ThrowIfError(first.Client.Request(VfioUserCommand.DeviceSetIrqs, Trigger(VfioConstants.MsiIrqIndex, 0, 1), new[] { eventFd }), "SET_IRQS");
            VfioUserClient.ThrowIfError(first.Client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(3, 0, 0x100000, 0x10000).Encode(), new[] { guestRam.Fd }), "DMA_MAP");
            Assert.NotEmpty(served.Kernel.ContainerMappings);

            VfioUserSessionResult result = first.Close();

            Assert.Equal("the client disconnected", result.Reason);
            Assert.Null(served.Edu.EnabledIrqIndex);
            Assert.Empty(served.Kernel.ContainerMappings);
            Assert.Equal(1, served.Edu.ResetCount);
            Assert.Equal(descriptors + 2, served.Kernel.OpenDescriptorCount); // only the test's own memfd and eventfd remain

            using ServedDevice.Connection second = served.Connect();
            second.WriteConfig(0x04, 2, 0x0006);
            Assert.Equal(0x0100_00EDUL, second.ReadBar0(0, 4));
        }

        private static byte[] Trigger(int index, uint start, uint count) =>
            new VfioUserSetIrqs(VfioUserSetIrqs.DataEventFd | VfioUserSetIrqs.ActionTrigger, (uint)index, start, count, null).Encode();

        private static VfioUserReply RegionInfo(ServedDevice.Connection connection, uint index)
        {
            byte[] request = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(request, 32);
            BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(8), index);
            return connection.Client.Request(VfioUserCommand.DeviceGetRegionInfo, request);
        }

        private static uint IrqCount(ServedDevice.Connection connection, int index)
        {
            VfioUserReply reply = connection.Client.Request(VfioUserCommand.DeviceGetIrqInfo, new VfioUserInfo(16, 0, (uint)index, 0).Encode());
            return Info(reply.Payload).Second;
        }

        private static VfioUserInfo Info(byte[] payload) => new VfioUserInfo(
            BinaryPrimitives.ReadUInt32LittleEndian(payload),
            BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(4)),
            BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)),
            BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(12)));
    }
}
