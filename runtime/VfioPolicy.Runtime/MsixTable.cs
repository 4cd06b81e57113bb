using System;
using System.Collections.Generic;

namespace VfioPolicy.Runtime
{
    /// <summary>
    /// The consumer's MSI-X table and PBA, emulated: the real table is programmed by the kernel through
    /// VFIO_DEVICE_SET_IRQS, so the consumer's addresses and data never reach the device. A vector's mask bit decides
    /// whether the consumer's eventfd is attached; while it is masked the device layer routes the vector to an eventfd of
    /// its own and records a firing here as the vector's pending bit, which the PBA reads back.
    /// </summary>
    /// <remarks>
    /// With VMM-owned interrupts (<see cref="EmulatesVectors"/> false) it keeps the kernel's vfio-pci contract instead:
    /// the table reads all ones and drops writes (the VMM emulates it), and the PBA is the device's own, reached like
    /// the rest of the BAR.
    /// </remarks>
    internal sealed class MsixTable
    {
        private const int EntrySize = 16;
        private const int VectorControlOffset = 12;
        private readonly byte[] _table;
        private readonly ulong[] _pending;
        private readonly Action<int> _changed;

        public MsixTable(int vectors, int tableBar, long tableOffset, int pbaBar, long pbaOffset, Action<int> changed, bool emulatesVectors = true)
        {
            EmulatesVectors = emulatesVectors;
            Vectors = vectors;
            TableBar = tableBar;
            TableOffset = tableOffset;
            PbaBar = pbaBar;
            PbaOffset = pbaOffset;
            _table = new byte[vectors * EntrySize];
            _pending = new ulong[(vectors + 63) / 64];
            _changed = changed;
            Reset();
        }

        public int Vectors { get; }

        /// <summary>True: the runtime emulates table and PBA; false: the kernel contract for a VMM (see remarks).</summary>
        public bool EmulatesVectors { get; }

        public int TableBar { get; }

        public long TableOffset { get; }

        public int PbaBar { get; }

        public long PbaOffset { get; }

        /// <summary>Called before a consumer read that touches the PBA, so pending interrupts are collected first.</summary>
        public Action? CollectPending { get; set; }

        private long TableEnd => TableOffset + _table.Length;

        public long PbaEnd => PbaOffset + (_pending.Length * 8);

        /// <summary>Every vector masked, addresses and data 0, nothing pending: the state after a function reset.</summary>
        public void Reset()
        {
            Array.Clear(_table, 0, _table.Length);
            Array.Clear(_pending, 0, _pending.Length);
            for (int vector = 0; vector < Vectors; vector++)
            {
                _table[(vector * EntrySize) + VectorControlOffset] = 1;
            }
        }

        public bool IsMasked(int vector) => (_table[(vector * EntrySize) + VectorControlOffset] & 1) != 0;

        public bool IsPending(int vector) => (_pending[vector / 64] & (1UL << (vector % 64))) != 0;

        public void SetPending(int vector) => _pending[vector / 64] |= 1UL << (vector % 64);

        public void ClearPending(int vector) => _pending[vector / 64] &= ~(1UL << (vector % 64));

        public ulong AddressOf(int vector) => BitConverter.ToUInt64(_table, vector * EntrySize);

        public uint DataOf(int vector) => BitConverter.ToUInt32(_table, (vector * EntrySize) + 8);

        public IEnumerable<(long Start, long End)> RangesIn(int bar)
        {
            if (bar == TableBar)
            {
                yield return (TableOffset, TableEnd);
            }

            if (bar == PbaBar && EmulatesVectors)
            {
                yield return (PbaOffset, PbaEnd);
            }
        }

        public bool Covers(int bar, long offset, int width)
        {
            long end = offset + width;
            return (bar == TableBar && offset < TableEnd && end > TableOffset) || (EmulatesVectors && bar == PbaBar && offset < PbaEnd && end > PbaOffset);
        }

        public ulong Read(int bar, long offset, int width)
        {
            if (!EmulatesVectors)
            {
                return width == 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1;
            }

            if (bar == PbaBar && offset < PbaEnd && offset + width > PbaOffset)
            {
                CollectPending?.Invoke();
            }

            ulong value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | ByteAt(bar, offset + b);
            }

            return value;
        }

        public void Write(int bar, long offset, int width, ulong value)
        {
            if (bar != TableBar || !EmulatesVectors)
            {
                return;
            }

            int firstChanged = -1;
            for (int b = 0; b < width; b++)
            {
                long position = offset + b;
                if (position < TableOffset || position >= TableEnd)
                {
                    continue; // the PBA is read-only, and so is anything past the table
                }

                int index = (int)(position - TableOffset);
                byte incoming = (byte)(value >> (8 * b));
                if (index % EntrySize == VectorControlOffset)
                {
                    incoming &= 1; // only the mask bit of Vector Control is defined
                }
                else if (index % EntrySize > VectorControlOffset)
                {
                    incoming = 0;
                }

                if (_table[index] != incoming && firstChanged < 0)
                {
                    firstChanged = index / EntrySize;
                }

                _table[index] = incoming;
            }

            // The device layer re-syncs on a mask change (the vector's eventfd moves) and on an address or data change
            // (its route changes); one call covers a write that touched several vectors.
            if (firstChanged >= 0)
            {
                _changed(firstChanged);
            }
        }

        private byte ByteAt(int bar, long position)
        {
            if (bar == TableBar && position >= TableOffset && position < TableEnd)
            {
                return _table[position - TableOffset];
            }

            if (bar == PbaBar && position >= PbaOffset && position < PbaEnd)
            {
                long index = position - PbaOffset;
                return (byte)(_pending[index / 8] >> (int)(8 * (index % 8)));
            }

            return 0; // bytes around the structures (within the trapped page) read 0
        }
    }
}
