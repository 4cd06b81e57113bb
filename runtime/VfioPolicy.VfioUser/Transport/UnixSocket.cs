using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Tmds.Linux;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using static Tmds.Linux.LibC;

namespace VfioPolicy.VfioUser.Transport
{
    /// <summary>
    /// A vfio-user connection over an AF_UNIX stream socket: every message is one <c>sendmsg</c> (descriptors as
    /// <c>SCM_RIGHTS</c> on it), and the receiver reads the 16-byte header first, descriptors with it, then the rest.
    /// Every native call carries a SAFETY comment. (Tmds.LibC's <c>msghdr</c>/<c>cmsghdr</c> follow musl, 32-bit lengths with
    /// padding, which on 64-bit little-endian Linux lays out exactly as glibc's size_t fields.)
    /// </summary>
    public sealed unsafe class UnixSocketChannel : IVfioUserChannel
    {
        private readonly IVfioKernel _kernel;
        private int _fd;

        /// <summary>Wraps a connected socket; the channel owns it and closes it on Dispose.</summary>
        public UnixSocketChannel(int connectedSocket, IVfioKernel kernel)
        {
            _fd = connectedSocket;
            _kernel = kernel ?? throw new ArgumentNullException(nameof(kernel));
        }

        /// <summary>The socket descriptor.</summary>
        public int Fd => _fd;

        /// <summary>How long a receive waits before it fails (with ETIMEDOUT); null (the default) waits for ever.</summary>
        public TimeSpan? ReceiveTimeout { get; private set; }

        /// <summary>
        /// Makes every receive fail with ETIMEDOUT after <paramref name="timeout"/> without data (SO_RCVTIMEO), so a peer
        /// that stops answering cannot hang the caller. A timeout inside a message leaves the stream unusable.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">The timeout is not positive.</exception>
        /// <exception cref="VfioException">The socket refused the option.</exception>
        public void SetReceiveTimeout(TimeSpan timeout)
        {
            if (timeout <= TimeSpan.Zero)
            {
                throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "the receive timeout must be positive");
            }

            long microseconds = (long)Math.Min(timeout.TotalMicroseconds, long.MaxValue / 2);
            var value = new TimeValue { Seconds = microseconds / 1_000_000, Microseconds = microseconds % 1_000_000 };

            // SAFETY: value is a local struct of the size passed, alive for the call.
            if (setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &value, (socklen_t)(uint)sizeof(TimeValue)) < 0)
            {
                throw VfioException.FromErrno("setsockopt SO_RCVTIMEO on the vfio-user socket", errno);
            }

            ReceiveTimeout = timeout;
        }

        /// <summary>Connects to the server listening at <paramref name="path"/>.</summary>
        /// <exception cref="VfioException">The socket cannot be created or nobody listens there.</exception>
        public static UnixSocketChannel Connect(string path, IVfioKernel kernel)
        {
            int fd = UnixSockets.Create("connect to " + path);
            sockaddr_un address = UnixSockets.Address(path);

            // SAFETY: address is a local struct of the size passed, alive for the call.
            if (connect(fd, (sockaddr*)&address, (socklen_t)(uint)sizeof(sockaddr_un)) < 0)
            {
                int error = errno;
                close(fd);
                throw VfioException.FromErrno("connect to " + path, error);
            }

            return new UnixSocketChannel(fd, kernel);
        }

        /// <inheritdoc />
        public VfioUserFrame? Receive(int maxMessageSize, int maxFds)
        {
            byte[] headerBytes = new byte[VfioUserHeader.Length];
            var fds = new List<int>();
            int got = ReceiveFirst(headerBytes, fds, Math.Max(maxFds, 1));
            try
            {
                if (got == 0)
                {
                    if (fds.Count > 0)
                    {
                        throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "descriptors arrived without a message");
                    }

                    return null; // the peer closed the connection between messages
                }

                if (fds.Count > maxFds)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "a message carried {0} descriptors; at most {1} were negotiated", fds.Count, maxFds));
                }

                ReceiveExactly(headerBytes.AsSpan(got));
                VfioUserHeader header = VfioUserHeader.Parse(headerBytes);
                Frames.CheckSize(header, maxMessageSize);
                byte[] payload = new byte[header.PayloadLength];
                ReceiveExactly(payload);
                return new VfioUserFrame(header, payload, fds.ToArray());
            }
            catch
            {
                Frames.CloseAll(_kernel, fds);
                throw;
            }
        }

        /// <inheritdoc />
        public void Send(ReadOnlySpan<byte> message, ReadOnlySpan<int> fds)
        {
            int space = fds.Length == 0 ? 0 : UnixSockets.ControlSpace(fds.Length);
            byte* control = stackalloc byte[Math.Max(space, 1)];
            new Span<byte>(control, Math.Max(space, 1)).Clear();
            fixed (byte* data = message)
            {
                var vector = new iovec { iov_base = data, iov_len = (size_t)(ulong)message.Length };
                var header = new msghdr { msg_iov = &vector, msg_iovlen = 1 };
                if (space > 0)
                {
                    header.msg_control = control;
                    header.msg_controllen = (socklen_t)space;
                    cmsghdr* cmsg = CMSG_FIRSTHDR(&header);
                    cmsg->cmsg_level = SOL_SOCKET;
                    cmsg->cmsg_type = SCM_RIGHTS;
                    cmsg->cmsg_len = (socklen_t)UnixSockets.ControlLength(fds.Length);
                    int* slots = (int*)CMSG_DATA(cmsg);
                    for (int i = 0; i < fds.Length; i++)
                    {
                        slots[i] = fds[i];
                    }
                }

                long sent;
                while (true)
                {
                    // SAFETY: header points at the pinned message (exactly message.Length bytes) and at the control
                    // buffer of exactly ControlSpace(fds) bytes on the stack; both outlive the call. MSG_NOSIGNAL: a
                    // closed peer is an error here, not a SIGPIPE that kills the process.
                    sent = sendmsg(_fd, &header, MSG_NOSIGNAL);
                    if (sent >= 0 || errno != VfioConstants.EINTR)
                    {
                        break;
                    }
                }

                if (sent < 0)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EIO, "sendmsg on the vfio-user socket failed with " + VfioException.ErrnoName(errno));
                }

                // The descriptors went with the first byte; a stream socket may take the rest in more calls.
                SendRest(data + sent, message.Length - (int)sent);
            }
        }

        /// <summary>
        /// Ends the connection in both directions without closing the descriptor: a <see cref="Receive"/> blocked on
        /// another thread returns null (as if the peer had gone), so a server shuts down cleanly on a signal.
        /// </summary>
        public void Shutdown()
        {
            int fd = _fd;
            if (fd >= 0)
            {
                // SAFETY: no memory involved; the descriptor stays open until Dispose.
                shutdown(fd, SHUT_RDWR);
            }
        }

        /// <summary>Closes the socket. Idempotent.</summary>
        public void Dispose()
        {
            if (_fd >= 0)
            {
                // SAFETY: closes the socket this channel owns, once.
                close(_fd);
                _fd = -1;
            }
        }

        /// <summary>The first read of a message: as much of the header as arrives, and the descriptors that came with it.</summary>
        private int ReceiveFirst(Span<byte> header, List<int> fds, int maxFds)
        {
            int space = UnixSockets.ControlSpace(maxFds);
            byte* control = stackalloc byte[space];
            new Span<byte>(control, space).Clear();
            fixed (byte* data = header)
            {
                var vector = new iovec { iov_base = data, iov_len = (size_t)(ulong)header.Length };
                var message = new msghdr { msg_iov = &vector, msg_iovlen = 1, msg_control = control, msg_controllen = (socklen_t)space };
                long got;
                while (true)
                {
                    // SAFETY: message points at the pinned header buffer (16 bytes) and the stack control buffer of
                    // exactly `space` bytes; MSG_CMSG_CLOEXEC so received descriptors do not leak into children.
                    got = recvmsg(_fd, &message, MSG_CMSG_CLOEXEC);
                    if (got >= 0 || errno != VfioConstants.EINTR)
                    {
                        break;
                    }
                }

                if (got < 0)
                {
                    throw Failure("recvmsg", errno);
                }

                for (cmsghdr* cmsg = CMSG_FIRSTHDR(&message); cmsg != null; cmsg = CMSG_NXTHDR(&message, cmsg))
                {
                    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
                    {
                        int count = ((int)(uint)cmsg->cmsg_len - UnixSockets.ControlLength(0)) / sizeof(int);
                        int* slots = (int*)CMSG_DATA(cmsg);
                        for (int i = 0; i < count; i++)
                        {
                            fds.Add(slots[i]);
                        }
                    }
                }

                if ((message.msg_flags & MSG_CTRUNC) != 0)
                {
                    // More descriptors came than fit: the kernel closed the rest. The message cannot be trusted.
                    Frames.CloseAll(_kernel, fds);
                    fds.Clear();
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "a message carried more than " + maxFds.ToString(CultureInfo.InvariantCulture) + " descriptors");
                }

                return (int)got;
            }
        }

        private void ReceiveExactly(Span<byte> buffer)
        {
            int done = 0;
            while (done < buffer.Length)
            {
                fixed (byte* data = buffer.Slice(done))
                {
                    // SAFETY: data is the pinned rest of the buffer; recv writes at most its length.
                    long got = recv(_fd, data, (size_t)(ulong)(buffer.Length - done), 0);
                    if (got < 0 && errno == VfioConstants.EINTR)
                    {
                        continue;
                    }

                    if (got == 0)
                    {
                        throw new VfioUserProtocolException(VfioUserErrno.EIO, "the connection ended inside a message");
                    }

                    if (got < 0)
                    {
                        throw Failure("recv", errno);
                    }

                    done += (int)got;
                }
            }
        }

        /// <summary>A failed receive: a timeout (SO_RCVTIMEO gives EAGAIN) says how long it waited; anything else is EIO.</summary>
        private VfioUserProtocolException Failure(string call, int error)
        {
            if (error == VfioConstants.EAGAIN && ReceiveTimeout is TimeSpan waited)
            {
                return new VfioUserProtocolException(
                    VfioUserErrno.ETIMEDOUT,
                    "the peer sent nothing for " + waited.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s (receive timeout); the connection is no longer usable");
            }

            return new VfioUserProtocolException(VfioUserErrno.EIO, call + " on the vfio-user socket failed with " + VfioException.ErrnoName(error));
        }

        private void SendRest(byte* data, int length)
        {
            while (length > 0)
            {
                // SAFETY: data points into the message pinned by the caller, with length bytes left.
                long sent = send(_fd, data, (size_t)(ulong)length, MSG_NOSIGNAL);
                if (sent < 0 && errno == VfioConstants.EINTR)
                {
                    continue;
                }

                if (sent <= 0)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EIO, "send on the vfio-user socket failed with " + VfioException.ErrnoName(errno));
                }

                data += sent;
                length -= (int)sent;
            }
        }
    }

    /// <summary>
    /// A listening AF_UNIX socket at a path, created owner-only (mode 0600: only the user running the server, and root,
    /// can connect). A stale socket file left by a server that died is replaced; any other file there is refused.
    /// </summary>
    public sealed unsafe class UnixSocketListener : IDisposable
    {
        private readonly IVfioKernel _kernel;
        private int _fd;

        private UnixSocketListener(int fd, string path, IVfioKernel kernel)
        {
            _fd = fd;
            Path = path;
            _kernel = kernel;
        }

        /// <summary>The socket's path.</summary>
        public string Path { get; }

        /// <summary>Creates the socket at <paramref name="path"/> and listens.</summary>
        /// <exception cref="VfioException">The path is too long, taken by something else, or the socket cannot be made.</exception>
        public static UnixSocketListener Listen(string path, IVfioKernel kernel)
        {
            if (System.IO.File.Exists(path) || System.IO.Directory.Exists(path))
            {
                var info = new System.IO.FileInfo(path);
                if ((info.Attributes & System.IO.FileAttributes.Directory) != 0 || !IsSocket(path))
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, "creating the socket " + path, VfioConstants.EEXIST, "something other than a socket is there; remove it or choose another path");
                }

                System.IO.File.Delete(path); // a socket a dead server left behind
            }

            int fd = UnixSockets.Create("listen on " + path);
            sockaddr_un address = UnixSockets.Address(path);

            // SAFETY: umask is process-wide but restored at once; bind creates the socket file 0600 under it, so no
            // other user can connect in the window before listen. address is a local struct of the size passed.
            mode_t previous = umask((mode_t)(uint)0x7F); // 0177
            int bound = bind(fd, (sockaddr*)&address, (socklen_t)(uint)sizeof(sockaddr_un));
            int bindError = errno;
            umask(previous);
            if (bound < 0)
            {
                close(fd);
                throw VfioException.FromErrno("bind " + path, bindError);
            }

            // SAFETY: no memory involved.
            if (listen(fd, 4) < 0)
            {
                int error = errno;
                close(fd);
                throw VfioException.FromErrno("listen on " + path, error);
            }

            return new UnixSocketListener(fd, path, kernel);
        }

        /// <summary>
        /// Waits up to <paramref name="timeoutMilliseconds"/> (-1: forever) for a client; null on timeout, so a caller
        /// can check for shutdown between waits.
        /// </summary>
        public UnixSocketChannel? Accept(int timeoutMilliseconds)
        {
            Span<bool> ready = stackalloc bool[1];
            if (_kernel.Poll(new[] { _fd }, timeoutMilliseconds, ready) == 0)
            {
                return null;
            }

            // SAFETY: no address wanted (null, null); the connected socket is owned by the returned channel.
            int connection = accept4(_fd, null, null, SOCK_CLOEXEC);
            if (connection < 0)
            {
                int error = errno;
                if (error == VfioConstants.EINTR || error == VfioConstants.EAGAIN)
                {
                    return null;
                }

                throw VfioException.FromErrno("accept on " + Path, error);
            }

            return new UnixSocketChannel(connection, _kernel);
        }

        /// <summary>Stops listening and removes the socket file. Idempotent.</summary>
        public void Dispose()
        {
            if (_fd >= 0)
            {
                // SAFETY: closes the listening socket this object owns, once.
                close(_fd);
                _fd = -1;
                try
                {
                    System.IO.File.Delete(Path);
                }
                catch (System.IO.IOException)
                {
                    // Already gone or not ours to remove: nothing a caller could do.
                }
            }
        }

        private static bool IsSocket(string path)
        {
            byte[] name = UnixSockets.NullTerminated(path);
            stat info;
            fixed (byte* p = name)
            {
                // SAFETY: p is a pinned NUL-terminated path; info is a local the kernel fills.
                if (lstat(p, &info) < 0)
                {
                    return false;
                }
            }

            return ((uint)info.st_mode & 0xF000) == 0xC000; // S_IFSOCK
        }
    }

    /// <summary>What connecting and listening share.</summary>
    /// <summary><c>struct timeval</c> on 64-bit Linux, for SO_RCVTIMEO.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    internal struct TimeValue
    {
        public long Seconds;
        public long Microseconds;
    }

    internal static unsafe class UnixSockets
    {
        // Tmds.LibC 0.5.0's CMSG_LEN pads like CMSG_SPACE: for an odd number of descriptors it announces one more, and
        // the kernel then sends whatever the padding holds (descriptor 0). These are the C library's definitions.

        /// <summary>CMSG_LEN: the header and <paramref name="fds"/> descriptors, unpadded.</summary>
        public static int ControlLength(int fds) => sizeof(cmsghdr) + (sizeof(int) * fds);

        /// <summary>CMSG_SPACE: the same, padded to the 8-byte alignment the next header needs.</summary>
        public static int ControlSpace(int fds) => (ControlLength(fds) + 7) & ~7;

        public static int Create(string what)
        {
            // SAFETY: no memory involved; the descriptor is returned to an owner that closes it.
            int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0)
            {
                throw VfioException.FromErrno("socket to " + what, errno);
            }

            return fd;
        }

        public static sockaddr_un Address(string path)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(path);
            var address = new sockaddr_un { sun_family = AF_UNIX };
            if (bytes.Length >= sockaddr_un.sun_path_length || bytes.Length == 0)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "socket path " + path, VfioConstants.EINVAL, "a UNIX socket path is 1 to " + (sockaddr_un.sun_path_length - 1).ToString(CultureInfo.InvariantCulture) + " bytes");
            }

            for (int i = 0; i < bytes.Length; i++)
            {
                address.sun_path[i] = bytes[i];
            }

            return address;
        }

        public static byte[] NullTerminated(string text)
        {
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
            Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }
    }
}
