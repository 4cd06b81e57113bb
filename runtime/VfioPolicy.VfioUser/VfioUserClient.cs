using System;
using System.Globalization;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.VfioUser
{
    /// <summary>A reply: its header, payload and the descriptors it carried (now the caller's).</summary>
    /// <param name="Header">The reply header.</param>
    /// <param name="Payload">The payload (empty for an error reply).</param>
    /// <param name="Fds">Descriptors that came with it.</param>
    public sealed record VfioUserReply(VfioUserHeader Header, byte[] Payload, int[] Fds)
    {
        /// <summary>True for an error reply.</summary>
        public bool IsError => Header.IsError;

        /// <summary>The errno of an error reply (0 otherwise).</summary>
        public int Errno => IsError ? (int)Header.Error : 0;
    }

    /// <summary>
    /// The client end of a vfio-user connection: negotiates, sends commands one at a time, and matches each reply to
    /// its command. What the project's own tools use to talk to a vfio-user server (its tests, and the runtime's
    /// vfio-user kernel seam); the server it talks to is untrusted, so replies are checked as strictly as requests.
    /// </summary>
    public sealed class VfioUserClient : IDisposable
    {
        private readonly IVfioUserChannel _channel;
        private readonly IVfioKernel _kernel;
        private ushort _nextId;
        private VfioUserProtocolException? _broken;

        /// <summary>Wraps a connected channel, which the client owns; <paramref name="kernel"/> closes descriptors a bad reply carried.</summary>
        public VfioUserClient(IVfioUserChannel channel, IVfioKernel kernel)
        {
            _channel = channel ?? throw new ArgumentNullException(nameof(channel));
            _kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        }

        /// <summary>The server's capabilities, once negotiated.</summary>
        public VfioUserCapabilities? Server { get; private set; }

        /// <summary>The most descriptors a reply may carry to this client.</summary>
        public int MaxReplyFds { get; init; } = 8;

        /// <summary>The largest reply this client takes.</summary>
        public int MaxReplySize { get; init; } = (1 << 20) + 4096;

        /// <summary>Sends VERSION with <paramref name="ours"/> and reads the server's; throws when the server refuses or answers a major version other than 0.</summary>
        /// <exception cref="VfioUserProtocolException">The server refused, or answered something invalid.</exception>
        public VfioUserVersion Negotiate(VfioUserCapabilities ours)
        {
            VfioUserReply reply = Request(VfioUserCommand.Version, new VfioUserVersion(0, 0, ours).Encode());
            ThrowIfError(reply, "VERSION");
            VfioUserVersion version = VfioUserVersion.Parse(reply.Payload);
            if (version.Major != 0 || version.Minor != 0)
            {
                throw new VfioUserProtocolException(VfioUserErrno.ENOTSUP, string.Format(CultureInfo.InvariantCulture, "the server answered version {0}.{1} to a proposal of 0.0", version.Major, version.Minor));
            }

            Server = version.Capabilities;
            return version;
        }

        /// <summary>Sends one command and waits for its reply.</summary>
        /// <exception cref="VfioUserProtocolException">The connection broke, or the server sent something other than the reply.</exception>
        public VfioUserReply Request(VfioUserCommand command, byte[] payload, ReadOnlySpan<int> fds = default) => Call(command, payload, fds, noReply: false)!;

        /// <summary>Sends one command with the no-reply flag (a posted write, say).</summary>
        /// <exception cref="VfioUserProtocolException">The connection broke.</exception>
        public void Post(VfioUserCommand command, byte[] payload, ReadOnlySpan<int> fds = default) => Call(command, payload, fds, noReply: true);

        /// <summary>
        /// Sends one command and waits for its reply (unless <paramref name="noReply"/>: then null). A reply to another
        /// message id, or a command from the server, breaks the protocol (this client never pipelines).
        /// </summary>
        private VfioUserReply? Call(VfioUserCommand command, byte[] payload, ReadOnlySpan<int> fds, bool noReply)
        {
            if (payload is null)
            {
                throw new ArgumentNullException(nameof(payload));
            }

            if (_broken is { } broken)
            {
                throw new VfioUserProtocolException(broken.Errno, "the connection is unusable after an earlier failure: " + broken.Message);
            }

            ushort id = _nextId++;
            byte[] message = new byte[VfioUserHeader.Length + payload.Length];
            new VfioUserHeader(id, (ushort)command, (uint)message.Length, noReply ? VfioUserHeader.NoReplyFlag : 0, 0).Write(message);
            payload.CopyTo(message, VfioUserHeader.Length);
            _channel.Send(message, fds);
            if (noReply)
            {
                return null;
            }

            VfioUserFrame? received;
            try
            {
                received = _channel.Receive(MaxReplySize, MaxReplyFds);
            }
            catch (VfioUserProtocolException error)
            {
                // A reply that timed out or broke off may still arrive, or half of it: the stream is out of step for good.
                _broken = error;
                throw;
            }

            VfioUserFrame frame = received
                ?? throw new VfioUserProtocolException(VfioUserErrno.EIO, "the server closed the connection instead of answering " + command.ToString());
            if (!frame.Header.IsReply || frame.Header.MessageId != id || frame.Header.Command != (ushort)command)
            {
                Frames.CloseAll(_kernel, frame.Fds);
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "expected the reply to {0} (id {1}); the server sent {2} (id {3}, {4})", command, id, frame.Header.CommandName, frame.Header.MessageId, frame.Header.IsReply ? "a reply" : "a command"));
            }

            if (frame.Header.IsError && frame.Payload.Length != 0)
            {
                Frames.CloseAll(_kernel, frame.Fds);
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "an error reply to " + command.ToString() + " carries a payload");
            }

            return new VfioUserReply(frame.Header, frame.Payload, frame.Fds);
        }

        /// <summary>Throws a <see cref="VfioUserProtocolException"/> with the server's errno when <paramref name="reply"/> is an error.</summary>
        public static void ThrowIfError(VfioUserReply? reply, string what)
        {
            if (reply is { IsError: true })
            {
                throw new VfioUserProtocolException(reply.Errno, what + " was refused by the server with errno " + reply.Errno.ToString(CultureInfo.InvariantCulture));
            }
        }

        /// <summary>
        /// <c>REGION_READ</c> of <paramref name="count"/> bytes of region <paramref name="region"/> at
        /// <paramref name="offset"/> (7 is config space); the data the server returned, checked to be what was asked.
        /// </summary>
        /// <exception cref="VfioUserProtocolException">Refused (with the server's errno), or a reply of another shape.</exception>
        public byte[] ReadRegion(uint region, ulong offset, uint count)
        {
            VfioUserReply reply = Request(VfioUserCommand.RegionRead, new VfioUserRegionAccess(offset, region, count, Array.Empty<byte>()).Encode());
            ThrowIfError(reply, "REGION_READ");
            if (reply.Payload.Length != VfioUserRegionAccess.Length + count)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "REGION_READ of {0} bytes came back with {1}", count, reply.Payload.Length - VfioUserRegionAccess.Length));
            }

            return reply.Payload.AsSpan(VfioUserRegionAccess.Length).ToArray();
        }

        /// <summary><c>REGION_WRITE</c> of <paramref name="data"/> to region <paramref name="region"/> at <paramref name="offset"/>.</summary>
        /// <exception cref="VfioUserProtocolException">Refused (with the server's errno).</exception>
        public void WriteRegion(uint region, ulong offset, byte[] data)
        {
            if (data is null)
            {
                throw new ArgumentNullException(nameof(data));
            }

            ThrowIfError(Request(VfioUserCommand.RegionWrite, new VfioUserRegionAccess(offset, region, (uint)data.Length, data).Encode()), "REGION_WRITE");
        }

        /// <summary>Closes the connection.</summary>
        public void Dispose() => _channel.Dispose();
    }
}
