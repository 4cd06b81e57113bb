using System;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Binding
{
    /// <summary>
    /// Decides whether a policy's <c>match</c> lines select a device, and how specifically, so that among several
    /// matching policies the most specific one can be chosen.
    /// </summary>
    /// <remarks>
    /// A policy's match lines are alternatives; the criteria of one line must all hold. A line without criteria
    /// (<c>match any</c>) selects every device. A policy with no match lines at all selects no device on its own:
    /// the language says <c>match any</c> explicitly when that is meant.
    /// </remarks>
    public static class PolicyMatcher
    {
        /// <summary>True when some match line of <paramref name="model"/> holds for <paramref name="identity"/>.</summary>
        public static bool Matches(PolicyModel model, DeviceIdentity identity) => Specificity(model, identity) >= 0;

        /// <summary>True when every criterion of <paramref name="match"/> holds for <paramref name="identity"/> (no criteria: any device).</summary>
        public static bool Matches(DeviceMatch match, DeviceIdentity identity)
        {
            if (match is null)
            {
                throw new ArgumentNullException(nameof(match));
            }

            if (identity is null)
            {
                throw new ArgumentNullException(nameof(identity));
            }

            foreach (MatchCriterion criterion in match.Criteria)
            {
                if (!Holds(criterion, identity))
                {
                    return false;
                }
            }

            return true;
        }

        /// <summary>
        /// How specifically <paramref name="model"/> selects <paramref name="identity"/>: the number of identity bits
        /// tested by its most specific line that holds (0 for <c>match any</c>), or -1 when no line holds.
        /// </summary>
        public static int Specificity(PolicyModel model, DeviceIdentity identity)
        {
            if (model is null)
            {
                throw new ArgumentNullException(nameof(model));
            }

            int best = -1;
            foreach (DeviceMatch match in model.Matches)
            {
                if (Matches(match, identity))
                {
                    best = Math.Max(best, Specificity(match));
                }
            }

            return best;
        }

        /// <summary>The number of identity bits <paramref name="match"/> tests.</summary>
        public static int Specificity(DeviceMatch match)
        {
            if (match is null)
            {
                throw new ArgumentNullException(nameof(match));
            }

            int bits = 0;
            foreach (MatchCriterion criterion in match.Criteria)
            {
                bits += CountBits(criterion.Mask & FieldMask(criterion.Field));
            }

            return bits;
        }

        /// <summary>The value of <paramref name="field"/> in <paramref name="identity"/>.</summary>
        public static uint FieldValue(DeviceIdentity identity, MatchField field)
        {
            if (identity is null)
            {
                throw new ArgumentNullException(nameof(identity));
            }

            return field switch
            {
                MatchField.Vendor => (uint)identity.Vendor,
                MatchField.Device => (uint)identity.Device,
                MatchField.SubsystemVendor => (uint)identity.SubsystemVendor,
                MatchField.Subsystem => (uint)identity.Subsystem,
                MatchField.Class => (uint)identity.ClassCode,
                MatchField.Revision => (uint)identity.Revision,
                _ => throw new ArgumentOutOfRangeException(nameof(field), field, "Unknown match field."),
            };
        }

        /// <summary>The bits <paramref name="field"/> has: 16 for the IDs, 24 for the class code, 8 for the revision.</summary>
        public static uint FieldMask(MatchField field) => field switch
        {
            MatchField.Class => 0xFF_FFFF,
            MatchField.Revision => 0xFF,
            _ => 0xFFFF,
        };

        private static bool Holds(MatchCriterion criterion, DeviceIdentity identity)
        {
            uint mask = criterion.Mask & FieldMask(criterion.Field);
            return (FieldValue(identity, criterion.Field) & mask) == (criterion.Value & mask);
        }

        private static int CountBits(uint value)
        {
            int count = 0;
            while (value != 0)
            {
                value &= value - 1;
                count++;
            }

            return count;
        }
    }
}
