using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Runtime.Versioning;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Policies;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;
using VfioPolicy.VfioUser.Client;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using VfioPolicy.VfioUser.Transport;
using Xunit;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>
    /// The runtime over <see cref="VfioUserKernel"/>: a device another process serves (here <see cref="VfioUserServer"/>
    /// on a real socket, a simulated edu behind <c>qemu-edu</c>) opened by the runtime behind a policy of its own, the
    /// chain <c>serve vfio-user:PATH</c> builds. Expected values come from edu's specification (QEMU docs/specs/edu.rst)
    /// and the policies' text.
    /// </summary>
    [SupportedOSPlatform("linux")]
    public sealed class VfioUserKernelTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("vfiopolicy-vuk-").FullName;
        private readonly LinuxVfioKernel _host = new LinuxVfioKernel();
        private readonly IHostMemory _bar2;
        private readonly SimulatedPciDevice _edu;
        private readonly SimulatedVfioKernel _simulated;
        private readonly VfioContainer _serverContainer;
        private readonly VfioDevice _served;
        private readonly RecordingAuditSink _serverAudit = new RecordingAuditSink();
        private readonly StringWriter _serverLog = new StringWriter();
        private readonly UnixSocketListener _listener;
        private readonly Task _serving;

        public VfioUserKernelTests()
        {
            byte[] image = ConfigDumpReader.Load(RepositoryPaths.InRepository("policies/dumps/qemu-edu.lspci-xxx.txt"), null).Bytes;
            _edu = new SimulatedPciDevice("0000:01:00.0", image);
            _edu.Bars[0] = new SimulatedBar(0x100000, model: new SimulatedEduModel());
            _bar2 = _host.AllocateMemory(0x10000, shareable: true);
            _edu.Bars[2] = new SimulatedBar(0x10000, backing: _bar2);
            var kernel = new SimulatedVfioKernel(_host, _edu);
            _simulated = kernel;
            _serverContainer = VfioContainer.Create(kernel);
            _served = _serverContainer.OpenDevice(_edu.Address, PolicyLibrary.All.Single(p => p.Name == "qemu-edu"), new VfioDeviceOptions { Audit = _serverAudit, Interrupts = VfioInterruptOwner.Vmm });
            _listener = UnixSocketListener.Listen(Path.Combine(_folder, "edu.sock"), kernel);
            var server = new VfioUserServer(_served, new VfioUserServerOptions { MapBars = true, Log = TextWriter.Synchronized(_serverLog) });
            _serving = Task.Run(() =>
            {
                using UnixSocketChannel channel = _listener.Accept(10_000) ?? throw new TimeoutException("no client");
                server.Serve(channel);
            });
        }

        public void Dispose()
        {
            _serving.Wait(TimeSpan.FromSeconds(30));
            _listener.Dispose();
            _serverContainer.Dispose();
            _bar2.Dispose();
            Directory.Delete(_folder, recursive: true);
        }

        [Fact]
        public async Task Config_goes_through_both_policies_and_the_servers_denies_what_the_clients_lets_through()
        {
            using var kernel = new VfioUserKernel(_host, _listener.Path);
            using (VfioDevice device = Open(kernel, "linux-vfio-default"))
            {
                Assert.Equal(0x11e8_1234u, device.ReadConfig(0x00, 4));
                Assert.Equal(VfioOpenPath.Container, device.OpenPath);

                // linux-vfio-default passes BIST writes to the hardware; the hardware here is the server, whose qemu-edu
                // (strict) denies them: the server audits the write and the device never sees it.
                device.WriteConfig(0x0f, 1, 0x40);
                Assert.Contains(_serverAudit.Events, e => e.Offset == 0x0f && e.Value == 0x40);
                Assert.Equal(0x00u, _edu.PeekConfig(0x0f, 1));
            }

            Assert.Same(_serving, await Task.WhenAny(_serving, Task.Delay(TimeSpan.FromSeconds(30))));
            Assert.Contains("the device is clean for the next client", _serverLog.ToString(), StringComparison.Ordinal);
        }

        [Fact]
        public void BAR0_is_trapped_and_reaches_edu_and_BAR2_is_mapped_from_the_descriptor_the_server_handed_over()
        {
            using var kernel = new VfioUserKernel(_host, _listener.Path);
            using VfioDevice device = Open(kernel, "qemu-edu");
            device.WriteConfig(0x04, 2, 0x0006);
            VfioBar bar0 = device.Bar(0);
            Assert.Equal(0x010000edUL, bar0.Read(0x00, 4));
            bar0.Write(0x04, 4, 0x12345678);
            Assert.Equal(0xedcba987UL, bar0.Read(0x04, 4));
            Assert.All(bar0.Layout, r => Assert.Equal(BarAccessPath.Trapped, r.Path)); // modelled registers: no descriptor

            VfioBar bar2 = device.Bar(2);
            Assert.Equal(new[] { new BarRange(0, 0x10000, BarAccessPath.Mapped) }, bar2.Layout);
            bar2.Write(0x100, 4, 0xC0FFEE11);
            Assert.Equal(new byte[] { 0x11, 0xEE, 0xFF, 0xC0 }, _edu.Bars[2]!.Memory.Slice(0x100, 4).ToArray());
        }

        [Fact]
        public void MSI_set_up_through_the_client_reaches_its_eventfd()
        {
            using var kernel = new VfioUserKernel(_host, _listener.Path);
            using VfioDevice device = Open(kernel, "qemu-edu", VfioInterruptOwner.Vmm);
            int eventFd = _host.CreateEventFd();
            try
            {
                device.WriteConfig(0x04, 2, 0x0006);
                device.SetIrqs(VfioIrqSet.Trigger(VfioConstants.MsiIrqIndex, 0, new[] { eventFd }));
                for (int round = 1; round <= 2; round++)
                {
                    device.Bar(0).Write(0x60, 4, 1); // edu: raise
                    Assert.True(_host.TryReadEventFd(eventFd, out ulong count), "MSI " + round + " did not arrive");
                    Assert.Equal(1UL, count);
                    device.Bar(0).Write(0x64, 4, 1); // acknowledge
                }
            }
            finally
            {
                _host.Close(eventFd);
            }
        }

        [Fact]
        public void Edus_DMA_engine_copies_through_memory_the_client_mapped()
        {
            using var kernel = new VfioUserKernel(_host, _listener.Path);
            using var container = VfioContainer.Create(kernel);
            using VfioDevice device = container.OpenDevice(VfioUserKernel.Address, PolicyLibrary.All.Single(p => p.Name == "qemu-edu"));
            device.WriteConfig(0x04, 2, 0x0006);
            using VfioDmaBuffer buffer = container.AllocateDmaBuffer(0x2000);
            byte[] pattern = Enumerable.Range(0, 256).Select(i => (byte)((i * 53) + 7)).ToArray();
            buffer.Write(0, pattern);
            using (container.MapDma(0x100000, buffer, VfioDmaAccess.Read | VfioDmaAccess.Write))
            {
                VfioBar bar0 = device.Bar(0);
                Dma(bar0, 0x100000, 0x40000, toHost: false);
                Dma(bar0, 0x40000, 0x101000, toHost: true);
                Assert.Equal(pattern, buffer.ToArray(0x1000, 256));
            }

            Assert.Empty(_simulated.ContainerMappings);
        }

        [Fact]
        public void What_a_vfio_user_device_cannot_do_fails_with_a_clear_error()
        {
            using var kernel = new VfioUserKernel(_host, _listener.Path);
            using VfioDevice device = Open(kernel, "qemu-edu");
            var error = Assert.Throws<VfioException>(() => kernel.GetPciHotResetInfo(-1));
            Assert.Equal(VfioErrorKind.UnsupportedKernel, error.Kind);
            Assert.Contains("DEVICE_RESET only", error.Message, StringComparison.Ordinal);
            Assert.False(kernel.Exists("/dev/iommu"));
            Assert.Throws<VfioException>(() => kernel.GetDeviceFd(FirstGroupFd(kernel), "0000:00:01.0"));
        }

        private static int FirstGroupFd(VfioUserKernel kernel) => kernel.Open("/dev/vfio/0");

        private static VfioDevice Open(VfioUserKernel kernel, string policy, VfioInterruptOwner interrupts = VfioInterruptOwner.Runtime) =>
            VfioDevice.Open(VfioUserKernel.Address, PolicyLibrary.All.Single(p => p.Name == policy), kernel, new VfioDeviceOptions { Interrupts = interrupts });

        private static void Dma(VfioBar bar0, ulong source, ulong destination, bool toHost)
        {
            bar0.Write(0x80, 8, source);
            bar0.Write(0x88, 8, destination);
            bar0.Write(0x90, 8, 256);
            bar0.Write(0x98, 8, toHost ? 3UL : 1UL);
            for (int i = 0; i < 1000 && (bar0.Read(0x98, 8) & 1) != 0; i++)
            {
                System.Threading.Thread.Sleep(1);
            }

            Assert.Equal(0UL, bar0.Read(0x98, 8) & 1);
        }
    }
}
