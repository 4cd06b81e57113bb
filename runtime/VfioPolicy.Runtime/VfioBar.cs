using System;
using System.Collections.Generic;
using System.Globalization;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>How a range of a BAR is reached.</summary>
    public enum BarAccessPath
    {
        /// <summary>Through an mmap of the region: the consumer's access goes straight to the device.</summary>
        Mapped,

        /// <summary>Through pread/pwrite on the region: the kernel performs it.</summary>
        Trapped,

        /// <summary>Emulated by the runtime (the MSI-X table and PBA).</summary>
        Emulated,

        /// <summary>A config-space mirror the policy declares: the access goes through the config firewall at the mirrored offset.</summary>
        ConfigMirror,
    }

    /// <summary>A contiguous range of a BAR and how it is reached.</summary>
    /// <param name="Offset">Offset within the BAR.</param>
    /// <param name="Size">Size in bytes.</param>
    /// <param name="Path">How accesses are performed.</param>
    public sealed record BarRange(long Offset, long Size, BarAccessPath Path);

    /// <summary>
    /// One BAR (or the expansion ROM) of an open device as the consumer reaches it. Accesses need the consumer's
    /// Command decode bit (Memory for memory BARs, I/O for I/O BARs; the ROM also its enable bit) and the function in
    /// D0: otherwise a read returns all ones and a write is dropped, as a PCI master abort does, and both are counted in
    /// <see cref="BlockedAccesses"/>. Offsets must be naturally aligned.
    /// </summary>
    public sealed class VfioBar
    {
        private readonly VfioDevice _device;
        private readonly List<(long Offset, IMappedRange Mapping)> _mappings = new List<(long, IMappedRange)>();
        private readonly List<VfioException> _mapFailures = new List<VfioException>();
        private AccessModel.Model.ConfigMirror[] _configMirrors = Array.Empty<AccessModel.Model.ConfigMirror>();

        // The last value the consumer wrote to each address/data pair's address register (by index into _configMirrors).
        private uint[] _windowAddresses = Array.Empty<uint>();

        internal VfioBar(VfioDevice device, VfioRegionInfo region, uint typeBits, MsixTable? msix)
        {
            _device = device;
            Region = region;
            TypeBits = typeBits;
            Msix = msix;
        }

        /// <summary>The BAR number (0 to 5), or 6 for the expansion ROM.</summary>
        public int Index => Region.Index;

        /// <summary>The VFIO region behind it.</summary>
        public VfioRegionInfo Region { get; }

        /// <summary>Size in bytes.</summary>
        public long Size => Region.Size;

        /// <summary>True for the expansion ROM.</summary>
        public bool IsRom => Index == VfioConstants.RomRegionIndex;

        /// <summary>True for an I/O BAR.</summary>
        public bool IsIo => !IsRom && (TypeBits & 1) != 0;

        /// <summary>True for a 64-bit memory BAR (the next BAR register holds its upper half).</summary>
        public bool Is64Bit => !IsRom && !IsIo && (TypeBits & 0x6) == 0x4;

        /// <summary>True for a prefetchable memory BAR.</summary>
        public bool IsPrefetchable => !IsRom && !IsIo && (TypeBits & 0x8) != 0;

        /// <summary>The read-only low bits of the BAR register (space, type, prefetchable) as the hardware has them.</summary>
        public uint TypeBits { get; }

        /// <summary>Every range of the BAR and how it is reached, in offset order.</summary>
        public IReadOnlyList<BarRange> Layout { get; private set; } = Array.Empty<BarRange>();

        /// <summary>
        /// The page-aligned areas an untrusted client of a server may map itself (through
        /// <see cref="VfioDevice.OpenBarForClient"/>): what the kernel lets be mapped, less every page that holds the
        /// MSI-X table or PBA (even where the kernel would map them: a client must not program the real table) and every
        /// page of a config mirror window the policy declares in this BAR. Empty for I/O BARs and the ROM.
        /// </summary>
        public IReadOnlyList<VfioSparseArea> ClientMappableAreas { get; private set; } = Array.Empty<VfioSparseArea>();

        /// <summary>Areas the region offered for mmap that the kernel refused; they are trapped instead.</summary>
        public IReadOnlyList<VfioException> MapFailures => _mapFailures;

        /// <summary>Accesses dropped (or answered with all ones) because the consumer's decode bit was clear or the function was not in D0.</summary>
        public long BlockedAccesses { get; private set; }

        internal MsixTable? Msix { get; }

        /// <summary>A consumer read of <paramref name="width"/> (1, 2, 4 or 8) bytes at <paramref name="offset"/>.</summary>
        /// <exception cref="VfioException">Malformed access (<see cref="VfioErrorKind.InvalidAccess"/>), a failed pread, or the device is closed.</exception>
        public ulong Read(long offset, int width)
        {
            Validate(offset, width);
            lock (_device.Gate)
            {
                _device.ThrowIfClosed();
                if (!_device.DecodeEnabled(this))
                {
                    BlockedAccesses++;
                    return WidthMask(width);
                }

                return ReadChecked(offset, width);
            }
        }

        /// <summary>A read already validated, under the device's lock, with decode on: mirrors, MSI-X, mappings, the region.</summary>
        private ulong ReadChecked(long offset, int width)
        {
            if (_configMirrors.Length > 0 && TryReadMirror(offset, width, out ulong mirrored))
            {
                return mirrored;
            }

            if (Msix is not null && Msix.Covers(Index, offset, width))
            {
                return Msix.Read(Index, offset, width);
            }

            foreach ((long start, IMappedRange mapping) in _mappings)
            {
                if (offset >= start && offset + width <= start + mapping.Length)
                {
                    return mapping.Read(offset - start, width);
                }
            }

            return _device.ReadRegion(Region, offset, width);
        }

        /// <summary>A consumer write of <paramref name="width"/> (1, 2, 4 or 8) bytes at <paramref name="offset"/>.</summary>
        /// <exception cref="VfioException">Malformed access, a write to the ROM, a failed pwrite, or the device is closed.</exception>
        public void Write(long offset, int width, ulong value)
        {
            Validate(offset, width);
            if (IsRom)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "write to the expansion ROM of " + _device.Address, 0, "the ROM is read-only");
            }

            lock (_device.Gate)
            {
                _device.ThrowIfClosed();
                if (!_device.DecodeEnabled(this))
                {
                    BlockedAccesses++;
                    return;
                }

                WriteChecked(offset, width, value & WidthMask(width));
            }
        }

        /// <summary>A write already validated, under the device's lock, with decode on: mirrors, MSI-X, mappings, the region.</summary>
        private void WriteChecked(long offset, int width, ulong value)
        {
            if (_configMirrors.Length > 0 && TryWriteMirror(offset, width, value))
            {
                return;
            }

            if (Msix is not null && Msix.Covers(Index, offset, width))
            {
                Msix.Write(Index, offset, width, value);
                return;
            }

            foreach ((long start, IMappedRange mapping) in _mappings)
            {
                if (offset >= start && offset + width <= start + mapping.Length)
                {
                    mapping.Write(offset - start, width, value);
                    return;
                }
            }

            _device.WriteRegion(Region, offset, width, value);
        }

        /// <summary>
        /// A read that touches a config mirror of this BAR goes through the firewall. A fixed window answers with the
        /// config bytes it mirrors; a pair's data register does while its address register selects config space. An
        /// access that straddles a window's edge is taken byte by byte, each byte by its own path. False when no
        /// mirror is involved.
        /// </summary>
        private bool TryReadMirror(long offset, int width, out ulong value)
        {
            value = 0;
            if (!MirrorAt(offset, width, out long configOffset, out bool whole))
            {
                return false;
            }

            if (!whole)
            {
                for (int b = 0; b < width; b++)
                {
                    value |= ReadChecked(offset + b, 1) << (8 * b);
                }

                return true;
            }

            for (int done = 0; done < width; done += 4)
            {
                int piece = Math.Min(4, width - done);
                uint part = _device.TryReadConfig((int)(configOffset + done), piece, out uint read) == AccessModel.Contracts.AccessStatus.Ok ? read : (uint)WidthMask(piece);
                value |= (ulong)part << (8 * done);
            }

            return true;
        }

        /// <summary>The write side of <see cref="TryReadMirror"/>; a write to a pair's address register is remembered and reaches the hardware.</summary>
        private bool TryWriteMirror(long offset, int width, ulong value)
        {
            RememberWindowAddress(offset, width, value);
            if (!MirrorAt(offset, width, out long configOffset, out bool whole))
            {
                return false;
            }

            if (!whole)
            {
                for (int b = 0; b < width; b++)
                {
                    WriteChecked(offset + b, 1, (value >> (8 * b)) & 0xFF);
                }

                return true;
            }

            for (int done = 0; done < width; done += 4)
            {
                int piece = Math.Min(4, width - done);

                // A write past the config space is dropped, as the firewall drops any access outside it.
                _device.TryWriteConfig((int)(configOffset + done), piece, (uint)(value >> (8 * done)));
            }

            return true;
        }

        /// <summary>
        /// Whether the access touches config space through a mirror: <paramref name="whole"/> when it lies entirely in
        /// one window (then <paramref name="configOffset"/> is where it lands), false when it straddles an edge.
        /// </summary>
        private bool MirrorAt(long offset, int width, out long configOffset, out bool whole)
        {
            configOffset = 0;
            whole = false;
            for (int i = 0; i < _configMirrors.Length; i++)
            {
                AccessModel.Model.ConfigMirror mirror = _configMirrors[i];
                long start;
                long end;
                long target;
                if (mirror.DataOffset is long data)
                {
                    uint address = _windowAddresses[i];
                    if (address < mirror.Base || address - mirror.Base >= (uint)mirror.Size)
                    {
                        continue;
                    }

                    (start, end, target) = (data, data + 4, address - mirror.Base);
                }
                else
                {
                    (start, end, target) = (mirror.Offset, mirror.Offset + mirror.Size, 0);
                }

                if (offset + width <= start || offset >= end)
                {
                    continue;
                }

                whole = offset >= start && offset + width <= end;
                configOffset = target + (offset - start);
                return true;
            }

            return false;
        }

        private void RememberWindowAddress(long offset, int width, ulong value)
        {
            for (int i = 0; i < _configMirrors.Length; i++)
            {
                if (_configMirrors[i].DataOffset is null)
                {
                    continue;
                }

                long register = _configMirrors[i].Offset;
                for (int b = 0; b < width; b++)
                {
                    long at = offset + b - register;
                    if (at >= 0 && at < 4)
                    {
                        uint shift = (uint)(8 * at);
                        _windowAddresses[i] = (_windowAddresses[i] & ~(0xFFu << (int)shift)) | ((uint)((value >> (8 * b)) & 0xFF) << (int)shift);
                    }
                }
            }
        }

        /// <summary>How the byte at <paramref name="offset"/> is reached.</summary>
        public BarAccessPath PathOf(long offset)
        {
            foreach (BarRange range in Layout)
            {
                if (offset >= range.Offset && offset < range.Offset + range.Size)
                {
                    return range.Path;
                }
            }

            return BarAccessPath.Trapped;
        }

        /// <summary>
        /// Maps what may be mapped: the region's sparse areas (or all of it) less the system pages holding the MSI-X
        /// table and PBA. Where the kernel says the MSI-X structures may be mapped (<c>MSIX_MAPPABLE</c>), their pages
        /// are mapped too, so registers sharing a page with them run at mapped speed; the structures' own bytes are
        /// still emulated, because every access checks them first.
        /// </summary>
        internal void MapAllowedAreas(IVfioKernel kernel, int deviceFd, IReadOnlyList<AccessModel.Model.ConfigMirror> mirrors)
        {
            _configMirrors = new List<AccessModel.Model.ConfigMirror>(mirrors).ToArray();
            _windowAddresses = new uint[_configMirrors.Length];
            long pageSize = kernel.PageSize;
            (long Start, long End) Pages((long Start, long End) range) => (range.Start & ~(pageSize - 1), (range.End + pageSize - 1) & ~(pageSize - 1));
            var emulated = new List<(long Start, long End)>();
            var excluded = new List<(long Start, long End)>();
            var clientExcluded = new List<(long Start, long End)>();
            if (Msix is not null)
            {
                foreach ((long start, long end) in Msix.RangesIn(Index))
                {
                    emulated.Add((start, end));
                    clientExcluded.Add(Pages((start, end)));
                    if (!Region.MsixMappable)
                    {
                        excluded.Add(Pages((start, end)));
                    }
                }
            }

            if (Msix is not null && Msix.PbaBar == Index)
            {
                // The runtime may leave the PBA to the hardware, but a client's own mapping gets neither structure.
                clientExcluded.Add(Pages((Msix.PbaOffset, Msix.PbaEnd)));
            }

            // Config mirrors: their pages are trapped for the runtime and never offered to a client, so every access to
            // them is seen; the bytes that reach config space are shown as such in the layout.
            var mirrored = new List<(long Start, long End)>();
            foreach (AccessModel.Model.ConfigMirror mirror in _configMirrors)
            {
                foreach ((long start, long end) in mirror.TrappedRanges())
                {
                    clientExcluded.Add(Pages((start, end)));
                    excluded.Add(Pages((start, end)));
                }

                mirrored.Add(mirror.DataOffset is long data ? (data, data + 4) : (mirror.Offset, mirror.Offset + mirror.Size));
            }

            var mapped = new List<(long Start, long End)>();
            if (Region.CanMap && !IsRom && !IsIo)
            {
                IReadOnlyList<VfioSparseArea> areas = Region.SparseAreas ?? new[] { new VfioSparseArea(0, Region.Size) };
                foreach (VfioSparseArea area in areas)
                {
                    foreach ((long start, long end) in Subtract(area.Offset, Math.Min(area.Offset + area.Size, Region.Size), excluded))
                    {
                        if (end > start)
                        {
                            mapped.Add((start, end));
                        }
                    }
                }
            }

            var granted = new List<(long Start, long End)>();
            foreach ((long start, long end) in mapped)
            {
                try
                {
                    // The mapping is owned by this BAR and unmapped in Unmap(), before the device descriptor closes.
                    _mappings.Add((start, kernel.Map(deviceFd, Region.Offset + start, end - start, (Region.Flags & VfioRegionFlags.Write) != 0)));
                    granted.Add((start, end));
                }
                catch (VfioException error)
                {
                    // The kernel refused this area (a sub-page BAR, a kernel without mmap for it): trapping is slower
                    // but equivalent, so the area is reached through pread/pwrite instead.
                    _mapFailures.Add(error);
                }
            }

            Layout = BuildLayout(granted, emulated, mirrored);
            var client = new List<VfioSparseArea>();
            foreach ((long start, long end) in mapped)
            {
                foreach ((long s, long e) in Subtract(start, end, clientExcluded))
                {
                    if (e > s)
                    {
                        client.Add(new VfioSparseArea(s, e - s));
                    }
                }
            }

            ClientMappableAreas = client;
        }

        internal void Unmap()
        {
            foreach ((long _, IMappedRange mapping) in _mappings)
            {
                mapping.Dispose();
            }

            _mappings.Clear();
        }

        private List<BarRange> BuildLayout(List<(long Start, long End)> mapped, List<(long Start, long End)> emulated, List<(long Start, long End)> mirrored)
        {
            var points = new SortedSet<long> { 0, Region.Size };
            foreach ((long start, long end) in mirrored)
            {
                points.Add(Math.Max(0, Math.Min(Region.Size, start)));
                points.Add(Math.Max(0, Math.Min(Region.Size, end)));
            }

            foreach ((long start, long end) in mapped)
            {
                points.Add(start);
                points.Add(end);
            }

            foreach ((long start, long end) in emulated)
            {
                points.Add(Math.Max(0, start));
                points.Add(Math.Min(Region.Size, end));
            }

            var layout = new List<BarRange>();
            long previous = -1;
            foreach (long point in points)
            {
                if (previous >= 0 && point > previous)
                {
                    BarAccessPath path = Inside(mirrored, previous) ? BarAccessPath.ConfigMirror
                        : Inside(emulated, previous) ? BarAccessPath.Emulated
                        : Inside(mapped, previous) ? BarAccessPath.Mapped
                        : BarAccessPath.Trapped;
                    if (layout.Count > 0 && layout[layout.Count - 1].Path == path)
                    {
                        BarRange last = layout[layout.Count - 1];
                        layout[layout.Count - 1] = last with { Size = point - last.Offset };
                    }
                    else
                    {
                        layout.Add(new BarRange(previous, point - previous, path));
                    }
                }

                previous = point;
            }

            return layout;
        }

        private static bool Inside(List<(long Start, long End)> ranges, long offset)
        {
            foreach ((long start, long end) in ranges)
            {
                if (offset >= start && offset < end)
                {
                    return true;
                }
            }

            return false;
        }

        private static IEnumerable<(long Start, long End)> Subtract(long start, long end, List<(long Start, long End)> holes)
        {
            var pieces = new List<(long Start, long End)> { (start, end) };
            foreach ((long holeStart, long holeEnd) in holes)
            {
                var next = new List<(long Start, long End)>();
                foreach ((long s, long e) in pieces)
                {
                    if (holeEnd <= s || holeStart >= e)
                    {
                        next.Add((s, e));
                        continue;
                    }

                    if (holeStart > s)
                    {
                        next.Add((s, holeStart));
                    }

                    if (holeEnd < e)
                    {
                        next.Add((holeEnd, e));
                    }
                }

                pieces = next;
            }

            return pieces;
        }

        internal static ulong WidthMask(int width) => width == 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1;

        private void Validate(long offset, int width)
        {
            if (width != 1 && width != 2 && width != 4 && width != 8)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, Describe(offset, width), 0, "the width must be 1, 2, 4 or 8 bytes");
            }

            if (offset < 0 || offset + width > Size)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, Describe(offset, width), 0, "the access lies outside the BAR (size 0x" + Size.ToString("x", CultureInfo.InvariantCulture) + ")");
            }

            if (offset % width != 0)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, Describe(offset, width), 0, "the access is not naturally aligned");
            }
        }

        private string Describe(long offset, int width) => string.Format(
            CultureInfo.InvariantCulture,
            "{0}-byte access at 0x{1:x} of {2} of {3}",
            width,
            offset,
            IsRom ? "the ROM" : "BAR" + Index.ToString(CultureInfo.InvariantCulture),
            _device.Address);
    }
}
