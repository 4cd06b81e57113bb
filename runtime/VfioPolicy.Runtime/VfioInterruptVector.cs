using System;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>Which interrupt mechanism the device currently signals through.</summary>
    public enum VfioInterruptMode
    {
        /// <summary>No interrupts are set up (INTx disabled by the consumer, or the device has none).</summary>
        None,

        /// <summary>The legacy INTx line.</summary>
        Intx,

        /// <summary>MSI, with as many vectors as the consumer's Multiple Message Enable asks (capped by the device).</summary>
        Msi,

        /// <summary>MSI-X, per vector.</summary>
        Msix,
    }

    /// <summary>Where an MSI or MSI-X vector's message goes, as the consumer programmed it (<see cref="VfioDevice.VectorRouteChanged"/>).</summary>
    /// <param name="IrqIndex">The VFIO IRQ index (MSI or MSI-X).</param>
    /// <param name="Vector">The vector within the index.</param>
    /// <param name="Address">The message address.</param>
    /// <param name="Data">The message data.</param>
    /// <param name="Armed">True while VFIO signals the vector's eventfd (enabled and not masked).</param>
    public sealed record VfioVectorRoute(int IrqIndex, int Vector, ulong Address, uint Data, bool Armed);

    /// <summary>
    /// One interrupt vector as the consumer receives it: an eventfd the kernel signals. The eventfd exists for the
    /// device's whole lifetime (subscribe once); whether VFIO signals it depends on the consumer's programming.
    /// </summary>
    public sealed class VfioInterruptVector
    {
        private readonly IVfioKernel _kernel;

        internal VfioInterruptVector(IVfioKernel kernel, int irqIndex, int vector, int eventFd)
        {
            _kernel = kernel;
            IrqIndex = irqIndex;
            Vector = vector;
            EventFd = eventFd;
        }

        /// <summary>The VFIO IRQ index (<see cref="VfioConstants.IntxIrqIndex"/>, MSI, MSI-X, ERR or REQ).</summary>
        public int IrqIndex { get; }

        /// <summary>The vector within the index.</summary>
        public int Vector { get; }

        /// <summary>The eventfd the kernel signals.</summary>
        public int EventFd { get; }

        /// <summary>True while VFIO is set up to signal this vector (enabled and not masked by the consumer).</summary>
        public bool Armed { get; internal set; }

        /// <summary>The consumer's message address (MSI/MSI-X), for information: delivery is through <see cref="EventFd"/>.</summary>
        public ulong MessageAddress { get; internal set; }

        /// <summary>The consumer's message data (MSI/MSI-X), for information.</summary>
        public uint MessageData { get; internal set; }

        /// <summary>Reads and clears the eventfd counter: how many interrupts arrived since the last call (0: none).</summary>
        public ulong Consume() => _kernel.TryReadEventFd(EventFd, out ulong count) ? count : 0;

        /// <summary>Waits up to <paramref name="timeoutMilliseconds"/> for an interrupt and consumes it; false on timeout.</summary>
        public bool Wait(int timeoutMilliseconds)
        {
            Span<int> fds = stackalloc int[1] { EventFd };
            Span<bool> ready = stackalloc bool[1];
            long deadline = Environment.TickCount64 + Math.Max(0, timeoutMilliseconds);
            while (true)
            {
                int remaining = timeoutMilliseconds < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
                if (_kernel.Poll(fds, remaining, ready) > 0 && Consume() > 0)
                {
                    return true;
                }

                // A readable eventfd another reader drained first is not an interrupt for this caller: wait again.
                if (timeoutMilliseconds >= 0 && Environment.TickCount64 >= deadline)
                {
                    return false;
                }
            }
        }
    }
}
