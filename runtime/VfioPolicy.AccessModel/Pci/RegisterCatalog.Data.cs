using System;
using System.Collections.Generic;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Pci
{
    // The catalogue's data, transcribed from the PCI specification's register layouts as linux/pci_regs.h names them.
    public static partial class RegisterCatalog
    {
        private static readonly IReadOnlyList<RegisterCondition> Always = Array.Empty<RegisterCondition>();

        private static FieldInfo F(string name, int low, int high) => new FieldInfo(name, low, high);

        private static FieldInfo F(string name, int bit) => new FieldInfo(name, bit, bit);

        private static RegisterInfo R(string name, int offset, int width, params FieldInfo[] fields) => new RegisterInfo(name, offset, width, fields, Always);

        private static readonly BlockCatalog HeaderBlock = new BlockCatalog(
            "header",
            -1,
            false,
            new[]
            {
                R("VENDOR_ID", 0x00, 2),
                R("DEVICE_ID", 0x02, 2),
                R("COMMAND", 0x04, 2, F("IO", 0), F("MEMORY", 1), F("MASTER", 2), F("SPECIAL", 3), F("INVALIDATE", 4), F("VGA_PALETTE", 5), F("PARITY", 6), F("WAIT", 7), F("SERR", 8), F("FAST_BACK", 9), F("INTX_DISABLE", 10)),
                R("STATUS", 0x06, 2, F("IMM_READY", 0), F("INTERRUPT", 3), F("CAP_LIST", 4), F("CAP_66MHZ", 5), F("UDF", 6), F("FAST_BACK", 7), F("PARITY", 8), F("DEVSEL", 9, 10), F("SIG_TARGET_ABORT", 11), F("REC_TARGET_ABORT", 12), F("REC_MASTER_ABORT", 13), F("SIG_SYSTEM_ERROR", 14), F("DETECTED_PARITY", 15)),
                R("REVISION_ID", 0x08, 1),
                R("CLASS_PROG", 0x09, 1),
                R("CLASS_DEVICE", 0x0a, 2),
                R("CACHE_LINE_SIZE", 0x0c, 1),
                R("LATENCY_TIMER", 0x0d, 1),
                R("HEADER_TYPE", 0x0e, 1),
                R("BIST", 0x0f, 1),
                R("BASE_ADDRESS_0", 0x10, 4),
                R("BASE_ADDRESS_1", 0x14, 4),
                R("BASE_ADDRESS_2", 0x18, 4),
                R("BASE_ADDRESS_3", 0x1c, 4),
                R("BASE_ADDRESS_4", 0x20, 4),
                R("BASE_ADDRESS_5", 0x24, 4),
                R("CARDBUS_CIS", 0x28, 4),
                R("SUBSYSTEM_VENDOR_ID", 0x2c, 2),
                R("SUBSYSTEM_ID", 0x2e, 2),
                R("ROM_ADDRESS", 0x30, 4, F("ENABLE", 0), F("ADDRESS", 11, 31)),
                R("CAPABILITY_LIST", 0x34, 1),
                R("INTERRUPT_LINE", 0x3c, 1),
                R("INTERRUPT_PIN", 0x3d, 1),
                R("MIN_GNT", 0x3e, 1),
                R("MAX_LAT", 0x3f, 1),
            },
            new (Behavior, string)[]
            {
                (Behavior.Command, "COMMAND"),
                (Behavior.Bar, "BASE_ADDRESS_0"),
                (Behavior.Bar, "BASE_ADDRESS_1"),
                (Behavior.Bar, "BASE_ADDRESS_2"),
                (Behavior.Bar, "BASE_ADDRESS_3"),
                (Behavior.Bar, "BASE_ADDRESS_4"),
                (Behavior.Bar, "BASE_ADDRESS_5"),
                (Behavior.Rom, "ROM_ADDRESS"),
            });

        // Filled in capability by capability; see docs/catalogue.md.
        private static readonly IReadOnlyList<BlockCatalog> CapabilityBlocks = Array.Empty<BlockCatalog>();
    }
}
