using System;
using System.Collections.Generic;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime.Simulation
{
    /// <summary>Registers with behavior inside a simulated BAR (an edu-like device, say); bytes it does not claim are plain memory.</summary>
    public interface ISimulatedBarModel
    {
        /// <summary>Handles a read; false leaves it to the BAR's memory.</summary>
        bool TryRead(SimulatedPciDevice device, long offset, int width, out ulong value);

        /// <summary>Handles a write; false leaves it to the BAR's memory.</summary>
        bool TryWrite(SimulatedPciDevice device, long offset, int width, ulong value);

        /// <summary>The device was reset.</summary>
        void OnReset();
    }

    /// <summary>One simulated BAR (or the ROM): its size, how VFIO offers it, and its contents.</summary>
    public sealed class SimulatedBar
    {
        private readonly byte[]? _memory;

        /// <summary>
        /// Creates a BAR of <paramref name="size"/> bytes (a power of two), mappable unless said otherwise. With
        /// <paramref name="backing"/> (shareable memory of at least that size, which the BAR does not own) its contents
        /// live there, so another process can map them through <see cref="IVfioKernel.OpenBarFile"/>.
        /// </summary>
        public SimulatedBar(long size, bool mappable = true, ISimulatedBarModel? model = null, IHostMemory? backing = null)
        {
            if (size <= 0 || (size & (size - 1)) != 0 || size > (1L << 24))
            {
                throw new ArgumentOutOfRangeException(nameof(size), size, "A simulated BAR is a power of two up to 16 MiB.");
            }

            Size = size;
            Mappable = mappable;
            Model = model;
            if (backing is not null && (backing.Length < size || backing.Fd < 0))
            {
                throw new ArgumentException("The backing must be shareable memory of at least the BAR's size.", nameof(backing));
            }

            Backing = backing;
            _memory = backing is null ? new byte[size] : null;
        }

        /// <summary>Shareable memory holding the BAR's contents, or null (private memory).</summary>
        public IHostMemory? Backing { get; }

        /// <summary>Size in bytes.</summary>
        public long Size { get; }

        /// <summary>True when VFIO reports the region as mmap-able.</summary>
        public bool Mappable { get; }

        /// <summary>The sparse-mmap areas VFIO reports (null: the whole region, if mappable).</summary>
        public IReadOnlyList<VfioSparseArea>? SparseAreas { get; init; }

        /// <summary>True when VFIO reports the MSI-X-mappable capability.</summary>
        public bool MsixMappable { get; init; }

        /// <summary>The register model, or null for plain memory.</summary>
        public ISimulatedBarModel? Model { get; }

        /// <summary>Accesses made through an mmap.</summary>
        public int MappedAccesses { get; internal set; }

        /// <summary>Accesses made through pread/pwrite.</summary>
        public int TrappedAccesses { get; internal set; }

        /// <summary>The BAR's memory (bytes no model register claims).</summary>
        public unsafe Span<byte> Memory => _memory ?? new Span<byte>((void*)Backing!.Address, (int)Size);

        internal ulong Read(SimulatedPciDevice device, long offset, int width)
        {
            if (Model is not null && Model.TryRead(device, offset, width, out ulong value))
            {
                return value;
            }

            ulong result = 0;
            Span<byte> memory = Memory;
            for (int b = width - 1; b >= 0; b--)
            {
                result = (result << 8) | memory[(int)offset + b];
            }

            return result;
        }

        internal void Write(SimulatedPciDevice device, long offset, int width, ulong value)
        {
            if (Model is not null && Model.TryWrite(device, offset, width, value))
            {
                return;
            }

            Span<byte> memory = Memory;
            for (int b = 0; b < width; b++)
            {
                memory[(int)offset + b] = (byte)(value >> (8 * b));
            }
        }
    }

    /// <summary>A VGA or device-specific region (index 8 and up): plain memory with read and write permission, and an optional type.</summary>
    public sealed class SimulatedRegion
    {
        private readonly byte[] _memory;

        /// <summary>Creates a region of <paramref name="size"/> bytes (at most 16 MiB).</summary>
        public SimulatedRegion(long size, VfioRegionType? type, bool readable = true, bool writable = false)
        {
            if (size <= 0 || size > (1L << 24))
            {
                throw new ArgumentOutOfRangeException(nameof(size), size, "A simulated region is 1 byte to 16 MiB.");
            }

            Size = size;
            Type = type;
            Readable = readable;
            Writable = writable;
            _memory = new byte[size];
        }

        /// <summary>Size in bytes.</summary>
        public long Size { get; }

        /// <summary>The <c>VFIO_REGION_INFO_CAP_TYPE</c> the kernel reports (null: none, as the VGA region).</summary>
        public VfioRegionType? Type { get; }

        /// <summary>True when pread works.</summary>
        public bool Readable { get; }

        /// <summary>True when pwrite works.</summary>
        public bool Writable { get; }

        /// <summary>The region's contents.</summary>
        public Span<byte> Memory => _memory;

        internal int Transfer(long offset, Span<byte> into, ReadOnlySpan<byte> from, bool write, string operation)
        {
            if (write ? !Writable : !Readable)
            {
                throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
            }

            if (write)
            {
                from.CopyTo(_memory.AsSpan((int)offset));
                return from.Length;
            }

            _memory.AsSpan((int)offset, into.Length).CopyTo(into);
            return into.Length;
        }
    }

    /// <summary>
    /// QEMU's <c>edu</c> device (docs/specs/edu.rst), enough of it for meaningful tests: identification, liveness
    /// check, factorial, the interrupt raise/acknowledge registers (MSI when the kernel has MSI set up, else INTx), and
    /// the DMA engine, which moves bytes between host memory (by IOVA, through the IOMMU) and its 4 KiB buffer at
    /// 0x40000.
    /// </summary>
    public sealed class SimulatedEduModel : ISimulatedBarModel
    {
        /// <summary>The identification register's value: version 1.0, "ed".</summary>
        public const uint Identification = 0x010000ED;

        /// <summary>Where the DMA buffer appears in the device's own address space.</summary>
        public const ulong DmaBufferStart = 0x40000;

        /// <summary>The DMA buffer's size.</summary>
        public const int DmaBufferSize = 4096;

        /// <summary>The interrupt status bit a finished DMA raises.</summary>
        public const uint DmaInterrupt = 0x100;

        private const ulong DmaMask = (1UL << 28) - 1; // edu's default dma_mask
        private const ulong DmaRun = 0x1;
        private const ulong DmaToHost = 0x2;
        private const ulong DmaRaiseInterrupt = 0x4;

        private readonly byte[] _dmaBuffer = new byte[DmaBufferSize];
        private uint _liveness;
        private uint _factorial;
        private uint _status;
        private uint _interruptStatus;
        private ulong _dmaSource;
        private ulong _dmaDestination;
        private ulong _dmaCount;
        private ulong _dmaCommand;

        /// <summary>The DMA buffer inside the device.</summary>
        public Span<byte> DmaBuffer => _dmaBuffer;

        /// <summary>Transfers the engine refused (outside its buffer) or the IOMMU faulted, or Bus Master was off.</summary>
        public int FailedTransfers { get; private set; }

        /// <inheritdoc />
        public bool TryRead(SimulatedPciDevice device, long offset, int width, out ulong value)
        {
            value = offset switch
            {
                0x00 => Identification,
                0x04 => ~_liveness,
                0x08 => _factorial,
                0x20 => _status,
                0x24 => _interruptStatus,
                0x80 => _dmaSource,
                0x88 => _dmaDestination,
                0x90 => _dmaCount,
                0x98 => _dmaCommand,
                _ => 0,
            };
            if (width == 4)
            {
                value &= 0xFFFFFFFF;
            }

            return offset is 0x00 or 0x04 or 0x08 or 0x20 or 0x24 or 0x80 or 0x88 or 0x90 or 0x98;
        }

        /// <inheritdoc />
        public bool TryWrite(SimulatedPciDevice device, long offset, int width, ulong value)
        {
            if (device is null)
            {
                throw new ArgumentNullException(nameof(device));
            }

            uint v = (uint)value;
            switch (offset)
            {
                case 0x04:
                    _liveness = v;
                    return true;
                case 0x08:
                    uint product = 1;
                    for (uint i = 2; i <= v; i++)
                    {
                        product = unchecked(product * i);
                    }

                    _factorial = product;
                    if ((_status & 0x80) != 0)
                    {
                        Raise(device, 0x1);
                    }

                    return true;
                case 0x20:
                    _status = v & 0x80; // bit 0 (computing) is read-only; this model computes at once
                    return true;
                case 0x60:
                    Raise(device, v);
                    return true;
                case 0x64:
                    _interruptStatus &= ~v;
                    if (_interruptStatus == 0)
                    {
                        device.DeassertIntx();
                    }

                    return true;
                case 0x80:
                    _dmaSource = value;
                    return true;
                case 0x88:
                    _dmaDestination = value;
                    return true;
                case 0x90:
                    _dmaCount = value;
                    return true;
                case 0x98:
                    _dmaCommand = value;
                    if ((value & DmaRun) != 0)
                    {
                        RunDma(device);
                    }

                    return true;
                default:
                    return offset == 0x00 || offset == 0x24;
            }
        }

        /// <inheritdoc />
        public void OnReset()
        {
            _liveness = 0;
            _factorial = 0;
            _status = 0;
            _interruptStatus = 0;
            _dmaSource = 0;
            _dmaDestination = 0;
            _dmaCount = 0;
            _dmaCommand = 0;
        }

        /// <summary>One transfer, done at once (QEMU's edu takes a timer tick); the command's run bit clears when it ends.</summary>
        private void RunDma(SimulatedPciDevice device)
        {
            bool toHost = (_dmaCommand & DmaToHost) != 0;
            ulong local = toHost ? _dmaSource : _dmaDestination;
            ulong iova = (toHost ? _dmaDestination : _dmaSource) & DmaMask;
            bool inBuffer = _dmaCount > 0 && _dmaCount <= DmaBufferSize && local >= DmaBufferStart && local - DmaBufferStart <= (ulong)DmaBufferSize - _dmaCount;
            bool moved = false;
            if (inBuffer)
            {
                Span<byte> window = _dmaBuffer.AsSpan((int)(local - DmaBufferStart), (int)_dmaCount);
                moved = toHost ? device.DmaWrite(iova, window) : device.DmaRead(iova, window);
            }

            if (!moved)
            {
                FailedTransfers++;
            }

            _dmaCommand &= ~DmaRun;
            if ((_dmaCommand & DmaRaiseInterrupt) != 0)
            {
                Raise(device, DmaInterrupt);
            }
        }

        private void Raise(SimulatedPciDevice device, uint bits)
        {
            _interruptStatus |= bits;
            device.RaiseInterrupt(0);
        }
    }
}
