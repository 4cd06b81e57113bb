using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.VfioUser.Server
{
    /// <summary>What a <see cref="VfioUserServer"/> takes from a client.</summary>
    public sealed record VfioUserServerOptions
    {
        /// <summary>The most descriptors one message may carry (a SET_IRQS for many MSI-X vectors carries one per vector).</summary>
        public int MaxMessageFds { get; init; } = 16;

        /// <summary>The largest region read or write (and, with the header and structure, the largest message).</summary>
        public uint MaxDataTransferSize { get; init; } = VfioUserCapabilities.DefaultTransferSize;

        /// <summary>The most DMA mappings a client may hold at once.</summary>
        public uint MaxDmaMaps { get; init; } = 65535;

        /// <summary>
        /// Offer the client mmap of memory BARs where the policy allows it (<see cref="VfioBar.ClientMappableAreas"/>:
        /// never the MSI-X table or PBA pages, never a config mirror window), through a descriptor that maps that BAR
        /// and nothing else. Off by default: every BAR access is then a message the runtime checks.
        /// </summary>
        public bool MapBars { get; init; }

        /// <summary>One line per connection, disconnection and refused message; null: silent.</summary>
        public TextWriter? Log { get; init; }

        /// <summary>
        /// Called when a connection has ended, before its clean-up (interrupts, DMA, reset): the device still holds
        /// what the client did to it. For forensics and tests; an exception it throws is logged and the clean-up runs.
        /// </summary>
        public Action<VfioDevice>? ClientLeft { get; init; }
    }

    /// <summary>Why a connection ended, and what it did.</summary>
    /// <param name="Reason">"the client disconnected", or the protocol violation that closed it.</param>
    /// <param name="Messages">Messages handled.</param>
    /// <param name="Errors">Error replies sent (and errors of no-reply messages).</param>
    /// <param name="BarMappingsGiven">
    /// BAR mapping descriptors handed to the client (<see cref="VfioUserServerOptions.MapBars"/>). Nothing can take a
    /// mapping back from another process, so when this is not 0 the client may still reach those BARs after it left.
    /// </param>
    public sealed record VfioUserSessionResult(string Reason, long Messages, long Errors, int BarMappingsGiven = 0);

    /// <summary>
    /// Serves one device, opened by the runtime behind its policy with VMM-owned interrupts, to vfio-user clients, one
    /// connection at a time (docs/interop/vfio-user.rst). Config space goes through the firewall; BARs through the
    /// runtime (gated by the consumer's decode bits, the MSI-X table as vfio-pci presents it); the client's eventfds
    /// go to the kernel through <see cref="VfioDevice.SetIrqs"/>; its memory, when it passes a descriptor, is mapped
    /// and put in the device's IOMMU, so the device DMAs straight into guest memory.
    /// </summary>
    /// <remarks>
    /// The client is untrusted: every message is checked before it is used, and a bad one gets an error reply (or, when
    /// the framing itself is broken, the connection is closed). When a connection ends, however it ends, the device's
    /// interrupts are torn down, the client's memory unmapped, its descriptors closed and the device reset, so the next
    /// client finds it clean.
    /// </remarks>
    public sealed class VfioUserServer
    {
        private const ushort SupportedMajor = 0;
        private const ushort SupportedMinor = 0;
        private const ulong PageSize = 4096;

        private readonly VfioDevice _device;
        private readonly VfioUserServerOptions _options;

        /// <summary>Creates the server for <paramref name="device"/>, which must have been opened with <see cref="VfioInterruptOwner.Vmm"/>.</summary>
        public VfioUserServer(VfioDevice device, VfioUserServerOptions? options = null)
        {
            _device = device ?? throw new ArgumentNullException(nameof(device));
            if (device.InterruptOwner != VfioInterruptOwner.Vmm)
            {
                throw new ArgumentException("A vfio-user client programs interrupts itself: open the device with VfioDeviceOptions.Interrupts = Vmm.", nameof(device));
            }

            _options = options ?? new VfioUserServerOptions();
        }

        /// <summary>The device served.</summary>
        public VfioDevice Device => _device;

        /// <summary>Handles one connection until the client goes (or breaks the protocol), cleans up, and closes the channel.</summary>
        public VfioUserSessionResult Serve(IVfioUserChannel channel)
        {
            if (channel is null)
            {
                throw new ArgumentNullException(nameof(channel));
            }

            using (channel)
            {
                return new Session(this, channel).Run();
            }
        }

        private void Log(string line) => _options.Log?.WriteLine(line);

        /// <summary>One connection's state: negotiation, the client's DMA mappings, the eventfds it handed over.</summary>
        private sealed class Session
        {
            private readonly VfioUserServer _server;
            private readonly IVfioUserChannel _channel;
            private readonly VfioDevice _device;
            private readonly IVfioKernel _kernel;
            private readonly List<DmaEntry> _dma = new List<DmaEntry>();

            /// <summary>Descriptors the reply being built carries (a BAR's mapping descriptor); closed once it is sent.</summary>
            private readonly List<int> _replyFds = new List<int>();

            private int _barMappingsGiven;

            /// <summary>BARs whose mapping the kernel refused, so the reason is logged once.</summary>
            private readonly HashSet<int> _unmappable = new HashSet<int>();
            private readonly Dictionary<(int Index, int Vector), int> _eventFds = new Dictionary<(int, int), int>();
            private VfioUserCapabilities? _client;
            private long _messages;
            private long _errors;

            public Session(VfioUserServer server, IVfioUserChannel channel)
            {
                _server = server;
                _channel = channel;
                _device = server._device;
                _kernel = server._device.Container.Kernel;
            }

            private VfioUserServerOptions Options => _server._options;

            /// <summary>The largest message the server takes: a region write of the transfer size, with its headers.</summary>
            private int MaxMessageSize => (int)Math.Min(int.MaxValue, (long)Options.MaxDataTransferSize + VfioUserHeader.Length + VfioUserRegionAccess.Length + VfioUserVersion.MaxJsonLength);

            public VfioUserSessionResult Run()
            {
                string reason = "the client disconnected";
                _server.Log("vfio-user: client connected to " + _device.Address);
                try
                {
                    while (true)
                    {
                        VfioUserFrame? frame = _channel.Receive(MaxMessageSize, Options.MaxMessageFds);
                        if (frame is null)
                        {
                            break;
                        }

                        _messages++;
                        if (!Handle(frame))
                        {
                            reason = "the connection was closed after a message that cannot be answered";
                            break;
                        }
                    }
                }
                catch (VfioUserProtocolException error)
                {
                    reason = "the connection was closed: " + error.Message;
                }
                finally
                {
                    if (_server._options.ClientLeft is { } clientLeft)
                    {
                        try
                        {
                            clientLeft(_device);
                        }
                        catch (Exception error) when (error is not OutOfMemoryException)
                        {
                            _server.Log("vfio-user: the client-left hook failed: " + error.Message);
                        }
                    }

                    CleanUp();
                }

                _server.Log("vfio-user: " + reason + " (" + _messages.ToString(CultureInfo.InvariantCulture) + " messages, " + _errors.ToString(CultureInfo.InvariantCulture) + " errors); the device is clean for the next client");
                return new VfioUserSessionResult(reason, _messages, _errors, _barMappingsGiven);
            }

            /// <summary>Answers one message; false when the connection must close.</summary>
            private bool Handle(VfioUserFrame frame)
            {
                VfioUserHeader header = frame.Header;
                var unused = new List<int>(frame.Fds);
                try
                {
                    if (header.IsReply)
                    {
                        // This server sends no commands, so no reply can be due.
                        _server.Log("vfio-user: closing: the client sent a reply to message " + header.MessageId.ToString(CultureInfo.InvariantCulture) + ", which the server never sent");
                        return false;
                    }

                    if (_client is null && header.Command != (ushort)VfioUserCommand.Version)
                    {
                        Fail(header, VfioUserErrno.EINVAL, "the first message must be VERSION, not " + header.CommandName);
                        return false;
                    }

                    byte[]? reply = Dispatch(header, frame.Payload, unused);
                    CloseUnused(unused);
                    if (reply is not null && !header.NoReply)
                    {
                        SendReply(header, reply, _replyFds.ToArray());
                    }

                    return true;
                }
                catch (VfioUserProtocolException error)
                {
                    // A failed negotiation ends the connection (the spec: the server closes it); anything else is answered.
                    CloseUnused(unused);
                    Fail(header, error.Errno, error.Message);
                    return _client is not null;
                }
                catch (VfioException error)
                {
                    CloseUnused(unused);
                    Fail(header, ErrnoOf(error), error.Message);
                    return true;
                }
                finally
                {
                    CloseUnused(unused);
                    CloseUnused(_replyFds); // sent (the client has its own copies) or not: either way no longer the server's
                }
            }

            /// <summary>Descriptors the message carried and nothing took are the server's to close, before it answers.</summary>
            private void CloseUnused(List<int> fds)
            {
                Frames.CloseAll(_kernel, fds);
                fds.Clear();
            }

            private byte[]? Dispatch(VfioUserHeader header, byte[] payload, List<int> fds)
            {
                switch ((VfioUserCommand)header.Command)
                {
                    case VfioUserCommand.Version:
                        return Version(payload);
                    case VfioUserCommand.DmaMap:
                        return DmaMap(payload, fds);
                    case VfioUserCommand.DmaUnmap:
                        return DmaUnmap(payload);
                    case VfioUserCommand.DeviceGetInfo:
                        return DeviceInfo(payload);
                    case VfioUserCommand.DeviceGetRegionInfo:
                        return RegionInfo(payload);
                    case VfioUserCommand.DeviceGetIrqInfo:
                        return IrqInfo(payload);
                    case VfioUserCommand.DeviceSetIrqs:
                        return SetIrqs(payload, fds);
                    case VfioUserCommand.RegionRead:
                        return RegionRead(payload);
                    case VfioUserCommand.RegionWrite:
                        return RegionWrite(payload);
                    case VfioUserCommand.DeviceReset:
                        if (payload.Length != 0)
                        {
                            throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "DEVICE_RESET carries no payload");
                        }

                        _device.Reset();
                        return Array.Empty<byte>();
                    default:
                        // REGION_IO_FDS, WRITE_MULTI (not offered), DEVICE_FEATURE and migration, DMA_READ/WRITE
                        // (server to client only), and commands newer than this server.
                        throw new VfioUserProtocolException(VfioUserErrno.ENOTSUP, header.CommandName + " is not supported by this server");
                }
            }

            private byte[] Version(byte[] payload)
            {
                if (_client is not null)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "VERSION was already negotiated");
                }

                VfioUserVersion proposed = VfioUserVersion.Parse(payload);
                if (proposed.Major != SupportedMajor)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.ENOTSUP, "the client proposes vfio-user " + proposed.Major.ToString(CultureInfo.InvariantCulture) + ".x; this server speaks 0.0");
                }

                _client = proposed.Capabilities;
                var ours = new VfioUserCapabilities(Options.MaxMessageFds, Options.MaxDataTransferSize, Options.MaxDmaMaps, PageSize, WriteMultiple: false);
                _server.Log(string.Format(CultureInfo.InvariantCulture, "vfio-user: negotiated 0.0; the client takes {0} descriptors and {1} bytes a transfer", _client.MaxMessageFds, _client.MaxDataTransferSize));
                return new VfioUserVersion(SupportedMajor, Math.Min(proposed.Minor, SupportedMinor), ours).Encode();
            }

            private byte[] DmaMap(byte[] payload, List<int> fds)
            {
                VfioUserDmaMap map = VfioUserDmaMap.Parse(payload);
                if (fds.Count > 1)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "DMA_MAP carries at most one descriptor");
                }

                if (map.Size == 0 || map.Address % PageSize != 0 || map.Size % PageSize != 0 || map.Offset % PageSize != 0
                    || map.Address + map.Size - 1 < map.Address || map.Offset + map.Size - 1 < map.Offset || map.Size > long.MaxValue)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "DMA_MAP of 0x{0:x} bytes at 0x{1:x} (offset 0x{2:x}): address, size and offset must be non-zero multiples of 4 KiB that do not wrap", map.Size, map.Address, map.Offset));
                }

                if (_dma.FirstOrDefault(e => map.Address < e.Address + e.Size && e.Address < map.Address + map.Size) is { } existing)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EEXIST, string.Format(CultureInfo.InvariantCulture, "DMA_MAP at 0x{0:x} overlaps the mapping at 0x{1:x} (0x{2:x} bytes)", map.Address, existing.Address, existing.Size));
                }

                if (_dma.Count >= Options.MaxDmaMaps)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.ENOSPC, "the client holds the " + Options.MaxDmaMaps.ToString(CultureInfo.InvariantCulture) + " DMA mappings it may");
                }

                var entry = new DmaEntry(map.Address, map.Size, map.Flags);
                if (fds.Count == 1 && (map.Flags & (VfioUserDmaMap.Readable | VfioUserDmaMap.Writeable)) != 0)
                {
                    // The device reaches this memory directly: map the client's file here, then into the device's IOMMU.
                    int fd = fds[0];
                    bool writable = (map.Flags & VfioUserDmaMap.Writeable) != 0;
                    entry.Memory = _kernel.MapMemory(fd, (long)map.Offset, (long)map.Size, writable);
                    try
                    {
                        var access = (VfioDmaAccess)(((map.Flags & VfioUserDmaMap.Readable) != 0 ? 1 : 0) | (writable ? 2 : 0));
                        entry.Mapping = _device.Container.MapDma(map.Address, entry.Memory.Address, map.Size, access);
                    }
                    catch
                    {
                        entry.Memory.Dispose();
                        throw;
                    }
                }

                // Without a descriptor (ROM, firmware memory) the device cannot reach the range; it is kept to answer UNMAP.
                _dma.Add(entry);
                return Array.Empty<byte>();
            }

            private byte[] DmaUnmap(byte[] payload)
            {
                VfioUserDmaUnmap unmap = VfioUserDmaUnmap.Parse(payload);
                DmaEntry? entry = _dma.FirstOrDefault(e => e.Address == unmap.Address && e.Size == unmap.Size);
                if (entry is null)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "DMA_UNMAP of 0x{0:x} bytes at 0x{1:x} matches no mapping exactly", unmap.Size, unmap.Address));
                }

                _dma.Remove(entry);
                entry.Release();
                return unmap.Encode();
            }

            private byte[] DeviceInfo(byte[] payload)
            {
                VfioUserInfo.Parse(payload, "DEVICE_GET_INFO");
                uint flags = (uint)VfioDeviceFlags.Pci | (_device.CanReset ? (uint)VfioDeviceFlags.Reset : 0);
                return new VfioUserInfo(VfioUserInfo.Length, flags, (uint)RegionCount, (uint)IrqCount).Encode();
            }

            private int RegionCount => Math.Max(_device.Info.RegionCount, VfioConstants.ConfigRegionIndex + 1);

            private int IrqCount => Math.Max(_device.Info.IrqCount, VfioConstants.ReqIrqIndex + 1);

            private byte[] RegionInfo(byte[] payload)
            {
                VfioUserRegionInfo request = VfioUserRegionInfo.ParseRequest(payload);
                if (request.Index >= (uint)RegionCount)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "region " + request.Index.ToString(CultureInfo.InvariantCulture) + " does not exist");
                }

                int index = (int)request.Index;
                uint flags;
                ulong size;
                if (index == VfioConstants.ConfigRegionIndex)
                {
                    flags = (uint)(VfioRegionFlags.Read | VfioRegionFlags.Write);
                    size = (ulong)_device.ConfigSize;
                }
                else if (_device.Regions.FirstOrDefault(r => r.Index == index) is { } region)
                {
                    // The kernel's own mmap flag and capabilities stay here: they describe the VFIO device descriptor,
                    // which the client never gets. A client mapping goes through a descriptor of that BAR alone.
                    flags = (uint)(region.Flags & (VfioRegionFlags.Read | VfioRegionFlags.Write));
                    size = (ulong)region.Size;
                    if (ClientMapping(index) is { } mapping)
                    {
                        var info = new VfioUserRegionInfo(0, flags, request.Index, size, 0, mapping.Areas.Select(a => ((ulong)a.Offset, (ulong)a.Size)).ToArray());
                        if (request.Argsz < (uint)info.FullLength)
                        {
                            // No room for the areas: MMAP without them would mean "all of it", so the short reply
                            // offers nothing (no flag, no descriptor) and its argsz tells the client to ask again.
                            _kernel.Close(mapping.Fd);
                            return info.EncodeReply(request.Argsz);
                        }

                        _replyFds.Add(mapping.Fd);
                        _barMappingsGiven++;
                        return (info with { Flags = flags | VfioUserRegionInfo.MmapFlag }).EncodeReply(request.Argsz);
                    }
                }
                else if (index == VfioConstants.VgaRegionIndex)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "the device has no VGA region");
                }
                else
                {
                    flags = 0;
                    size = 0; // an unimplemented BAR
                }

                return new VfioUserRegionInfo(0, flags, request.Index, size, 0, null).EncodeReply(request.Argsz);
            }

            /// <summary>
            /// The BAR descriptor and areas to offer, when mapping is on, the client takes descriptors, and the policy and
            /// the kernel allow it; otherwise null (the BAR stays trapped) with the reason logged once per BAR.
            /// </summary>
            private (int Fd, IReadOnlyList<VfioSparseArea> Areas)? ClientMapping(int index)
            {
                if (!Options.MapBars || index > 5 || _client is null || _client.MaxMessageFds < 1)
                {
                    return null;
                }

                try
                {
                    return _device.OpenBarForClient(index);
                }
                catch (VfioException error)
                {
                    if (_unmappable.Add(index))
                    {
                        _server.Log("vfio-user: BAR " + index.ToString(CultureInfo.InvariantCulture) + " stays trapped: " + error.Message);
                    }

                    return null;
                }
            }

            private byte[] IrqInfo(byte[] payload)
            {
                VfioUserInfo request = VfioUserInfo.Parse(payload, "DEVICE_GET_IRQ_INFO");
                if (request.First >= (uint)IrqCount)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "IRQ index " + request.First.ToString(CultureInfo.InvariantCulture) + " does not exist");
                }

                int index = (int)request.First;
                VfioIrqInfo? irq = _device.Irqs.FirstOrDefault(i => i.Index == index);
                int count = _device.VmmVectorLimit(index);
                return new VfioUserInfo(VfioUserInfo.Length, count == 0 ? 0 : (uint)(irq?.Flags ?? VfioIrqFlags.EventFd), request.First, (uint)count).Encode();
            }

            private byte[] SetIrqs(byte[] payload, List<int> fds)
            {
                VfioUserSetIrqs request = VfioUserSetIrqs.Parse(payload);
                VfioIrqAction action = request.Action switch
                {
                    VfioUserSetIrqs.ActionMask => VfioIrqAction.Mask,
                    VfioUserSetIrqs.ActionUnmask => VfioIrqAction.Unmask,
                    _ => VfioIrqAction.Trigger,
                };
                int index = (int)Math.Min(request.Index, int.MaxValue);
                int start = (int)request.Start;
                int count = (int)request.Count;
                IReadOnlyList<int>? eventFds = null;
                if (request.DataType == VfioUserSetIrqs.DataEventFd)
                {
                    // count descriptors, or none: then the vectors are de-assigned (-1), as the spec says.
                    if (fds.Count != 0 && fds.Count != count)
                    {
                        throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "SET_IRQS for {0} vectors carries {1} descriptors", count, fds.Count));
                    }

                    eventFds = fds.Count == 0 ? Enumerable.Repeat(-1, count).ToArray() : fds.ToArray();
                }

                var set = new VfioIrqSet(index, action, start, count, eventFds) { Bools = request.Bools };
                _device.SetIrqs(set);

                // The kernel (or the forwarding) now uses the descriptors: keep them until replaced or the client goes.
                bool disable = action == VfioIrqAction.Trigger && request.DataType == VfioUserSetIrqs.DataNone && count == 0;
                if (disable)
                {
                    ReleaseEventFds(index);
                }
                else if (eventFds is not null && action == VfioIrqAction.Trigger)
                {
                    for (int i = 0; i < count; i++)
                    {
                        Hold((index, start + i), eventFds[i]);
                    }

                    fds.Clear();
                }
                else if (eventFds is not null)
                {
                    Hold((index, -1 - start), eventFds[0]); // an unmask (resample) eventfd
                    fds.Clear();
                }

                return Array.Empty<byte>();
            }

            private byte[] RegionRead(byte[] payload)
            {
                VfioUserRegionAccess read = VfioUserRegionAccess.Parse(payload, write: false, TransferLimit);
                byte[] data = new byte[read.Count];
                Access(read, data, write: false);
                return (read with { Data = data }).Encode();
            }

            private byte[] RegionWrite(byte[] payload)
            {
                VfioUserRegionAccess write = VfioUserRegionAccess.Parse(payload, write: true, TransferLimit);
                Access(write, write.Data, write: true);
                return (write with { Data = Array.Empty<byte>() }).Encode();
            }

            /// <summary>The largest transfer either side takes.</summary>
            private uint TransferLimit => Math.Min(Options.MaxDataTransferSize, _client?.MaxDataTransferSize ?? VfioUserCapabilities.DefaultTransferSize);

            /// <summary>
            /// One region access, split into naturally aligned pieces (config: up to 4 bytes through the firewall; BARs:
            /// up to 8 through the runtime). Checked whole before any piece runs, so a bad access changes nothing.
            /// </summary>
            private void Access(VfioUserRegionAccess access, byte[] data, bool write)
            {
                int index = (int)Math.Min(access.Region, int.MaxValue);
                long size = index == VfioConstants.ConfigRegionIndex ? _device.ConfigSize
                    : _device.Regions.FirstOrDefault(r => r.Index == index)?.Size ?? 0;
                if (size == 0 || access.Offset >= (ulong)size || access.Count > (ulong)size - access.Offset)
                {
                    throw new VfioUserProtocolException(VfioUserErrno.EINVAL, string.Format(CultureInfo.InvariantCulture, "{0} bytes at 0x{1:x} of region {2} lie outside it (size 0x{3:x})", access.Count, access.Offset, access.Region, size));
                }

                long offset = (long)access.Offset;
                if (index == VfioConstants.ConfigRegionIndex)
                {
                    Pieces(offset, data, 4, (at, width, span) => Config(at, width, span, write));
                }
                else if (index <= VfioConstants.RomRegionIndex)
                {
                    VfioBar bar = _device.Bar(index);
                    if (write && bar.IsRom)
                    {
                        throw new VfioUserProtocolException(VfioUserErrno.EINVAL, "the ROM is read-only");
                    }

                    Pieces(offset, data, 8, (at, width, span) =>
                    {
                        if (write)
                        {
                            bar.Write(at, width, Read(span));
                        }
                        else
                        {
                            Write(span, bar.Read(at, width));
                        }
                    });
                }
                else if (write)
                {
                    _device.Region(index).Write(offset, data);
                }
                else
                {
                    _device.Region(index).Read(offset, data);
                }
            }

            private void Config(long at, int width, Span<byte> span, bool write)
            {
                uint value = 0;
                AccessStatus status = write ? _device.TryWriteConfig((int)at, width, (uint)Read(span)) : _device.TryReadConfig((int)at, width, out value);
                if (status != AccessStatus.Ok)
                {
                    throw new VfioUserProtocolException(status == AccessStatus.HardwareError ? VfioUserErrno.EIO : VfioUserErrno.EINVAL, "config " + (write ? "write" : "read") + " at 0x" + at.ToString("x3", CultureInfo.InvariantCulture) + ": " + status.ToString());
                }

                if (!write)
                {
                    Write(span, value);
                }
            }

            private void SendReply(VfioUserHeader request, byte[] payload, int[] fds)
            {
                byte[] message = new byte[VfioUserHeader.Length + payload.Length];
                new VfioUserHeader(request.MessageId, request.Command, (uint)message.Length, VfioUserHeader.TypeReply, 0).Write(message);
                payload.CopyTo(message, VfioUserHeader.Length);
                _channel.Send(message, fds);
            }

            private void Fail(VfioUserHeader request, int errno, string why)
            {
                _errors++;
                _server.Log("vfio-user: " + request.CommandName + " (id " + request.MessageId.ToString(CultureInfo.InvariantCulture) + ") refused with " + VfioException.ErrnoName(errno) + ": " + why);
                if (!request.NoReply || request.Command == (ushort)VfioUserCommand.Version)
                {
                    byte[] message = new byte[VfioUserHeader.Length];
                    new VfioUserHeader(request.MessageId, request.Command, VfioUserHeader.Length, VfioUserHeader.TypeReply | VfioUserHeader.ErrorFlag, (uint)errno).Write(message);
                    try
                    {
                        _channel.Send(message, ReadOnlySpan<int>.Empty);
                    }
                    catch (VfioUserProtocolException)
                    {
                        // The client is gone; the receive loop notices next.
                    }
                }
            }

            private void Hold((int Index, int Vector) key, int fd)
            {
                if (_eventFds.TryGetValue(key, out int previous) && previous >= 0 && previous != fd)
                {
                    _kernel.Close(previous);
                }

                if (fd >= 0)
                {
                    _eventFds[key] = fd;
                }
                else
                {
                    _eventFds.Remove(key);
                }
            }

            private void ReleaseEventFds(int index)
            {
                foreach ((int Index, int Vector) key in _eventFds.Keys.Where(k => k.Index == index).ToArray())
                {
                    _kernel.Close(_eventFds[key]);
                    _eventFds.Remove(key);
                }
            }

            /// <summary>The client is gone: interrupts down, its memory out of the IOMMU and unmapped, its descriptors closed, the device reset.</summary>
            private void CleanUp()
            {
                Attempt("disable the interrupts", () =>
                {
                    VfioInterruptMode mode = _device.InterruptMode;
                    if (mode != VfioInterruptMode.None)
                    {
                        _device.SetIrqs(VfioIrqSet.Disable(mode == VfioInterruptMode.Intx ? VfioConstants.IntxIrqIndex : mode == VfioInterruptMode.Msi ? VfioConstants.MsiIrqIndex : VfioConstants.MsixIrqIndex));
                    }

                    foreach (int notification in new[] { VfioConstants.ErrIrqIndex, VfioConstants.ReqIrqIndex })
                    {
                        if (_device.VmmVectorLimit(notification) > 0)
                        {
                            _device.SetIrqs(VfioIrqSet.Disable(notification));
                        }
                    }
                });
                foreach (int fd in _eventFds.Values)
                {
                    _kernel.Close(fd);
                }

                _eventFds.Clear();
                foreach (DmaEntry entry in _dma)
                {
                    Attempt("unmap DMA at 0x" + entry.Address.ToString("x", CultureInfo.InvariantCulture), entry.Release);
                }

                _dma.Clear();
                if (_device.CanReset)
                {
                    Attempt("reset the device", _device.Reset);
                }
            }

            private void Attempt(string what, Action action)
            {
                try
                {
                    action();
                }
                catch (VfioException error)
                {
                    _server.Log("vfio-user: could not " + what + " after the client left: " + error.Message);
                }
            }

            private static int ErrnoOf(VfioException error) => error.Kind switch
            {
                VfioErrorKind.DmaOverlap => VfioUserErrno.EEXIST,
                VfioErrorKind.DmaLimitReached => VfioUserErrno.ENOSPC,
                VfioErrorKind.InvalidAccess or VfioErrorKind.DmaOutOfRange or VfioErrorKind.DmaUnaligned or VfioErrorKind.DmaNotMapped or VfioErrorKind.CannotReset => VfioUserErrno.EINVAL,
                VfioErrorKind.Closed => VfioUserErrno.EIO,
                _ => error.Errno != 0 ? error.Errno : VfioUserErrno.EIO,
            };

            private static void Pieces(long offset, byte[] data, int widest, Action<long, int, Span<byte>> each)
            {
                int done = 0;
                while (done < data.Length)
                {
                    long at = offset + done;
                    int width = widest;
                    while (width > 1 && (at % width != 0 || width > data.Length - done))
                    {
                        width /= 2;
                    }

                    each(at, width, data.AsSpan(done, width));
                    done += width;
                }
            }

            private static ulong Read(Span<byte> span)
            {
                Span<byte> eight = stackalloc byte[8];
                eight.Clear();
                span.CopyTo(eight);
                return BinaryPrimitives.ReadUInt64LittleEndian(eight);
            }

            private static void Write(Span<byte> span, ulong value)
            {
                Span<byte> eight = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(eight, value);
                eight.Slice(0, span.Length).CopyTo(span);
            }
        }

        /// <summary>One DMA_MAP of the client: the range, and where it is mapped when the client passed its memory.</summary>
        private sealed class DmaEntry
        {
            public DmaEntry(ulong address, ulong size, uint flags)
            {
                Address = address;
                Size = size;
                Flags = flags;
            }

            public ulong Address { get; }

            public ulong Size { get; }

            public uint Flags { get; }

            public IHostMemory? Memory { get; set; }

            public VfioDmaMapping? Mapping { get; set; }

            /// <summary>Out of the IOMMU first, then unmapped from this process.</summary>
            public void Release()
            {
                Mapping?.Dispose();
                Mapping = null;
                Memory?.Dispose();
                Memory = null;
            }
        }
    }
}
