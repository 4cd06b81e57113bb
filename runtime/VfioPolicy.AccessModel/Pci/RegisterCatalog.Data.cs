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

        // A status bit the hardware clears when a 1 is written to it (RW1C / RW1CS in the specification).
        private static FieldInfo W1c(string name, int bit) => new FieldInfo(name, bit, bit, HardwareWriteOneToClear: true);

        private static FieldInfo[] AsWriteOneToClear(FieldInfo[] fields) => Array.ConvertAll(fields, f => f with { HardwareWriteOneToClear = true });

        private static RegisterInfo R(string name, int offset, int width, params FieldInfo[] fields) => new RegisterInfo(name, offset, width, fields, Always);

        private static RegisterInfo R(string name, int offset, int width, RegisterCondition[] conditions, params FieldInfo[] fields) => new RegisterInfo(name, offset, width, fields, conditions);

        private static BlockCatalog Standard(string name, int id, RegisterInfo[] registers, params (Behavior, string)[] behaviors)
            => new BlockCatalog(name, id, false, registers, behaviors);

        private static BlockCatalog Extended(string name, int id, RegisterInfo[] registers, params (Behavior, string)[] behaviors)
            => new BlockCatalog(name, id, true, registers, behaviors);

        private static readonly BlockCatalog HeaderBlock = new BlockCatalog(
            "header",
            -1,
            false,
            new[]
            {
                R("VENDOR_ID", 0x00, 2),
                R("DEVICE_ID", 0x02, 2),
                R("COMMAND", 0x04, 2, F("IO", 0), F("MEMORY", 1), F("MASTER", 2), F("SPECIAL", 3), F("INVALIDATE", 4), F("VGA_PALETTE", 5), F("PARITY", 6), F("WAIT", 7), F("SERR", 8), F("FAST_BACK", 9), F("INTX_DISABLE", 10)),
                R("STATUS", 0x06, 2, F("IMM_READY", 0), F("INTERRUPT", 3), F("CAP_LIST", 4), F("CAP_66MHZ", 5), F("UDF", 6), F("FAST_BACK", 7), W1c("PARITY", 8), F("DEVSEL", 9, 10), W1c("SIG_TARGET_ABORT", 11), W1c("REC_TARGET_ABORT", 12), W1c("REC_MASTER_ABORT", 13), W1c("SIG_SYSTEM_ERROR", 14), W1c("DETECTED_PARITY", 15)),
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

        // Standard capabilities start with the ID byte and the next pointer (offsets 0 and 1), extended ones with a
        // 4-byte header: those bytes belong to the chain walk, so no catalogue register covers them.
        private static readonly IReadOnlyList<BlockCatalog> CapabilityBlocks = new[]
        {
            PowerManagement(),
            VitalProductData(),
            Msi(),
            VendorSpecific(),
            BridgeSubsystemId(),
            PciExpress(),
            MsiX(),
            AdvancedFeatures(),
            AdvancedErrorReporting(),
            DeviceSerialNumber(),
            VendorSpecificExtended(),
            AccessControlServices(),
            AlternativeRoutingId(),
            AddressTranslationServices(),
            SingleRootIoVirtualization(),
            PageRequestInterface(),
            ResizableBar(),
            LatencyToleranceReporting(),
            ProcessAddressSpaceId(),
            L1PmSubstates(),
            DesignatedVendorSpecific(),
        };
            // A register that exists only when the bits under mask of the tested register equal value.
        private static RegisterCondition When(int offset, int width, uint mask, uint value) => new RegisterCondition(offset, width, mask, value);

        // PCI_CAP_ID_PM, PCI Bus Power Management Interface Specification 1.2 (PCI_PM_*).
        private static BlockCatalog PowerManagement() => Standard(
            "PM",
            0x01,
            new[]
            {
                R("PMC", 0x02, 2, F("VER", 0, 2), F("PME_CLOCK", 3), F("DSI", 5), F("AUX_POWER", 6, 8), F("D1", 9), F("D2", 10), F("PME_D0", 11), F("PME_D1", 12), F("PME_D2", 13), F("PME_D3HOT", 14), F("PME_D3COLD", 15)),
                R("CTRL", 0x04, 2, F("STATE", 0, 1), F("NO_SOFT_RESET", 3), F("PME_ENABLE", 8), F("DATA_SEL", 9, 12), F("DATA_SCALE", 13, 14), W1c("PME_STATUS", 15)),
                R("PPB_EXTENSIONS", 0x06, 1, F("B2_B3", 6), F("BPCC_ENABLE", 7)),
                R("DATA_REGISTER", 0x07, 1),
            },
            (Behavior.Pm, "CTRL"));

        // PCI_CAP_ID_VPD: an address/data window onto the device's Vital Product Data (PCI_VPD_*).
        private static BlockCatalog VitalProductData() => Standard(
            "VPD",
            0x03,
            new[]
            {
                R("ADDR", 0x02, 2, F("ADDRESS", 0, 14), F("F", 15)),
                R("DATA", 0x04, 4),
            });

        // PCI_CAP_ID_MSI. The layout depends on Message Control: 64-bit capable (bit 7) moves the data word from 0x08
        // to 0x0c; per-vector masking (bit 8) adds the mask and pending registers after it. Four layouts in all.
        private static BlockCatalog Msi()
        {
            const int Flags = 0x02;
            const uint Address64 = 1u << 7;
            const uint MaskBit = 1u << 8;
            RegisterCondition[] only32 = { When(Flags, 2, Address64, 0) };
            RegisterCondition[] only64 = { When(Flags, 2, Address64, Address64) };
            RegisterCondition[] masked32 = { When(Flags, 2, Address64 | MaskBit, MaskBit) };
            RegisterCondition[] masked64 = { When(Flags, 2, Address64 | MaskBit, Address64 | MaskBit) };
            return Standard(
                "MSI",
                0x05,
                new[]
                {
                    R("FLAGS", Flags, 2, F("ENABLE", 0), F("QMASK", 1, 3), F("QSIZE", 4, 6), F("ADDR_64", 7), F("MASKBIT", 8)),
                    R("ADDRESS_LO", 0x04, 4),
                    R("ADDRESS_HI", 0x08, 4, only64),
                    R("DATA_32", 0x08, 2, only32),
                    R("DATA_64", 0x0c, 2, only64),
                    R("MASK_32", 0x0c, 4, masked32),
                    R("PENDING_32", 0x10, 4, masked32),
                    R("MASK_64", 0x10, 4, masked64),
                    R("PENDING_64", 0x14, 4, masked64),
                },
                (Behavior.Msi, "FLAGS"),
                (Behavior.Msi, "ADDRESS_LO"),
                (Behavior.Msi, "ADDRESS_HI"),
                (Behavior.Msi, "DATA_32"),
                (Behavior.Msi, "DATA_64"),
                (Behavior.Msi, "MASK_32"),
                (Behavior.Msi, "MASK_64"));
        }

        // PCI_CAP_ID_VNDR: byte 2 is the capability length (PCI Local Bus 3.0, 6.8.2); the rest is the vendor's.
        private static BlockCatalog VendorSpecific() => Standard(
            "VNDR",
            0x09,
            new[]
            {
                R("LENGTH", 0x02, 1),
            });

        // PCI_CAP_ID_SSVID: a bridge's subsystem IDs (PCI_SSVID_*).
        private static BlockCatalog BridgeSubsystemId() => Standard(
            "SSVID",
            0x0d,
            new[]
            {
                R("VENDOR_ID", 0x04, 2),
                R("DEVICE_ID", 0x06, 2),
            });

        // PCI_CAP_ID_EXP: the PCI Express capability (PCI_EXP_*). Registers from DEVCAP2 on exist only in capability
        // version 2; their offsets are fixed, so the catalogue lists them unconditionally.
        private static BlockCatalog PciExpress() => Standard(
            "EXP",
            0x10,
            new[]
            {
                R("FLAGS", 0x02, 2, F("VERS", 0, 3), F("TYPE", 4, 7), F("SLOT", 8), F("IRQ", 9, 13)),
                R("DEVCAP", 0x04, 4, F("PAYLOAD", 0, 2), F("PHANTOM", 3, 4), F("EXT_TAG", 5), F("L0S", 6, 8), F("L1", 9, 11), F("ATN_BUT", 12), F("ATN_IND", 13), F("PWR_IND", 14), F("RBER", 15), F("PWR_VAL", 18, 25), F("PWR_SCL", 26, 27), F("FLR", 28)),
                R("DEVCTL", 0x08, 2, F("CERE", 0), F("NFERE", 1), F("FERE", 2), F("URRE", 3), F("RELAX_EN", 4), F("PAYLOAD", 5, 7), F("EXT_TAG", 8), F("PHANTOM", 9), F("AUX_PME", 10), F("NOSNOOP_EN", 11), F("READRQ", 12, 14), F("BCR_FLR", 15)),
                R("DEVSTA", 0x0a, 2, W1c("CED", 0), W1c("NFED", 1), W1c("FED", 2), W1c("URD", 3), F("AUXPD", 4), F("TRPND", 5)),
                R("LNKCAP", 0x0c, 4, F("SLS", 0, 3), F("MLW", 4, 9), F("ASPMS", 10, 11), F("L0SEL", 12, 14), F("L1EL", 15, 17), F("CLKPM", 18), F("SDERC", 19), F("DLLLARC", 20), F("LBNC", 21), F("PN", 24, 31)),
                R("LNKCTL", 0x10, 2, F("ASPMC", 0, 1), F("RCB", 3), F("LD", 4), F("RL", 5), F("CCC", 6), F("ES", 7), F("CLKREQ_EN", 8), F("HAWD", 9), F("LBMIE", 10), F("LABIE", 11)),
                R("LNKSTA", 0x12, 2, F("CLS", 0, 3), F("NLW", 4, 9), F("LT", 11), F("SLC", 12), F("DLLLA", 13), W1c("LBMS", 14), W1c("LABS", 15)),
                R("SLTCAP", 0x14, 4, F("ABP", 0), F("PCP", 1), F("MRLSP", 2), F("AIP", 3), F("PIP", 4), F("HPS", 5), F("HPC", 6), F("SPLV", 7, 14), F("SPLS", 15, 16), F("EIP", 17), F("NCCS", 18), F("PSN", 19, 31)),
                R("SLTCTL", 0x18, 2, F("ABPE", 0), F("PFDE", 1), F("MRLSCE", 2), F("PDCE", 3), F("CCIE", 4), F("HPIE", 5), F("AIC", 6, 7), F("PIC", 8, 9), F("PCC", 10), F("EIC", 11), F("DLLSCE", 12)),
                R("SLTSTA", 0x1a, 2, W1c("ABP", 0), W1c("PFD", 1), W1c("MRLSC", 2), W1c("PDC", 3), W1c("CC", 4), F("MRLSS", 5), F("PDS", 6), F("EIS", 7), W1c("DLLSC", 8)),
                R("RTCTL", 0x1c, 2, F("SECEE", 0), F("SENFEE", 1), F("SEFEE", 2), F("PMEIE", 3), F("CRSSVE", 4)),
                R("RTCAP", 0x1e, 2, F("CRSVIS", 0)),
                R("RTSTA", 0x20, 4, F("PME_RID", 0, 15), F("PME", 16), F("PENDING", 17)),
                R("DEVCAP2", 0x24, 4, F("COMP_TMOUT_RANGES", 0, 3), F("COMP_TMOUT_DIS", 4), F("ARI", 5), F("ATOMIC_ROUTE", 6), F("ATOMIC_COMP32", 7), F("ATOMIC_COMP64", 8), F("ATOMIC_COMP128", 9), F("LTR", 11), F("OBFF", 18, 19), F("EE_PREFIX", 21)),
                R("DEVCTL2", 0x28, 2, F("COMP_TIMEOUT", 0, 3), F("COMP_TMOUT_DIS", 4), F("ARI", 5), F("ATOMIC_REQ", 6), F("ATOMIC_EGRESS_BLOCK", 7), F("IDO_REQ_EN", 8), F("IDO_CMP_EN", 9), F("LTR_EN", 10), F("OBFF", 13, 14)),
                R("DEVSTA2", 0x2a, 2),
                R("LNKCAP2", 0x2c, 4, F("SLS", 1, 7), F("CROSSLINK", 8)),
                R("LNKCTL2", 0x30, 2, F("TLS", 0, 3), F("ENTER_COMP", 4), F("HASD", 5), F("TX_MARGIN", 7, 9)),
                R("LNKSTA2", 0x32, 2),
                R("SLTCAP2", 0x34, 4),
                R("SLTCTL2", 0x38, 2),
                R("SLTSTA2", 0x3a, 2),
            },
            (Behavior.Flr, "DEVCTL"));

        // PCI_CAP_ID_MSIX: Message Control plus the locations (BAR indicator and offset) of the vector table and PBA.
        private static BlockCatalog MsiX() => Standard(
            "MSIX",
            0x11,
            new[]
            {
                R("FLAGS", 0x02, 2, F("QSIZE", 0, 10), F("MASKALL", 14), F("ENABLE", 15)),
                R("TABLE", 0x04, 4, F("BIR", 0, 2), F("OFFSET", 3, 31)),
                R("PBA", 0x08, 4, F("BIR", 0, 2), F("OFFSET", 3, 31)),
            },
            (Behavior.Msix, "FLAGS"));

        // PCI_CAP_ID_AF: conventional-PCI FLR (PCI_AF_*).
        private static BlockCatalog AdvancedFeatures() => Standard(
            "AF",
            0x13,
            new[]
            {
                R("LENGTH", 0x02, 1),
                R("CAP", 0x03, 1, F("TP", 0), F("FLR", 1)),
                R("CTRL", 0x04, 1, F("FLR", 0)),
                R("STATUS", 0x05, 1, F("TP", 0)),
            },
            (Behavior.Flr, "CTRL"));

        // Uncorrectable error bits, shared by PCI_ERR_UNCOR_STATUS, _MASK and _SEVER (PCI_ERR_UNC_*).
        private static FieldInfo[] UncorrectableErrors() => new[]
        {
            F("UND", 0), F("DLP", 4), F("SURPDN", 5), F("POISON_TLP", 12), F("FCP", 13), F("COMP_TIME", 14), F("COMP_ABORT", 15),
            F("UNX_COMP", 16), F("RX_OVER", 17), F("MALF_TLP", 18), F("ECRC", 19), F("UNSUP", 20), F("ACSV", 21), F("INTN", 22),
            F("MCBTLP", 23), F("ATOMEG", 24), F("TLPPRE", 25),
        };

        // Correctable error bits, shared by PCI_ERR_COR_STATUS and _MASK (PCI_ERR_COR_*).
        private static FieldInfo[] CorrectableErrors() => new[]
        {
            F("RCVR", 0), F("BAD_TLP", 6), F("BAD_DLLP", 7), F("REP_ROLL", 8), F("REP_TIMER", 12), F("ADV_NFAT", 13), F("INTERNAL", 14), F("LOG_OVER", 15),
        };

        // PCI_EXT_CAP_ID_ERR: Advanced Error Reporting (PCI_ERR_*). The 16-byte header log is four dwords; the root
        // registers exist only on root ports and root complex event collectors (reserved elsewhere).
        private static BlockCatalog AdvancedErrorReporting() => Extended(
            "ERR",
            0x01,
            new[]
            {
                R("UNCOR_STATUS", 0x04, 4, AsWriteOneToClear(UncorrectableErrors())),
                R("UNCOR_MASK", 0x08, 4, UncorrectableErrors()),
                R("UNCOR_SEVER", 0x0c, 4, UncorrectableErrors()),
                R("COR_STATUS", 0x10, 4, AsWriteOneToClear(CorrectableErrors())),
                R("COR_MASK", 0x14, 4, CorrectableErrors()),
                R("CAP", 0x18, 4, F("FEP", 0, 4), F("ECRC_GENC", 5), F("ECRC_GENE", 6), F("ECRC_CHKC", 7), F("ECRC_CHKE", 8)),
                R("HEADER_LOG_0", 0x1c, 4),
                R("HEADER_LOG_1", 0x20, 4),
                R("HEADER_LOG_2", 0x24, 4),
                R("HEADER_LOG_3", 0x28, 4),
                R("ROOT_COMMAND", 0x2c, 4, F("COR_EN", 0), F("NONFATAL_EN", 1), F("FATAL_EN", 2)),
                R("ROOT_STATUS", 0x30, 4, W1c("COR_RCV", 0), W1c("MULTI_COR_RCV", 1), W1c("UNCOR_RCV", 2), W1c("MULTI_UNCOR_RCV", 3), W1c("FIRST_FATAL", 4), W1c("NONFATAL_RCV", 5), W1c("FATAL_RCV", 6), F("AER_IRQ", 27, 31)),
                R("ERROR_SOURCE", 0x34, 4, F("COR_SOURCE", 0, 15), F("UNCOR_SOURCE", 16, 31)),
                R("PREFIX_LOG_0", 0x38, 4),
                R("PREFIX_LOG_1", 0x3c, 4),
                R("PREFIX_LOG_2", 0x40, 4),
                R("PREFIX_LOG_3", 0x44, 4),
            });

        // PCI_EXT_CAP_ID_DSN: the 64-bit Device Serial Number as two dwords (pci_get_dsn reads offsets 4 and 8).
        private static BlockCatalog DeviceSerialNumber() => Extended(
            "DSN",
            0x03,
            new[]
            {
                R("LOWER", 0x04, 4),
                R("UPPER", 0x08, 4),
            });

        // PCI_EXT_CAP_ID_VNDR: the vendor-specific header (PCI_VNDR_HEADER); the body is the vendor's.
        private static BlockCatalog VendorSpecificExtended() => Extended(
            "VNDR",
            0x0b,
            new[]
            {
                R("HEADER", 0x04, 4, F("ID", 0, 15), F("REV", 16, 19), F("LEN", 20, 31)),
            });

        // PCI_EXT_CAP_ID_ACS (PCI_ACS_*). The egress control vector exists only when P2P Egress Control is capable;
        // the catalogue names its first dword.
        private static BlockCatalog AccessControlServices()
        {
            const int Cap = 0x04;
            const uint EgressControl = 1u << 5;
            return Extended(
                "ACS",
                0x0d,
                new[]
                {
                    R("CAP", Cap, 2, F("SV", 0), F("TB", 1), F("RR", 2), F("CR", 3), F("UF", 4), F("EC", 5), F("DT", 6), F("EGRESS_BITS", 8, 15)),
                    R("CTRL", 0x06, 2, F("SV", 0), F("TB", 1), F("RR", 2), F("CR", 3), F("UF", 4), F("EC", 5), F("DT", 6)),
                    R("EGRESS_CTL_V", 0x08, 4, new[] { When(Cap, 2, EgressControl, EgressControl) }),
                });
        }

        // PCI_EXT_CAP_ID_ARI (PCI_ARI_*).
        private static BlockCatalog AlternativeRoutingId() => Extended(
            "ARI",
            0x0e,
            new[]
            {
                R("CAP", 0x04, 2, F("MFVC", 0), F("ACS", 1), F("NFN", 8, 15)),
                R("CTRL", 0x06, 2, F("MFVC", 0), F("ACS", 1), F("FG", 4, 6)),
            });

        // PCI_EXT_CAP_ID_ATS (PCI_ATS_*).
        private static BlockCatalog AddressTranslationServices() => Extended(
            "ATS",
            0x0f,
            new[]
            {
                R("CAP", 0x04, 2, F("QDEP", 0, 4), F("PAGE_ALIGNED", 5)),
                R("CTRL", 0x06, 2, F("STU", 0, 4), F("ENABLE", 15)),
            });

        // PCI_EXT_CAP_ID_SRIOV (PCI_SRIOV_*). The six VF BARs are PCI_SRIOV_BAR + 4 * n.
        private static BlockCatalog SingleRootIoVirtualization() => Extended(
            "SRIOV",
            0x10,
            new[]
            {
                R("CAP", 0x04, 4, F("VFM", 0), F("INTR", 21, 31)),
                R("CTRL", 0x08, 2, F("VFE", 0), F("VFM", 1), F("INTR", 2), F("MSE", 3), F("ARI", 4)),
                R("STATUS", 0x0a, 2, F("VFM", 0)),
                R("INITIAL_VF", 0x0c, 2),
                R("TOTAL_VF", 0x0e, 2),
                R("NUM_VF", 0x10, 2),
                R("FUNC_LINK", 0x12, 1),
                R("VF_OFFSET", 0x14, 2),
                R("VF_STRIDE", 0x16, 2),
                R("VF_DID", 0x1a, 2),
                R("SUP_PGSIZE", 0x1c, 4),
                R("SYS_PGSIZE", 0x20, 4),
                R("BAR_0", 0x24, 4),
                R("BAR_1", 0x28, 4),
                R("BAR_2", 0x2c, 4),
                R("BAR_3", 0x30, 4),
                R("BAR_4", 0x34, 4),
                R("BAR_5", 0x38, 4),
                R("VFM", 0x3c, 4, F("BIR", 0, 2), F("OFFSET", 3, 31)),
            });

        // PCI_EXT_CAP_ID_PRI (PCI_PRI_*).
        private static BlockCatalog PageRequestInterface() => Extended(
            "PRI",
            0x13,
            new[]
            {
                R("CTRL", 0x04, 2, F("ENABLE", 0), F("RESET", 1)),
                R("STATUS", 0x06, 2, F("RF", 0), F("UPRGI", 1), F("STOPPED", 8), F("PASID", 15)),
                R("MAX_REQ", 0x08, 4),
                R("ALLOC_REQ", 0x0c, 4),
            });

        // PCI_EXT_CAP_ID_REBAR (PCI_REBAR_*): up to six capability/control pairs, one per resizable BAR.
        // CTRL_0.NBAR says how many pairs exist; the pairs beyond it are reserved.
        private static BlockCatalog ResizableBar()
        {
            var registers = new List<RegisterInfo>();
            for (int bar = 0; bar < 6; bar++)
            {
                string index = bar.ToString(System.Globalization.CultureInfo.InvariantCulture);
                registers.Add(R("CAP_" + index, 0x04 + (8 * bar), 4, F("SIZES", 4, 31)));
                registers.Add(R("CTRL_" + index, 0x08 + (8 * bar), 4, F("BAR_IDX", 0, 2), F("NBAR", 5, 7), F("BAR_SIZE", 8, 13)));
            }

            return Extended("REBAR", 0x15, registers.ToArray());
        }

        // PCI_EXT_CAP_ID_LTR (PCI_LTR_*): the two latency registers share the value/scale layout.
        private static BlockCatalog LatencyToleranceReporting() => Extended(
            "LTR",
            0x18,
            new[]
            {
                R("MAX_SNOOP_LAT", 0x04, 2, F("VALUE", 0, 9), F("SCALE", 10, 12)),
                R("MAX_NOSNOOP_LAT", 0x06, 2, F("VALUE", 0, 9), F("SCALE", 10, 12)),
            });

        // PCI_EXT_CAP_ID_PASID (PCI_PASID_*).
        private static BlockCatalog ProcessAddressSpaceId() => Extended(
            "PASID",
            0x1b,
            new[]
            {
                R("CAP", 0x04, 2, F("EXEC", 1), F("PRIV", 2), F("WIDTH", 8, 12)),
                R("CTRL", 0x06, 2, F("ENABLE", 0), F("EXEC", 1), F("PRIV", 2)),
            });

        // PCI_EXT_CAP_ID_L1SS: ASPM L1 PM Substates (PCI_L1SS_*).
        private static BlockCatalog L1PmSubstates() => Extended(
            "L1SS",
            0x1e,
            new[]
            {
                R("CAP", 0x04, 4, F("PCIPM_L1_2", 0), F("PCIPM_L1_1", 1), F("ASPM_L1_2", 2), F("ASPM_L1_1", 3), F("L1_PM_SS", 4), F("CM_RESTORE_TIME", 8, 15), F("P_PWR_ON_SCALE", 16, 17), F("P_PWR_ON_VALUE", 19, 23)),
                R("CTL1", 0x08, 4, F("PCIPM_L1_2", 0), F("PCIPM_L1_1", 1), F("ASPM_L1_2", 2), F("ASPM_L1_1", 3), F("CM_RESTORE_TIME", 8, 15), F("LTR_L12_TH_VALUE", 16, 25), F("LTR_L12_TH_SCALE", 29, 31)),
                R("CTL2", 0x0c, 4, F("T_PWR_ON_SCALE", 0, 1), F("T_PWR_ON_VALUE", 3, 7)),
            });

        // PCI_EXT_CAP_ID_DVSEC: Designated Vendor-Specific (PCI_DVSEC_*); HEADER2 holds the 16-bit DVSEC ID.
        private static BlockCatalog DesignatedVendorSpecific() => Extended(
            "DVSEC",
            0x23,
            new[]
            {
                R("HEADER1", 0x04, 4, F("VID", 0, 15), F("REV", 16, 19), F("LEN", 20, 31)),
                R("HEADER2", 0x08, 2, F("ID", 0, 15)),
            });
    }
}
