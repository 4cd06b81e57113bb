using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Binding;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Checking
{
    /// <summary>
    /// A behavior works on the shadow: the handler updates it, then calls the behavior, which reads what the
    /// consumer asked for there. So the bits a behavior owns must be virtualized by an explicit rule (VP0605), and
    /// the registers of the address-and-interrupt protocols (bar, rom, msi, msix) must have no passthrough-writable
    /// bit at all (VP0604): a consumer write reaching the hardware there would program BAR addresses or interrupt
    /// targets behind the runtime's back.
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
                if (owner == null || owner.Action.Disposition != Disposition.Virtualize)
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
                    "behavior '" + behaviorName + "' owns " + Formatting.Bits(owned) + " of " + register.DisplayName + ", which must be virtualized; " + reason);
            }
        }

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
