using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Compiler.Diff;

namespace VfioPolicy.Compiler.Binding
{
    /// <summary>Register conditions as an author wrote them, by catalogue field (<c>FLAGS.VERS != 1</c>), for diagnostics and diffs.</summary>
    internal static class ConditionNames
    {
        /// <summary>
        /// The conditions by the catalogue's field names: <c>FLAGS.ADDR_64 = 1, FLAGS.MASKBIT = 1</c>. A condition whose
        /// bits are not whole catalogue fields of one register (or a block without a catalogue), or an inequality over
        /// several fields, keeps the raw form <c>[0x02 u16] &amp; 0x3 = 0x2</c>.
        /// </summary>
        public static string Describe(EquatableArray<RegisterCondition> conditions, BlockCatalog? catalogue)
            => string.Join(", ", conditions
                .OrderBy(c => c.Offset).ThenBy(c => c.Width).ThenBy(c => c.NotEqual).ThenBy(c => c.Mask).ThenBy(c => c.Value)
                .Select(c => NamedCondition(c, catalogue) ?? Raw(c)));

        private static string? NamedCondition(RegisterCondition condition, BlockCatalog? catalogue)
        {
            RegisterInfo? register = catalogue?.Registers.FirstOrDefault(r => r.Offset == condition.Offset && r.Width == condition.Width);
            if (register is null)
            {
                return null;
            }

            var parts = new List<string>();
            uint covered = 0;
            foreach (FieldInfo field in register.Fields.OrderBy(f => f.LowBit))
            {
                uint mask = field.Mask;
                if ((condition.Mask & mask) == 0)
                {
                    continue;
                }

                if ((condition.Mask & mask) != mask)
                {
                    return null;
                }

                covered |= mask;
                parts.Add(register.Name + "." + field.Name + (condition.NotEqual ? " != " : " = ") + DiffText.Number((condition.Value & mask) >> field.LowBit, field.HighBit - field.LowBit + 1));
            }

            // An inequality over several fields is one test of all of them together: no per-field spelling says that.
            return covered == condition.Mask && (!condition.NotEqual || parts.Count == 1) ? string.Join(", ", parts) : null;
        }

        /// <summary>One condition in its raw form, as the bits it tests: <c>[0x02 u16] &amp; 0x80 = 0x80</c>.</summary>
        public static string Raw(RegisterCondition c)
            => "[" + DiffText.Hex(c.Offset) + " " + DiffText.WidthName(c.Width) + "] & 0x" + c.Mask.ToString("x", CultureInfo.InvariantCulture)
               + (c.NotEqual ? " != 0x" : " = 0x") + c.Value.ToString("x", CultureInfo.InvariantCulture);
    }
}
