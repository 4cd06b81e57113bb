using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser;
using VfioPolicy.VfioUser.Client;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.GuestTests
{
    /// <summary>
    /// <c>serve</c>'s server over the kernel's real vfio-pci: edu opened by the runtime under <c>qemu-edu</c> with
    /// VMM-owned interrupts, served on a real UNIX socket, and driven by the project's own vfio-user client, as a VMM
    /// would: config through the policy (the device's own config read back through sysfs, which vfio-pci leaves raw),
    /// BAR 0 trapped and mapped, MSI into the client's eventfd, and a DMA by edu's engine into the client's memfd.
    /// </summary>
    internal static class ServeTests
    {
        private const uint ConfigRegion = 7;
        private const ulong Iova = 0x100000;
        private static readonly LinuxVfioKernel Kernel = new LinuxVfioKernel();

        public static IEnumerable<GuestTest> All(GuestMachine machine)
        {
            PciFunction edu;
            try
            {
                edu = machine.Edu;
            }
            catch (GuestTestFailure)
            {
                yield break; // ConfigSpaceTests reports the missing device
            }

            string name = "serve " + edu.Address;
            yield return new GuestTest(name + ": config through the policy; a virtualized write keeps the client's value and never reaches the device, a denied one is audited", () => ConfigThroughThePolicy(edu));
            yield return new GuestTest(name + ": BAR 0 trapped reaches edu (identification, liveness)", () => Served(edu, mapBars: false, (client, _, _) =>
            {
                Write(client, ConfigRegion, 0x04, BitConverter.GetBytes((ushort)0x0002)); // memory decode
                Check.Equal("0x010000ed", Check.Hex(U32(Read(client, 0, EduRegisters.Identification, 4)), 4), "identification");
                Write(client, 0, EduRegisters.Liveness, BitConverter.GetBytes(0x12345678u));
                Check.Equal("0xedcba987", Check.Hex(U32(Read(client, 0, EduRegisters.Liveness, 4)), 4), "liveness");
            }));
            yield return new GuestTest(name + ": MSI set up by the client's SET_IRQS reaches its eventfd", () => MsiToTheClient(edu));
            yield return new GuestTest(name + ": DMA_MAP of the client's memfd; edu's engine copies a pattern out of it and back into it", () => DmaIntoClientMemory(edu));
            yield return new GuestTest(name + ": the runtime opens the served device as vfio-user:PATH behind its own policy and drives a DMA through it", () => RuntimeOverVfioUser(edu));
            yield return new GuestTest(name + ": --mmap-bars on a kernel that will not map a BAR vfio-pci holds: BAR 0 stays trapped, offered to no one, and the server says why", () => MappedBarRefusedByThisKernel(edu));
        }

        private static void ConfigThroughThePolicy(PciFunction edu)
        {
            byte before = edu.ReadConfig()[0x0c];
            Served(edu, mapBars: false, (client, audit, _) =>
            {
                Check.Equal("0x11e81234", Check.Hex(U32(Read(client, ConfigRegion, 0, 4)), 4), "vendor and device");
                Write(client, ConfigRegion, 0x0c, new byte[] { 0x10 }); // Cache Line Size: virtualize rw init hw
                Check.Equal(0x10, (int)Read(client, ConfigRegion, 0x0c, 1)[0], "cache line size read back by the client");
                Check.Equal(before, edu.ReadConfig()[0x0c], "cache line size on the device (sysfs)");
                Write(client, ConfigRegion, 0x0f, new byte[] { 0x40 }); // BIST: deny 0, audited
                Check.Equal(0, (int)Read(client, ConfigRegion, 0x0f, 1)[0], "BIST read by the client");
                Check.True(audit.Events.Any(e => e.Offset == 0x0f && e.Value == 0x40 && e.Rule.Path.EndsWith("header-type0.vfiopolicy", StringComparison.Ordinal)), "no audit event for the BIST write");
            });
        }

        private static void MsiToTheClient(PciFunction edu)
        {
            int eventFd = Kernel.CreateEventFd();
            try
            {
                Served(edu, mapBars: false, (client, _, _) =>
                {
                    Write(client, ConfigRegion, 0x04, BitConverter.GetBytes((ushort)0x0006)); // memory decode, bus master (MSI is a write)

                    // What QEMU does: program MSI in config space (virtual here), then hand VFIO its eventfd.
                    Write(client, ConfigRegion, 0x44, BitConverter.GetBytes(0xfee00000u));
                    Write(client, ConfigRegion, 0x42, BitConverter.GetBytes((ushort)1));
                    VfioUserClient.ThrowIfError(client.Request(VfioUserCommand.DeviceSetIrqs, new VfioUserSetIrqs(VfioUserSetIrqs.DataEventFd | VfioUserSetIrqs.ActionTrigger, VfioConstants.MsiIrqIndex, 0, 1, null).Encode(), new[] { eventFd }), "SET_IRQS");
                    for (int round = 1; round <= 2; round++)
                    {
                        Write(client, 0, EduRegisters.RaiseInterrupt, BitConverter.GetBytes(1u));
                        Check.True(WaitFd(eventFd), "MSI " + round + " did not reach the client's eventfd");
                        Write(client, 0, EduRegisters.AcknowledgeInterrupt, BitConverter.GetBytes(1u));
                    }
                });
            }
            finally
            {
                Kernel.Close(eventFd);
            }
        }

        private static void DmaIntoClientMemory(PciFunction edu)
        {
            using IHostMemory memory = Kernel.AllocateMemory(0x2000, shareable: true);
            byte[] pattern = Enumerable.Range(0, 256).Select(i => (byte)((i * 53) + 7)).ToArray();
            Marshal.Copy(pattern, 0, memory.Address, pattern.Length);
            Served(edu, mapBars: false, (client, _, _) =>
            {
                VfioUserClient.ThrowIfError(client.Request(VfioUserCommand.DmaMap, new VfioUserDmaMap(VfioUserDmaMap.Readable | VfioUserDmaMap.Writeable, 0, Iova, 0x2000).Encode(), new[] { memory.Fd }), "DMA_MAP");
                Write(client, ConfigRegion, 0x04, BitConverter.GetBytes((ushort)0x0006)); // memory decode and bus master
                EduDma(client, Iova, EduRegisters.DmaBuffer, toHost: false);
                EduDma(client, EduRegisters.DmaBuffer, Iova + 0x1000, toHost: true);
                byte[] copied = new byte[256];
                Marshal.Copy(memory.Address + 0x1000, copied, 0, copied.Length);
                Check.True(copied.SequenceEqual(pattern), "the client's memory at +0x1000 does not hold the pattern: " + Convert.ToHexString(copied, 0, 16) + "...");
            });
        }

        /// <summary>
        /// This kernel refuses to map a sysfs resource file of a BAR vfio-pci holds (EINVAL), so <c>--mmap-bars</c>
        /// cannot hand a real BAR out here: the server must find that out itself, keep the BAR trapped (no MMAP flag,
        /// no descriptor, nothing a client would fail on) and say why; the trapped path must still work.
        /// </summary>
        private static void MappedBarRefusedByThisKernel(PciFunction edu)
        {
            Served(edu, mapBars: true, (client, _, log) =>
            {
                byte[] request = new byte[32];
                BinaryPrimitives.WriteUInt32LittleEndian(request, 256);
                VfioUserReply reply = client.Request(VfioUserCommand.DeviceGetRegionInfo, request);
                VfioUserClient.ThrowIfError(reply, "REGION_INFO 0");
                foreach (int fd in reply.Fds)
                {
                    Kernel.Close(fd);
                }

                Check.Equal(0, reply.Fds.Length, "descriptors with BAR 0's REGION_INFO");
                Check.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(reply.Payload.AsSpan(4)) & 4, "MMAP flag");
                string said = log.ToString();
                Console.WriteLine("  server: " + said.Split('\n').FirstOrDefault(l => l.Contains("BAR 0", StringComparison.Ordinal))?.Trim());
                Check.True(said.Contains("BAR 0 stays trapped", StringComparison.Ordinal) && said.Contains("resource0", StringComparison.Ordinal), "the server did not say why BAR 0 stays trapped: " + said);
                Write(client, ConfigRegion, 0x04, BitConverter.GetBytes((ushort)0x0002));
                Check.Equal("0x010000ed", Check.Hex(U32(Read(client, 0, EduRegisters.Identification, 4)), 4), "identification, trapped");
            });
        }

        /// <summary>Opens edu, serves it on a fresh socket, runs <paramref name="body"/> with a negotiated client, then disconnects and waits for the clean-up.</summary>
        private static void Served(PciFunction edu, bool mapBars, Action<VfioUserClient, RecordingAuditSink, StringWriter> body) =>
            ServedOn(edu, mapBars, (socket, audit, log) =>
            {
                using var client = new VfioUserClient(UnixSocketChannel.Connect(socket, Kernel), Kernel);
                client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 8));
                body(client, audit, log);
            });

        /// <summary>Opens edu, serves it on a fresh socket for one client, runs <paramref name="body"/> with the socket's path, and waits for the clean-up.</summary>
        private static void ServedOn(PciFunction edu, bool mapBars, Action<string, RecordingAuditSink, StringWriter> body)
        {
            string folder = Directory.CreateTempSubdirectory("vfiopolicy-guest-serve-").FullName;
            var audit = new RecordingAuditSink();
            var log = new StringWriter();
            try
            {
                using VfioDevice device = VfioDevice.Open(edu.Address, ConfigSpaceTests.CompiledPolicy("qemu-edu"), Kernel, new VfioDeviceOptions { Audit = audit, Interrupts = VfioInterruptOwner.Vmm });
                using UnixSocketListener listener = UnixSocketListener.Listen(Path.Combine(folder, "edu.sock"), Kernel);
                var server = new VfioUserServer(device, new VfioUserServerOptions { MapBars = mapBars, Log = TextWriter.Synchronized(log) });
                Task<VfioUserSessionResult> serving = Task.Run(() =>
                {
                    using UnixSocketChannel channel = listener.Accept(10_000) ?? throw new GuestTestFailure("the client did not connect");
                    return server.Serve(channel);
                });
                body(listener.Path, audit, log);
                Check.True(serving.Wait(TimeSpan.FromSeconds(30)), "the server did not finish the connection");
                Check.True(log.ToString().Contains("the device is clean for the next client", StringComparison.Ordinal), "no clean-up: " + log);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        /// <summary>
        /// The runtime itself as the client: <see cref="VfioUserKernel"/> opens the served edu as <c>vfio-user:PATH</c>
        /// behind strict, as <c>serve vfio-user:PATH</c> and <c>attach vfio-user:PATH</c> do, and drives a DMA through
        /// memory it maps with DMA_MAP.
        /// </summary>
        private static void RuntimeOverVfioUser(PciFunction edu)
        {
            ServedOn(edu, mapBars: false, (socket, _, _) =>
            {
                using var kernel = new VfioUserKernel(Kernel, socket);
                using var container = VfioContainer.Create(kernel);
                using VfioDevice device = container.OpenDevice(VfioUserKernel.Address, ConfigSpaceTests.CompiledPolicy("strict"));
                Check.Equal("0x11e81234", Check.Hex(device.ReadConfig(0, 4), 4), "vendor and device through both firewalls");
                RuntimeTests.EnableMemoryAndBusMaster(device);
                VfioBar bar0 = device.Bar(0);
                Check.Equal("0x010000ed", Check.Hex((uint)bar0.Read(EduRegisters.Identification, 4), 4), "identification");
                using VfioDmaBuffer buffer = container.AllocateDmaBuffer(0x2000);
                byte[] pattern = Enumerable.Range(0, 256).Select(i => (byte)((i * 31) + 5)).ToArray();
                buffer.Write(0, pattern);
                using (container.MapDma(Iova, buffer, VfioDmaAccess.Read | VfioDmaAccess.Write))
                {
                    foreach ((ulong from, ulong to, bool toHost) in new[] { (Iova, EduRegisters.DmaBuffer, false), (EduRegisters.DmaBuffer, Iova + 0x1000, true) })
                    {
                        bar0.Write(EduRegisters.DmaSource, 8, from);
                        bar0.Write(EduRegisters.DmaDestination, 8, to);
                        bar0.Write(EduRegisters.DmaCount, 8, 256);
                        bar0.Write(EduRegisters.DmaCommand, 8, toHost ? 0x3UL : 0x1UL);
                        RuntimeTests.WaitUntil(() => (bar0.Read(EduRegisters.DmaCommand, 8) & 1) == 0, "edu's DMA to finish");
                    }

                    Check.True(buffer.ToArray(0x1000, 256).SequenceEqual(pattern), "the pattern did not come back through the client's memory");
                }
            });
        }

        private static void EduDma(VfioUserClient client, ulong source, ulong destination, bool toHost)
        {
            Write(client, 0, EduRegisters.DmaSource, BitConverter.GetBytes(source));
            Write(client, 0, EduRegisters.DmaDestination, BitConverter.GetBytes(destination));
            Write(client, 0, EduRegisters.DmaCount, BitConverter.GetBytes(256UL));
            Write(client, 0, EduRegisters.DmaCommand, BitConverter.GetBytes(toHost ? 0x3UL : 0x1UL));
            RuntimeTests.WaitUntil(() => (U32(Read(client, 0, EduRegisters.DmaCommand, 4)) & 1) == 0, "edu's DMA to finish (command bit 0)");
        }

        private static bool WaitFd(int fd)
        {
            Span<bool> ready = stackalloc bool[1];
            return Kernel.Poll(new[] { fd }, RuntimeTests.InterruptWaitMilliseconds, ready) > 0 && Kernel.TryReadEventFd(fd, out _);
        }

        private static byte[] Read(VfioUserClient client, uint region, long offset, uint count) => client.ReadRegion(region, (ulong)offset, count);

        private static void Write(VfioUserClient client, uint region, long offset, byte[] data) => client.WriteRegion(region, (ulong)offset, data);

        private static uint U32(byte[] bytes) => BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }
}
