using System;
using System.Buffers.Binary;
using System.Globalization;

namespace VfioPolicy.VfioUser.Protocol
{
    /// <summary>The vfio-user commands (docs/interop/vfio-user.rst, "Commands").</summary>
    public enum VfioUserCommand : ushort
    {
        /// <summary>Version and capability negotiation; the first message of a connection.</summary>
        Version = 1,

        /// <summary>The client's memory the server may reach (with a file descriptor when it can map it).</summary>
        DmaMap = 2,

        /// <summary>Memory the server may no longer reach.</summary>
        DmaUnmap = 3,

        /// <summary>Device flags and how many regions and IRQ indexes it has.</summary>
        DeviceGetInfo = 4,

        /// <summary>One region's flags, size and capabilities.</summary>
        DeviceGetRegionInfo = 5,

        /// <summary>ioeventfd/ioregionfd sub-regions (optional).</summary>
        DeviceGetRegionIoFds = 6,

        /// <summary>One IRQ index's flags and count.</summary>
        DeviceGetIrqInfo = 7,

        /// <summary>Interrupt signalling, masking, unmasking.</summary>
        DeviceSetIrqs = 8,

        /// <summary>Read from a region.</summary>
        RegionRead = 9,

        /// <summary>Write to a region.</summary>
        RegionWrite = 10,

        /// <summary>Server to client: read client memory.</summary>
        DmaRead = 11,

        /// <summary>Server to client: write client memory.</summary>
        DmaWrite = 12,

        /// <summary>Reset the device.</summary>
        DeviceReset = 13,

        /// <summary>Several small region writes in one message (optional).</summary>
        RegionWriteMulti = 15,

        /// <summary>Device features (migration, dirty tracking).</summary>
        DeviceFeature = 16,

        /// <summary>Migration data out.</summary>
        MigDataRead = 17,

        /// <summary>Migration data in.</summary>
        MigDataWrite = 18,
    }

    /// <summary>
    /// The 16-byte header every vfio-user message starts with: <c>u16 id, u16 command, u32 size (header included),
    /// u32 flags (bits 0-3 type: 0 command, 1 reply; bit 4 no-reply; bit 5 error), u32 error</c>. Host byte order,
    /// which is little-endian on every platform the runtime runs on.
    /// </summary>
    /// <param name="MessageId">Chosen by the sender; echoed in the reply.</param>
    /// <param name="Command">The command (a number the receiver may not know).</param>
    /// <param name="Size">The whole message's size, header included.</param>
    /// <param name="Flags">Type, no-reply and error bits.</param>
    /// <param name="Error">An errno, in an error reply.</param>
    public readonly record struct VfioUserHeader(ushort MessageId, ushort Command, uint Size, uint Flags, uint Error)
    {
        /// <summary>The header's length.</summary>
        public const int Length = 16;

        /// <summary>The type bits of <see cref="Flags"/>.</summary>
        public const uint TypeMask = 0xF;

        /// <summary>Type: a reply.</summary>
        public const uint TypeReply = 0x1;

        /// <summary>The sender wants no reply.</summary>
        public const uint NoReplyFlag = 1 << 4;

        /// <summary>The reply reports an error; <see cref="Error"/> holds the errno.</summary>
        public const uint ErrorFlag = 1 << 5;

        /// <summary>True for a reply, false for a command.</summary>
        public bool IsReply => (Flags & TypeMask) == TypeReply;

        /// <summary>True when the command wants no reply.</summary>
        public bool NoReply => (Flags & NoReplyFlag) != 0;

        /// <summary>True when the reply reports an error.</summary>
        public bool IsError => (Flags & ErrorFlag) != 0;

        /// <summary>The payload's length.</summary>
        public int PayloadLength => (int)(Size - Length);

        /// <summary>Reads a header from the first 16 bytes of <paramref name="bytes"/>.</summary>
        /// <exception cref="VfioUserProtocolException">Fewer than 16 bytes, a size below 16, or a type other than command/reply.</exception>
        public static VfioUserHeader Parse(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length < Length)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "a message is at least its 16-byte header; " + bytes.Length.ToString(CultureInfo.InvariantCulture) + " bytes arrived");
            }

            var header = new VfioUserHeader(
                BinaryPrimitives.ReadUInt16LittleEndian(bytes),
                BinaryPrimitives.ReadUInt16LittleEndian(bytes.Slice(2)),
                BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(4)),
                BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(8)),
                BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(12)));
            if (header.Size < Length)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "the header gives a message size of " + header.Size.ToString(CultureInfo.InvariantCulture) + ", less than the header itself");
            }

            if ((header.Flags & TypeMask) > TypeReply)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "message type " + (header.Flags & TypeMask).ToString(CultureInfo.InvariantCulture) + " is neither a command (0) nor a reply (1)");
            }

            return header;
        }

        /// <summary>Writes the header into the first 16 bytes of <paramref name="bytes"/>.</summary>
        public void Write(Span<byte> bytes)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes, MessageId);
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.Slice(2), Command);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.Slice(4), Size);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.Slice(8), Flags);
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.Slice(12), Error);
        }

        /// <summary>The command's name, or its number when the receiver does not know it.</summary>
        public string CommandName => Enum.IsDefined(typeof(VfioUserCommand), Command) ? ((VfioUserCommand)Command).ToString() : "command " + Command.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The errno values the protocol's error replies carry.</summary>
    public static class VfioUserErrno
    {
        /// <summary>EPERM.</summary>
        public const int EPERM = 1;

        /// <summary>ENOENT: no such mapping.</summary>
        public const int ENOENT = 2;

        /// <summary>EIO: the device failed the access.</summary>
        public const int EIO = 5;

        /// <summary>EBADF: a descriptor that is not what the command needs.</summary>
        public const int EBADF = 9;

        /// <summary>ENOMEM.</summary>
        public const int ENOMEM = 12;

        /// <summary>EFAULT: memory that cannot be mapped.</summary>
        public const int EFAULT = 14;

        /// <summary>EBUSY.</summary>
        public const int EBUSY = 16;

        /// <summary>EEXIST: a DMA mapping over an existing one.</summary>
        public const int EEXIST = 17;

        /// <summary>EINVAL: a malformed or impossible request.</summary>
        public const int EINVAL = 22;

        /// <summary>ENOSPC: no more DMA mappings.</summary>
        public const int ENOSPC = 28;

        /// <summary>ENOTSUP/EOPNOTSUPP: a command or option the server does not support.</summary>
        public const int ENOTSUP = 95;

        /// <summary>The peer did not answer in time.</summary>
        public const int ETIMEDOUT = 110;

        /// <summary>E2BIG: more than the negotiated transfer size.</summary>
        public const int E2BIG = 7;
    }

    /// <summary>A message the protocol does not allow; <see cref="Errno"/> is what an error reply carries.</summary>
    public sealed class VfioUserProtocolException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public VfioUserProtocolException(int errno, string message)
            : base(message)
        {
            Errno = errno;
        }

        /// <summary>The errno for the error reply.</summary>
        public int Errno { get; }
    }
}
