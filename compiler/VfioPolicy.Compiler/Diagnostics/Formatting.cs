using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.Compiler.Diagnostics
{
    /// <summary>How numbers, widths and bit sets appear in messages: hex offsets, <c>u16</c> widths, <c>bits 0..3, 7</c>.</summary>
    internal static class Formatting
    {
        public static string Hex(long value) => "0x" + value.ToString(value > 0xff ? "x3" : "x2", CultureInfo.InvariantCulture);

        public static string Hex(ulong value) => "0x" + value.ToString(value > 0xff ? "x3" : "x2", CultureInfo.InvariantCulture);

        public static string Decimal(long value) => value.ToString(CultureInfo.InvariantCulture);

        public static string WidthName(int bytes) => "u" + Decimal(bytes * 8);

        /// <summary><c>bit 3</c>, <c>bits 0..15</c> or <c>bits 0..1, 10</c>.</summary>
        public static string Bits(uint mask)
        {
            var parts = new List<string>();
            int bitCount = 0;
            int bit = 0;
            while (bit < 32)
            {
                if ((mask & (1u << bit)) == 0)
                {
                    bit++;
                    continue;
                }

                int low = bit;
                while (bit < 32 && (mask & (1u << bit)) != 0)
                {
                    bit++;
                }

                int high = bit - 1;
                bitCount += high - low + 1;
                parts.Add(low == high ? Decimal(low) : Decimal(low) + ".." + Decimal(high));
            }

            return (bitCount == 1 ? "bit " : "bits ") + string.Join(", ", parts);
        }
    }
}
