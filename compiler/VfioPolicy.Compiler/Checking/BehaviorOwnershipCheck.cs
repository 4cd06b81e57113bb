using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Binding;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Checking
{
    /// <summary>
    /// The handler applies a write (shadow, then hardware), then calls the behavior with the consumer's value. Two
    /// kinds of behavior follow from what the owned bits hold:
    /// <list type="bullet">
    /// <item><description><c>bar</c>, <c>rom</c>, <c>msi</c>, <c>msix</c> keep state that must never reach the
    /// hardware from the consumer (the consumer's BAR address, its MSI enable and address): their owned bits must be
    /// virtualized (VP0605), and their registers must have no passthrough-writable bit at all (VP0604).</description></item>
    /// <item><description><c>flr</c> must be virtualized too: Initiate FLR passed through would reset the function in
    /// hardware before the runtime could save what a reset loses; the kernel virtualizes <c>BCR_FLR</c> and AF
    /// <c>FLR</c> for the same reason and resets through <c>pci_try_reset_function</c>.</description></item>
    /// <item><description><c>command</c> and <c>pm</c> observe: the kernel lets IO/MEMORY reach the hardware and
    /// reads the power state from it, and its handlers act on the value written. Their owned bits may be virtualized
    /// or passthrough (read-only or writable); a denied bit or one left to the defaults is still an error, because
    /// a behavior acting on a write the policy drops, or on bits no rule was written for, is a mistake.</description></item>
    /// </list>
    /// </summary>
    internal static class BehaviorOwnershipCheck
    {
        public static void Run(BoundPolicy policy, DiagnosticBag diagnostics)
        {
            foreach (BoundBlock block in policy.AllBlocks())
            {
                foreach (BoundRegister register in block.Registers)
                {
                    if (register.Behavior != Behavior.None && register.BehaviorSpan != null)
                    {
                        Check(block, register, register.BehaviorSpan, diagnostics);
                    }
                }
            }
        }

        private static void Check(BoundBlock block, BoundRegister register, SourceSpan span, DiagnosticBag diagnostics)
        {
            string behaviorName = BehaviorNames.Name(register.Behavior);
            bool protocolRegister = register.Behavior == Behavior.Bar || register.Behavior == Behavior.Rom || register.Behavior == Behavior.Msi || register.Behavior == Behavior.Msix;
            if (protocolRegister)
            {
                uint writable = 0;
                BoundRule? first = null;
                for (int bit = 0; bit < register.Owners.Length; bit++)
                {
                    BoundRule? owner = register.Owners[bit];
                    if (owner != null && owner.Action.Disposition == Disposition.Passthrough && owner.Action.Write == WriteSemantics.ReadWrite)
                    {
                        writable |= 1u << bit;
                        first ??= owner;
                    }
                }

                if (first != null)
                {
                    diagnostics.Report(
                        CompilerDiagnostics.BehaviorRegisterWritable,
                        span,
                        "register " + register.DisplayName + " is owned by behavior '" + behaviorName + "', so no bit may be passthrough-writable; " + Formatting.Bits(writable) + " are ('" + first.Origin.Text + "', " + first.Origin.Location + ")");
                }
            }

            uint owned = OwnedBits(block, register) & register.FullMask & ~register.ChainMask;
            uint notVirtualized = 0;
            string? reason = null;
            for (int bit = 0; bit < register.Owners.Length; bit++)
            {
                if ((owned & (1u << bit)) == 0)
                {
                    continue;
                }

                BoundRule? owner = register.Owners[bit];
                if (owner == null || !Allowed(register.Behavior, owner.Action.Disposition))
                {
                    notVirtualized |= 1u << bit;
                    reason ??= owner == null
                        ? "bit " + Formatting.Decimal(bit) + " is left to the defaults"
                        : "bit " + Formatting.Decimal(bit) + " is '" + owner.Origin.Text + "' (" + owner.Origin.Location + ")";
                }
            }

            if (notVirtualized != 0)
            {
                diagnostics.Report(
                    CompilerDiagnostics.OwnedBitsNotVirtualized,
                    span,
                    "behavior '" + behaviorName + "' owns " + Formatting.Bits(owned) + " of " + register.DisplayName + ", which must be "
                    + (Observes(register.Behavior) ? "virtualized or passthrough (the behavior observes the written value)" : "virtualized") + "; " + reason);
            }
        }

        /// <summary>True for the behaviors that act on the written value and may own passthrough bits (command, pm).</summary>
        internal static bool Observes(Behavior behavior) => behavior == Behavior.Command || behavior == Behavior.Pm;

        private static bool Allowed(Behavior behavior, Disposition disposition)
            => disposition == Disposition.Virtualize || (disposition == Disposition.Passthrough && Observes(behavior));

        /// <summary>The bits of <paramref name="register"/> the behavior reads from the shadow (bit positions from linux/pci_regs.h).</summary>
        internal static uint OwnedBits(BoundBlock block, BoundRegister register)
        {
            switch (register.Behavior)
            {
                case Behavior.Rom:
                    // PCI_ROM_ADDRESS_ENABLE and PCI_ROM_ADDRESS_MASK; bits 1..10 are reserved.
                    return 0x1u | 0xffff_f800u;
                case Behavior.Command:
                    // PCI_COMMAND_IO, PCI_COMMAND_MEMORY, PCI_COMMAND_INTX_DISABLE.
                    return 0x1u | 0x2u | 0x400u;
                case Behavior.Msi when register.Name == "FLAGS":
                    // PCI_MSI_FLAGS_ENABLE and PCI_MSI_FLAGS_QSIZE (Multiple Message Enable).
                    return 0x1u | 0x70u;
                case Behavior.Msix:
                    // PCI_MSIX_FLAGS_MASKALL and PCI_MSIX_FLAGS_ENABLE.
                    return 0x4000u | 0x8000u;
                case Behavior.Flr when !block.Extended && block.Id == CapabilityIds.PciExpress && register.Name == "DEVCTL":
                    // PCI_EXP_DEVCTL_BCR_FLR.
                    return 0x8000u;
                case Behavior.Flr when !block.Extended && block.Id == CapabilityIdAf && register.Name == "CTRL":
                    // PCI_AF_CTRL_FLR.
                    return 0x1u;
                case Behavior.Pm:
                    // PCI_PM_CTRL_STATE_MASK.
                    return 0x3u;
                default:
                    // bar, msi address/data/mask registers, and any other binding: the whole register.
                    return uint.MaxValue;
            }
        }

        // PCI_CAP_ID_AF; CapabilityIds names no constant for it.
        private const int CapabilityIdAf = 0x13;
    }
}
