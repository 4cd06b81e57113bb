using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Protocol;
using VfioPolicy.VfioUser.Server;
using Xunit;
using Xunit.Abstractions;

namespace VfioPolicy.VfioUser.Tests
{
    /// <summary>
    /// The message parser and the connection state machine under a seeded stream of generated, mutated and random
    /// messages (with descriptors): the server must never throw out of a connection, never leak a descriptor, a
    /// mapping or an armed interrupt past it, and never let a byte the policy protects change on the device.
    /// </summary>
    public sealed class ProtocolFuzzTests
    {
        private const int Seed = 20261203;

        // Hardware bytes no consumer write may change under qemu-edu: everything but Command/Status (Bus Master is
        // the consumer's, Status errors are RW1C) and the BARs (the runtime restores them after a reset).
        private static readonly int[] Mutable = Enumerable.Range(0x04, 4).Concat(Enumerable.Range(0x10, 0x18)).Concat(Enumerable.Range(0x30, 4)).ToArray();

        private readonly ITestOutputHelper _output;

        public ProtocolFuzzTests(ITestOutputHelper output) => _output = output;

        /// <summary>The number of messages: 20,000 in CI; VFIOPOLICY_FUZZ_MESSAGES for a campaign.</summary>
        private static int Messages => int.TryParse(Environment.GetEnvironmentVariable("VFIOPOLICY_FUZZ_MESSAGES"), NumberStyles.None, CultureInfo.InvariantCulture, out int count) ? count : 20_000;

        [Fact]
        public void Generated_mutated_and_random_messages_never_crash_leak_or_reach_what_the_policy_protects()
        {
            using ServedDevice served = ServedDevice.Create(options: new VfioUserServerOptions { MaxMessageFds = 4, MaxDataTransferSize = 8192 });
            SimulatedKernelState before = SimulatedKernelState.Of(served);
            byte[] image = served.Edu.Config.ToArray();
            var random = new Random(Seed);
            using IHostMemory ram = served.Kernel.AllocateMemory(0x40000, shareable: true);
            int[] eventFds = Enumerable.Range(0, 3).Select(_ => served.Kernel.CreateEventFd()).ToArray();
            int[] pool = eventFds.Append(ram.Fd).ToArray();
            int connections = 0;
            int closedByServer = 0;
            var results = new List<VfioUserSessionResult>();
            ServedDevice.Connection? connection = null;
            for (int i = 0; i < Messages; i++)
            {
                connection ??= Connect(served, random, ref connections);
                byte[] message = NextMessage(random);
                int[] fds = Descriptors(random, message, eventFds, ram.Fd, pool);
                bool sent = true;
                try
                {
                    connection.Channel.Send(message, fds);
                }
                catch (VfioUserProtocolException)
                {
                    sent = false; // closed while negotiating (a client that skipped VERSION)
                }

                if (!sent || !Sync(connection))
                {
                    // The server closed the connection: it must have cleaned up after it.
                    closedByServer++;
                    results.Add(connection.Close());
                    AssertClean(served, before, pool.Length, i);
                    connection = null;
                }
            }

            if (connection is not null)
            {
                results.Add(connection.Close());
                AssertClean(served, before, pool.Length, Messages);
            }

            // Every connection ended normally (a faulted server task would have thrown out of Close).
            Assert.Equal(connections, results.Count);
            _output.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0} messages over {1} connections ({2} closed by the server), {3} error replies, {4} hardware interrupt setups, {5} DMA bytes", Messages, connections, closedByServer, results.Sum(r => r.Errors), served.Edu.IrqRequests.Count(r => r.Index <= VfioConstants.MsixIrqIndex && r.EventFds is not null), served.Edu.DmaBytes));

            // And the bytes the policy protects are the device's own.
            byte[] now = served.Edu.Config.ToArray();
            foreach (int offset in Enumerable.Range(0, image.Length).Except(Mutable))
            {
                Assert.True(image[offset] == now[offset], string.Format(CultureInfo.InvariantCulture, "hardware config byte 0x{0:x3} changed from 0x{1:x2} to 0x{2:x2}", offset, image[offset], now[offset]));
            }

            foreach (int fd in eventFds)
            {
                served.Kernel.Close(fd);
            }
        }

        /// <summary>Nothing of a connection outlives it: interrupts, mappings, descriptors, memory (the test's own pool aside).</summary>
        private static void AssertClean(ServedDevice served, SimulatedKernelState before, int pool, int message)
        {
            string when = " after the connection that ended at message " + message.ToString(CultureInfo.InvariantCulture);
            Assert.True(served.Edu.EnabledIrqIndex is null, "an interrupt index stayed enabled" + when);
            Assert.True(served.Kernel.ContainerMappings.Count == 0, "a DMA mapping stayed" + when);
            Assert.True(before.Descriptors + pool == served.Kernel.OpenDescriptorCount, "descriptors leaked" + when);
            Assert.True(before.Allocations + 1 == served.Kernel.LiveAllocationCount, "mapped memory leaked" + when);
        }

        /// <summary>
        /// Lockstep: a DEVICE_GET_INFO the server must answer once it has handled everything before it, and every reply up
        /// to it read and dropped; or the connection closed by the server (then a send throws next round).
        /// </summary>
        private static bool Sync(ServedDevice.Connection connection)
        {
            const ushort Ping = 0xFFFF;
            byte[] ping = new byte[VfioUserHeader.Length + VfioUserInfo.Length];
            new VfioUserHeader(Ping, (ushort)VfioUserCommand.DeviceGetInfo, (uint)ping.Length, 0, 0).Write(ping);
            new VfioUserInfo(16, 0, 0, 0).Encode().CopyTo(ping, VfioUserHeader.Length);
            try
            {
                connection.Channel.Send(ping, ReadOnlySpan<int>.Empty);
            }
            catch (VfioUserProtocolException)
            {
                return false; // the message before already made the server close the connection
            }

            while (connection.Channel.Receive(1 << 21, 16) is { } frame)
            {
                if (frame.Header.IsReply && frame.Header.MessageId == Ping && frame.Header.Command == (ushort)VfioUserCommand.DeviceGetInfo)
                {
                    return !frame.Header.IsError;
                }
            }

            return false;
        }

        /// <summary>A new connection, negotiated most of the time (a client that skips VERSION is closed at its first message).</summary>
        private static ServedDevice.Connection Connect(ServedDevice served, Random random, ref int connections)
        {
            connections++;
            return served.Connect(negotiate: random.Next(8) != 0);
        }

        /// <summary>
        /// The descriptors to send with <paramref name="message"/>: mostly what it asks for (one eventfd per vector of an
        /// eventfd SET_IRQS, the memfd for a DMA_MAP), sometimes a random handful.
        /// </summary>
        private static int[] Descriptors(Random random, byte[] message, int[] eventFds, int memfd, int[] pool)
        {
            if (random.Next(5) == 0 || message.Length < VfioUserHeader.Length + 20)
            {
                return random.Next(4) == 0 ? Enumerable.Range(0, random.Next(1, 6)).Select(_ => pool[random.Next(pool.Length)]).ToArray() : Array.Empty<int>();
            }

            ushort command = BinaryPrimitives.ReadUInt16LittleEndian(message.AsSpan(2));
            uint flags = BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(VfioUserHeader.Length + 4));
            if (command == (ushort)VfioUserCommand.DeviceSetIrqs && (flags & VfioUserSetIrqs.DataEventFd) != 0)
            {
                int count = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(message.AsSpan(VfioUserHeader.Length + 16)), 4);
                return Enumerable.Range(0, count).Select(i => eventFds[i % eventFds.Length]).ToArray();
            }

            return command == (ushort)VfioUserCommand.DmaMap ? new[] { memfd } : Array.Empty<int>();
        }

        /// <summary>A message: one of the commands with plausible fields (often valid), a mutation of one, or noise.</summary>
        private static byte[] NextMessage(Random random)
        {
            // Mostly well framed (the session goes on and its state gets exercised); now and then broken framing.
            int kind = random.Next(20);
            return kind < 12 ? Plausible(random) : kind < 19 ? Mutate(random, Plausible(random)) : Noise(random);
        }

        private static byte[] Plausible(Random random)
        {
            VfioUserCommand command = (VfioUserCommand)random.Next(0, 20);
            byte[] payload = command switch
            {
                VfioUserCommand.Version => new VfioUserVersion(0, (ushort)random.Next(2), new VfioUserCapabilities(random.Next(0, 20), (uint)random.Next(1, 1 << 21))).Encode(),
                VfioUserCommand.DmaMap => new VfioUserDmaMap((uint)random.Next(4), Page(random), Page(random), Page(random)).Encode(),
                VfioUserCommand.DmaUnmap => new VfioUserDmaUnmap(24, 0, Page(random), Page(random)).Encode(),
                VfioUserCommand.DeviceGetInfo => new VfioUserInfo((uint)random.Next(32), 0, 0, 0).Encode(),
                VfioUserCommand.DeviceGetIrqInfo => new VfioUserInfo(16, 0, (uint)random.Next(7), 0).Encode(),
                VfioUserCommand.DeviceGetRegionInfo => RegionInfo(random),
                VfioUserCommand.DeviceSetIrqs => SetIrqs(random),
                VfioUserCommand.RegionRead => new VfioUserRegionAccess(Offset(random), (uint)random.Next(10), (uint)random.Next(0, 10000), Array.Empty<byte>()).Encode(),
                VfioUserCommand.RegionWrite => RegionWrite(random),
                VfioUserCommand.DeviceReset => random.Next(4) == 0 ? new byte[1] : Array.Empty<byte>(),
                _ => Noise(random, header: false),
            };
            byte[] message = new byte[VfioUserHeader.Length + payload.Length];
            uint flags = (uint)(random.Next(8) == 0 ? VfioUserHeader.NoReplyFlag : 0) | (uint)(random.Next(40) == 0 ? VfioUserHeader.TypeReply : 0);
            new VfioUserHeader((ushort)random.Next(65536), (ushort)command, (uint)message.Length, flags, 0).Write(message);
            payload.CopyTo(message, VfioUserHeader.Length);
            return message;
        }

        private static byte[] RegionInfo(Random random)
        {
            byte[] payload = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(payload, (uint)random.Next(0, 128));
            BinaryPrimitives.WriteUInt32LittleEndian(payload.AsSpan(8), (uint)random.Next(12));
            return payload;
        }

        private static byte[] SetIrqs(Random random)
        {
            uint data = 1u << random.Next(3);
            uint action = 8u << random.Next(3);
            uint flags = random.Next(10) == 0 ? (uint)random.Next(64) : data | action;
            uint count = (uint)(random.Next(2) == 0 ? 1 : random.Next(0, 4));
            bool[]? bools = data == VfioUserSetIrqs.DataBool ? Enumerable.Range(0, (int)count).Select(_ => random.Next(2) == 0).ToArray() : null;
            uint index = (uint)(random.Next(2) == 0 ? random.Next(2) : random.Next(6));
            return new VfioUserSetIrqs(flags, index, (uint)(random.Next(3) == 0 ? random.Next(3) : 0), count, bools).Encode();
        }

        private static byte[] RegionWrite(Random random)
        {
            int count = random.Next(1, 9);
            byte[] data = new byte[count];
            random.NextBytes(data);
            uint region = random.Next(3) == 0 ? 0u : 7u;
            ulong offset = region == 7 ? (ulong)random.Next(0, 0x110) : (ulong)random.Next(0, 0x100) * 4;
            return new VfioUserRegionAccess(offset, region, (uint)count, data).Encode();
        }

        private static byte[] Mutate(Random random, byte[] message)
        {
            byte[] copy = random.Next(6) == 0 ? message.Take(random.Next(message.Length + 1)).ToArray() : (byte[])message.Clone();
            for (int flips = random.Next(1, 4); flips > 0 && copy.Length > 0; flips--)
            {
                copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
            }

            if (copy.Length >= 8)
            {
                // Usually the framing still holds (the payload is what is wrong); sometimes the size lies.
                uint size = random.Next(5) == 0 ? (uint)random.Next(0, 64) : (uint)copy.Length;
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(4), size);
                if (random.Next(5) != 0 && copy.Length > 8)
                {
                    copy[8] &= 0x30; // and a command, not a reply
                }
            }

            return copy;
        }

        private static byte[] Noise(Random random, bool header = true)
        {
            byte[] bytes = new byte[random.Next(header ? 0 : 0, 64)];
            random.NextBytes(bytes);
            return bytes;
        }

        private static ulong Page(Random random) => random.Next(4) switch
        {
            0 => (ulong)random.Next(0, 0x50) * 0x1000,
            1 => (ulong)random.Next(),
            2 => ulong.MaxValue - (ulong)random.Next(0, 0x3000),
            _ => 0x1000,
        };

        private static ulong Offset(Random random) => random.Next(3) == 0 ? ulong.MaxValue - (ulong)random.Next(16) : (ulong)random.Next(0, 0x2000);

        private sealed record SimulatedKernelState(int Descriptors, int Allocations)
        {
            public static SimulatedKernelState Of(ServedDevice served) => new SimulatedKernelState(served.Kernel.OpenDescriptorCount, served.Kernel.LiveAllocationCount);
        }
    }
}
