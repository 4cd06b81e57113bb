using System;
using System.IO;
using BenchmarkDotNet.Attributes;
using Microsoft.Win32.SafeHandles;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// A passthrough read (VENDOR_ID) through the firewall over a file-backed config space, against the bare
    /// <c>pread</c> it makes: the syscall is the physical floor, the difference is what the firewall adds.
    /// </summary>
    [MemoryDiagnoser]
    public class PassthroughBenchmarks
    {
        private string _path = null!;
        private FileHardware _bare = null!;
        private FileHardware _generatedHardware = null!;
        private FileHardware _interpreterHardware = null!;
        private IConfigSpaceFirewall _generated = null!;
        private IConfigSpaceFirewall _interpreter = null!;

        /// <summary>Writes the device's config space to a temporary file and opens the firewalls over it.</summary>
        [GlobalSetup]
        public void Setup()
        {
            ConfigSpaceImage image = BenchDevice.Image();
            _path = Path.Combine(Path.GetTempPath(), "vfiopolicy-bench-" + Guid.NewGuid().ToString("N") + ".config");
            File.WriteAllBytes(_path, image.Bytes);
            ICompiledPolicy policy = BenchDevice.Policy();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, image.Bytes, image.WalkCapabilities());
            _bare = new FileHardware(_path);
            _generatedHardware = new FileHardware(_path);
            _interpreterHardware = new FileHardware(_path);
            _generated = policy.Open(bound, _generatedHardware, new CountingAuditSink());
            _interpreter = new PolicyInterpreter(bound, _interpreterHardware, new CountingAuditSink());
        }

        /// <summary>Closes the files and deletes the temporary one.</summary>
        [GlobalCleanup]
        public void Cleanup()
        {
            _bare.Dispose();
            _generatedHardware.Dispose();
            _interpreterHardware.Dispose();
            File.Delete(_path);
        }

        /// <summary>The bare 2-byte pread at offset 0.</summary>
        [Benchmark(Baseline = true)]
        public uint BarePread()
        {
            _bare.TryRead(BenchDevice.VendorId, 2, out uint value);
            return value;
        }

        /// <summary>The same read through the generated handler (VENDOR_ID is passthrough: one pread).</summary>
        [Benchmark]
        public uint PassthroughGenerated()
        {
            _generated.Read(BenchDevice.VendorId, 2, out uint value);
            return value;
        }

        /// <summary>The same read through the interpreter.</summary>
        [Benchmark]
        public uint PassthroughInterpreter()
        {
            _interpreter.Read(BenchDevice.VendorId, 2, out uint value);
            return value;
        }
    }

    /// <summary>Config space in a file, read and written with positional syscalls (<c>pread</c>/<c>pwrite</c>), as VFIO's config region is.</summary>
    public sealed class FileHardware : IHardwareConfig, IDisposable
    {
        private readonly SafeFileHandle _handle;
        private readonly byte[] _buffer = new byte[4];

        /// <summary>Opens <paramref name="path"/> for reading and writing.</summary>
        public FileHardware(string path) => _handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);

        /// <inheritdoc />
        public bool TryRead(int offset, int width, out uint value)
        {
            value = 0;
            if (RandomAccess.Read(_handle, _buffer.AsSpan(0, width), offset) != width)
            {
                return false;
            }

            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | _buffer[b];
            }

            return true;
        }

        /// <inheritdoc />
        public bool TryWrite(int offset, int width, uint value)
        {
            for (int b = 0; b < width; b++)
            {
                _buffer[b] = (byte)(value >> (8 * b));
            }

            RandomAccess.Write(_handle, _buffer.AsSpan(0, width), offset);
            return true;
        }

        /// <inheritdoc />
        public void Dispose() => _handle.Dispose();
    }
}
