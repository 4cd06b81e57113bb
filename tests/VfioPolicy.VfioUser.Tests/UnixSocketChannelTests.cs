using System;
using System.IO;
using System.Linq;
using System.Runtime.Versioning;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Transport;
using Xunit;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>
    /// The real AF_UNIX transport with real descriptors. The descriptor count is checked on the receiving side with
    /// the kernel's own accounting: a control message whose length announces one slot too many hands the receiver an
    /// extra descriptor (Tmds.LibC 0.5.0's CMSG_LEN pads like CMSG_SPACE and did exactly that).
    /// </summary>
    [SupportedOSPlatform("linux")]
    public sealed class UnixSocketChannelTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("vfiopolicy-sock-").FullName;
        private readonly LinuxVfioKernel _kernel = new LinuxVfioKernel();

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Theory]
        [InlineData(0)]
        [InlineData(1)]
        [InlineData(2)]
        [InlineData(3)]
        [InlineData(8)]
        public void Each_message_delivers_exactly_the_descriptors_it_was_sent_with_and_each_is_a_working_duplicate(int count)
        {
            using UnixSocketListener listener = UnixSocketListener.Listen(Path.Combine(_folder, "s"), _kernel);
            using UnixSocketChannel client = UnixSocketChannel.Connect(listener.Path, _kernel);
            using UnixSocketChannel server = listener.Accept(5000) ?? throw new InvalidOperationException("no connection");

            int[] sent = Enumerable.Range(0, count).Select(_ => _kernel.CreateEventFd()).ToArray();
            try
            {
                byte[] message = new byte[VfioUserHeader.Length + 4];
                new VfioUserHeader(7, (ushort)VfioUserCommand.DeviceSetIrqs, (uint)message.Length, 0, 0).Write(message);
                message[^1] = 0xA5;
                client.Send(message, sent);

                VfioUserFrame frame = server.Receive(4096, 8) ?? throw new InvalidOperationException("connection closed");
                try
                {
                    Assert.Equal(7, frame.Header.MessageId);
                    Assert.Equal(new byte[] { 0, 0, 0, 0xA5 }, frame.Payload);
                    Assert.Equal(count, frame.Fds.Length);
                    for (int i = 0; i < count; i++)
                    {
                        Assert.DoesNotContain(frame.Fds[i], sent);
                        _kernel.WriteEventFd(frame.Fds[i], (ulong)(i + 1));
                        Assert.True(_kernel.TryReadEventFd(sent[i], out ulong value));
                        Assert.Equal((ulong)(i + 1), value); // the i-th descriptor received is the i-th one sent
                    }
                }
                finally
                {
                    foreach (int fd in frame.Fds)
                    {
                        _kernel.Close(fd);
                    }
                }
            }
            finally
            {
                foreach (int fd in sent)
                {
                    _kernel.Close(fd);
                }
            }
        }

        [Fact]
        public void A_silent_peer_times_a_receive_out_and_a_client_then_refuses_to_go_on()
        {
            using UnixSocketListener listener = UnixSocketListener.Listen(Path.Combine(_folder, "s"), _kernel);
            UnixSocketChannel channel = UnixSocketChannel.Connect(listener.Path, _kernel);
            using UnixSocketChannel server = listener.Accept(5000) ?? throw new InvalidOperationException("no connection");
            channel.SetReceiveTimeout(TimeSpan.FromMilliseconds(200));
            using var client = new VfioUserClient(channel, _kernel);

            // The server reads the request and never answers.
            var first = Assert.Throws<VfioUserProtocolException>(() => client.Request(VfioUserCommand.DeviceGetInfo, new byte[8]));
            Assert.Equal(VfioUserErrno.ETIMEDOUT, first.Errno);
            Assert.Contains("sent nothing for 0.2 s", first.Message, StringComparison.Ordinal);
            Assert.NotNull(server.Receive(4096, 8));

            // A late answer must never be taken for the reply to a later request.
            var second = Assert.Throws<VfioUserProtocolException>(() => client.Request(VfioUserCommand.DeviceGetInfo, new byte[8]));
            Assert.Contains("unusable after an earlier failure", second.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentOutOfRangeException>(() => channel.SetReceiveTimeout(TimeSpan.Zero));
        }

        [Fact]
        public void More_descriptors_than_the_receiver_takes_end_the_connection_and_are_closed()
        {
            using UnixSocketListener listener = UnixSocketListener.Listen(Path.Combine(_folder, "s"), _kernel);
            using UnixSocketChannel client = UnixSocketChannel.Connect(listener.Path, _kernel);
            using UnixSocketChannel server = listener.Accept(5000) ?? throw new InvalidOperationException("no connection");
            int[] sent = Enumerable.Range(0, 3).Select(_ => _kernel.CreateEventFd()).ToArray();
            byte[] message = new byte[VfioUserHeader.Length];
            new VfioUserHeader(1, (ushort)VfioUserCommand.DeviceSetIrqs, (uint)message.Length, 0, 0).Write(message);
            client.Send(message, sent);

            var error = Assert.Throws<VfioUserProtocolException>(() => server.Receive(4096, 2));
            Assert.Contains("descriptors", error.Message, StringComparison.Ordinal);
            foreach (int fd in sent)
            {
                _kernel.Close(fd);
            }
        }

        [Fact]
        public void The_socket_file_is_owner_only_and_goes_away_with_the_listener()
        {
            string path = Path.Combine(_folder, "s");
            using (UnixSocketListener.Listen(path, _kernel))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            Assert.False(File.Exists(path));
        }

        [Fact]
        public void A_regular_file_at_the_socket_path_is_refused_not_replaced()
        {
            string path = Path.Combine(_folder, "s");
            File.WriteAllText(path, "precious");
            Assert.Throws<VfioPolicy.Runtime.VfioException>(() => UnixSocketListener.Listen(path, _kernel));
            Assert.Equal("precious", File.ReadAllText(path));
        }
    }
}
