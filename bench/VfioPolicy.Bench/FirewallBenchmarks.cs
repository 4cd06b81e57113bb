using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;

namespace VfioPolicy.Bench
{
    /// <summary>
    /// One consumer access through each engine, side by side per access kind (a category; the interpreter is the
    /// baseline of each, so the Ratio column compares engines measured in the same run). All three run on the same
    /// binding over <see cref="LeanHardware"/>, with behaviors off; the denied write records one audit event per call.
    /// </summary>
    [MemoryDiagnoser]
    [GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
    [CategoriesColumn]
    public class FirewallBenchmarks
    {
        private IConfigSpaceFirewall _interpreter = null!;
        private IConfigSpaceFirewall _generated = null!;
        private IConfigSpaceFirewall _handWritten = null!;

        /// <summary>Opens the three firewalls, each on its own copy of the device.</summary>
        [GlobalSetup]
        public void Setup()
        {
            ConfigSpaceImage image = BenchDevice.Image();
            ICompiledPolicy policy = BenchDevice.Policy();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, image.Bytes, image.WalkCapabilities());
            _interpreter = new PolicyInterpreter(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
            _generated = policy.Open(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
            _handWritten = new HandWrittenFirewall(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
        }

        /// <summary>Read VENDOR_ID (passthrough).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("read VENDOR_ID (passthrough)")]
        public uint ReadVendorInterpreter() => Read(_interpreter, BenchDevice.VendorId, 2);

        /// <summary>Read VENDOR_ID (passthrough).</summary>
        [Benchmark, BenchmarkCategory("read VENDOR_ID (passthrough)")]
        public uint ReadVendorGenerated() => Read(_generated, BenchDevice.VendorId, 2);

        /// <summary>Read VENDOR_ID (passthrough).</summary>
        [Benchmark, BenchmarkCategory("read VENDOR_ID (passthrough)")]
        public uint ReadVendorHandWritten() => Read(_handWritten, BenchDevice.VendorId, 2);

        /// <summary>Read BAR0 (virtualized).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0Interpreter() => Read(_interpreter, BenchDevice.Bar0, 4);

        /// <summary>Read BAR0 (virtualized).</summary>
        [Benchmark, BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0Generated() => Read(_generated, BenchDevice.Bar0, 4);

        /// <summary>Read BAR0 (virtualized).</summary>
        [Benchmark, BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0HandWritten() => Read(_handWritten, BenchDevice.Bar0, 4);

        /// <summary>Write BAR0 all-ones (sizing; virtualized).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("write BAR0 (virtualized)")]
        public AccessStatus WriteBar0Interpreter() => _interpreter.Write(BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>Write BAR0 all-ones (sizing; virtualized).</summary>
        [Benchmark, BenchmarkCategory("write BAR0 (virtualized)")]
        public AccessStatus WriteBar0Generated() => _generated.Write(BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>Write BAR0 all-ones (sizing; virtualized).</summary>
        [Benchmark, BenchmarkCategory("write BAR0 (virtualized)")]
        public AccessStatus WriteBar0HandWritten() => _handWritten.Write(BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>Read COMMAND (mixed virtualized/passthrough).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("read COMMAND (mixed)")]
        public uint ReadCommandInterpreter() => Read(_interpreter, BenchDevice.Command, 2);

        /// <summary>Read COMMAND (mixed virtualized/passthrough).</summary>
        [Benchmark, BenchmarkCategory("read COMMAND (mixed)")]
        public uint ReadCommandGenerated() => Read(_generated, BenchDevice.Command, 2);

        /// <summary>Read COMMAND (mixed virtualized/passthrough).</summary>
        [Benchmark, BenchmarkCategory("read COMMAND (mixed)")]
        public uint ReadCommandHandWritten() => Read(_handWritten, BenchDevice.Command, 2);

        /// <summary>Write COMMAND = MEMORY|MASTER (virtualized bit + passthrough bit: a hardware read-modify-write).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("write COMMAND (mixed)")]
        public AccessStatus WriteCommandInterpreter() => _interpreter.Write(BenchDevice.Command, 2, 0x0006);

        /// <summary>Write COMMAND = MEMORY|MASTER.</summary>
        [Benchmark, BenchmarkCategory("write COMMAND (mixed)")]
        public AccessStatus WriteCommandGenerated() => _generated.Write(BenchDevice.Command, 2, 0x0006);

        /// <summary>Write COMMAND = MEMORY|MASTER.</summary>
        [Benchmark, BenchmarkCategory("write COMMAND (mixed)")]
        public AccessStatus WriteCommandHandWritten() => _handWritten.Write(BenchDevice.Command, 2, 0x0006);

        /// <summary>Write all-ones to the reserved dword at 0x38 (denied, audited: one event per call).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("write 0x38 (denied, audited)")]
        public AccessStatus WriteDeniedInterpreter() => _interpreter.Write(HandWrittenFirewall.Denied, 4, 0xffff_ffffu);

        /// <summary>Write all-ones to the reserved dword at 0x38.</summary>
        [Benchmark, BenchmarkCategory("write 0x38 (denied, audited)")]
        public AccessStatus WriteDeniedGenerated() => _generated.Write(HandWrittenFirewall.Denied, 4, 0xffff_ffffu);

        /// <summary>Write all-ones to the reserved dword at 0x38.</summary>
        [Benchmark, BenchmarkCategory("write 0x38 (denied, audited)")]
        public AccessStatus WriteDeniedHandWritten() => _handWritten.Write(HandWrittenFirewall.Denied, 4, 0xffff_ffffu);

        /// <summary>Read the MSI message address (virtualized).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiInterpreter() => Read(_interpreter, BenchDevice.MsiAddress, 4);

        /// <summary>Read the MSI message address.</summary>
        [Benchmark, BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiGenerated() => Read(_generated, BenchDevice.MsiAddress, 4);

        /// <summary>Read the MSI message address.</summary>
        [Benchmark, BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiHandWritten() => Read(_handWritten, BenchDevice.MsiAddress, 4);

        /// <summary>Write the MSI message address (virtualized).</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("write MSI address (virtualized)")]
        public AccessStatus WriteMsiInterpreter() => _interpreter.Write(BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>Write the MSI message address.</summary>
        [Benchmark, BenchmarkCategory("write MSI address (virtualized)")]
        public AccessStatus WriteMsiGenerated() => _generated.Write(BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>Write the MSI message address.</summary>
        [Benchmark, BenchmarkCategory("write MSI address (virtualized)")]
        public AccessStatus WriteMsiHandWritten() => _handWritten.Write(BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>One 4-byte write over DEVCTL (virtualized) and DEVSTA (passthrough RW1C): a hardware read-modify-write.</summary>
        [Benchmark(Baseline = true), BenchmarkCategory("write DEVCTL+DEVSTA (mixed, 4 bytes)")]
        public AccessStatus WriteDevCtlInterpreter() => _interpreter.Write(BenchDevice.DevCtl, 4, 0x000f_2810u);

        /// <summary>One 4-byte write over DEVCTL and DEVSTA.</summary>
        [Benchmark, BenchmarkCategory("write DEVCTL+DEVSTA (mixed, 4 bytes)")]
        public AccessStatus WriteDevCtlGenerated() => _generated.Write(BenchDevice.DevCtl, 4, 0x000f_2810u);

        /// <summary>One 4-byte write over DEVCTL and DEVSTA.</summary>
        [Benchmark, BenchmarkCategory("write DEVCTL+DEVSTA (mixed, 4 bytes)")]
        public AccessStatus WriteDevCtlHandWritten() => _handWritten.Write(BenchDevice.DevCtl, 4, 0x000f_2810u);

        private static uint Read(IConfigSpaceFirewall firewall, int offset, int length)
        {
            firewall.Read(offset, length, out uint value);
            return value;
        }
    }
}
