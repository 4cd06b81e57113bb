using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;

namespace VfioPolicy.VfioUser.Transport
{
    /// <summary>One message as it came off the transport: its header, its payload, and the descriptors it carried (now the receiver's).</summary>
    public sealed class VfioUserFrame
    {
        /// <summary>Creates the frame.</summary>
        public VfioUserFrame(VfioUserHeader header, byte[] payload, int[] fds)
        {
            Header = header;
            Payload = payload ?? throw new ArgumentNullException(nameof(payload));
            Fds = fds ?? throw new ArgumentNullException(nameof(fds));
        }

        /// <summary>The header.</summary>
        public VfioUserHeader Header { get; }

        /// <summary>The payload (<see cref="VfioUserHeader.Size"/> - 16 bytes).</summary>
        public byte[] Payload { get; }

        /// <summary>The descriptors that came with the message; the receiver owns (and must close) them.</summary>
        public int[] Fds { get; }
    }

    /// <summary>
    /// A connection carrying vfio-user messages and the file descriptors they pass (AF_UNIX with SCM_RIGHTS, or the
    /// in-memory twin for tests). Framing is checked here: a header that announces more than the receiver allows, or
    /// more descriptors than it takes, is a connection-fatal <see cref="VfioUserProtocolException"/>.
    /// </summary>
    public interface IVfioUserChannel : IDisposable
    {
        /// <summary>
        /// Waits for the next message; null when the peer closed the connection between messages. A message larger
        /// than <paramref name="maxMessageSize"/> (header included) or with more than <paramref name="maxFds"/>
        /// descriptors, or a connection that ends inside a message, throws (descriptors that came are closed first).
        /// </summary>
        VfioUserFrame? Receive(int maxMessageSize, int maxFds);

        /// <summary>Sends one message (header and payload) with <paramref name="fds"/>, which stay the sender's.</summary>
        void Send(ReadOnlySpan<byte> message, ReadOnlySpan<int> fds);
    }

    /// <summary>
    /// Two connected in-memory channels, in one process, over one kernel seam: descriptors travel as a socket passes
    /// them, each side getting its own (<see cref="IVfioKernel.Duplicate"/>). For tests of both ends of the protocol.
    /// </summary>
    public sealed class InMemoryChannel : IVfioUserChannel
    {
        private readonly object _gate;
        private readonly Queue<(byte[] Bytes, int[] Fds)> _incoming = new Queue<(byte[], int[])>();
        private readonly IVfioKernel _kernel;
        private InMemoryChannel? _peer;
        private bool _closed;

        private InMemoryChannel(IVfioKernel kernel, object gate)
        {
            _kernel = kernel;
            _gate = gate;
        }

        /// <summary>How long <see cref="Receive"/> waits before it gives up (a test that hangs fails instead).</summary>
        public TimeSpan ReceiveTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>A connected pair: what one sends, the other receives.</summary>
        public static (InMemoryChannel Client, InMemoryChannel Server) CreatePair(IVfioKernel kernel)
        {
            var gate = new object();
            var client = new InMemoryChannel(kernel, gate);
            var server = new InMemoryChannel(kernel, gate);
            client._peer = server;
            server._peer = client;
            return (client, server);
        }

        /// <summary>Sends raw bytes as one message to the peer, framing unchecked (for tests of the peer's framing checks).</summary>
        public void SendRaw(byte[] bytes)
        {
            lock (_gate)
            {
                _peer?._incoming.Enqueue((bytes, Array.Empty<int>()));
                Monitor.PulseAll(_gate);
            }
        }

        /// <inheritdoc />
        public VfioUserFrame? Receive(int maxMessageSize, int maxFds)
        {
            lock (_gate)
            {
                DateTime deadline = DateTime.UtcNow + ReceiveTimeout;
                while (_incoming.Count == 0)
                {
                    if (_closed || _peer is null || _peer._closed)
                    {
                        return null;
                    }

                    TimeSpan left = deadline - DateTime.UtcNow;
                    if (left <= TimeSpan.Zero)
                    {
                        throw new TimeoutException("no vfio-user message arrived within " + ReceiveTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s");
                    }

                    Monitor.Wait(_gate, left);
                }

                (byte[] bytes, int[] fds) = _incoming.Dequeue();
                return Frames.Check(bytes, fds, maxMessageSize, maxFds, _kernel);
            }
        }

        /// <inheritdoc />
        public void Send(ReadOnlySpan<byte> message, ReadOnlySpan<int> fds)
        {
            lock (_gate)
            {
                if (_closed || _peer is null || _peer._closed)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EIO, "the peer closed the connection");
                }

                int[] copies = new int[fds.Length];
                for (int i = 0; i < fds.Length; i++)
                {
                    copies[i] = _kernel.Duplicate(fds[i]);
                }

                _peer._incoming.Enqueue((message.ToArray(), copies));
                Monitor.PulseAll(_gate);
            }
        }

        /// <summary>Closes this end; descriptors sent to it and not received are closed.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                while (_incoming.Count > 0)
                {
                    foreach (int fd in _incoming.Dequeue().Fds)
                    {
                        _kernel.Close(fd);
                    }
                }

                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>The framing checks both channels share.</summary>
    internal static class Frames
    {
        /// <summary>A whole message as bytes and its descriptors, checked: a header, the announced size, the limits.</summary>
        public static VfioUserFrame Check(byte[] bytes, int[] fds, int maxMessageSize, int maxFds, IVfioKernel kernel)
        {
            try
            {
                if (fds.Length > maxFds)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "a message carried {0} descriptors; at most {1} were negotiated", fds.Length, maxFds));
                }

                VfioUserHeader header = VfioUserHeader.Parse(bytes);
                CheckSize(header, maxMessageSize);
                if (header.Size != bytes.Length)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "the header announces {0} bytes but the message holds {1}", header.Size, bytes.Length));
                }

                return new VfioUserFrame(header, bytes.AsSpan(VfioUserHeader.Length).ToArray(), fds);
            }
            catch
            {
                CloseAll(kernel, fds);
                throw;
            }
        }

        public static void CheckSize(VfioUserHeader header, int maxMessageSize)
        {
            if (header.Size > (uint)maxMessageSize)
            {
                throw new VfioUserProtocolException(VfioUserErrno.E2BIG, string.Format(CultureInfo.InvariantCulture, "a message of {0} bytes is larger than the {1} this side takes", header.Size, maxMessageSize));
            }
        }

        public static void CloseAll(IVfioKernel kernel, IEnumerable<int> fds)
        {
            foreach (int fd in fds)
            {
                kernel.Close(fd);
            }
        }
    }
}
