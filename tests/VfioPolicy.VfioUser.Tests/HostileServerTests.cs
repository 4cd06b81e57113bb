using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Runtime.Versioning;
using System.Threading.Tasks;
using VfioPolicy.Policies;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Client;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Transport;
using Xunit;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>
    /// <see cref="VfioUserKernel"/> against a server that lies: a hand-written peer on a real socket that negotiates
    /// properly and then answers one request badly. Each must end in a <see cref="VfioException"/> saying what was
    /// wrong, within seconds, with every descriptor the server pushed closed.
    /// </summary>
    [SupportedOSPlatform("linux")]
    [Collection(DescriptorCounting.Name)]
    public sealed class HostileServerTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("vfiopolicy-hostile-").FullName;
        private readonly LinuxVfioKernel _host = new LinuxVfioKernel();

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Fact]
        public void A_device_info_with_too_few_regions_for_a_PCI_device_is_refused()
        {
            VfioException error = OpenAgainst((command, _) => command == VfioUserCommand.DeviceGetInfo ? (Info(3, 5), Array.Empty<int>()) : null);
            Assert.Contains("malformed", error.Message, StringComparison.Ordinal);
            Assert.Contains("3 regions", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_region_info_with_two_descriptors_is_refused_and_both_are_closed()
        {
            int open = OpenDescriptors();
            VfioException error = OpenAgainst((command, payload) =>
                command == VfioUserCommand.DeviceGetInfo ? (Info(9, 5), Array.Empty<int>())
                : command == VfioUserCommand.DeviceGetRegionInfo ? (Region(BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)), 0x1000, flags: 7), new[] { _host.CreateEventFd(), _host.CreateEventFd() })
                : null);
            Assert.Contains("2 descriptors", error.Message, StringComparison.Ordinal);
            Assert.Equal(open, OpenDescriptors());
        }

        [Fact]
        public void A_region_info_for_another_region_is_refused()
        {
            VfioException error = OpenAgainst((command, _) =>
                command == VfioUserCommand.DeviceGetInfo ? (Info(9, 5), Array.Empty<int>())
                : command == VfioUserCommand.DeviceGetRegionInfo ? (Region(5, 0x1000, flags: 3), Array.Empty<int>())
                : null);
            Assert.Contains("describes region 5", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_server_that_hangs_up_instead_of_answering_is_an_error_not_a_hang()
        {
            VfioException error = OpenAgainst((command, _) => command == VfioUserCommand.DeviceGetInfo ? throw new EndOfStreamException() : null);
            Assert.Contains("closed the connection", error.Message, StringComparison.Ordinal);
        }

        /// <summary>Opens the runtime's device against a peer that answers with <paramref name="answer"/> (null: an error reply) and expects it to fail.</summary>
        private VfioException OpenAgainst(Func<VfioUserCommand, byte[], (byte[] Payload, int[] Fds)?> answer)
        {
            using UnixSocketListener listener = UnixSocketListener.Listen(Path.Combine(_folder, "s" + Guid.NewGuid().ToString("N").Substring(0, 8)), _host);
            Task peer = Task.Run(() =>
            {
                using UnixSocketChannel channel = listener.Accept(10_000) ?? throw new TimeoutException("no client");
                while (channel.Receive(1 << 20, 16) is { } frame)
                {
                    var command = (VfioUserCommand)frame.Header.Command;
                    (byte[] Payload, int[] Fds)? reply;
                    try
                    {
                        reply = command == VfioUserCommand.Version
                            ? (new VfioUserVersion(0, 0, new VfioUserCapabilities(MaxMessageFds: 8)).Encode(), Array.Empty<int>())
                            : answer(command, frame.Payload);
                    }
                    catch (EndOfStreamException)
                    {
                        return; // hang up
                    }

                    byte[] payload = reply?.Payload ?? Array.Empty<byte>();
                    byte[] message = new byte[VfioUserHeader.Length + payload.Length];
                    uint flags = VfioUserHeader.TypeReply | (reply is null ? VfioUserHeader.ErrorFlag : 0);
                    new VfioUserHeader(frame.Header.MessageId, frame.Header.Command, (uint)message.Length, flags, reply is null ? 22u : 0).Write(message);
                    payload.CopyTo(message, VfioUserHeader.Length);
                    channel.Send(message, reply?.Fds ?? Array.Empty<int>());
                    foreach (int fd in reply?.Fds ?? Array.Empty<int>())
                    {
                        _host.Close(fd);
                    }
                }
            });

            using var kernel = new VfioUserKernel(_host, listener.Path);
            VfioException error = Assert.Throws<VfioException>(() => VfioDevice.Open(VfioUserKernel.Address, PolicyLibrary.All.Single(p => p.Name == "strict"), kernel).Dispose());
            kernel.Dispose();
            Assert.True(peer.Wait(TimeSpan.FromSeconds(10)), "the peer did not see the client go");
            return error;
        }

        private static byte[] Info(uint regions, uint irqs)
        {
            byte[] payload = new byte[16];
            BinaryPrimitives.WriteUInt32LittleEndian(payload, 16);
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), 3); // VFIO_DEVICE_FLAGS_RESET | PCI
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(8), regions);
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(12), irqs);
            return payload;
        }

        private static byte[] Region(uint index, ulong size, uint flags)
        {
            byte[] payload = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(payload, 32);
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(4), flags);
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(8), index);
            BinaryPrimitives.WriteUInt64LittleEndian(payload.AsSpan(16), size);
            return payload;
        }

        private static int OpenDescriptors() => Directory.GetFiles("/proc/self/fd").Length;
    }

    /// <summary>Tests that count the process's open descriptors run alone: a parallel test opening one would look like a leak.</summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class DescriptorCounting
    {
        /// <summary>The collection's name.</summary>
        public const string Name = "descriptor counting";
    }
}
