namespace VfioPolicy.GuestTests
{
    /// <summary>edu's BAR0 registers (QEMU docs/specs/edu.rst).</summary>
    internal static class EduRegisters
    {
        public const int Identification = 0x00;
        public const int Liveness = 0x04;
        public const int Factorial = 0x08;
        public const int Status = 0x20;
        public const int RaiseInterrupt = 0x60;
        public const int AcknowledgeInterrupt = 0x64;

        /// <summary>The DMA engine: source, destination and count (8 bytes each), then the command (bit 0 start, bit 1 to host memory, bit 2 interrupt).</summary>
        public const long DmaSource = 0x80;
        public const long DmaDestination = 0x88;
        public const long DmaCount = 0x90;
        public const long DmaCommand = 0x98;

        /// <summary>Where edu's DMA buffer lies in its own address space (4 KiB).</summary>
        public const ulong DmaBuffer = 0x40000;
    }
}
