using VfioPolicy.AccessModel.Model;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Compiler.Binding
{
    /// <summary>
    /// Which rules may cover a capability's chain link (ID and next pointer, the 4-byte header of an extended one).
    /// The chain owns those bits so that the walk, hiding and the Capabilities List stay consistent; two actions keep
    /// that promise while saying what the Linux kernel does there. <c>virtualize ro write-hw</c> keeps the chain's
    /// value for reads (a next pointer still skips hidden capabilities) and sends writes to the hardware, as
    /// <c>vfio_raw_config_write</c> does for vendor-specific capabilities. <c>passthrough ro</c> reads the ID live,
    /// as the kernel's PM, VPD, PCI-X, MSI, PCI Express and AF tables do; hiding never rewrites an ID, so only the
    /// next pointer is out of its reach.
    /// </summary>
    internal static class ChainLinkRules
    {
        /// <summary>How diagnostics say what may cover chain link bits.</summary>
        public const string WhatMayCoverThem = "only 'virtualize ro write-hw' (any link bit) or 'passthrough ro' (the ID) may cover them";

        /// <summary>The link bits <paramref name="action"/> may cover, out of <paramref name="chainMask"/>; 0 for every other action.</summary>
        public static uint AllowedLinkBits(BitAction action, bool hardwareRw1c, uint chainMask, uint idMask)
        {
            if (hardwareRw1c)
            {
                return 0;
            }

            if (action.Disposition == Disposition.Virtualize && action.Write == WriteSemantics.WriteHardware && action.Initial == InitialValueSource.Hardware)
            {
                return chainMask;
            }

            return action.Disposition == Disposition.Passthrough && action.Write == WriteSemantics.ReadOnly ? chainMask & idMask : 0;
        }

        /// <summary>
        /// True when a register lying wholly in the link has some action (its own or a field's) that could cover link
        /// bits; the bits themselves are checked once the actions are bound.
        /// </summary>
        public static bool MayCoverLinkBits(RegisterStatement statement)
        {
            if (statement.Action != null && Candidate(statement.Action))
            {
                return true;
            }

            foreach (FieldStatement field in statement.Fields)
            {
                if (Candidate(field.Action))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>The ID bits of a register at <paramref name="offset"/> of <paramref name="block"/>: the standard ID byte, or an extended capability's ID and version.</summary>
        public static uint IdMask(BoundBlock block, int offset, int width)
        {
            if (block.ChainBytes == 0 || offset < 0 || offset >= 4)
            {
                return 0;
            }

            uint idWord = block.Extended ? 0x000F_FFFFu : 0x0000_00FFu;
            uint fullMask = width >= 4 ? uint.MaxValue : (1u << (width * 8)) - 1;
            return (idWord >> (offset * 8)) & fullMask;
        }

        private static bool Candidate(ActionSyntax action)
            => (action.Kind == ActionKind.Virtualize && action.WriteHardware) || (action.Kind == ActionKind.Passthrough && action.Mode?.Text == "ro");
    }
}
