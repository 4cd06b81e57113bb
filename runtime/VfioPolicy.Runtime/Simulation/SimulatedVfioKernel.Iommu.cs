using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime.Simulation
{
    /// <summary>An IOMMU fault: a device's DMA that no mapping allowed (what the host kernel logs as a DMAR fault).</summary>
    /// <param name="Address">The device's PCI address.</param>
    /// <param name="Iova">The IOVA the device used.</param>
    /// <param name="Length">The transfer's length.</param>
    /// <param name="Write">True for a write to memory.</param>
    /// <param name="Reason">Why no mapping allowed it.</param>
    public sealed record SimulatedIommuFault(string Address, ulong Iova, int Length, bool Write, string Reason);

    /// <summary>The IOMMU half of the simulated kernel: type1 containers, iommufd IOASes, device cdevs, DMA memory and device DMA.</summary>
    public sealed partial class SimulatedVfioKernel
    {
        private readonly List<SimulatedHostMemory> _allocations = new List<SimulatedHostMemory>();
        private readonly List<SimulatedIommuFault> _iommuFaults = new List<SimulatedIommuFault>();

        /// <summary>
        /// When true, the kernel offers iommufd and device cdevs (<c>/dev/iommu</c>, <c>/dev/vfio/devices/vfioN</c>,
        /// <c>/sys/bus/pci/devices/ADDRESS/vfio-dev/vfioN</c>), as Linux 6.6+ built with IOMMUFD and VFIO_DEVICE_CDEV.
        /// </summary>
        public bool OffersIommufd { get; set; }

        /// <inheritdoc />
        public int PageSize { get; set; } = 4096;

        /// <summary>The type1 IOMMU's page sizes (<c>iova_pgsizes</c>): 4 KiB, 2 MiB and 1 GiB by default, as Intel VT-d.</summary>
        public ulong IommuPageSizes { get; set; } = 0x40201000;

        /// <summary>
        /// The IOVAs a device may use: by default a 39-bit space less the x86 MSI window 0xfee00000-0xfeefffff, as QEMU's
        /// intel-iommu reports.
        /// </summary>
        public IReadOnlyList<VfioIovaRange> IovaRanges { get; set; } = new[] { new VfioIovaRange(0, 0xfedfffff), new VfioIovaRange(0xfef00000, (1UL << 39) - 1) };

        /// <summary>How many type1 mappings a container may hold (vfio_iommu_type1's <c>dma_entry_limit</c>).</summary>
        public int DmaEntryLimit { get; set; } = 65535;

        /// <summary>Every DMA a device tried that no mapping allowed, in order.</summary>
        public IReadOnlyList<SimulatedIommuFault> IommuFaults
        {
            get
            {
                lock (_gate)
                {
                    return _iommuFaults.ToArray();
                }
            }
        }

        /// <summary>How many host-memory allocations are alive (allocated and not yet freed: disposed memory a mapping still pins counts).</summary>
        public int LiveAllocationCount
        {
            get
            {
                lock (_gate)
                {
                    return _allocations.Count;
                }
            }
        }

        /// <summary>The type1 mappings of every container, for tests: (IOVA, size, access).</summary>
        public IReadOnlyList<(ulong Iova, ulong Size, VfioDmaAccess Access)> ContainerMappings
        {
            get
            {
                lock (_gate)
                {
                    return _descriptors.Values.Where(d => d.Kind == DescriptorKind.Container).SelectMany(d => d.Mappings).Select(m => (m.Iova, m.Size, m.Access)).ToArray();
                }
            }
        }

        /// <summary>The mappings of every IOAS of every iommufd, for tests.</summary>
        public IReadOnlyList<(ulong Iova, ulong Size, VfioDmaAccess Access)> IoasMappings
        {
            get
            {
                lock (_gate)
                {
                    return _descriptors.Values.Where(d => d.Kind == DescriptorKind.Iommufd).SelectMany(d => d.AddressSpaces.Values).SelectMany(m => m).Select(m => (m.Iova, m.Size, m.Access)).ToArray();
                }
            }
        }

        /// <inheritdoc />
        public VfioIommuInfo GetIommuInfo(int containerFd)
        {
            lock (_gate)
            {
                Descriptor container = Get(containerFd, DescriptorKind.Container, "VFIO_IOMMU_GET_INFO");
                if (!container.IommuSet)
                {
                    throw VfioException.FromErrno("VFIO_IOMMU_GET_INFO on " + container.Path, VfioConstants.EINVAL);
                }

                return new VfioIommuInfo(IommuPageSizes, IovaRanges.ToArray(), Math.Max(0, DmaEntryLimit - container.Mappings.Count));
            }
        }

        /// <inheritdoc />
        public void MapDma(int containerFd, ulong hostAddress, ulong iova, ulong size, VfioDmaAccess access)
        {
            lock (_gate)
            {
                Descriptor container = Get(containerFd, DescriptorKind.Container, "VFIO_IOMMU_MAP_DMA");
                string operation = DmaOperation("VFIO_IOMMU_MAP_DMA", container.Path, iova, size);
                ulong mask = (IommuPageSizes & (~IommuPageSizes + 1)) - 1;

                // vfio_dma_do_map's checks, in its order.
                if (!container.IommuSet || (access & VfioDmaAccess.ReadWrite) == 0 || (access & ~VfioDmaAccess.ReadWrite) != 0
                    || size == 0 || ((size | iova | hostAddress) & mask) != 0 || iova + size - 1 < iova || hostAddress + size - 1 < hostAddress)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (container.Mappings.Any(m => Overlaps(m, iova, size)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EEXIST);
                }

                if (container.Mappings.Count >= DmaEntryLimit)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENOSPC);
                }

                if (!IovaRanges.Any(r => r.Contains(iova, size)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                container.Mappings.Add(Pin(hostAddress, iova, size, access, operation));
            }
        }

        /// <inheritdoc />
        public ulong UnmapDma(int containerFd, ulong iova, ulong size)
        {
            lock (_gate)
            {
                Descriptor container = Get(containerFd, DescriptorKind.Container, "VFIO_IOMMU_UNMAP_DMA");
                string operation = DmaOperation("VFIO_IOMMU_UNMAP_DMA", container.Path, iova, size);
                ulong mask = (IommuPageSizes & (~IommuPageSizes + 1)) - 1;
                if (!container.IommuSet || (iova & mask) != 0 || size == 0 || (size & mask) != 0 || iova + size - 1 < iova)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                // type1v2 refuses to split a mapping at either end; whole mappings inside the range go.
                if (container.Mappings.Any(m => Overlaps(m, iova, size) && (m.Iova < iova || m.Iova + m.Size > iova + size)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                return Unpin(container.Mappings, iova, size);
            }
        }

        /// <inheritdoc />
        public uint BindIommufd(int deviceFd, int iommufd)
        {
            lock (_gate)
            {
                Descriptor device = Get(deviceFd, DescriptorKind.Device, "VFIO_DEVICE_BIND_IOMMUFD");
                string operation = "VFIO_DEVICE_BIND_IOMMUFD on " + device.Path;
                if (!device.ViaCdev || device.BoundIommufd >= 0)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (!_descriptors.TryGetValue(iommufd, out Descriptor? context) || context.Kind != DescriptorKind.Iommufd)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EBADF);
                }

                // Linux: the devices of one IOMMU group share a DMA owner, so a sibling bound elsewhere makes this EBUSY.
                if (_descriptors.Values.Any(d => d.Kind == DescriptorKind.Device && d.ViaCdev && d.BoundIommufd >= 0 && d.BoundIommufd != iommufd && d.Device!.IommuGroup == device.Device!.IommuGroup))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EBUSY);
                }

                device.BoundIommufd = iommufd;
                device.DeviceId = ++context.LastId;
                return device.DeviceId;
            }
        }

        /// <inheritdoc />
        public uint AttachIommufdPageTable(int deviceFd, uint pageTableId)
        {
            lock (_gate)
            {
                Descriptor device = Get(deviceFd, DescriptorKind.Device, "VFIO_DEVICE_ATTACH_IOMMUFD_PT");
                string operation = "VFIO_DEVICE_ATTACH_IOMMUFD_PT on " + device.Path;
                if (device.BoundIommufd < 0)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                Descriptor context = _descriptors[device.BoundIommufd];
                if (!context.AddressSpaces.TryGetValue(pageTableId, out List<SimulatedDmaMapping>? mappings))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENOENT);
                }

                // Attaching narrows the IOAS to the device's IOVA ranges: existing mappings outside them refuse it.
                if (mappings.Any(m => !IovaRanges.Any(r => r.Contains(m.Iova, m.Size))))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                device.AttachedIoas = pageTableId;

                // The kernel answers with the hardware page table it created for the IOAS.
                return ++context.LastId;
            }
        }

        /// <inheritdoc />
        public void DetachIommufdPageTable(int deviceFd)
        {
            lock (_gate)
            {
                Descriptor device = Get(deviceFd, DescriptorKind.Device, "VFIO_DEVICE_DETACH_IOMMUFD_PT");
                if (device.AttachedIoas is null)
                {
                    throw VfioException.FromErrno("VFIO_DEVICE_DETACH_IOMMUFD_PT on " + device.Path, VfioConstants.EINVAL);
                }

                device.AttachedIoas = null;
            }
        }

        /// <inheritdoc />
        public uint AllocateIoas(int iommufd)
        {
            lock (_gate)
            {
                Descriptor context = Get(iommufd, DescriptorKind.Iommufd, "IOMMU_IOAS_ALLOC");
                uint id = ++context.LastId;
                context.AddressSpaces.Add(id, new List<SimulatedDmaMapping>());
                return id;
            }
        }

        /// <inheritdoc />
        public void DestroyIommufdObject(int iommufd, uint objectId)
        {
            lock (_gate)
            {
                Descriptor context = Get(iommufd, DescriptorKind.Iommufd, "IOMMU_DESTROY");
                string operation = "IOMMU_DESTROY (" + objectId.ToString(CultureInfo.InvariantCulture) + ") on " + context.Path;
                if (!context.AddressSpaces.TryGetValue(objectId, out List<SimulatedDmaMapping>? mappings))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENOENT);
                }

                if (_descriptors.Values.Any(d => d.Kind == DescriptorKind.Device && d.BoundIommufd == iommufd && d.AttachedIoas == objectId))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EBUSY);
                }

                ReleaseMappings(mappings);
                context.AddressSpaces.Remove(objectId);
            }
        }

        /// <inheritdoc />
        public VfioIommuInfo GetIoasInfo(int iommufd, uint ioasId)
        {
            lock (_gate)
            {
                Descriptor context = Get(iommufd, DescriptorKind.Iommufd, "IOMMU_IOAS_IOVA_RANGES");
                if (!context.AddressSpaces.ContainsKey(ioasId))
                {
                    throw VfioException.FromErrno("IOMMU_IOAS_IOVA_RANGES on " + context.Path, VfioConstants.ENOENT);
                }

                // A fresh IOAS allows everything at byte alignment; each attached device narrows it to what its IOMMU allows.
                bool attached = IoasAttached(iommufd, ioasId);
                IReadOnlyList<VfioIovaRange> ranges = attached ? IovaRanges.ToArray() : new[] { new VfioIovaRange(0, ulong.MaxValue) };
                return new VfioIommuInfo(attached ? (ulong)PageSize : 1, ranges, null);
            }
        }

        /// <inheritdoc />
        public void MapIoas(int iommufd, uint ioasId, ulong hostAddress, ulong iova, ulong length, VfioDmaAccess access)
        {
            lock (_gate)
            {
                Descriptor context = Get(iommufd, DescriptorKind.Iommufd, "IOMMU_IOAS_MAP");
                string operation = DmaOperation("IOMMU_IOAS_MAP", context.Path, iova, length);
                if (!context.AddressSpaces.TryGetValue(ioasId, out List<SimulatedDmaMapping>? mappings))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENOENT);
                }

                ulong alignment = IoasAttached(iommufd, ioasId) ? (ulong)PageSize : 1;
                if (length == 0 || (access & VfioDmaAccess.ReadWrite) == 0 || iova % alignment != 0 || length % alignment != 0 || iova + length - 1 < iova)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                if (mappings.Any(m => Overlaps(m, iova, length)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EEXIST);
                }

                if (IoasAttached(iommufd, ioasId) && !IovaRanges.Any(r => r.Contains(iova, length)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                mappings.Add(Pin(hostAddress, iova, length, access, operation));
            }
        }

        /// <inheritdoc />
        public ulong UnmapIoas(int iommufd, uint ioasId, ulong iova, ulong length)
        {
            lock (_gate)
            {
                Descriptor context = Get(iommufd, DescriptorKind.Iommufd, "IOMMU_IOAS_UNMAP");
                string operation = DmaOperation("IOMMU_IOAS_UNMAP", context.Path, iova, length);
                if (!context.AddressSpaces.TryGetValue(ioasId, out List<SimulatedDmaMapping>? mappings))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENOENT);
                }

                if (length == 0 || iova + length - 1 < iova || mappings.Any(m => Overlaps(m, iova, length) && (m.Iova < iova || m.Iova + m.Size > iova + length)))
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                ulong unmapped = Unpin(mappings, iova, length);
                if (unmapped == 0)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.ENOENT);
                }

                return unmapped;
            }
        }

        /// <inheritdoc />
        public IHostMemory AllocateMemory(long length, bool shareable)
        {
            if (length <= 0)
            {
                throw new ArgumentOutOfRangeException(nameof(length), length, "DMA memory needs at least one byte.");
            }

            lock (_gate)
            {
                Fault("memfd_create", "host memory");
                long rounded = checked((length + PageSize - 1) / PageSize * PageSize);
                SimulatedHostMemory memory = SimulatedHostMemory.Allocate(this, rounded, PageSize);
                if (shareable)
                {
                    memory.Fd = Add(new Descriptor(DescriptorKind.Memory, "memfd:vfiopolicy-dma") { Memory = memory });
                    memory.Pin(); // the descriptor's hold on the memory
                }

                _allocations.Add(memory);
                return memory;
            }
        }

        /// <inheritdoc />
        /// <remarks>
        /// A memfd the simulation made is mapped as a view of the same memory (so a "VMM" and a "server" in one test
        /// share it as two processes would); with a host kernel (<see cref="SimulatedVfioKernel(IVfioKernel, SimulatedPciDevice[])"/>)
        /// any other descriptor is the host's and is really mapped. Either way a device can DMA into it.
        /// </remarks>
        public IHostMemory MapMemory(int fd, long offset, long length, bool writable)
        {
            lock (_gate)
            {
                string operation = "mmap of fd " + fd.ToString(CultureInfo.InvariantCulture);
                Fault("mmap", operation);
                if (length <= 0 || offset < 0 || offset % PageSize != 0)
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                }

                SimulatedHostMemory view;
                if (_descriptors.TryGetValue(fd, out Descriptor? descriptor))
                {
                    if (descriptor.Kind != DescriptorKind.Memory || descriptor.Memory is not { } memfd)
                    {
                        throw VfioException.FromErrno(operation, VfioConstants.ENODEV); // mmap of an eventfd, a group...
                    }

                    if (offset > memfd.Length - length)
                    {
                        throw VfioException.FromErrno(operation, VfioConstants.EINVAL);
                    }

                    view = SimulatedHostMemory.ViewOf(this, memfd, offset, length);
                }
                else if (_host is not null && fd >= 0)
                {
                    view = SimulatedHostMemory.Borrow(this, _host.MapMemory(fd, offset, length, writable));
                }
                else
                {
                    throw VfioException.FromErrno(operation, VfioConstants.EBADF);
                }

                _allocations.Add(view);
                return view;
            }
        }

        /// <summary>
        /// A device's DMA, translated by the IOMMU of the address space it is attached to (its group's container, or
        /// the IOAS its cdev is attached to). A transfer that is not wholly inside mappings that allow it faults and
        /// moves no byte.
        /// </summary>
        internal bool Dma(SimulatedPciDevice device, ulong iova, Span<byte> into, ReadOnlySpan<byte> from, bool write)
        {
            int length = write ? from.Length : into.Length;
            lock (_gate)
            {
                List<SimulatedDmaMapping>? mappings = AddressSpaceOf(device);
                string? reason = mappings is null ? "the device is attached to no IOMMU address space"
                    : length == 0 || iova + (ulong)length - 1 < iova ? "the transfer is empty or wraps"
                    : null;
                var pieces = new List<(SimulatedDmaMapping Mapping, ulong Iova, int Length)>();
                ulong at = iova;
                ulong end = iova + (ulong)length;
                while (reason is null && at < end)
                {
                    SimulatedDmaMapping? mapping = mappings!.FirstOrDefault(m => at >= m.Iova && at - m.Iova < m.Size);
                    if (mapping is null)
                    {
                        reason = string.Format(CultureInfo.InvariantCulture, "no mapping at IOVA 0x{0:x}", at);
                    }
                    else if ((mapping.Access & (write ? VfioDmaAccess.Write : VfioDmaAccess.Read)) == 0)
                    {
                        reason = string.Format(CultureInfo.InvariantCulture, "the mapping at IOVA 0x{0:x} does not allow the device to {1}", mapping.Iova, write ? "write" : "read");
                    }
                    else
                    {
                        int piece = (int)Math.Min(end - at, mapping.Iova + mapping.Size - at);
                        pieces.Add((mapping, at, piece));
                        at += (ulong)piece;
                    }
                }

                if (reason is not null)
                {
                    _iommuFaults.Add(new SimulatedIommuFault(device.Address, iova, length, write, reason));
                    return false;
                }

                int done = 0;
                foreach ((SimulatedDmaMapping mapping, ulong start, int piece) in pieces)
                {
                    Span<byte> host = mapping.HostSpan(start - mapping.Iova, piece);
                    if (write)
                    {
                        from.Slice(done, piece).CopyTo(host);
                    }
                    else
                    {
                        host.CopyTo(into.Slice(done, piece));
                    }

                    done += piece;
                }

                device.DmaBytes += length;
                return true;
            }
        }

        /// <summary>The owner disposed <paramref name="memory"/>: its memfd closes, and it is freed unless a mapping still pins it.</summary>
        internal void DisposeMemory(SimulatedHostMemory memory)
        {
            lock (_gate)
            {
                if (memory.Disposed)
                {
                    return;
                }

                memory.Disposed = true;
                if (memory.Fd >= 0)
                {
                    Close(memory.Fd); // the owner's memfd goes with it; duplicates and mappings keep the memory
                }

                memory.ReleaseIfDone();
            }
        }

        /// <summary>Forgets freed memory (called under the gate).</summary>
        internal void Forget(SimulatedHostMemory memory) => _allocations.Remove(memory);

        private static bool Overlaps(SimulatedDmaMapping mapping, ulong iova, ulong size) => iova < mapping.Iova + mapping.Size && mapping.Iova < iova + size;

        private static string DmaOperation(string name, string path, ulong iova, ulong size) =>
            string.Format(CultureInfo.InvariantCulture, "{0} (IOVA 0x{1:x}, 0x{2:x} bytes) on {3}", name, iova, size, path);

        private static ulong Unpin(List<SimulatedDmaMapping> mappings, ulong iova, ulong size)
        {
            ulong unmapped = 0;
            foreach (SimulatedDmaMapping mapping in mappings.Where(m => Overlaps(m, iova, size)).ToArray())
            {
                mappings.Remove(mapping);
                mapping.Memory.Unpin();
                unmapped += mapping.Size;
            }

            return unmapped;
        }

        private static void ReleaseMappings(List<SimulatedDmaMapping> mappings)
        {
            foreach (SimulatedDmaMapping mapping in mappings)
            {
                mapping.Memory.Unpin();
            }

            mappings.Clear();
        }

        /// <summary>Pins the host memory behind [hostAddress, hostAddress + size): it must lie inside one live allocation (else EFAULT, as get_user_pages fails).</summary>
        private SimulatedDmaMapping Pin(ulong hostAddress, ulong iova, ulong size, VfioDmaAccess access, string operation)
        {
            SimulatedHostMemory? memory = _allocations.FirstOrDefault(a => !a.Disposed && a.Contains(hostAddress, size));
            if (memory is null)
            {
                throw VfioException.FromErrno(operation, VfioConstants.EFAULT);
            }

            memory.Pin();
            return new SimulatedDmaMapping(iova, size, access, memory, hostAddress - (ulong)memory.Address);
        }

        /// <summary>A group leaves its container; the last group to leave takes the container's IOMMU, and its mappings, with it.</summary>
        private void LeaveContainer(Descriptor group)
        {
            int containerFd = group.Container;
            group.Container = -1;
            if (containerFd >= 0 && _descriptors.TryGetValue(containerFd, out Descriptor? container)
                && !_descriptors.Values.Any(d => d.Kind == DescriptorKind.Group && d.Container == containerFd))
            {
                ReleaseMappings(container.Mappings);
                container.IommuSet = false;
            }
        }

        private bool IoasAttached(int iommufd, uint ioasId) =>
            _descriptors.Values.Any(d => d.Kind == DescriptorKind.Device && d.BoundIommufd == iommufd && d.AttachedIoas == ioasId);

        private List<SimulatedDmaMapping>? AddressSpaceOf(SimulatedPciDevice device)
        {
            foreach (Descriptor descriptor in _descriptors.Values)
            {
                if (descriptor.Kind == DescriptorKind.Device && descriptor.ViaCdev && descriptor.Device == device && descriptor.AttachedIoas is uint ioas)
                {
                    return _descriptors[descriptor.BoundIommufd].AddressSpaces[ioas];
                }

                if (descriptor.Kind == DescriptorKind.Group && descriptor.Group == device.IommuGroup && descriptor.Container >= 0
                    && _descriptors.TryGetValue(descriptor.Container, out Descriptor? container) && container.IommuSet)
                {
                    return container.Mappings;
                }
            }

            return null;
        }

        private static string CdevName(SimulatedPciDevice device) => "vfio" + device.CdevNumber.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>One IOVA range mapped to host memory in a simulated IOMMU.</summary>
    internal sealed class SimulatedDmaMapping
    {
        public SimulatedDmaMapping(ulong iova, ulong size, VfioDmaAccess access, SimulatedHostMemory memory, ulong offset)
        {
            Iova = iova;
            Size = size;
            Access = access;
            Memory = memory;
            Offset = offset;
        }

        public ulong Iova { get; }

        public ulong Size { get; }

        public VfioDmaAccess Access { get; }

        public SimulatedHostMemory Memory { get; }

        /// <summary>Where the mapping starts in <see cref="Memory"/>.</summary>
        public ulong Offset { get; }

        public Span<byte> HostSpan(ulong within, int length) => Memory.Span(Offset + within, length);
    }

    /// <summary>
    /// Host memory in the simulated kernel: page-aligned native memory it allocated, or a view of memory it does not own
    /// (part of another allocation, or a real mapping of a host descriptor). Like pinned pages in Linux, it stays
    /// usable while a mapping pins it, even after its owner disposed it; its backing is released when both are done.
    /// </summary>
    internal sealed unsafe class SimulatedHostMemory : IHostMemory
    {
        private readonly SimulatedVfioKernel _kernel;
        private readonly Action _release;
        private byte* _pointer;
        private int _pins;

        private SimulatedHostMemory(SimulatedVfioKernel kernel, byte* pointer, long length, Action release)
        {
            _kernel = kernel;
            _pointer = pointer;
            Length = length;
            Address = (nint)pointer;
            _release = release;
        }

        public nint Address { get; }

        public long Length { get; }

        public int Fd { get; set; } = -1;

        public bool Disposed { get; set; }

        /// <summary>A fresh zeroed block of <paramref name="length"/> bytes, freed once when done.</summary>
        public static SimulatedHostMemory Allocate(SimulatedVfioKernel kernel, long length, int alignment)
        {
            // SAFETY: a fresh block of exactly length bytes, zeroed here and freed once by the release action.
            byte* block = (byte*)NativeMemory.AlignedAlloc((nuint)length, (nuint)alignment);
            NativeMemory.Clear(block, (nuint)length);
            return new SimulatedHostMemory(kernel, block, length, () => NativeMemory.AlignedFree(block));
        }

        /// <summary>Bytes [<paramref name="offset"/>, +<paramref name="length"/>) of <paramref name="parent"/>, which stays pinned while the view lives.</summary>
        public static SimulatedHostMemory ViewOf(SimulatedVfioKernel kernel, SimulatedHostMemory parent, long offset, long length)
        {
            parent.Pin();
            return new SimulatedHostMemory(kernel, (byte*)parent.Address + offset, length, parent.Unpin);
        }

        /// <summary>A real mapping the host kernel made (of a descriptor the simulation does not own), unmapped when done.</summary>
        public static SimulatedHostMemory Borrow(SimulatedVfioKernel kernel, IHostMemory host) =>
            new SimulatedHostMemory(kernel, (byte*)host.Address, host.Length, host.Dispose);

        public bool Contains(ulong address, ulong size) => address >= (ulong)Address && size <= (ulong)Length && address - (ulong)Address <= (ulong)Length - size;

        public Span<byte> Span(ulong offset, int length)
        {
            if (_pointer is null || offset + (ulong)length > (ulong)Length)
            {
                throw new InvalidOperationException("A simulated DMA reached memory that is no longer allocated.");
            }

            // SAFETY: checked above to lie inside the live block.
            return new Span<byte>(_pointer + offset, length);
        }

        public void Pin() => _pins++;

        public void Unpin()
        {
            _pins--;
            ReleaseIfDone();
        }

        public void Dispose() => _kernel.DisposeMemory(this);

        /// <summary>Releases the backing once it is disposed and unpinned (the kernel's gate is held).</summary>
        public void ReleaseIfDone()
        {
            if (Disposed && _pins == 0 && _pointer is not null)
            {
                _pointer = null;
                _release();
                _kernel.Forget(this);
            }
        }
    }
}
