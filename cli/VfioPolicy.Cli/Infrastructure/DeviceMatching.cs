using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>Decides whether a policy's <c>match</c> lines accept a device, from the device's own header bytes.</summary>
    public static class DeviceMatching
    {
        /// <summary>True when any match line holds (a line with no criteria is <c>match any</c>); a policy without match lines matches nothing.</summary>
        public static bool Matches(PolicyModel model, byte[] config) => PolicyMatcher.Matches(model, Identity(config));

        /// <summary>The identity fields of a type-0 header (missing bytes of a short image read as 0).</summary>
        public static DeviceIdentity Identity(byte[] config) => new DeviceIdentity(
            Vendor: (int)Little(config, 0x00, 2),
            Device: (int)Little(config, 0x02, 2),
            SubsystemVendor: (int)Little(config, 0x2c, 2),
            Subsystem: (int)Little(config, 0x2e, 2),
            ClassCode: (int)Little(config, 0x09, 3),
            Revision: (int)Little(config, 0x08, 1));

        /// <summary>The match lines as the policy states them, for the error message when none holds.</summary>
        public static IEnumerable<string> Describe(PolicyModel model, CliContext context)
        {
            foreach (DeviceMatch line in model.Matches)
            {
                string criteria = line.Criteria.Count == 0
                    ? "any"
                    : string.Join(" ", line.Criteria.Select(c => FieldName(c.Field) + " 0x" + c.Value.ToString("x", CultureInfo.InvariantCulture)
                        + ((c.Mask & PolicyMatcher.FieldMask(c.Field)) == PolicyMatcher.FieldMask(c.Field) ? string.Empty : " mask 0x" + c.Mask.ToString("x", CultureInfo.InvariantCulture))));
                yield return context.Display(line.Origin.Path) + ":" + line.Origin.Line.ToString(CultureInfo.InvariantCulture) + ": match " + criteria;
            }
        }

        /// <summary>The device's identity in the <c>match</c> line syntax.</summary>
        public static string DescribeDevice(byte[] config)
        {
            DeviceIdentity identity = Identity(config);
            var fields = new[] { MatchField.Vendor, MatchField.Device, MatchField.SubsystemVendor, MatchField.Subsystem, MatchField.Class, MatchField.Revision };
            return string.Join(" ", fields.Select(f => FieldName(f) + " 0x" + PolicyMatcher.FieldValue(identity, f).ToString("x", CultureInfo.InvariantCulture)));
        }

        private static string FieldName(MatchField field) => field switch
        {
            MatchField.Vendor => "vendor",
            MatchField.Device => "device",
            MatchField.SubsystemVendor => "subsystem-vendor",
            MatchField.Subsystem => "subsystem",
            MatchField.Class => "class",
            MatchField.Revision => "revision",
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, "unknown match field"),
        };

        // Offsets from the type-0 header layout (PCI_VENDOR_ID, PCI_DEVICE_ID, PCI_REVISION_ID, PCI_CLASS_PROG..).
        private static uint Little(byte[] config, int offset, int width)
        {
            uint value = 0;
            for (int i = width - 1; i >= 0; i--)
            {
                value = (value << 8) | (offset + i < config.Length ? config[offset + i] : 0u);
            }

            return value;
        }
    }
}
