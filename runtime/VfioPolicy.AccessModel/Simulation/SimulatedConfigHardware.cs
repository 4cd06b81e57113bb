using System;
using System.Collections.Generic;
using System.Globalization;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.AccessModel.Simulation
{
    /// <summary>Whether a hardware access read or wrote.</summary>
    public enum HardwareAccessKind
    {
        /// <summary>A read.</summary>
        Read,

        /// <summary>A write.</summary>
        Write,
    }

    /// <summary>One access the firewall made to the simulated hardware.</summary>
    /// <param name="Kind">Read or write.</param>
    /// <param name="Offset">Offset of the access.</param>
    /// <param name="Width">Width in bytes.</param>
    /// <param name="Value">The value read or written (0 for a failed read).</param>
    /// <param name="Succeeded">False when a fault was injected.</param>
    public sealed record HardwareAccess(HardwareAccessKind Kind, int Offset, int Width, uint Value, bool Succeeded)
    {
        /// <inheritdoc />
        public override string ToString()
            => (Kind == HardwareAccessKind.Read ? "read " : "write ")
               + Width.ToString(CultureInfo.InvariantCulture) + "@0x" + Offset.ToString("x3", CultureInfo.InvariantCulture)
               + " = 0x" + Value.ToString("x" + (Width * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture)
               + (Succeeded ? string.Empty : " (failed)");
    }

    /// <summary>
    /// A device's config space simulated over a copy of a dump: reads return the bytes, writes store them, except
    /// read-only bits (kept) and write-1-to-clear bits (a written 1 clears, a 0 keeps). Every access is logged, and
    /// faults can be injected at chosen offsets.
    /// </summary>
    public sealed class SimulatedConfigHardware : IHardwareConfig
    {
        private readonly byte[] _bytes;
        private readonly byte[] _writeOneToClear;
        private readonly byte[] _readOnly;
        private readonly List<HardwareAccess> _traffic = new List<HardwareAccess>();
        private readonly HashSet<int> _failingReads = new HashSet<int>();
        private readonly HashSet<int> _failingWrites = new HashSet<int>();

        /// <summary>Creates simulated hardware over a copy of <paramref name="image"/>.</summary>
        /// <param name="image">The config space's initial contents.</param>
        /// <param name="writeOneToClear">Per byte, bits that are write-1-to-clear; null for none. Same length as the image.</param>
        /// <param name="readOnly">Per byte, bits writes cannot change; null for none. Same length as the image.</param>
        public SimulatedConfigHardware(ReadOnlySpan<byte> image, byte[]? writeOneToClear = null, byte[]? readOnly = null)
        {
            _bytes = image.ToArray();
            _writeOneToClear = CheckMask(writeOneToClear, nameof(writeOneToClear));
            _readOnly = CheckMask(readOnly, nameof(readOnly));
        }

        /// <summary>The config space's size in bytes.</summary>
        public int Size => _bytes.Length;

        /// <summary>The current contents.</summary>
        public ReadOnlySpan<byte> Bytes => _bytes;

        /// <summary>Every access made so far, in order.</summary>
        public IReadOnlyList<HardwareAccess> Traffic => _traffic;

        /// <summary>Forgets the logged traffic.</summary>
        public void ClearTraffic() => _traffic.Clear();

        /// <summary>Makes every read that covers byte <paramref name="offset"/> fail.</summary>
        public void FailReadsAt(int offset) => _failingReads.Add(offset);

        /// <summary>Makes every write that covers byte <paramref name="offset"/> fail.</summary>
        public void FailWritesAt(int offset) => _failingWrites.Add(offset);

        /// <summary>Removes every injected fault.</summary>
        public void ClearFaults()
        {
            _failingReads.Clear();
            _failingWrites.Clear();
        }

        /// <summary>Sets the contents of <paramref name="width"/> bytes directly, as the device itself would (no log, no masks).</summary>
        public void SetDeviceValue(int offset, int width, uint value)
        {
            CheckAccess(offset, width);
            for (int b = 0; b < width; b++)
            {
                _bytes[offset + b] = (byte)(value >> (8 * b));
            }
        }

        /// <summary>The contents of <paramref name="width"/> bytes at <paramref name="offset"/>, without logging.</summary>
        public uint Peek(int offset, int width)
        {
            CheckAccess(offset, width);
            uint value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | _bytes[offset + b];
            }

            return value;
        }

        /// <inheritdoc />
        /// <exception cref="ArgumentException">The access is not 1, 2 or 4 naturally aligned bytes inside the config space: the caller broke the contract.</exception>
        public bool TryRead(int offset, int width, out uint value)
        {
            CheckAccess(offset, width);
            if (Covers(_failingReads, offset, width))
            {
                value = 0;
                _traffic.Add(new HardwareAccess(HardwareAccessKind.Read, offset, width, 0, false));
                return false;
            }

            value = Peek(offset, width);
            _traffic.Add(new HardwareAccess(HardwareAccessKind.Read, offset, width, value, true));
            return true;
        }

        /// <inheritdoc />
        /// <exception cref="ArgumentException">The access is not 1, 2 or 4 naturally aligned bytes inside the config space: the caller broke the contract.</exception>
        public bool TryWrite(int offset, int width, uint value)
        {
            CheckAccess(offset, width);
            if (Covers(_failingWrites, offset, width))
            {
                _traffic.Add(new HardwareAccess(HardwareAccessKind.Write, offset, width, value, false));
                return false;
            }

            for (int b = 0; b < width; b++)
            {
                int at = offset + b;
                byte written = (byte)(value >> (8 * b));
                byte kept = _readOnly[at];
                byte cleared = (byte)(_writeOneToClear[at] & ~kept);
                byte stored = (byte)~(kept | cleared);
                byte old = _bytes[at];
                _bytes[at] = (byte)((old & kept) | (written & stored) | (old & cleared & ~written));
            }

            _traffic.Add(new HardwareAccess(HardwareAccessKind.Write, offset, width, value, true));
            return true;
        }

        private static bool Covers(HashSet<int> offsets, int offset, int width)
        {
            for (int b = 0; b < width; b++)
            {
                if (offsets.Contains(offset + b))
                {
                    return true;
                }
            }

            return false;
        }

        private byte[] CheckMask(byte[]? mask, string name)
        {
            if (mask is null)
            {
                return new byte[_bytes.Length];
            }

            if (mask.Length != _bytes.Length)
            {
                throw new ArgumentException(
                    "The mask has " + mask.Length.ToString(CultureInfo.InvariantCulture) + " bytes; the config space has "
                    + _bytes.Length.ToString(CultureInfo.InvariantCulture) + ".",
                    name);
            }

            return (byte[])mask.Clone();
        }

        private void CheckAccess(int offset, int width)
        {
            if ((width != 1 && width != 2 && width != 4) || offset < 0 || offset % width != 0 || (long)offset + width > _bytes.Length)
            {
                throw new ArgumentException(
                    "Config hardware accesses are 1, 2 or 4 naturally aligned bytes inside the config space (size "
                    + _bytes.Length.ToString(CultureInfo.InvariantCulture) + "); got " + width.ToString(CultureInfo.InvariantCulture)
                    + " bytes at " + offset.ToString(CultureInfo.InvariantCulture) + ".");
            }
        }
    }
}
