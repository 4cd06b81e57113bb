using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.VfioUser;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// What <c>vfio-policy serve</c> costs a VMM: one access through a vfio-user server over a real UNIX socket (client
    /// and server in this process, on two threads, as QEMU and serve are two processes) against the same access made
    /// in-process through the runtime, and a BAR read trapped (a REGION_READ) against the same read through the client's
    /// own mapping (<c>MapBars</c>). The device is the simulated edu of <c>serve --device</c> with a 64 KiB
    /// plain-memory BAR 2 in a shared memfd.
    /// </summary>
    [MemoryDiagnoser]
    public class ServeBenchmarks
    {
        private const uint ConfigRegion = 7;
        private const uint Bar2 = 2;

        private string _folder = null!;
        private LinuxVfioKernel _host = null!;
        private IHostMemory _bar2Memory = null!;
        private VfioContainer _container = null!;
        private VfioDevice _device = null!;
        private UnixSocketListener _listener = null!;
        private Task _serving = null!;
        private VfioUserClient _client = null!;
        private IHostMemory _mapped = null!;
        private byte[] _configRead = null!;
        private byte[] _barRead = null!;

        /// <summary>Starts the server, connects, negotiates and maps BAR 2.</summary>
        [GlobalSetup]
        public void Setup()
        {
            _folder = Directory.CreateTempSubdirectory("vfiopolicy-bench-serve-").FullName;
            _host = new LinuxVfioKernel();
            byte[] image = ConfigDumpReader.Load(Path.Combine(BenchDevice.RepositoryRoot(), "policies", "dumps", "qemu-edu.lspci-xxx.txt"), null).Bytes;
            var edu = new SimulatedPciDevice("0000:01:00.0", image);
            edu.Bars[0] = new SimulatedBar(0x100000, model: new SimulatedEduModel());
            _bar2Memory = _host.AllocateMemory(0x10000, shareable: true);
            edu.Bars[2] = new SimulatedBar(0x10000, backing: _bar2Memory);
            var kernel = new SimulatedVfioKernel(_host, edu);
            _container = VfioContainer.Create(kernel);
            _device = _container.OpenDevice(edu.Address, PolicyLibrary.All.Single(p => p.Name == "qemu-edu"), new VfioDeviceOptions { Interrupts = VfioInterruptOwner.Vmm });
            _device.WriteConfig(0x04, 2, 0x0002); // memory decode on, as a guest driver leaves it

            _listener = UnixSocketListener.Listen(Path.Combine(_folder, "s"), kernel);
            var server = new VfioUserServer(_device, new VfioUserServerOptions { MapBars = true });
            _serving = Task.Run(() =>
            {
                UnixSocketChannel? channel = null;
                while (channel is null)
                {
                    channel = _listener.Accept(1000);
                }

                server.Serve(channel);
            });
            _client = new VfioUserClient(UnixSocketChannel.Connect(_listener.Path, _host), _host);
            _client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 8));

            byte[] info = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(info, 256);
            BinaryPrimitives.WriteUInt32LittleEndian(info.AsSpan(8), Bar2);
            VfioUserReply reply = _client.Request(VfioUserCommand.DeviceGetRegionInfo, info);
            if (reply.Fds.Length != 1)
            {
                throw new InvalidOperationException("the server offered no mapping of BAR 2");
            }

            _mapped = _host.MapMemory(reply.Fds[0], 0, 0x10000, writable: true);
            _host.Close(reply.Fds[0]);
            _configRead = new VfioUserRegionAccess(0x04, ConfigRegion, 2, Array.Empty<byte>()).Encode();
            _barRead = new VfioUserRegionAccess(0x10, Bar2, 4, Array.Empty<byte>()).Encode();
        }

        /// <summary>Disconnects and stops the server.</summary>
        [GlobalCleanup]
        public void Cleanup()
        {
            _mapped.Dispose();
            _client.Dispose();
            _serving.Wait(TimeSpan.FromSeconds(30));
            _listener.Dispose();
            _container.Dispose();
            _bar2Memory.Dispose();
            Directory.Delete(_folder, recursive: true);
        }

        /// <summary>COMMAND read in-process through the runtime (the firewall and a pread of the simulated device).</summary>
        [Benchmark(Baseline = true)]
        public uint ConfigInProcess() => _device.ReadConfig(0x04, 2);

        /// <summary>The same COMMAND read as a vfio-user REGION_READ through the server.</summary>
        [Benchmark]
        public int ConfigThroughServe() => _client.Request(VfioUserCommand.RegionRead, _configRead).Payload.Length;

        /// <summary>A 4-byte BAR 2 read in-process through the runtime (trapped: the simulated BAR has no runtime mapping).</summary>
        [Benchmark]
        public ulong BarInProcess() => _device.Bar(2).Read(0x10, 4);

        /// <summary>The same BAR read trapped through the server (REGION_READ).</summary>
        [Benchmark]
        public int BarTrappedThroughServe() => _client.Request(VfioUserCommand.RegionRead, _barRead).Payload.Length;

        /// <summary>The same BAR read through the client's own mapping of the BAR descriptor the server handed over.</summary>
        [Benchmark]
        public int BarMappedByClient() => Marshal.ReadInt32(_mapped.Address + 0x10);
    }
}
