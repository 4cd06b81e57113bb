using System;
using VfioPolicy.AccessModel.Pci;

namespace VfioPolicy.AccessModel.Devices
{
    /// <summary>Reads the identity a policy's <c>match</c> lines test from a config-space header.</summary>
    public static class DeviceIdentityReader
    {
        /// <summary>
        /// Vendor (0x00), device (0x02), revision (0x08), class code (0x09..0x0B, 24 bits) and subsystem IDs: at
        /// 0x2C/0x2E for a type-0 header, from the Bridge Subsystem Vendor ID capability for a type-1 bridge (0 when
        /// it has none), at 0x40/0x42 for a CardBus bridge.
        /// </summary>
        public static DeviceIdentity Read(ReadOnlySpan<byte> config)
        {
            if (config.Length < 0x40)
            {
                throw new ArgumentException("a config-space header has 64 bytes; this image has " + config.Length + " bytes", nameof(config));
            }

            int vendor = CapabilityWalker.ReadWord(config, 0x00);
            int device = CapabilityWalker.ReadWord(config, 0x02);
            int revision = config[0x08];
            int classCode = config[0x09] | (config[0x0A] << 8) | (config[0x0B] << 16);
            int headerType = config[0x0E] & 0x7F;
            int subsystemVendor = 0;
            int subsystem = 0;
            switch (headerType)
            {
                case 0:
                    subsystemVendor = CapabilityWalker.ReadWord(config, 0x2C);
                    subsystem = CapabilityWalker.ReadWord(config, 0x2E);
                    break;
                case 1:
                    foreach (CapabilityInfo capability in CapabilityWalker.Walk(config).Capabilities)
                    {
                        if (!capability.Extended && capability.Id == CapabilityIds.BridgeSubsystemId)
                        {
                            subsystemVendor = CapabilityWalker.ReadWord(config, capability.Offset + 4);
                            subsystem = CapabilityWalker.ReadWord(config, capability.Offset + 6);
                            break;
                        }
                    }

                    break;
                case 2:
                    subsystemVendor = CapabilityWalker.ReadWord(config, 0x40);
                    subsystem = CapabilityWalker.ReadWord(config, 0x42);
                    break;
            }

            return new DeviceIdentity(vendor, device, subsystemVendor, subsystem, classCode, revision);
        }
    }
}
