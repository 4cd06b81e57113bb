using System;
using System.Globalization;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>
    /// Page-aligned host memory for DMA (<see cref="VfioContainer.AllocateDmaBuffer"/>): anonymous, or in a memfd whose
    /// descriptor another process (a VMM, a vfio-user peer) can map too. Copy bytes in and out with
    /// <see cref="Write(long, ReadOnlySpan{byte})"/> and <see cref="Read(long, Span{byte})"/>; map it at an IOVA with
    /// <see cref="VfioContainer.MapDma(ulong, VfioDmaBuffer, VfioDmaAccess)"/>.
    /// </summary>
    /// <remarks>
    /// Disposing a buffer that is still mapped does not free it under the device: like pinned pages in the kernel it
    /// stays allocated until its last mapping is gone, then it is released. Thread-safe.
    /// </remarks>
    public sealed class VfioDmaBuffer : IDisposable
    {
        private readonly object _gate = new object();
        private readonly IHostMemory _memory;
        private int _mappings;
        private bool _disposed;
        private bool _released;

        internal VfioDmaBuffer(IHostMemory memory)
        {
            _memory = memory;
            Address = memory.Address;
            Length = memory.Length;
        }

        /// <summary>The buffer's address in this process.</summary>
        public nint Address { get; }

        /// <summary>Length in bytes (the requested size rounded up to the page size).</summary>
        public long Length { get; }

        /// <summary>The memfd behind the buffer (shareable buffers), or -1.</summary>
        public int Fd => _memory.Fd;

        /// <summary>True once disposed (the memory may live on until its mappings are gone).</summary>
        public bool IsDisposed
        {
            get
            {
                lock (_gate)
                {
                    return _disposed;
                }
            }
        }

        /// <summary>Copies <paramref name="into"/>.Length bytes from <paramref name="offset"/> of the buffer.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The range reaches outside the buffer.</exception>
        /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
        public void Read(long offset, Span<byte> into)
        {
            lock (_gate)
            {
                Bytes(offset, into.Length).CopyTo(into);
            }
        }

        /// <summary>Copies <paramref name="from"/> into the buffer at <paramref name="offset"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The range reaches outside the buffer.</exception>
        /// <exception cref="ObjectDisposedException">The buffer was disposed.</exception>
        public void Write(long offset, ReadOnlySpan<byte> from)
        {
            lock (_gate)
            {
                from.CopyTo(Bytes(offset, from.Length));
            }
        }

        /// <summary>A copy of <paramref name="length"/> bytes at <paramref name="offset"/>.</summary>
        public byte[] ToArray(long offset, int length)
        {
            byte[] copy = new byte[length];
            Read(offset, copy);
            return copy;
        }

        /// <summary>Releases the memory, now or, if it is still mapped, when its last mapping is unmapped. Idempotent.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                _disposed = true;
                ReleaseIfUnused();
            }
        }

        /// <summary>A mapping starts using the buffer.</summary>
        internal void AddMapping()
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    throw new ObjectDisposedException(nameof(VfioDmaBuffer), "A disposed DMA buffer cannot be mapped.");
                }

                _mappings++;
            }
        }

        /// <summary>A mapping of the buffer is gone.</summary>
        internal void RemoveMapping()
        {
            lock (_gate)
            {
                _mappings--;
                ReleaseIfUnused();
            }
        }

        private void ReleaseIfUnused()
        {
            if (_disposed && _mappings == 0 && !_released)
            {
                _released = true;
                _memory.Dispose();
            }
        }

        private unsafe Span<byte> Bytes(long offset, int length)
        {
            if (_disposed)
            {
                throw new ObjectDisposedException(nameof(VfioDmaBuffer));
            }

            if (offset < 0 || length < 0 || offset > Length - length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, string.Format(CultureInfo.InvariantCulture, "{0} bytes at {1} reach outside the {2}-byte buffer.", length, offset, Length));
            }

            // SAFETY: the range lies inside the live allocation (checked above; the memory is released only after
            // Dispose, which sets _disposed under the same lock).
            return new Span<byte>((byte*)Address + offset, length);
        }
    }

    /// <summary>One range of host memory a device may reach at an IOVA. Dispose to unmap it.</summary>
    public sealed class VfioDmaMapping : IDisposable
    {
        private readonly VfioContainer _container;

        internal VfioDmaMapping(VfioContainer container, ulong iova, ulong length, nint hostAddress, VfioDmaAccess access, VfioDmaBuffer? buffer)
        {
            _container = container;
            Iova = iova;
            Length = length;
            HostAddress = hostAddress;
            Access = access;
            Buffer = buffer;
        }

        /// <summary>The first IOVA.</summary>
        public ulong Iova { get; }

        /// <summary>Length in bytes.</summary>
        public ulong Length { get; }

        /// <summary>Where the memory is in this process.</summary>
        public nint HostAddress { get; }

        /// <summary>What the device may do with it.</summary>
        public VfioDmaAccess Access { get; }

        /// <summary>The buffer the memory belongs to, or null for memory the caller manages itself.</summary>
        public VfioDmaBuffer? Buffer { get; }

        /// <summary>False once unmapped (by <see cref="Dispose"/>, an unmap of its range, or the address space going away).</summary>
        public bool IsMapped { get; internal set; } = true;

        /// <summary>Unmaps the range if it is still mapped. Idempotent.</summary>
        public void Dispose() => _container.Unmap(this);

        /// <inheritdoc />
        public override string ToString() => string.Format(CultureInfo.InvariantCulture, "IOVA [0x{0:x}, 0x{1:x}] ({2})", Iova, Iova + Length - 1, Access);
    }
}
