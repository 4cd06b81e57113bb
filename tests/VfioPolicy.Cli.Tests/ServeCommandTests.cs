using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using System.Threading;
using System.Threading.Tasks;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Testing;
using VfioPolicy.VfioUser;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Transport;
using Xunit;

namespace VfioPolicy.Cli.Tests
{
    /// <summary><c>vfio-policy serve --device</c> over a real UNIX socket, with real descriptors, against the project's own vfio-user client.</summary>
    [SupportedOSPlatform("linux")]
    public sealed class ServeCommandTests : IDisposable
    {
        private readonly string _folder = Directory.CreateTempSubdirectory("vfiopolicy-serve-").FullName;
        private readonly LinuxVfioKernel _kernel = new LinuxVfioKernel();

        public void Dispose() => Directory.Delete(_folder, recursive: true);

        [Fact]
        public async Task Serves_a_simulated_edu_through_its_policy_over_a_socket_with_real_eventfds_and_memfds()
        {
            string socket = Path.Combine(_folder, "edu.sock");
            string audit = Path.Combine(_folder, "audit.jsonl");
            string saved = Path.Combine(_folder, "device-config.bin");
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            Task<int> serving = Task.Run(() => Cli.Run(
                new[] { "serve", "--device", "policies/dumps/qemu-edu.lspci-xxx.txt", "--policy", "policies/devices/qemu-edu.vfiopolicy", "--socket", socket, "--audit", audit, "--save-config", saved, "--once" },
                stdout,
                stderr,
                RepositoryPaths.Root));
            WaitFor(() => File.Exists(socket) || serving.IsCompleted, "the socket");
            Assert.False(serving.IsCompleted, stderr.ToString());
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(socket));

            int eventFd = _kernel.CreateEventFd();
            using IHostMemory guestRam = _kernel.AllocateMemory(0x10000, shareable: true);
            using (var client = new VfioUserClient(UnixSocketChannel.Connect(socket, _kernel), _kernel))
            {
                client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 8));
                Assert.Equal(0x11e8_1234u, Config(client, 0, 4));
                Write(client, 7, 0x04, BitConverter.GetBytes((ushort)0x0006));
                Write(client, 7, 0x0f, new byte[] { 0x40 }); // BIST: denied, audited
                Write(client, 7, 0x0c, new byte[] { 0x10 }); // cache line size: virtualized, the client reads it back ...
                Assert.Equal(0x10u, Config(client, 0x0c, 1));
                Assert.Equal(0x0100_00EDu, BinaryPrimitives.ReadUInt32LittleEndian(Read(client, 0, 0, 4)));

                VfioUserClient.ThrowIfError(client.Request(VfioUserCommand.DeviceSetIrqs, new VfioUserSetIrqs(VfioUserSetIrqs.DataEventFd | VfioUserSetIrqs.ActionTrigger, 1, 0, 1, null).Encode(), new[] { eventFd }), "SET_IRQS");
                Write(client, 0, 0x60, BitConverter.GetBytes(1u)); // edu: raise an interrupt
                Assert.True(_kernel.TryReadEventFd(eventFd, out ulong interrupts));
                Assert.Equal(1UL, interrupts);

                VfioUserClient.ThrowIfError(client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(3, 0, 0x100000, 0x10000).Encode(), new[] { guestRam.Fd }), "DMA_MAP");
                Write(client, 0, 0x60, BitConverter.GetBytes(0u));
                Write(client, 0, 0x80, BitConverter.GetBytes(0x40000UL)); // edu's buffer (zeroes) ...
                Write(client, 0, 0x88, BitConverter.GetBytes(0x100200UL)); // ... to guest RAM
                Write(client, 0, 0x90, BitConverter.GetBytes(16UL));
                Marshal.Copy(Enumerable.Repeat((byte)0xEE, 16).ToArray(), 0, guestRam.Address + 0x200, 16);
                Write(client, 0, 0x98, BitConverter.GetBytes(3UL));
                byte[] seen = new byte[16];
                Marshal.Copy(guestRam.Address + 0x200, seen, 0, 16);
                Assert.Equal(new byte[16], seen); // the device wrote straight into the memfd this process shares
            }

            Assert.Same(serving, await Task.WhenAny(serving, Task.Delay(TimeSpan.FromSeconds(30))));
            Assert.Equal(0, await serving);
            Assert.StartsWith("serving a device simulated from policies/dumps/qemu-edu.lspci-xxx.txt with policy \"qemu-edu\" on " + socket, stdout.ToString(), StringComparison.Ordinal);
            Assert.Contains("the client disconnected", stderr.ToString(), StringComparison.Ordinal);
            Assert.False(File.Exists(socket));
            string[] lines = File.ReadAllLines(audit);
            string denied = Assert.Single(lines, l => l.Contains("\"event\":\"denied-write\"", StringComparison.Ordinal));
            Assert.Contains("\"offset\":15", denied, StringComparison.Ordinal);
            Assert.Contains("header-type0.vfiopolicy:", denied, StringComparison.Ordinal);
            byte[] device = File.ReadAllBytes(saved); // ... and the device never saw it (the dump holds 0x00 there)
            Assert.Equal(256, device.Length);
            Assert.Equal(0x00, device[0x0c]);
            Assert.Equal(new byte[] { 0x34, 0x12, 0xe8, 0x11 }, device.Take(4).ToArray());
            _kernel.Close(eventFd);
        }

        [Fact]
        public async Task Serve_stands_in_front_of_another_vfio_user_server_whose_policy_still_holds()
        {
            // Upstream: a simulated edu under qemu-edu. In front of it: serve vfio-user:UPSTREAM under
            // linux-vfio-default, which passes BIST writes on, so the upstream's policy is what stops them.
            (string upstream, string upstreamAudit, Task<int> upstreamServing, StringWriter upstreamErr) = Upstream();
            string proxy = Path.Combine(_folder, "proxy.sock");
            var proxyOut = new StringWriter();
            var proxyErr = new StringWriter();
            Task<int> proxying = Task.Run(() => Cli.Run(new[] { "serve", "vfio-user:" + upstream, "--policy", "policies/linux-vfio-default.vfiopolicy", "--socket", proxy, "--once" }, proxyOut, proxyErr, RepositoryPaths.Root));
            WaitFor(() => File.Exists(proxy) || proxying.IsCompleted, "the proxy socket");
            Assert.False(proxying.IsCompleted, proxyErr.ToString());
            using (var client = new VfioUserClient(UnixSocketChannel.Connect(proxy, _kernel), _kernel))
            {
                client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 8));
                Assert.Equal(0x11e8_1234u, Config(client, 0, 4));
                Write(client, 7, 0x04, BitConverter.GetBytes((ushort)0x0006));
                Assert.Equal(0x0100_00EDu, BinaryPrimitives.ReadUInt32LittleEndian(Read(client, 0, 0, 4)));
                Write(client, 7, 0x0f, new byte[] { 0x40 });
            }

            Assert.Same(proxying, await Task.WhenAny(proxying, Task.Delay(TimeSpan.FromSeconds(30))));
            Assert.True(await proxying == 0, proxyErr.ToString());
            Assert.StartsWith("serving vfio-user:" + upstream + " with policy \"linux-vfio-default\"", proxyOut.ToString(), StringComparison.Ordinal);

            // The proxy left, so the upstream's one client did: it cleaned up and stopped (--once).
            Assert.Same(upstreamServing, await Task.WhenAny(upstreamServing, Task.Delay(TimeSpan.FromSeconds(30))));
            Assert.True(await upstreamServing == 0, upstreamErr.ToString());
            string denied = Assert.Single(File.ReadAllLines(upstreamAudit), l => l.Contains("\"event\":\"denied-write\"", StringComparison.Ordinal));
            Assert.Contains("\"offset\":15", denied, StringComparison.Ordinal);
        }

        [Fact]
        public async Task Attach_opens_a_device_a_vfio_user_server_serves()
        {
            (string upstream, string _, Task<int> upstreamServing, StringWriter upstreamErr) = Upstream();
            CliRun attach = CliRunner.Run("attach", "vfio-user:" + upstream, "--policy", "policies/strict.vfiopolicy");

            Assert.True(attach.ExitCode == 0, attach.Stderr);
            Assert.StartsWith("device 0000:00:00.0 (IOMMU group 0), 1234:11e8 class 00ff00, policy \"strict\"", attach.Stdout, StringComparison.Ordinal);
            Assert.Same(upstreamServing, await Task.WhenAny(upstreamServing, Task.Delay(TimeSpan.FromSeconds(30))));
            Assert.Contains("the device is clean for the next client", upstreamErr.ToString(), StringComparison.Ordinal);
        }

        /// <summary>A <c>serve --device</c> of edu under qemu-edu for one client, listening once this returns.</summary>
        private (string Socket, string Audit, Task<int> Serving, StringWriter Err) Upstream()
        {
            string socket = Path.Combine(_folder, "upstream.sock");
            string audit = Path.Combine(_folder, "upstream.jsonl");
            var err = new StringWriter();
            Task<int> serving = Task.Run(() => Cli.Run(new[] { "serve", "--device", "policies/dumps/qemu-edu.lspci-xxx.txt", "--policy", "policies/devices/qemu-edu.vfiopolicy", "--socket", socket, "--audit", audit, "--once" }, new StringWriter(), err, RepositoryPaths.Root));
            WaitFor(() => File.Exists(socket) || serving.IsCompleted, "the upstream socket");
            Assert.False(serving.IsCompleted, err.ToString());
            return (socket, audit, serving, err);
        }

        [Fact]
        public void Refuses_a_device_its_policy_does_not_match()
        {
            CliRun run = CliRunner.Run("serve", "--device", "policies/dumps/qemu-edu.lspci-xxx.txt", "--policy", "policies/devices/qemu-nvme.vfiopolicy", "--socket", Path.Combine(_folder, "x.sock"));

            Assert.Equal(2, run.ExitCode);
            run.AssertOneLineError("refusing to serve:");
            Assert.False(File.Exists(Path.Combine(_folder, "x.sock")));
        }

        [Theory]
        [InlineData("serve --policy policies/strict.vfiopolicy --socket S", "give either a device ADDRESS or --device DUMP")]
        [InlineData("serve 0000:01:00.0 --device policies/dumps/qemu-edu.lspci-xxx.txt --policy policies/strict.vfiopolicy --socket S", "give either a device ADDRESS or --device DUMP")]
        [InlineData("serve --device policies/dumps/qemu-edu.lspci-xxx.txt --bar 9=4K --policy policies/strict.vfiopolicy --socket S", "--bar takes N=SIZE")]
        [InlineData("serve --device policies/dumps/qemu-edu.lspci-xxx.txt --bar 0=3K --policy policies/strict.vfiopolicy --socket S", "must be a power of two")]
        [InlineData("serve 0000:01:00.0 --bar 0=4K --policy policies/strict.vfiopolicy --socket S", "--bar, --slot and --save-config go with --device")]
        public void Bad_arguments_are_one_line_errors(string arguments, string expected)
        {
            CliRun run = CliRunner.Run(arguments.Replace("S", Path.Combine(_folder, "s.sock"), StringComparison.Ordinal).Split(' '));

            Assert.Equal(2, run.ExitCode);
            run.AssertOneLineError(expected);
        }

        [Fact]
        public void A_file_that_is_not_a_socket_is_never_replaced()
        {
            string path = Path.Combine(_folder, "notes.txt");
            File.WriteAllText(path, "keep me");

            CliRun run = CliRunner.Run("serve", "--device", "policies/dumps/qemu-edu.lspci-xxx.txt", "--policy", "policies/devices/qemu-edu.vfiopolicy", "--socket", path);

            Assert.Equal(2, run.ExitCode);
            run.AssertOneLineError("something other than a socket is there");
            Assert.Equal("keep me", File.ReadAllText(path));
        }

        private static uint Config(VfioUserClient client, ulong offset, int width)
        {
            byte[] data = Read(client, 7, offset, (uint)width);
            return width switch { 4 => BinaryPrimitives.ReadUInt32LittleEndian(data), 2 => BinaryPrimitives.ReadUInt16LittleEndian(data), _ => data[0] };
        }

        private static byte[] Read(VfioUserClient client, uint region, ulong offset, uint count) => client.ReadRegion(region, offset, count);

        private static void Write(VfioUserClient client, uint region, ulong offset, byte[] data) => client.WriteRegion(region, offset, data);

        private static void WaitFor(Func<bool> condition, string what)
        {
            for (int waited = 0; !condition(); waited += 20)
            {
                if (waited > 30000)
                {
                    throw new TimeoutException("timed out waiting for " + what);
                }

                Thread.Sleep(20);
            }
        }
    }
}
