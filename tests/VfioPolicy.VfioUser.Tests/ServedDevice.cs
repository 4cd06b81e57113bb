using System;
using System.Buffers.Binary;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Policies;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;
using VfioPolicy.Testing;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using VfioPolicy.VfioUser.Transport;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>
    /// A simulated edu opened by the runtime behind a policy with VMM-owned interrupts, a <see cref="VfioUserServer"/>
    /// serving it on one end of an in-memory channel (on its own thread), and a client on the other end.
    /// </summary>
    internal sealed class ServedDevice : IDisposable
    {
        public const string Address = "0000:01:00.0";

        private ServedDevice(SimulatedPciDevice edu, SimulatedVfioKernel kernel, VfioContainer container, VfioDevice device, RecordingAuditSink audit, VfioUserServer server, StringWriter log)
        {
            Edu = edu;
            Kernel = kernel;
            Container = container;
            Device = device;
            Audit = audit;
            Server = server;
            Log = log;
        }

        public SimulatedPciDevice Edu { get; }

        public SimulatedVfioKernel Kernel { get; }

        public VfioContainer Container { get; }

        public VfioDevice Device { get; }

        public RecordingAuditSink Audit { get; }

        public VfioUserServer Server { get; }

        public StringWriter Log { get; }

        public SimulatedEduModel Model => (SimulatedEduModel)Edu.Bars[0]!.Model!;

        /// <summary>The served device, without a client yet.</summary>
        public static ServedDevice Create(string policy = "qemu-edu", VfioUserServerOptions? options = null)
        {
            byte[] image = ConfigDumpReader.Load(RepositoryPaths.InRepository("policies/dumps/qemu-edu.lspci-xxx.txt"), null).Bytes;
            var edu = new SimulatedPciDevice(Address, image);
            edu.Bars[0] = new SimulatedBar(0x100000, model: new SimulatedEduModel());
            var kernel = new SimulatedVfioKernel(edu);
            var container = VfioContainer.Create(kernel);
            var audit = new RecordingAuditSink();
            VfioDevice device = container.OpenDevice(Address, PolicyLibrary.All.Single(p => p.Name == policy), new VfioDeviceOptions { Audit = audit, Interrupts = VfioInterruptOwner.Vmm });
            var log = new StringWriter();
            var server = new VfioUserServer(device, (options ?? new VfioUserServerOptions()) with { Log = log });
            return new ServedDevice(edu, kernel, container, device, audit, server, log);
        }

        /// <summary>A client connection: the server handles it on a background task that ends when the connection does.</summary>
        public Connection Connect(bool negotiate = true)
        {
            (InMemoryChannel clientEnd, InMemoryChannel serverEnd) = InMemoryChannel.CreatePair(Kernel);
            Task<VfioUserSessionResult> serving = Task.Run(() => Server.Serve(serverEnd));
            var client = new VfioUserClient(clientEnd, Kernel);
            if (negotiate)
            {
                client.Negotiate(new VfioUserCapabilities(MaxMessageFds: 8));
            }

            return new Connection(client, clientEnd, serving);
        }

        public void Dispose() => Container.Dispose();

        /// <summary>One client connection and the server task serving it.</summary>
        internal sealed class Connection : IDisposable
        {
            public Connection(VfioUserClient client, InMemoryChannel channel, Task<VfioUserSessionResult> serving)
            {
                Client = client;
                Channel = channel;
                Serving = serving;
            }

            public VfioUserClient Client { get; }

            public InMemoryChannel Channel { get; }

            public Task<VfioUserSessionResult> Serving { get; }

            /// <summary>Waits for the server to end the connection on its own (a protocol violation), and says why it did.</summary>
            public VfioUserSessionResult Ended()
            {
                if (!Serving.Wait(TimeSpan.FromSeconds(10)))
                {
                    throw new TimeoutException("the server kept the connection open");
                }

                return Serving.Result;
            }

            /// <summary>Closes the connection and waits for the server to clean up.</summary>
            public VfioUserSessionResult Close()
            {
                Client.Dispose();
                if (!Serving.Wait(TimeSpan.FromSeconds(30)))
                {
                    throw new TimeoutException("the server did not finish the connection");
                }

                return Serving.Result;
            }

            public void Dispose()
            {
                if (!Serving.IsCompleted)
                {
                    Close();
                }
            }

            public VfioUserReply Read(uint region, ulong offset, uint count) =>
                Client.Request(VfioUserCommand.RegionRead, new VfioUserRegionAccess(offset, region, count, Array.Empty<byte>()).Encode());

            public VfioUserReply Write(uint region, ulong offset, byte[] data) =>
                Client.Request(VfioUserCommand.RegionWrite, new VfioUserRegionAccess(offset, region, (uint)data.Length, data).Encode());

            /// <summary>Reads and returns the data of a region read that must succeed.</summary>
            public byte[] ReadData(uint region, ulong offset, uint count)
            {
                VfioUserReply reply = Read(region, offset, count);
                VfioUserClient.ThrowIfError(reply, "REGION_READ");
                VfioUserRegionAccess access = Parse(reply.Payload, count);
                return access.Data;
            }

            public uint ReadConfig(ulong offset, int width)
            {
                byte[] data = ReadData(7, offset, (uint)width);
                uint value = 0;
                for (int b = width - 1; b >= 0; b--)
                {
                    value = (value << 8) | data[b];
                }

                return value;
            }

            public void WriteConfig(ulong offset, int width, uint value)
            {
                byte[] data = new byte[width];
                for (int b = 0; b < width; b++)
                {
                    data[b] = (byte)(value >> (8 * b));
                }

                VfioUserClient.ThrowIfError(Write(7, offset, data), "REGION_WRITE");
            }

            public void WriteBar0(ulong offset, int width, ulong value)
            {
                byte[] data = new byte[width];
                for (int b = 0; b < width; b++)
                {
                    data[b] = (byte)(value >> (8 * b));
                }

                VfioUserClient.ThrowIfError(Write(0, offset, data), "REGION_WRITE");
            }

            public ulong ReadBar0(ulong offset, int width)
            {
                byte[] data = ReadData(0, offset, (uint)width);
                Span<byte> eight = stackalloc byte[8];
                eight.Clear();
                data.CopyTo(eight);
                return BinaryPrimitives.ReadUInt64LittleEndian(eight);
            }

            /// <summary>The reply to a region read: the fixed part echoed, then exactly the data.</summary>
            private static VfioUserRegionAccess Parse(byte[] payload, uint count)
            {
                if (payload.Length != VfioUserRegionAccess.Length + count)
                {
                    throw new InvalidDataException("a region read reply of " + payload.Length + " bytes for " + count + " bytes of data");
                }

                return new VfioUserRegionAccess(
                    BinaryPrimitives.ReadUInt64LittleEndian(payload),
                    BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)),
                    BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(12)),
                    payload.AsSpan(VfioUserRegionAccess.Length).ToArray());
            }
        }
    }
}
