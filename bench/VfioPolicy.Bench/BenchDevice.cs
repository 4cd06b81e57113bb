using System;
using System.IO;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// The benchmarked device: QEMU's 82574L (e1000e) from the test corpus under the library's <c>qemu-e1000e</c>
    /// policy. It has every kind of register the benchmarks need: MSI at 0xd0, PCI Express at 0xe0.
    /// </summary>
    public static class BenchDevice
    {
        /// <summary>The corpus dump, relative to the repository root.</summary>
        public const string DumpPath = "tests/corpus/qemu/vm1_01-00.0_8086-10d3_82574l-gigabit-network-connection.xxxx.txt";

        /// <summary>The policy the device is bound to.</summary>
        public const string PolicyName = "qemu-e1000e";

        /// <summary>VENDOR_ID: passthrough, read-only.</summary>
        public const int VendorId = 0x00;

        /// <summary>COMMAND: virtualized and passthrough bits, a behavior register.</summary>
        public const int Command = 0x04;

        /// <summary>BAR0: virtualized (sizing behavior).</summary>
        public const int Bar0 = 0x10;

        /// <summary>The reserved header dword at 0x38: denied, reads 0, audited.</summary>
        public const int Denied = 0x38;

        /// <summary>INTERRUPT_PIN: denied (read-only constant, audited).</summary>
        public const int InterruptPin = 0x3d;

        /// <summary>MSI message address (low dword) of the MSI capability at 0xd0.</summary>
        public const int MsiAddress = 0xd4;

        /// <summary>DEVCTL of the PCI Express capability at 0xe0; DEVSTA follows at 0xea.</summary>
        public const int DevCtl = 0xe8;

        /// <summary>The environment variable through which the benchmark host tells its child processes where the repository is.</summary>
        public const string RepositoryVariable = "VFIOPOLICY_REPOSITORY";

        /// <summary>The device's config space.</summary>
        public static ConfigSpaceImage Image() => ConfigDumpReader.Load(Path.Combine(RepositoryRoot(), DumpPath), null);

        /// <summary>The compiled policy.</summary>
        public static ICompiledPolicy Policy()
        {
            foreach (ICompiledPolicy policy in PolicyLibrary.All)
            {
                if (policy.Name == PolicyName)
                {
                    return policy;
                }
            }

            throw new InvalidOperationException("The policy library has no policy '" + PolicyName + "'.");
        }

        /// <summary>The policy bound to the device.</summary>
        public static BoundConfigSpace Bind()
        {
            ConfigSpaceImage image = Image();
            return DeviceBinder.Bind(Policy().Model, image.Bytes, image.WalkCapabilities());
        }

        /// <summary>The repository root: above the binaries, else above the working directory.</summary>
        public static string RepositoryRoot()
        {
            // BenchmarkDotNet runs each benchmark in a child process built elsewhere; Program passes the root down.
            string? given = Environment.GetEnvironmentVariable(RepositoryVariable);
            if (!string.IsNullOrEmpty(given) && File.Exists(Path.Combine(given, "VfioPolicy.sln")))
            {
                return given;
            }

            for (DirectoryInfo? folder = new DirectoryInfo(AppContext.BaseDirectory); folder != null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "VfioPolicy.sln")))
                {
                    return folder.FullName;
                }
            }

            for (DirectoryInfo? folder = new DirectoryInfo(Directory.GetCurrentDirectory()); folder != null; folder = folder.Parent)
            {
                if (File.Exists(Path.Combine(folder.FullName, "VfioPolicy.sln")))
                {
                    return folder.FullName;
                }
            }

            throw new InvalidOperationException("Run the benchmarks from inside the repository (no VfioPolicy.sln above " + AppContext.BaseDirectory + ").");
        }
    }

    /// <summary>A config space in a byte array that records nothing: the benchmarks measure the firewall, not the simulator.</summary>
    public sealed class LeanHardware : IHardwareConfig
    {
        private readonly byte[] _bytes;

        /// <summary>Creates the hardware over a copy of <paramref name="image"/>.</summary>
        public LeanHardware(byte[] image) => _bytes = (byte[])image.Clone();

        /// <inheritdoc />
        public bool TryRead(int offset, int width, out uint value)
        {
            uint result = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                result = (result << 8) | _bytes[offset + b];
            }

            value = result;
            return true;
        }

        /// <inheritdoc />
        public bool TryWrite(int offset, int width, uint value)
        {
            for (int b = 0; b < width; b++)
            {
                _bytes[offset + b] = (byte)(value >> (8 * b));
            }

            return true;
        }
    }

    /// <summary>An audit sink that only counts, so denied writes cost what the firewall costs (records, no events).</summary>
    public sealed class CountingAuditSink : IAuditRecordSink
    {
        /// <summary>Events seen.</summary>
        public long Count { get; private set; }

        /// <inheritdoc />
        public void Record(AuditEvent auditEvent) => Count++;

        /// <inheritdoc />
        public void Record(in AuditRecord record) => Count++;
    }
}
