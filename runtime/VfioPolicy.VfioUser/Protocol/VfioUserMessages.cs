using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Json;

namespace VfioPolicy.VfioUser.Protocol
{
    /// <summary>What one side of a connection can take, as negotiated in <c>VFIO_USER_VERSION</c>.</summary>
    /// <param name="MaxMessageFds">How many descriptors one message may carry to the sender (default 1).</param>
    /// <param name="MaxDataTransferSize">The largest <c>count</c> of a read or write message (default 1 MiB).</param>
    /// <param name="MaxDmaMaps">How many DMA mappings may exist at once (default 65535).</param>
    /// <param name="PageSizes">The DMA page sizes, or'ed (default 4 KiB).</param>
    /// <param name="WriteMultiple">Whether <c>VFIO_USER_REGION_WRITE_MULTI</c> is understood.</param>
    public sealed record VfioUserCapabilities(int MaxMessageFds = 1, uint MaxDataTransferSize = VfioUserCapabilities.DefaultTransferSize, uint MaxDmaMaps = 65535, ulong PageSizes = 4096, bool WriteMultiple = false)
    {
        /// <summary>The spec's default <c>max_data_xfer_size</c>.</summary>
        public const uint DefaultTransferSize = 1 << 20;
    }

    /// <summary><c>VFIO_USER_VERSION</c>, request and reply: <c>u16 major, u16 minor</c>, then optional NUL-terminated JSON.</summary>
    /// <param name="Major">The major version (0 today).</param>
    /// <param name="Minor">The minor version.</param>
    /// <param name="Capabilities">The capabilities, defaults where the JSON says nothing.</param>
    public sealed record VfioUserVersion(ushort Major, ushort Minor, VfioUserCapabilities Capabilities)
    {
        /// <summary>The longest version JSON accepted (QEMU's is about 200 bytes).</summary>
        public const int MaxJsonLength = 4096;

        /// <summary>Reads a version message, strictly: the JSON must be an object whose known capabilities have the right types and sane values.</summary>
        /// <exception cref="VfioUserProtocolException">Malformed (EINVAL).</exception>
        public static VfioUserVersion Parse(ReadOnlySpan<byte> payload)
        {
            if (payload.Length < 4)
            {
                throw Invalid("a version message holds at least the major and minor versions (4 bytes)");
            }

            ushort major = BinaryPrimitives.ReadUInt16LittleEndian(payload);
            ushort minor = BinaryPrimitives.ReadUInt16LittleEndian(payload.Slice(2));
            ReadOnlySpan<byte> json = payload.Slice(4);
            int end = json.IndexOf((byte)0);
            if (end >= 0)
            {
                if (end != json.Length - 1)
                {
                    throw Invalid("the version data has bytes after its terminating NUL");
                }

                json = json.Slice(0, end);
            }

            if (json.Length > MaxJsonLength)
            {
                throw Invalid("the version data is longer than " + MaxJsonLength.ToString(CultureInfo.InvariantCulture) + " bytes");
            }

            return new VfioUserVersion(major, minor, json.IsEmpty ? new VfioUserCapabilities() : ParseCapabilities(json));
        }

        /// <summary>The message payload: versions, then the capabilities as JSON with a terminating NUL.</summary>
        public byte[] Encode()
        {
            using var json = new MemoryStream();
            using (var writer = new Utf8JsonWriter(json))
            {
                writer.WriteStartObject();
                writer.WriteStartObject("capabilities");
                writer.WriteNumber("max_msg_fds", Capabilities.MaxMessageFds);
                writer.WriteNumber("max_data_xfer_size", Capabilities.MaxDataTransferSize);
                writer.WriteNumber("max_dma_maps", Capabilities.MaxDmaMaps);
                writer.WriteNumber("pgsizes", Capabilities.PageSizes);
                writer.WriteBoolean("write_multiple", Capabilities.WriteMultiple);
                writer.WriteEndObject();
                writer.WriteEndObject();
            }

            byte[] payload = new byte[4 + json.Length + 1];
            BinaryPrimitives.WriteUInt16LittleEndian(payload, Major);
            BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(2), Minor);
            json.ToArray().CopyTo(payload, 4);
            return payload;
        }

        private static VfioUserCapabilities ParseCapabilities(ReadOnlySpan<byte> json)
        {
            try
            {
                using JsonDocument document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid("the version data is not a JSON object");
                }

                if (!document.RootElement.TryGetProperty("capabilities", out JsonElement capabilities))
                {
                    return new VfioUserCapabilities();
                }

                if (capabilities.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid("\"capabilities\" is not a JSON object");
                }

                var result = new VfioUserCapabilities();
                foreach (JsonProperty property in capabilities.EnumerateObject())
                {
                    result = property.Name switch
                    {
                        "max_msg_fds" => result with { MaxMessageFds = (int)Number(property, 0, 1024) },
                        "max_data_xfer_size" => result with { MaxDataTransferSize = (uint)Number(property, 1, uint.MaxValue) },
                        "max_dma_maps" => result with { MaxDmaMaps = (uint)Number(property, 0, uint.MaxValue) },
                        "pgsizes" => result with { PageSizes = Number(property, 1, ulong.MaxValue) },
                        "write_multiple" => result with { WriteMultiple = Boolean(property) },
                        _ => result, // migration, twin_socket and anything newer: not used by this server
                    };
                }

                return result;
            }
            catch (JsonException error)
            {
                throw Invalid("the version data is not valid JSON: " + error.Message);
            }
        }

        private static ulong Number(JsonProperty property, ulong min, ulong max)
        {
            if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetUInt64(out ulong value) || value < min || value > max)
            {
                throw Invalid(string.Format(CultureInfo.InvariantCulture, "capability \"{0}\" must be a whole number from {1} to {2}", property.Name, min, max));
            }

            return value;
        }

        private static bool Boolean(JsonProperty property) => property.Value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid("capability \"" + property.Name + "\" must be true or false"),
        };

        private static VfioUserProtocolException Invalid(string why) => new VfioUserProtocolException(VfioUserErrno.EINVAL, why);
    }

    /// <summary><c>VFIO_USER_DMA_MAP</c> request: <c>u32 argsz, u32 flags (1 readable, 2 writeable), u64 offset, u64 address, u64 size</c>.</summary>
    /// <param name="Flags">Readable and/or writeable.</param>
    /// <param name="Offset">Offset in the descriptor the message carries (0 without one).</param>
    /// <param name="Address">The DMA address (IOVA).</param>
    /// <param name="Size">Length in bytes.</param>
    public sealed record VfioUserDmaMap(uint Flags, ulong Offset, ulong Address, ulong Size)
    {
        /// <summary>The structure's size, which is the whole payload.</summary>
        public const int Length = 32;

        /// <summary>The device may read the range.</summary>
        public const uint Readable = 1;

        /// <summary>The device may write the range.</summary>
        public const uint Writeable = 2;

        /// <summary>Reads the request.</summary>
        /// <exception cref="VfioUserProtocolException">Not exactly 32 bytes, an argsz other than 32, or unknown flags (EINVAL).</exception>
        public static VfioUserDmaMap Parse(ReadOnlySpan<byte> payload)
        {
            Payload.Exactly(payload, Length, "DMA_MAP");
            Payload.Argsz(payload, Length, exact: true, "DMA_MAP");
            uint flags = Payload.U32(payload, 4);
            if ((flags & ~(Readable | Writeable)) != 0)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "DMA_MAP flags 0x" + flags.ToString("x", CultureInfo.InvariantCulture) + " hold bits other than readable and writeable");
            }

            return new VfioUserDmaMap(flags, Payload.U64(payload, 8), Payload.U64(payload, 16), Payload.U64(payload, 24));
        }

        /// <summary>The request payload.</summary>
        public byte[] Encode()
        {
            byte[] payload = new byte[Length];
            Payload.U32(payload, 0, Length);
            Payload.U32(payload, 4, Flags);
            Payload.U64(payload, 8, Offset);
            Payload.U64(payload, 16, Address);
            Payload.U64(payload, 24, Size);
            return payload;
        }
    }

    /// <summary><c>VFIO_USER_DMA_UNMAP</c> request and reply: <c>u32 argsz, u32 flags, u64 address, u64 size</c>.</summary>
    /// <param name="Argsz">Request: the largest reply the client takes.</param>
    /// <param name="Flags">0 (dirty bitmaps are not supported).</param>
    /// <param name="Address">The DMA address of a mapping.</param>
    /// <param name="Size">Its size.</param>
    public sealed record VfioUserDmaUnmap(uint Argsz, uint Flags, ulong Address, ulong Size)
    {
        /// <summary>The structure's size.</summary>
        public const int Length = 24;

        /// <summary>Reads the request; flags must be 0.</summary>
        /// <exception cref="VfioUserProtocolException">Not exactly 24 bytes, argsz below 24, or flags (EINVAL).</exception>
        public static VfioUserDmaUnmap Parse(ReadOnlySpan<byte> payload)
        {
            Payload.Exactly(payload, Length, "DMA_UNMAP");
            Payload.Argsz(payload, Length, exact: false, "DMA_UNMAP");
            uint flags = Payload.U32(payload, 4);
            if (flags != 0)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "DMA_UNMAP flags 0x" + flags.ToString("x", CultureInfo.InvariantCulture) + " are not supported (dirty bitmaps, unmap-all)");
            }

            return new VfioUserDmaUnmap(Payload.U32(payload, 0), flags, Payload.U64(payload, 8), Payload.U64(payload, 16));
        }

        /// <summary>The payload (the reply echoes the request).</summary>
        public byte[] Encode()
        {
            byte[] payload = new byte[Length];
            Payload.U32(payload, 0, Argsz);
            Payload.U32(payload, 4, Flags);
            Payload.U64(payload, 8, Address);
            Payload.U64(payload, 16, Size);
            return payload;
        }
    }

    /// <summary>A 16-byte info structure: <c>u32 argsz, u32 flags, u32 a, u32 b</c> (device info: regions and IRQ indexes; IRQ info: index and count).</summary>
    /// <param name="Argsz">Request: the largest reply taken; reply: the size of the full reply.</param>
    /// <param name="Flags">Device or IRQ flags (0 in a request).</param>
    /// <param name="First">Device info: number of regions; IRQ info: the index.</param>
    /// <param name="Second">Device info: number of IRQ indexes; IRQ info: the count.</param>
    public sealed record VfioUserInfo(uint Argsz, uint Flags, uint First, uint Second)
    {
        /// <summary>The structure's size.</summary>
        public const int Length = 16;

        /// <summary>Reads a request: exactly 16 bytes, argsz at least 16.</summary>
        /// <exception cref="VfioUserProtocolException">Malformed (EINVAL).</exception>
        public static VfioUserInfo Parse(ReadOnlySpan<byte> payload, string what)
        {
            Payload.Exactly(payload, Length, what);
            Payload.Argsz(payload, Length, exact: false, what);
            return new VfioUserInfo(Payload.U32(payload, 0), Payload.U32(payload, 4), Payload.U32(payload, 8), Payload.U32(payload, 12));
        }

        /// <summary>The payload.</summary>
        public byte[] Encode()
        {
            byte[] payload = new byte[Length];
            Payload.U32(payload, 0, Argsz);
            Payload.U32(payload, 4, Flags);
            Payload.U32(payload, 8, First);
            Payload.U32(payload, 12, Second);
            return payload;
        }
    }

    /// <summary>
    /// <c>VFIO_USER_DEVICE_GET_REGION_INFO</c>: <c>struct vfio_region_info</c> (<c>u32 argsz, flags, index, cap_offset;
    /// u64 size, offset</c>), in the reply followed by a sparse-mmap capability when the region offers mappable areas.
    /// </summary>
    /// <param name="Argsz">Request: the largest reply taken; reply: the size of the full reply, capabilities included.</param>
    /// <param name="Flags">Read, write, mmap, caps (<c>VFIO_REGION_INFO_FLAG_*</c>).</param>
    /// <param name="Index">The region index.</param>
    /// <param name="Size">The region's size.</param>
    /// <param name="Offset">The mmap offset in the descriptor the reply carries.</param>
    /// <param name="SparseAreas">The mappable areas (offset, size), or null.</param>
    public sealed record VfioUserRegionInfo(uint Argsz, uint Flags, uint Index, ulong Size, ulong Offset, IReadOnlyList<(ulong Offset, ulong Size)>? SparseAreas)
    {
        /// <summary>The fixed structure's size.</summary>
        public const int Length = 32;

        /// <summary><c>VFIO_REGION_INFO_FLAG_MMAP</c>.</summary>
        public const uint MmapFlag = 4;

        /// <summary><c>VFIO_REGION_INFO_FLAG_CAPS</c>.</summary>
        public const uint CapsFlag = 8;

        /// <summary>Reads a request: exactly 32 bytes, argsz at least 32; only the index matters.</summary>
        /// <exception cref="VfioUserProtocolException">Malformed (EINVAL).</exception>
        public static VfioUserRegionInfo ParseRequest(ReadOnlySpan<byte> payload)
        {
            Payload.Exactly(payload, Length, "DEVICE_GET_REGION_INFO");
            Payload.Argsz(payload, Length, exact: false, "DEVICE_GET_REGION_INFO");
            return new VfioUserRegionInfo(Payload.U32(payload, 0), 0, Payload.U32(payload, 8), 0, 0, null);
        }

        /// <summary>The size of the full reply: the structure and its sparse-mmap capability.</summary>
        public int FullLength => Length + (SparseAreas is { } areas ? 16 + (16 * areas.Count) : 0);

        /// <summary>
        /// The reply payload for a client that takes at most <paramref name="room"/> bytes: the full reply when it fits,
        /// else the fixed structure alone with argsz saying how much room the full one needs (as the kernel does).
        /// </summary>
        public byte[] EncodeReply(uint room)
        {
            bool withCaps = SparseAreas is not null && room >= (uint)FullLength;
            byte[] payload = new byte[withCaps ? FullLength : Length];
            Payload.U32(payload, 0, (uint)FullLength);
            Payload.U32(payload, 4, Flags | (withCaps ? CapsFlag : 0));
            Payload.U32(payload, 8, Index);
            Payload.U32(payload, 12, withCaps ? (uint)Length : 0);
            Payload.U64(payload, 16, Size);
            Payload.U64(payload, 24, Offset);
            if (withCaps)
            {
                // struct vfio_info_cap_header { u16 id = SPARSE_MMAP (1), u16 version = 1, u32 next = 0 }, then nr_areas.
                BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(Length), 1);
                BinaryPrimitives.WriteUInt16LittleEndian(payload.AsSpan(Length + 2), 1);
                Payload.U32(payload, Length + 8, (uint)SparseAreas!.Count);
                for (int i = 0; i < SparseAreas.Count; i++)
                {
                    Payload.U64(payload, Length + 16 + (16 * i), SparseAreas[i].Offset);
                    Payload.U64(payload, Length + 24 + (16 * i), SparseAreas[i].Size);
                }
            }

            return payload;
        }
    }

    /// <summary><c>VFIO_USER_DEVICE_SET_IRQS</c> request: <c>u32 argsz, flags, index, start, count</c>, then one bool byte per vector for DATA_BOOL.</summary>
    /// <param name="Flags">One data type and one action (<c>VFIO_IRQ_SET_*</c>).</param>
    /// <param name="Index">The IRQ index.</param>
    /// <param name="Start">The first vector.</param>
    /// <param name="Count">How many vectors.</param>
    /// <param name="Bools">DATA_BOOL's flags, or null.</param>
    public sealed record VfioUserSetIrqs(uint Flags, uint Index, uint Start, uint Count, IReadOnlyList<bool>? Bools)
    {
        /// <summary>The fixed part's size.</summary>
        public const int Length = 20;

        /// <summary><c>VFIO_IRQ_SET_DATA_NONE</c>.</summary>
        public const uint DataNone = 1;

        /// <summary><c>VFIO_IRQ_SET_DATA_BOOL</c>.</summary>
        public const uint DataBool = 2;

        /// <summary><c>VFIO_IRQ_SET_DATA_EVENTFD</c>.</summary>
        public const uint DataEventFd = 4;

        /// <summary><c>VFIO_IRQ_SET_ACTION_MASK</c>.</summary>
        public const uint ActionMask = 8;

        /// <summary><c>VFIO_IRQ_SET_ACTION_UNMASK</c>.</summary>
        public const uint ActionUnmask = 16;

        /// <summary><c>VFIO_IRQ_SET_ACTION_TRIGGER</c>.</summary>
        public const uint ActionTrigger = 32;

        /// <summary>The data-type bits of <see cref="Flags"/>.</summary>
        public uint DataType => Flags & (DataNone | DataBool | DataEventFd);

        /// <summary>The action bits of <see cref="Flags"/>.</summary>
        public uint Action => Flags & (ActionMask | ActionUnmask | ActionTrigger);

        /// <summary>Reads the request: exactly one data type and one action, no other flag, argsz equal to the payload, one bool byte per vector for DATA_BOOL and no data otherwise, a count that cannot overflow.</summary>
        /// <exception cref="VfioUserProtocolException">Malformed (EINVAL).</exception>
        public static VfioUserSetIrqs Parse(ReadOnlySpan<byte> payload)
        {
            if (payload.Length < Length)
            {
                throw Invalid("DEVICE_SET_IRQS needs at least 20 bytes");
            }

            if (Payload.U32(payload, 0) != (uint)payload.Length)
            {
                throw Invalid("DEVICE_SET_IRQS argsz must be the payload's size");
            }

            uint flags = Payload.U32(payload, 4);
            var request = new VfioUserSetIrqs(flags, Payload.U32(payload, 8), Payload.U32(payload, 12), Payload.U32(payload, 16), null);
            if ((flags & ~(DataNone | DataBool | DataEventFd | ActionMask | ActionUnmask | ActionTrigger)) != 0
                || !IsSingleBit(request.DataType) || !IsSingleBit(request.Action))
            {
                throw Invalid("DEVICE_SET_IRQS flags 0x" + flags.ToString("x", CultureInfo.InvariantCulture) + " must hold exactly one data type and one action");
            }

            if (request.Start > int.MaxValue || request.Count > 65536 || request.Start + request.Count > int.MaxValue)
            {
                throw Invalid("DEVICE_SET_IRQS start and count are out of range");
            }

            int data = payload.Length - Length;
            if (request.DataType == DataBool)
            {
                if (data != request.Count)
                {
                    throw Invalid("DEVICE_SET_IRQS with DATA_BOOL carries one byte per vector");
                }

                var bools = new bool[request.Count];
                for (int i = 0; i < bools.Length; i++)
                {
                    bools[i] = payload[Length + i] != 0;
                }

                return request with { Bools = bools };
            }

            if (data != 0)
            {
                throw Invalid("DEVICE_SET_IRQS carries data only with DATA_BOOL (eventfds travel as descriptors)");
            }

            return request;
        }

        /// <summary>The request payload.</summary>
        public byte[] Encode()
        {
            int data = Bools?.Count ?? 0;
            byte[] payload = new byte[Length + data];
            Payload.U32(payload, 0, (uint)payload.Length);
            Payload.U32(payload, 4, Flags);
            Payload.U32(payload, 8, Index);
            Payload.U32(payload, 12, Start);
            Payload.U32(payload, 16, Count);
            for (int i = 0; i < data; i++)
            {
                payload[Length + i] = Bools![i] ? (byte)1 : (byte)0;
            }

            return payload;
        }

        private static bool IsSingleBit(uint value) => value != 0 && (value & (value - 1)) == 0;

        private static VfioUserProtocolException Invalid(string why) => new VfioUserProtocolException(VfioUserErrno.EINVAL, why);
    }

    /// <summary><c>VFIO_USER_REGION_READ</c>/<c>WRITE</c>: <c>u64 offset, u32 region, u32 count</c>, then the data (write request, read reply).</summary>
    /// <param name="Offset">Offset in the region.</param>
    /// <param name="Region">The region index.</param>
    /// <param name="Count">How many bytes.</param>
    /// <param name="Data">The bytes (empty for a read request and a write reply).</param>
    public sealed record VfioUserRegionAccess(ulong Offset, uint Region, uint Count, byte[] Data)
    {
        /// <summary>The fixed part's size.</summary>
        public const int Length = 16;

        /// <summary>Reads a request: a read is exactly 16 bytes; a write is 16 plus exactly <c>count</c> bytes of data. Count must be 1 to <paramref name="maxCount"/>.</summary>
        /// <exception cref="VfioUserProtocolException">Malformed (EINVAL), or a count over the transfer size (E2BIG).</exception>
        public static VfioUserRegionAccess Parse(ReadOnlySpan<byte> payload, bool write, uint maxCount)
        {
            if (payload.Length < Length)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "a region access needs 16 bytes of offset, region and count");
            }

            uint count = Payload.U32(payload, 12);
            if (count == 0)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "a region access of 0 bytes");
            }

            if (count > maxCount)
            {
                throw new VfioUserProtocolException(VfioUserErrno.E2BIG, "a region access of " + count.ToString(CultureInfo.InvariantCulture) + " bytes is more than the negotiated " + maxCount.ToString(CultureInfo.InvariantCulture));
            }

            if (payload.Length != Length + (write ? (long)count : 0))
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, write ? "a region write carries exactly count bytes of data" : "a region read carries no data");
            }

            return new VfioUserRegionAccess(Payload.U64(payload, 0), Payload.U32(payload, 8), count, write ? payload.Slice(Length).ToArray() : Array.Empty<byte>());
        }

        /// <summary>The payload: the fixed part and <see cref="Data"/>.</summary>
        public byte[] Encode()
        {
            byte[] payload = new byte[Length + Data.Length];
            Payload.U64(payload, 0, Offset);
            Payload.U32(payload, 8, Region);
            Payload.U32(payload, 12, Count);
            Data.CopyTo(payload, Length);
            return payload;
        }
    }

    /// <summary>Little-endian field access and the checks every parser shares.</summary>
    internal static class Payload
    {
        public static uint U32(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.Slice(offset));

        public static ulong U64(ReadOnlySpan<byte> bytes, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(bytes.Slice(offset));

        public static void U32(Span<byte> bytes, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(bytes.Slice(offset), value);

        public static void U64(Span<byte> bytes, int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(bytes.Slice(offset), value);

        public static void Exactly(ReadOnlySpan<byte> payload, int length, string what)
        {
            if (payload.Length != length)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "{0} carries {1} bytes; it must carry {2}", what, payload.Length, length));
            }
        }

        public static void Argsz(ReadOnlySpan<byte> payload, int length, bool exact, string what)
        {
            uint argsz = U32(payload, 0);
            if (exact ? argsz != length : argsz < length)
            {
                throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "{0} argsz {1} must be {2}{3}", what, argsz, exact ? string.Empty : "at least ", length));
            }
        }

    }
}
