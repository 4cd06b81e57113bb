using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using VfioPolicy.VfioUser.Transport;
using Xunit;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>
    /// QEMU's 82574L (e1000e) from the corpus served, its memory BARs in shareable memory: <c>MapBars</c>, and MSI-X
    /// as QEMU's client drives it. Expected areas come
    /// from the device's lspci decode (MSI-X: Count=5, "Vector table: BAR=3 offset=00000000", "PBA: BAR=3
    /// offset=00002000") and its BAR sizes, and replies are decoded here byte by byte (struct vfio_region_info and the
    /// sparse-mmap capability), not with the protocol code under test.
    /// </summary>
    public sealed class BarMappingTests : IDisposable
    {
        private const string Address = "0000:01:00.0";
        private const uint Read = 1;
        private const uint Write = 2;
        private const uint Mmap = 4;
        private const uint Caps = 8;

        private readonly SimulatedPciDevice _nic;
        private readonly SimulatedVfioKernel _kernel;
        private readonly List<IHostMemory> _memory = new List<IHostMemory>();
        private readonly VfioContainer _container;
        private readonly VfioDevice _device;

        public BarMappingTests()
        {
            byte[] image = ConfigDumpReader.Load(RepositoryPaths.InRepository("tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt"), null).Bytes;
            _nic = new SimulatedPciDevice(Address, image);
            _kernel = new SimulatedVfioKernel(_nic);
            _nic.Bars[0] = new SimulatedBar(0x20000, backing: Shareable(0x20000));
            _nic.Bars[1] = new SimulatedBar(0x20000); // private memory: nothing another process could map
            _nic.Bars[2] = new SimulatedBar(0x20, mappable: false);
            _nic.Bars[3] = new SimulatedBar(0x4000, backing: Shareable(0x4000));
            _container = VfioContainer.Create(_kernel);
            _device = _container.OpenDevice(Address, PolicyLibrary.All.Single(p => p.Name == "qemu-e1000e"), new VfioDeviceOptions { Interrupts = VfioInterruptOwner.Vmm });
        }

        public void Dispose()
        {
            _container.Dispose();
            foreach (IHostMemory memory in _memory)
            {
                memory.Dispose();
            }
        }

        [Fact]
        public void The_msix_bar_offers_only_the_pages_without_table_or_pba_and_a_short_request_gets_no_descriptor()
        {
            Serve(mapBars: true, (client, _) =>
            {
                VfioUserReply reply = RegionInfo(client, 3, argsz: 256);
                int fd = Assert.Single(reply.Fds);
                Assert.Equal(Read | Write | Mmap | Caps, U32(reply.Payload, 4));
                Assert.Equal(0x4000UL, U64(reply.Payload, 16));
                Assert.Equal(new[] { (0x1000UL, 0x1000UL), (0x3000UL, 0x1000UL) }, SparseAreas(reply.Payload));
                _kernel.Close(fd);

                VfioUserReply shortReply = RegionInfo(client, 3, argsz: 32);
                Assert.False(shortReply.IsError);
                Assert.Empty(shortReply.Fds); // no room for the areas: nothing offered
                Assert.Equal(32 + 16 + (2 * 16), (int)U32(shortReply.Payload, 0)); // argsz: ask again with room for two areas
                Assert.Equal(Read | Write, U32(shortReply.Payload, 4));
            });
        }

        [Fact]
        public void A_mapped_bar_is_the_devices_memory_and_the_io_bar_is_never_offered()
        {
            VfioUserSessionResult result = Serve(mapBars: true, (client, _) =>
            {
                VfioUserReply reply = RegionInfo(client, 0, argsz: 256);
                int fd = Assert.Single(reply.Fds);
                Assert.Equal(new[] { (0UL, 0x20000UL) }, SparseAreas(reply.Payload));
                using (IHostMemory mapped = _kernel.MapMemory(fd, 0, 0x20000, writable: true))
                {
                    Marshal.WriteInt32(mapped.Address + 0x100, unchecked((int)0xC0FFEE11));
                    _nic.Bars[0]!.Memory[0x200] = 0x5A;
                    Assert.Equal(0x5A, Marshal.ReadByte(mapped.Address + 0x200));
                }

                Assert.Equal(new byte[] { 0x11, 0xEE, 0xFF, 0xC0 }, _nic.Bars[0]!.Memory.Slice(0x100, 4).ToArray());
                _kernel.Close(fd);

                VfioUserReply io = RegionInfo(client, 2, argsz: 256);
                Assert.Empty(io.Fds);
                Assert.Equal(0u, U32(io.Payload, 4) & Mmap);
            });
            Assert.Equal(1, result.BarMappingsGiven);
        }

        [Fact]
        public void Without_map_bars_every_bar_is_trapped()
        {
            VfioUserSessionResult result = Serve(mapBars: false, (client, _) =>
            {
                foreach (uint index in new uint[] { 0, 1, 3 })
                {
                    VfioUserReply reply = RegionInfo(client, index, argsz: 256);
                    Assert.Empty(reply.Fds);
                    Assert.Equal(Read | Write, U32(reply.Payload, 4));
                }
            });
            Assert.Equal(0, result.BarMappingsGiven);
        }

        [Fact]
        public void A_bar_whose_memory_cannot_be_shared_stays_trapped_and_says_why_once()
        {
            VfioUserSessionResult result = Serve(mapBars: true, (client, log) =>
            {
                for (int i = 0; i < 2; i++)
                {
                    VfioUserReply reply = RegionInfo(client, 1, argsz: 256);
                    Assert.Empty(reply.Fds);
                    Assert.Equal(Read | Write, U32(reply.Payload, 4));
                }

                string line = Assert.Single(log.ToString().Split('\n'), l => l.Contains("BAR 1 stays trapped", StringComparison.Ordinal));
                Assert.Contains("not shareable", line, StringComparison.Ordinal);
            });
            Assert.Equal(0, result.BarMappingsGiven);
        }

        [Fact]
        public void Msix_vectors_fire_into_the_clients_eventfds_again_and_again_without_any_unmask()
        {
            // QEMU's client emulates MSI-X masking itself and never sends SET_IRQS ACTION_UNMASK for MSI-X (the
            // vfio-user lab's Pitfall 2): a vector must fire each time the device raises it, as under vfio-pci.
            int[] eventFds = Enumerable.Range(0, 5).Select(_ => _kernel.CreateEventFd()).ToArray();
            try
            {
                Serve(mapBars: false, (client, log) =>
                {
                    client.WriteRegion(7, 0xa2, BitConverter.GetBytes((ushort)0x8004)); // MSI-X Enable in the consumer's view
                    byte[] trigger = new byte[20];
                    BinaryPrimitives.WriteUInt32LittleEndian(trigger, 20);
                    BinaryPrimitives.WriteUInt32LittleEndian(trigger.AsSpan(4), 0x4 | 0x20); // DATA_EVENTFD | ACTION_TRIGGER
                    BinaryPrimitives.WriteUInt32LittleEndian(trigger.AsSpan(8), 2); // VFIO_PCI_MSIX_IRQ_INDEX
                    BinaryPrimitives.WriteUInt32LittleEndian(trigger.AsSpan(16), 5);
                    VfioUserClient.ThrowIfError(client.Request(VfioUserCommand.DeviceSetIrqs, trigger, eventFds), "SET_IRQS MSI-X");
                    for (int round = 1; round <= 3; round++)
                    {
                        _nic.RaiseInterrupt(2);
                        Assert.True(_kernel.TryReadEventFd(eventFds[2], out ulong count), "round " + round + ": vector 2 did not fire");
                        Assert.Equal(1UL, count);
                        Assert.False(_kernel.TryReadEventFd(eventFds[1], out _), "vector 1 fired for vector 2");
                    }
                });
            }
            finally
            {
                foreach (int fd in eventFds)
                {
                    _kernel.Close(fd);
                }
            }
        }

        private IHostMemory Shareable(long size)
        {
            IHostMemory memory = _kernel.AllocateMemory(size, shareable: true);
            _memory.Add(memory);
            return memory;
        }

        private VfioUserSessionResult Serve(bool mapBars, Action<VfioUserClient, System.IO.StringWriter> body)
        {
            var log = new System.IO.StringWriter();
            var server = new VfioUserServer(_device, new VfioUserServerOptions { MapBars = mapBars, Log = log });
            (InMemoryChannel clientEnd, InMemoryChannel serverEnd) = InMemoryChannel.CreatePair(_kernel);
            Task<VfioUserSessionResult> serving = Task.Run(() => server.Serve(serverEnd));
            using (var client = new VfioUserClient(clientEnd, _kernel))
            {
                client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 8));
                body(client, log);
            }

            Assert.True(serving.Wait(TimeSpan.FromSeconds(30)), "the server did not finish the connection");
            return serving.Result;
        }

        private static VfioUserReply RegionInfo(VfioUserClient client, uint index, uint argsz)
        {
            byte[] request = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(request, argsz);
            BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(8), index);
            return client.Request(VfioUserCommand.DeviceGetRegionInfo, request);
        }

        /// <summary>The areas of the VFIO_REGION_INFO_CAP_SPARSE_MMAP (id 1) capability the reply's cap_offset points at.</summary>
        private static (ulong Offset, ulong Size)[] SparseAreas(byte[] reply)
        {
            int at = (int)U32(reply, 12);
            Assert.True(at >= 32 && at + 16 <= reply.Length, "cap_offset " + at);
            Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(at)));
            int count = (int)U32(reply, at + 8);
            return Enumerable.Range(0, count).Select(i => (U64(reply, at + 16 + (16 * i)), U64(reply, at + 24 + (16 * i)))).ToArray();
        }

        private static uint U32(byte[] bytes, int at) => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));

        private static ulong U64(byte[] bytes, int at) => BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
    }
}
