using System;
using System.Buffers.Binary;
using System.Linq;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using Xunit;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>A client that breaks the protocol: every message is checked before it is used; an error reply, or a closed connection when the framing is broken, never a crash, a leak or a config access the policy denies.</summary>
    public sealed class HostileClientTests
    {
        [Fact]
        public void A_first_message_other_than_VERSION_is_refused_and_the_connection_closed()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect(negotiate: false);

            VfioUserReply reply = connection.Client.Request(VfioUserCommand.DeviceGetInfo, new VfioUserInfo(16, 0, 0, 0).Encode());

            Assert.Equal(VfioUserErrno.EINVAL, reply.Errno);
            Assert.Contains("cannot be answered", connection.Ended().Reason);
        }

        [Theory]
        [InlineData("{\"capabilities\": {\"max_msg_fds\": -1}}")]
        [InlineData("{\"capabilities\": {\"max_data_xfer_size\": \"big\"}}")]
        [InlineData("{\"capabilities\": 7}")]
        [InlineData("[1, 2]")]
        [InlineData("{\"capabilities\": {")]
        [InlineData("{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{}}}}}}}}}}")]
        public void A_VERSION_with_malformed_capabilities_is_refused_and_the_connection_closed(string json)
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect(negotiate: false);
            byte[] text = System.Text.Encoding.UTF8.GetBytes(json + "\0");
            byte[] payload = new byte[4 + text.Length];
            text.CopyTo(payload, 4);

            VfioUserReply reply = connection.Client.Request(VfioUserCommand.Version, payload);

            Assert.Equal(VfioUserErrno.EINVAL, reply.Errno);
            connection.Ended();
        }

        [Fact]
        public void Another_major_version_is_refused_and_a_second_VERSION_too()
        {
            using ServedDevice served = ServedDevice.Create();
            using (ServedDevice.Connection connection = served.Connect(negotiate: false))
            {
                Assert.Equal(VfioUserErrno.ENOTSUP, connection.Client.Request(VfioUserCommand.Version, new VfioUserVersion(1, 0, new VfioUserCapabilities()).Encode()).Errno);
                connection.Ended();
            }

            using ServedDevice.Connection again = served.Connect();
            Assert.Equal(VfioUserErrno.EINVAL, again.Client.Request(VfioUserCommand.Version, new VfioUserVersion(0, 0, new VfioUserCapabilities()).Encode()).Errno);
            Assert.Equal(0x11e8_1234u, again.ReadConfig(0, 4)); // the connection stays usable
        }

        [Theory]
        [InlineData(8)] // shorter than a header
        [InlineData(12)]
        public void A_message_shorter_than_its_header_closes_the_connection(int length)
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();

            connection.Channel.SendRaw(new byte[length]);

            Assert.Contains("16-byte header", connection.Ended().Reason);
        }

        [Fact]
        public void A_header_that_announces_more_than_the_server_takes_closes_the_connection()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            byte[] header = new byte[16];
            new VfioUserHeader(1, (ushort)VfioUserCommand.RegionWrite, 64u << 20, 0, 0).Write(header);

            connection.Channel.SendRaw(header);

            Assert.Contains("larger than", connection.Ended().Reason);
        }

        [Fact]
        public void A_reply_from_the_client_closes_the_connection()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            byte[] reply = new byte[16];
            new VfioUserHeader(9, (ushort)VfioUserCommand.DmaRead, 16, VfioUserHeader.TypeReply, 0).Write(reply);

            connection.Channel.SendRaw(reply);

            connection.Ended();
        }

        [Fact]
        public void More_descriptors_than_negotiated_close_the_connection_and_are_all_closed()
        {
            using ServedDevice served = ServedDevice.Create(options: new VfioUserServerOptions { MaxMessageFds = 2 });
            int before = served.Kernel.OpenDescriptorCount;
            int[] eventFds = Enumerable.Range(0, 3).Select(_ => served.Kernel.CreateEventFd()).ToArray();
            ServedDevice.Connection connection = served.Connect();

            Assert.Throws<VfioUserProtocolException>(() => connection.Client.Request(VfioUserCommand.DeviceSetIrqs, new VfioUserSetIrqs(VfioUserSetIrqs.DataEventFd | VfioUserSetIrqs.ActionTrigger, 1, 0, 3, null).Encode(), eventFds));

            connection.Ended();
            connection.Close();
            Assert.Equal(before + 3, served.Kernel.OpenDescriptorCount); // the test's three; the server's copies are closed
        }

        [Fact]
        public void DMA_maps_that_overlap_wrap_are_unaligned_or_carry_two_descriptors_are_refused_and_leak_nothing()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            int before = served.Kernel.OpenDescriptorCount;
            IHostMemory ram = served.Kernel.AllocateMemory(0x20000, shareable: true);
            VfioUserClient.ThrowIfError(connection.Client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(3, 0, 0x100000, 0x10000).Encode(), new[] { ram.Fd }), "DMA_MAP");
            int afterGoodMap = served.Kernel.OpenDescriptorCount;

            Assert.Equal(VfioUserErrno.EEXIST, Map(connection, new VfioUserDmaMap(3, 0, 0x108000, 0x10000), ram.Fd));
            Assert.Equal(VfioUserErrno.EINVAL, Map(connection, new VfioUserDmaMap(3, 0x800, 0x200000, 0x1000), ram.Fd));
            Assert.Equal(VfioUserErrno.EINVAL, Map(connection, new VfioUserDmaMap(3, 0, 0x200800, 0x1000), ram.Fd));
            Assert.Equal(VfioUserErrno.EINVAL, Map(connection, new VfioUserDmaMap(3, 0, 0xFFFF_FFFF_FFFF_F000, 0x2000), ram.Fd));
            Assert.Equal(VfioUserErrno.EINVAL, Map(connection, new VfioUserDmaMap(3, 0, 0x300000, 0), ram.Fd));
            Assert.Equal(VfioUserErrno.EINVAL, Map(connection, new VfioUserDmaMap(3, 0, 0xfee00000, 0x1000), ram.Fd)); // the MSI window
            Assert.Equal(VfioUserErrno.EINVAL, Map(connection, new VfioUserDmaMap(3, 0x30000, 0x400000, 0x1000), ram.Fd)); // past the memfd
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(3, 0, 0x500000, 0x1000).Encode(), new[] { ram.Fd, ram.Fd }).Errno);
            byte[] badFlags = new VfioUserDmaMap(3, 0, 0x600000, 0x1000).Encode();
            BinaryPrimitives.WriteUInt32LittleEndian(badFlags.AsSpan(4), 0x10);
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DmaMap, badFlags, new[] { ram.Fd }).Errno);
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DmaMap, new byte[31]).Errno);
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DmaUnmap, new VfioUserDmaUnmap(24, 0, 0x100000, 0x8000).Encode()).Errno);

            Assert.Single(served.Kernel.ContainerMappings);
            Assert.Equal(afterGoodMap, served.Kernel.OpenDescriptorCount); // every refused message's descriptors closed
            connection.Close();
            ram.Dispose();
            Assert.Equal(before, served.Kernel.OpenDescriptorCount);
            Assert.Equal(0, served.Kernel.LiveAllocationCount);
        }

        [Fact]
        public void SET_IRQS_that_is_malformed_or_reaches_past_what_the_consumer_sees_is_refused_and_its_descriptors_closed()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            int fd = served.Kernel.CreateEventFd();
            int before = served.Kernel.OpenDescriptorCount;
            uint trigger = VfioUserSetIrqs.DataEventFd | VfioUserSetIrqs.ActionTrigger;

            Assert.Equal(VfioUserErrno.EINVAL, SetIrqs(connection, new VfioUserSetIrqs(trigger, 1, 0, 2, null).Encode(), fd)); // 1 fd, 2 vectors
            Assert.Equal(VfioUserErrno.EINVAL, SetIrqs(connection, new VfioUserSetIrqs(trigger, 1, 1, 1, null).Encode(), fd)); // edu has 1 MSI vector
            Assert.Equal(VfioUserErrno.EINVAL, SetIrqs(connection, new VfioUserSetIrqs(trigger, 2, 0, 1, null).Encode(), fd)); // no MSI-X
            Assert.Equal(VfioUserErrno.EINVAL, SetIrqs(connection, new VfioUserSetIrqs(trigger, 77, 0, 1, null).Encode(), fd));
            Assert.Equal(VfioUserErrno.EINVAL, SetIrqs(connection, new VfioUserSetIrqs(trigger | VfioUserSetIrqs.ActionMask, 0, 0, 1, null).Encode(), fd));
            byte[] bools = new VfioUserSetIrqs(VfioUserSetIrqs.DataBool | VfioUserSetIrqs.ActionMask, 0, 0, 1, new[] { true }).Encode();
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DeviceSetIrqs, bools.Take(bools.Length - 1).ToArray()).Errno); // argsz says 21, 20 came
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.DeviceSetIrqs, new byte[19]).Errno);

            Assert.Null(served.Edu.EnabledIrqIndex);
            Assert.Equal(before, served.Kernel.OpenDescriptorCount);
        }

        [Fact]
        public void Region_accesses_outside_a_region_of_no_bytes_or_beyond_the_transfer_size_are_refused()
        {
            using ServedDevice served = ServedDevice.Create(options: new VfioUserServerOptions { MaxDataTransferSize = 4096 });
            using ServedDevice.Connection connection = served.Connect();

            Assert.Equal(VfioUserErrno.EINVAL, connection.Read(7, 0xfe, 4).Errno);
            Assert.Equal(VfioUserErrno.EINVAL, connection.Read(7, ulong.MaxValue - 1, 4).Errno);
            Assert.Equal(VfioUserErrno.EINVAL, connection.Read(7, 0, 0).Errno);
            Assert.Equal(VfioUserErrno.E2BIG, connection.Read(0, 0, 8192).Errno);
            Assert.Equal(VfioUserErrno.EINVAL, connection.Read(1, 0, 4).Errno); // BAR1 is not implemented
            Assert.Equal(VfioUserErrno.EINVAL, connection.Read(99, 0, 4).Errno);
            byte[] mismatched = new VfioUserRegionAccess(0x3c, 7, 4, new byte[2]).Encode(); // count says 4, 2 bytes came
            Assert.Equal(VfioUserErrno.EINVAL, connection.Client.Request(VfioUserCommand.RegionWrite, mismatched).Errno);
            Assert.Equal(0x11e8_1234u, connection.ReadConfig(0, 4));
        }

        [Fact]
        public void Commands_the_server_does_not_offer_are_ENOTSUP_and_descriptors_nobody_takes_are_closed()
        {
            using ServedDevice served = ServedDevice.Create();
            using ServedDevice.Connection connection = served.Connect();
            int fd = served.Kernel.CreateEventFd();
            int before = served.Kernel.OpenDescriptorCount;

            Assert.Equal(VfioUserErrno.ENOTSUP, connection.Client.Request((VfioUserCommand)200, new byte[3]).Errno);
            Assert.Equal(VfioUserErrno.ENOTSUP, connection.Client.Request(VfioUserCommand.DmaRead, new byte[16]).Errno);
            Assert.Equal(VfioUserErrno.ENOTSUP, connection.Client.Request(VfioUserCommand.RegionWriteMulti, new byte[8]).Errno);
            Assert.False(connection.Client.Request(VfioUserCommand.DeviceGetInfo, new VfioUserInfo(16, 0, 0, 0).Encode(), new[] { fd }).IsError);

            Assert.Equal(before, served.Kernel.OpenDescriptorCount);
        }

        private static int Map(ServedDevice.Connection connection, VfioUserDmaMap map, int fd) =>
            connection.Client.Request(VfioUserCommand.DmaMap, map.Encode(), new[] { fd }).Errno;

        private static int SetIrqs(ServedDevice.Connection connection, byte[] payload, int fd) =>
            connection.Client.Request(VfioUserCommand.DeviceSetIrqs, payload, new[] { fd }).Errno;
    }
}
