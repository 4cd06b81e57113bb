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
    /// The virtualized dword categories also measure <see cref="FloorFirewall"/>, the least any engine could spend.
    /// </summary>
    [MemoryDiagnoser]
    [GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
    [CategoriesColumn]
    public class FirewallBenchmarks
    {
        private IConfigSpaceFirewall _interpreter = null!;
        private IConfigSpaceFirewall _generated = null!;
        private IConfigSpaceFirewall _handWritten = null!;
        private IConfigSpaceFirewall _floor = null!;

        /// <summary>Opens the three firewalls, each on its own copy of the device.</summary>
        [GlobalSetup]
        public void Setup()
        {
            ConfigSpaceImage image = BenchDevice.Image();
            ICompiledPolicy policy = BenchDevice.Policy();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, image.Bytes, image.WalkCapabilities());
            _interpreter = new PolicyInterpreter(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
            _generated = policy.Open(bound, new LeanHardware(image.Bytes), new CountingAuditSink());
            _handWritten = new HandWrittenFirewall<BenchmarkedRegisters>(bound, image, new LeanHardware(image.Bytes), new CountingAuditSink());
            _floor = new FloorFirewall(bound.Size);
        }

        /// <summary>Read VENDOR_ID (passthrough).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read VENDOR_ID (passthrough)")]
        public uint ReadVendorInterpreter() => Repeated.Read(_interpreter, BenchDevice.VendorId, 2);

        /// <summary>Read VENDOR_ID (passthrough).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read VENDOR_ID (passthrough)")]
        public uint ReadVendorGenerated() => Repeated.Read(_generated, BenchDevice.VendorId, 2);

        /// <summary>Read VENDOR_ID (passthrough).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read VENDOR_ID (passthrough)")]
        public uint ReadVendorHandWritten() => Repeated.Read(_handWritten, BenchDevice.VendorId, 2);

        /// <summary>Read BAR0 (virtualized).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0Interpreter() => Repeated.Read(_interpreter, BenchDevice.Bar0, 4);

        /// <summary>Read BAR0 (virtualized).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0Generated() => Repeated.Read(_generated, BenchDevice.Bar0, 4);

        /// <summary>Read BAR0 (virtualized).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0HandWritten() => Repeated.Read(_handWritten, BenchDevice.Bar0, 4);

        /// <summary>The same access through <see cref="FloorFirewall"/>: the least any engine could spend on it.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read BAR0 (virtualized)")]
        public uint ReadBar0Floor() => Repeated.Read(_floor, BenchDevice.Bar0, 4);

        /// <summary>Write BAR0 all-ones (sizing; virtualized).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write BAR0 (virtualized)")]
        public uint WriteBar0Interpreter() => Repeated.Write(_interpreter, BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>Write BAR0 all-ones (sizing; virtualized).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write BAR0 (virtualized)")]
        public uint WriteBar0Generated() => Repeated.Write(_generated, BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>Write BAR0 all-ones (sizing; virtualized).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write BAR0 (virtualized)")]
        public uint WriteBar0HandWritten() => Repeated.Write(_handWritten, BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>The same access through <see cref="FloorFirewall"/>: the least any engine could spend on it.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write BAR0 (virtualized)")]
        public uint WriteBar0Floor() => Repeated.Write(_floor, BenchDevice.Bar0, 4, 0xffff_ffffu);

        /// <summary>Read COMMAND (mixed virtualized/passthrough).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read COMMAND (mixed)")]
        public uint ReadCommandInterpreter() => Repeated.Read(_interpreter, BenchDevice.Command, 2);

        /// <summary>Read COMMAND (mixed virtualized/passthrough).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read COMMAND (mixed)")]
        public uint ReadCommandGenerated() => Repeated.Read(_generated, BenchDevice.Command, 2);

        /// <summary>Read COMMAND (mixed virtualized/passthrough).</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read COMMAND (mixed)")]
        public uint ReadCommandHandWritten() => Repeated.Read(_handWritten, BenchDevice.Command, 2);

        /// <summary>Write COMMAND = MEMORY|MASTER (virtualized bit + passthrough bit: a hardware read-modify-write).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write COMMAND (mixed)")]
        public uint WriteCommandInterpreter() => Repeated.Write(_interpreter, BenchDevice.Command, 2, 0x0006);

        /// <summary>Write COMMAND = MEMORY|MASTER.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write COMMAND (mixed)")]
        public uint WriteCommandGenerated() => Repeated.Write(_generated, BenchDevice.Command, 2, 0x0006);

        /// <summary>Write COMMAND = MEMORY|MASTER.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write COMMAND (mixed)")]
        public uint WriteCommandHandWritten() => Repeated.Write(_handWritten, BenchDevice.Command, 2, 0x0006);

        /// <summary>Write all-ones to the reserved dword at 0x38 (denied, audited: one event per call).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write 0x38 (denied, audited)")]
        public uint WriteDeniedInterpreter() => Repeated.Write(_interpreter, BenchDevice.Denied, 4, 0xffff_ffffu);

        /// <summary>Write all-ones to the reserved dword at 0x38.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write 0x38 (denied, audited)")]
        public uint WriteDeniedGenerated() => Repeated.Write(_generated, BenchDevice.Denied, 4, 0xffff_ffffu);

        /// <summary>Write all-ones to the reserved dword at 0x38.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write 0x38 (denied, audited)")]
        public uint WriteDeniedHandWritten() => Repeated.Write(_handWritten, BenchDevice.Denied, 4, 0xffff_ffffu);

        /// <summary>Read the MSI message address (virtualized).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiInterpreter() => Repeated.Read(_interpreter, BenchDevice.MsiAddress, 4);

        /// <summary>Read the MSI message address.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiGenerated() => Repeated.Read(_generated, BenchDevice.MsiAddress, 4);

        /// <summary>Read the MSI message address.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiHandWritten() => Repeated.Read(_handWritten, BenchDevice.MsiAddress, 4);

        /// <summary>The same access through <see cref="FloorFirewall"/>: the least any engine could spend on it.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("read MSI address (virtualized)")]
        public uint ReadMsiFloor() => Repeated.Read(_floor, BenchDevice.MsiAddress, 4);

        /// <summary>Write the MSI message address (virtualized).</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write MSI address (virtualized)")]
        public uint WriteMsiInterpreter() => Repeated.Write(_interpreter, BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>Write the MSI message address.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write MSI address (virtualized)")]
        public uint WriteMsiGenerated() => Repeated.Write(_generated, BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>Write the MSI message address.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write MSI address (virtualized)")]
        public uint WriteMsiHandWritten() => Repeated.Write(_handWritten, BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>The same access through <see cref="FloorFirewall"/>: the least any engine could spend on it.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write MSI address (virtualized)")]
        public uint WriteMsiFloor() => Repeated.Write(_floor, BenchDevice.MsiAddress, 4, 0xfee0_0000u);

        /// <summary>One 4-byte write over DEVCTL (virtualized) and DEVSTA (passthrough RW1C): a hardware read-modify-write.</summary>
        [Benchmark(Baseline = true, OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write DEVCTL+DEVSTA (mixed, 4 bytes)")]
        public uint WriteDevCtlInterpreter() => Repeated.Write(_interpreter, BenchDevice.DevCtl, 4, 0x000f_2810u);

        /// <summary>One 4-byte write over DEVCTL and DEVSTA.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write DEVCTL+DEVSTA (mixed, 4 bytes)")]
        public uint WriteDevCtlGenerated() => Repeated.Write(_generated, BenchDevice.DevCtl, 4, 0x000f_2810u);

        /// <summary>One 4-byte write over DEVCTL and DEVSTA.</summary>
        [Benchmark(OperationsPerInvoke = Repeated.Times), BenchmarkCategory("write DEVCTL+DEVSTA (mixed, 4 bytes)")]
        public uint WriteDevCtlHandWritten() => Repeated.Write(_handWritten, BenchDevice.DevCtl, 4, 0x000f_2810u);
    }
}
