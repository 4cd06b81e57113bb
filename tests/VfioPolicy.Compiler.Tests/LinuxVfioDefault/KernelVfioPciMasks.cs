using System;
using System.Collections.Generic;
using System.Globalization;

namespace VfioPolicy.Compiler.Tests.LinuxVfioDefault
{
    /// <summary>A capability the kernel's walk kept (entered in <c>pci_config_map</c>), with the length it gave it.</summary>
    internal sealed record KernelCapability(int Offset, int Id, bool Extended, int Length, KernelCapabilityKind Kind);

    /// <summary>How the kernel serves a kept capability's bytes.</summary>
    internal enum KernelCapabilityKind
    {
        /// <summary>A <c>perm_bits</c> table (<c>init_pci_cap_*_perm</c>, <c>init_pci_ext_cap_*_perm</c>) and <c>vfio_default_config_read/write</c>.</summary>
        Table,

        /// <summary><c>vfio_direct_config_read</c> (ID/next or the extended header from vconfig), no writefn.</summary>
        DirectReadOnly,

        /// <summary><c>vfio_direct_config_read</c> and <c>vfio_raw_config_write</c> (VNDR, extended VNDR, DVSEC).</summary>
        DirectReadRawWrite,
    }

    /// <summary>
    /// The per-byte <c>virt</c> and <c>write</c> masks the Linux kernel's vfio-pci applies to a type-0 device, computed
    /// independently of any policy, straight from <c>drivers/vfio/pci/vfio_pci_config.c</c> (mainline, the
    /// <c>vfio_pci_core_device</c> era) and <c>include/uapi/linux/pci_regs.h</c>: the <c>vfio_cap_init</c> and
    /// <c>vfio_ecap_init</c> walks, <c>pci_cap_length[]</c>/<c>pci_ext_cap_length[]</c>, <c>vfio_cap_len</c>,
    /// <c>vfio_ext_cap_len</c>, <c>vfio_msi_cap_len</c>, and the <c>p_set*</c> calls of every <c>init_*_perm</c>.
    /// </summary>
    /// <remarks>
    /// For capabilities without a table the masks describe what the read and write functions do: bytes read from
    /// vconfig are virt, bytes <c>vfio_raw_config_write</c> writes are write. <c>vfio_direct_config_read</c> serves a
    /// standard capability's ID byte from vconfig only for reads wider than a byte; both give the same value, and
    /// the ID byte counts as virt here. Overlapping capabilities follow the map (the later one wins), and offsets
    /// follow <c>vfio_find_cap_start</c>, so abutting capabilities of one type are modelled as the kernel reads them.
    /// A capability whose length the kernel computes from a structure not modelled here throws
    /// <see cref="NotSupportedException"/> rather than guess.
    /// </remarks>
    internal sealed class KernelVfioPciMasks
    {
        // pci_regs.h
        private const int PciStatus = 0x06;
        private const int PciStatusCapList = 0x10;
        private const int PciCapabilityList = 0x34;
        private const int PciStdHeaderSizeof = 64;
        private const int PciCfgSpaceSize = 256;
        private const int PciCapSizeof = 4;
        private const int PciCapListNext = 1;
        private const int PciCapFlags = 2;
        private const int PciCapIdMax = 0x14; // PCI_CAP_ID_EA
        private const uint AllVirt = 0xffff_ffff;
        private const uint AllWrite = 0xffff_ffff;
        private const uint NoVirt = 0;
        private const uint NoWrite = 0;

        private readonly byte[] _config;

        // pci_config_map, by index into Capabilities (-1: PCI_CAP_ID_INVALID), and each capability's perm table.
        private readonly int[] _map;
        private readonly List<PermBits> _perms = new List<PermBits>();

        private KernelVfioPciMasks(byte[] config)
        {
            _config = config;
            Size = config.Length;
            Virt = new byte[Size];
            Write = new byte[Size];
            _map = new int[Size];
            Array.Fill(_map, -1);
        }

        public int Size { get; }

        public byte[] Virt { get; }

        public byte[] Write { get; }

        public List<KernelCapability> Capabilities { get; } = new List<KernelCapability>();

        /// <summary>Bytes the kernel reads at an offset counted from an abutting capability of the same type (<c>vfio_find_cap_start</c>).</summary>
        public HashSet<int> MergedRun { get; } = new HashSet<int>();

        /// <summary>The capability owning each byte in <c>pci_config_map</c>, or null for the header and raw gaps.</summary>
        public KernelCapability? OwnerOf(int offset) => offset >= PciStdHeaderSizeof && _map[offset] >= 0 ? Capabilities[_map[offset]] : null;

        /// <summary>True when <c>vfio_cap_len</c> set <c>vdev-&gt;extended_caps</c> (a PCI Express capability and a non-zero dword at 0x100).</summary>
        public bool ExtendedCaps { get; private set; }

        public static KernelVfioPciMasks Compute(byte[] config)
        {
            if (config.Length != PciCfgSpaceSize && config.Length != 4096)
            {
                throw new ArgumentException("a config space is 256 or 4096 bytes", nameof(config));
            }

            if ((config[0x0e] & 0x7f) != 0)
            {
                // vfio_pci_core_register_device: if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL) return -EINVAL;
                throw new NotSupportedException("vfio-pci binds only type-0 (normal) header devices");
            }

            var masks = new KernelVfioPciMasks(config);

            // vfio_config_init: map = PCI_CAP_ID_BASIC for the header, PCI_CAP_ID_INVALID (unassigned_perms:
            // vfio_raw_config_read / vfio_raw_config_write, so virt 0, write all) everywhere else.
            for (int i = PciStdHeaderSizeof; i < masks.Size; i++)
            {
                masks.Write[i] = 0xff;
            }

            PermBits basic = BasicPerm();
            Array.Copy(basic.Virt, masks.Virt, PciStdHeaderSizeof);
            Array.Copy(basic.Write, masks.Write, PciStdHeaderSizeof);
            masks.CapInit();
            masks.EcapInit();
            masks.ApplyMap();
            return masks;
        }

        // ---- init_pci_cap_basic_perm ---------------------------------------------------------------------------

        private static PermBits BasicPerm()
        {
            var perm = new PermBits(PciStdHeaderSizeof);
            perm.SetW(0x00, U16(AllVirt), NoWrite);                // PCI_VENDOR_ID
            perm.SetW(0x02, U16(AllVirt), NoWrite);                // PCI_DEVICE_ID
            perm.SetW(0x04, 0x0400, U16(AllWrite));                // PCI_COMMAND, PCI_COMMAND_INTX_DISABLE
            perm.SetW(0x06, PciStatusCapList, NoWrite);               // PCI_STATUS, PCI_STATUS_CAP_LIST
            perm.SetB(0x0c, U8(NoVirt), U8(AllWrite));            // PCI_CACHE_LINE_SIZE
            perm.SetB(0x0d, U8(NoVirt), U8(AllWrite));            // PCI_LATENCY_TIMER
            perm.SetB(0x0f, U8(NoVirt), U8(AllWrite));            // PCI_BIST
            for (int bar = 0x10; bar <= 0x24; bar += 4)
            {
                perm.SetD(bar, AllVirt, AllWrite);                    // PCI_BASE_ADDRESS_0..5
            }

            perm.SetD(0x30, AllVirt, AllWrite);                       // PCI_ROM_ADDRESS
            perm.SetB(PciCapabilityList, U8(AllVirt), U8(NoWrite));
            perm.SetB(0x3c, U8(AllVirt), U8(AllWrite));           // PCI_INTERRUPT_LINE
            perm.SetB(0x3d, U8(AllVirt), U8(NoWrite));            // PCI_INTERRUPT_PIN
            return perm;
        }

        // ---- vfio_cap_init --------------------------------------------------------------------------------------

        private void CapInit()
        {
            if ((ReadWord(PciStatus) & PciStatusCapList) == 0)
            {
                return;
            }

            int pos = _config[PciCapabilityList];
            int loops = (PciCfgSpaceSize - PciStdHeaderSizeof) / PciCapSizeof;
            while (pos != 0 && loops-- > 0)
            {
                int cap = _config[pos];
                int next = _config[pos + PciCapListNext];
                int len = 0;

                // "ID 0 is a NULL capability, conflicting with our fake PCI_CAP_ID_BASIC ... consider it hidden"
                if (cap != 0 && cap <= PciCapIdMax)
                {
                    len = PciCapLength(cap);
                    if (len == 0xff)
                    {
                        len = CapLen(cap, pos);
                    }
                }

                if (len == 0)
                {
                    // Hidden: *prev = next in vconfig; the bytes stay PCI_CAP_ID_INVALID (raw).
                    pos = next;
                    continue;
                }

                KernelCapabilityKind kind = cap switch
                {
                    0x01 or 0x03 or 0x05 or 0x07 or 0x10 or 0x13 => KernelCapabilityKind.Table,
                    0x09 => KernelCapabilityKind.DirectReadRawWrite,
                    _ => KernelCapabilityKind.DirectReadOnly,
                };
                Keep(new KernelCapability(pos, cap, false, len, kind), StandardPerm(cap, pos, len));
                pos = next;
            }
        }

        /// <summary><c>pci_cap_length[]</c>: 0xFF is "variable", 0 is hidden.</summary>
        private static int PciCapLength(int cap) => cap switch
        {
            0x01 => 8,      // PCI_PM_SIZEOF
            0x02 => 12,     // PCI_AGP_SIZEOF
            0x03 => 8,      // PCI_CAP_VPD_SIZEOF
            0x05 => 0xff,   // MSI: 10, 14, 20, or 24
            0x07 => 0xff,   // PCI-X: 8 or 24
            0x08 => 0xff,   // HyperTransport
            0x09 => 0xff,   // vendor specific: variable
            0x10 => 0xff,   // PCI Express
            0x11 => 12,     // PCI_CAP_MSIX_SIZEOF
            0x12 => 0xff,   // SATA
            0x13 => 6,      // PCI_CAP_AF_SIZEOF
            _ => 0,         // SLOTID, CHSWP, DBG, CCRC, SHPC, SSVID, AGP3, SECDEV, EA: "don't care" / "not yet"
        };

        /// <summary><c>vfio_cap_len</c> (and <c>vfio_msi_cap_len</c>).</summary>
        private int CapLen(int cap, int pos)
        {
            switch (cap)
            {
                case 0x05:
                    int flags = ReadWord(pos + 2);
                    int len = 10;                               // "Minimum size"
                    len += (flags & 0x0080) != 0 ? 4 : 0;       // PCI_MSI_FLAGS_64BIT
                    len += (flags & 0x0100) != 0 ? 10 : 0;      // PCI_MSI_FLAGS_MASKBIT
                    return len;
                case 0x07:
                    // PCI_X_CMD_VERSION(word) of the PCI_X_CMD word, as the kernel reads it.
                    if (((ReadWord(pos + 2) >> 12) & 3) != 0)
                    {
                        if (Size > PciCfgSpaceSize)
                        {
                            ExtendedCaps = ReadDword(PciCfgSpaceSize) != 0;
                        }

                        return 24;                              // PCI_CAP_PCIX_SIZEOF_V2
                    }

                    return 8;                                   // PCI_CAP_PCIX_SIZEOF_V0
                case 0x08:
                    // HT_3BIT_CAP_MASK (0xe0) on the byte at pos + 3: HT_CAP_SIZEOF_SHORT (24) or _LONG (28).
                    return (_config[pos + 3] & 0xe0) != 0 ? 24 : 28;
                case 0x12:
                    // PCI_SATA_REGS (pos + 2), PCI_SATA_REGS_MASK 0x0f, PCI_SATA_REGS_INLINE 0x0f: _LONG (16) or _SHORT (8).
                    return (_config[pos + 2] & 0x0f) == 0x0f ? 16 : 8;
                case 0x09:
                    return _config[pos + PciCapFlags];          // "length follows next field"
                case 0x10:
                    if (Size > PciCfgSpaceSize)
                    {
                        ExtendedCaps = ReadDword(PciCfgSpaceSize) != 0;   // "Test for extended capabilities"
                    }

                    int expFlags = ReadWord(pos + 2);
                    bool rootComplexEndpoint = ((expFlags >> 4) & 0xf) == 0x9;    // PCI_EXP_TYPE_RC_END
                    if ((expFlags & 0xf) == 1)                                      // PCI_EXP_FLAGS_VERS
                    {
                        return rootComplexEndpoint ? 0x0c : 0x14;                  // PCI_CAP_EXP_ENDPOINT_SIZEOF_V1
                    }

                    return rootComplexEndpoint ? 0x2c : 0x34;                      // PCI_CAP_EXP_ENDPOINT_SIZEOF_V2
                default:
                    throw new NotSupportedException("the length the kernel gives capability " + Hex(cap) + " at " + Hex(pos) + " is not modelled");
            }
        }

        private PermBits StandardPerm(int cap, int pos, int len)
        {
            switch (cap)
            {
                case 0x01:
                    // init_pci_cap_pm_perm
                    var pm = new PermBits(8);
                    pm.SetB(PciCapListNext, U8(AllVirt), U8(NoWrite));
                    pm.SetW(0x02, 0xf800, NoWrite);                               // PCI_PM_PMC, PCI_PM_CAP_PME_MASK
                    pm.SetD(0x04, 0x0100 | 0x8000, ~(0x0100u | 0x8000u | 0x0003u)); // PCI_PM_CTRL: PME_ENABLE | PME_STATUS, ~(… | STATE_MASK)
                    return pm;
                case 0x03:
                    // init_pci_cap_vpd_perm
                    var vpd = new PermBits(8);
                    vpd.SetB(PciCapListNext, U8(AllVirt), U8(NoWrite));
                    vpd.SetW(0x02, U16(AllVirt), U16(AllWrite));            // PCI_VPD_ADDR
                    vpd.SetD(0x04, AllVirt, AllWrite);                              // PCI_VPD_DATA
                    return vpd;
                case 0x05:
                    // init_pci_cap_msi_perm(perm, len, flags)
                    int flags = ReadWord(pos + 2);
                    var msi = new PermBits(len);
                    msi.SetB(PciCapListNext, U8(AllVirt), U8(NoWrite));
                    msi.SetB(0x02, U8(AllVirt), U8(AllWrite));                  // "just setup the lower byte"
                    msi.SetD(0x04, AllVirt, AllWrite);                              // PCI_MSI_ADDRESS_LO
                    if ((flags & 0x0080) != 0)
                    {
                        msi.SetD(0x08, AllVirt, AllWrite);                          // PCI_MSI_ADDRESS_HI
                        msi.SetW(0x0c, U16(AllVirt), U16(AllWrite));          // PCI_MSI_DATA_64
                        if ((flags & 0x0100) != 0)
                        {
                            msi.SetD(0x10, NoVirt, AllWrite);                       // PCI_MSI_MASK_64
                            msi.SetD(0x14, NoVirt, AllWrite);                       // PCI_MSI_PENDING_64
                        }
                    }
                    else
                    {
                        msi.SetW(0x08, U16(AllVirt), U16(AllWrite));          // PCI_MSI_DATA_32
                        if ((flags & 0x0100) != 0)
                        {
                            msi.SetD(0x0c, NoVirt, AllWrite);                       // PCI_MSI_MASK_32
                            msi.SetD(0x10, NoVirt, AllWrite);                       // PCI_MSI_PENDING_32
                        }
                    }

                    return msi;
                case 0x07:
                    // init_pci_cap_pcix_perm: allocated PCI_CAP_PCIX_SIZEOF_V2.
                    var pcix = new PermBits(24);
                    pcix.SetB(PciCapListNext, U8(AllVirt), U8(NoWrite));
                    pcix.SetW(0x02, NoVirt, U16(AllWrite));                      // PCI_X_CMD
                    pcix.SetD(0x08, NoVirt, AllWrite);                              // PCI_X_ECC_CSR
                    return pcix;
                case 0x10:
                    // init_pci_cap_exp_perm: allocated PCI_CAP_EXP_ENDPOINT_SIZEOF_V2, used to the device's len.
                    var exp = new PermBits(0x34);
                    exp.SetB(PciCapListNext, U8(AllVirt), U8(NoWrite));
                    exp.SetW(0x08, 0x8000 | 0x00e0 | 0x7000, unchecked((ushort)~0x0200)); // PCI_EXP_DEVCTL: BCR_FLR | PAYLOAD | READRQ, ~PHANTOM
                    exp.SetW(0x28, NoVirt, unchecked((ushort)~0x0020));                     // PCI_EXP_DEVCTL2, ~PCI_EXP_DEVCTL2_ARI
                    return exp;
                case 0x13:
                    // init_pci_cap_af_perm
                    var af = new PermBits(6);
                    af.SetB(PciCapListNext, U8(AllVirt), U8(NoWrite));
                    af.SetB(0x04, 0x01, 0x01);                                      // PCI_AF_CTRL, PCI_AF_CTRL_FLR
                    return af;
                default:
                    // cap_perms[] default: vfio_direct_config_read ("Std cap mangling": ID and next from vconfig);
                    // PCI_CAP_ID_VNDR also has writefn = vfio_raw_config_write.
                    var direct = new PermBits(len);
                    direct.SetB(0, 0xff, 0);
                    direct.SetB(PciCapListNext, 0xff, 0);
                    if (cap == 0x09)
                    {
                        direct.FillWrite(0xff);
                    }

                    return direct;
            }
        }

        // ---- vfio_ecap_init -------------------------------------------------------------------------------------

        private void EcapInit()
        {
            if (!ExtendedCaps)
            {
                return;
            }

            int epos = PciCfgSpaceSize;
            bool first = true;
            int loops = (Size - PciCfgSpaceSize) / PciCapSizeof;
            while (loops-- > 0 && epos >= PciCfgSpaceSize)
            {
                uint header = ReadDword(epos);
                int ecap = (int)(header & 0xffff);           // PCI_EXT_CAP_ID
                int next = (int)((header >> 20) & 0xffc);    // PCI_EXT_CAP_NEXT
                int len = ExtCapLength(ecap);
                if (len == 0xff)
                {
                    len = ExtCapLen(ecap, epos);
                }

                bool hidden = false;
                if (len == 0)
                {
                    // "If not the first in the chain, we can skip over it": its bytes stay raw.
                    if (!first)
                    {
                        epos = next;
                        continue;
                    }

                    // "Otherwise, fill in a placeholder, the direct readfn will virtualize this automatically"
                    len = PciCapSizeof;
                    hidden = true;
                }

                KernelCapabilityKind kind = hidden ? KernelCapabilityKind.DirectReadOnly : ecap switch
                {
                    0x01 or 0x04 => KernelCapabilityKind.Table,
                    0x0b or 0x23 => KernelCapabilityKind.DirectReadRawWrite,
                    _ => KernelCapabilityKind.DirectReadOnly,
                };
                Keep(new KernelCapability(epos, ecap, true, len, kind), hidden ? ExtendedDirectPerm(len, false) : ExtendedPerm(ecap, len));
                first = false;
                epos = next;
            }
        }

        /// <summary><c>pci_ext_cap_length[]</c>.</summary>
        private static int ExtCapLength(int ecap) => ecap switch
        {
            0x01 => 0x2c,   // PCI_ERR_ROOT_COMMAND
            0x02 => 0xff,   // VC
            0x03 => 12,     // PCI_EXT_CAP_DSN_SIZEOF
            0x04 => 16,     // PCI_EXT_CAP_PWR_SIZEOF
            0x08 => 0xff,   // MFVC
            0x09 => 0xff,   // VC9
            0x0b => 0xff,   // VNDR
            0x0d => 0xff,   // ACS
            0x0e => 8,      // PCI_EXT_CAP_ARI_SIZEOF
            0x0f => 8,      // PCI_EXT_CAP_ATS_SIZEOF
            0x10 => 0x40,   // PCI_EXT_CAP_SRIOV_SIZEOF
            0x12 => 40,     // PCI_EXT_CAP_MCAST_ENDPOINT_SIZEOF
            0x13 => 16,     // PCI_EXT_CAP_PRI_SIZEOF
            0x15 => 0xff,   // REBAR
            0x16 => 0xff,   // DPA
            0x17 => 0xff,   // TPH
            0x18 => 8,      // PCI_EXT_CAP_LTR_SIZEOF
            0x23 => 0xff,   // DVSEC
            _ => 0,         // RCLD, RCILC, RCEC, RCRB, CAC, MRIOV, AMD_XXX, SECPCI, PMUX, PASID, and IDs not listed
        };

        /// <summary><c>vfio_ext_cap_len</c>.</summary>
        private int ExtCapLen(int ecap, int epos)
        {
            switch (ecap)
            {
                case 0x0b:
                    return (int)(ReadDword(epos + 4) >> 20);                // PCI_VSEC_HDR >> PCI_VSEC_HDR_LEN_SHIFT
                case 0x23:
                    return (int)(ReadDword(epos + 4) >> 20);                // PCI_DVSEC_HEADER1_LEN
                case 0x0d:
                    if ((_config[epos + 4] & 0x20) != 0)                    // PCI_ACS_CAP & PCI_ACS_EC
                    {
                        int egressBits = _config[epos + 0x05];              // PCI_ACS_EGRESS_BITS
                        int bits = egressBits != 0 ? ((egressBits + 31) / 32) * 32 : 256;
                        return 8 + (bits / 8);
                    }

                    return 8;
                case 0x02:
                case 0x08:
                case 0x09:
                    return VcCapLen(epos);
                case 0x15:
                    // PCI_REBAR_CTRL (8), PCI_REBAR_CTRL_NBAR_MASK 0xe0, _SHIFT 5.
                    return 4 + (((_config[epos + 8] & 0xe0) >> 5) * 8);
                case 0x16:
                    // PCI_DPA_CAP (4), PCI_DPA_CAP_SUBSTATE_MASK 0x1f, PCI_DPA_BASE_SIZEOF 16.
                    return 16 + (_config[epos + 4] & 0x1f) + 1;
                case 0x17:
                    // PCI_TPH_CAP (4): LOC_MASK 0x600 == LOC_CAP 0x200 adds the ST table (ST_MASK 0x07ff0000 >> 16 entries); BASE_SIZEOF 0xc.
                    uint tph = ReadDword(epos + 4);
                    return (tph & 0x600) == 0x200 ? 0x0c + ((int)((tph & 0x07ff_0000) >> 16) * 2) + 2 : 0x0c;
                default:
                    throw new NotSupportedException("the length the kernel gives extended capability " + Hex(ecap) + " at " + Hex(epos) + " is not modelled");
            }
        }

        /// <summary><c>vfio_vc_cap_len</c>: VC, VC9 and MFVC.</summary>
        private int VcCapLen(int pos)
        {
            int len = 0x10;                                             // PCI_CAP_VC_BASE_SIZEOF
            int evcc = (int)(ReadDword(pos + 0x04) & 0x7);              // PCI_VC_PORT_CAP1 & PCI_VC_CAP1_EVCC
            uint cap2 = ReadDword(pos + 0x08);                          // PCI_VC_PORT_CAP2
            int phases = (cap2 & 0x08) != 0 ? 128 : (cap2 & 0x04) != 0 ? 64 : (cap2 & 0x02) != 0 ? 32 : 0;
            int arbitration = phases * 4;
            len += (1 + evcc) * 0x0c;                                   // PCI_CAP_VC_PER_VC_SIZEOF
            if (arbitration != 0)
            {
                len = (len + 15) & ~15;
                len += arbitration / 8;
            }

            return len;
        }

        private static PermBits ExtendedPerm(int ecap, int len)
        {
            switch (ecap)
            {
                case 0x01:
                    // init_pci_ext_cap_err_perm
                    var err = new PermBits(0x2c);
                    err.SetD(0, AllVirt, NoWrite);   // "Virtualize the first dword of all express capabilities"
                    uint uncorrectable = 0x0000_0001 | 0x0000_0010 | 0x0000_0020 | 0x0000_1000 | 0x0000_2000 | 0x0000_4000 | 0x0000_8000
                        | 0x0001_0000 | 0x0002_0000 | 0x0004_0000 | 0x0008_0000 | 0x0010_0000 | 0x0020_0000 | 0x0040_0000 | 0x0080_0000
                        | 0x0100_0000 | 0x0200_0000;  // UND, DLP, SURPDN, POISON_TLP, FCP, COMP_TIME, COMP_ABORT, UNX_COMP, RX_OVER, MALF_TLP, ECRC, UNSUP, ACSV, INTN, MCBTLP, ATOMEG, TLPPRE
                    err.SetD(0x04, NoVirt, uncorrectable);   // PCI_ERR_UNCOR_STATUS
                    err.SetD(0x08, NoVirt, uncorrectable);   // PCI_ERR_UNCOR_MASK
                    err.SetD(0x0c, NoVirt, uncorrectable);   // PCI_ERR_UNCOR_SEVER
                    uint correctable = 0x0001 | 0x0040 | 0x0080 | 0x0100 | 0x1000 | 0x2000 | 0x4000 | 0x8000; // RCVR, BAD_TLP, BAD_DLLP, REP_ROLL, REP_TIMER, ADV_NFAT, INTERNAL, LOG_OVER
                    err.SetD(0x10, NoVirt, correctable);     // PCI_ERR_COR_STATUS
                    err.SetD(0x14, NoVirt, correctable);     // PCI_ERR_COR_MASK
                    err.SetD(0x18, NoVirt, 0x0040 | 0x0100); // PCI_ERR_CAP: ECRC_GENE | ECRC_CHKE
                    return err;
                case 0x04:
                    // init_pci_ext_cap_pwr_perm
                    var pwr = new PermBits(16);
                    pwr.SetD(0, AllVirt, NoWrite);
                    pwr.SetB(0x08, U8(NoVirt), U8(AllWrite));   // PCI_PWR_DATA
                    return pwr;
                default:
                    return ExtendedDirectPerm(len, ecap == 0x0b || ecap == 0x23);
            }
        }

        /// <summary>ecap_perms[] default: vfio_direct_config_read ("Extended cap header mangling": offset &lt; 4 from vconfig); VNDR and DVSEC write raw.</summary>
        private static PermBits ExtendedDirectPerm(int len, bool rawWrite)
        {
            var direct = new PermBits(len);
            direct.SetD(0, AllVirt, NoWrite);
            if (rawWrite)
            {
                direct.FillWrite(0xff);
            }

            return direct;
        }

        // ---- helpers -------------------------------------------------------------------------------------------

        /// <summary>
        /// <c>memset(map + pos, cap, len)</c>: the capability takes its bytes, a later one winning over an earlier
        /// one it overlaps (the kernel only warns, "pci config conflict"). A capability running past the config space
        /// keeps the bytes inside it.
        /// </summary>
        private void Keep(KernelCapability capability, PermBits perm)
        {
            Capabilities.Add(capability);
            _perms.Add(perm);
            int end = Math.Min(Size, capability.Offset + capability.Length);
            for (int i = capability.Offset; i < end; i++)
            {
                _map[i] = Capabilities.Count - 1;
            }
        }

        /// <summary>
        /// <c>vfio_config_do_rw</c> per byte: the map's capability ID selects the perm table, and the offset into it
        /// is counted from <c>vfio_find_cap_start</c>, which walks back while the map holds the same ID ("XXX Can we
        /// have 2 abutting capabilities of the same type?"): of two abutting capabilities of one type, the second's
        /// bytes are read at offsets past the first's start.
        /// </summary>
        private void ApplyMap()
        {
            for (int pos = PciStdHeaderSizeof; pos < Size; pos++)
            {
                int owner = _map[pos];
                if (owner < 0)
                {
                    continue;
                }

                KernelCapability capability = Capabilities[owner];
                int floor = capability.Extended ? PciCfgSpaceSize : PciStdHeaderSizeof;
                int start = pos;
                while (start - 1 >= floor && _map[start - 1] >= 0 && SameMapValue(Capabilities[_map[start - 1]], capability))
                {
                    start--;
                }

                PermBits perm = _perms[owner];
                int offset = pos - start;
                if (start < capability.Offset)
                {
                    MergedRun.Add(pos);
                }

                bool rawWrite = capability.Kind == KernelCapabilityKind.DirectReadRawWrite;
                Virt[pos] = offset < perm.Virt.Length ? perm.Virt[offset] : (byte)0;
                Write[pos] = offset < perm.Write.Length ? perm.Write[offset] : rawWrite ? (byte)0xff : (byte)0;
            }
        }

        private static bool SameMapValue(KernelCapability a, KernelCapability b) => a.Extended == b.Extended && a.Id == b.Id;

        /// <summary>The kernel's <c>(u8)</c> cast of <c>ALL_VIRT</c>/<c>ALL_WRITE</c>.</summary>
        private static byte U8(uint value) => (byte)(value & 0xff);

        /// <summary>The kernel's <c>(u16)</c> cast.</summary>
        private static ushort U16(uint value) => (ushort)(value & 0xffff);

        private int ReadWord(int offset) => _config[offset] | (_config[offset + 1] << 8);

        private uint ReadDword(int offset) => (uint)(ReadWord(offset) | (ReadWord(offset + 2) << 16));

        private static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);

        /// <summary><c>struct perm_bits</c>: <c>alloc_perm_bits</c> rounds up to a dword; "Zero state is - All Readable, None Writeable, None Virtualized".</summary>
        private sealed class PermBits
        {
            public PermBits(int size)
            {
                int rounded = (size + 3) & ~3;
                Virt = new byte[rounded];
                Write = new byte[rounded];
            }

            public byte[] Virt { get; }

            public byte[] Write { get; }

            // Values are truncated to the width as the kernel's u8/u16/u32 parameters do.
            public void SetB(int offset, uint virt, uint write)
            {
                Virt[offset] = (byte)(virt & 0xff);
                Write[offset] = (byte)(write & 0xff);
            }

            public void SetW(int offset, uint virt, uint write)
            {
                SetB(offset, virt, write);
                SetB(offset + 1, virt >> 8, write >> 8);
            }

            public void SetD(int offset, uint virt, uint write)
            {
                SetW(offset, virt, write);
                SetW(offset + 2, virt >> 16, write >> 16);
            }

            public void FillWrite(byte write)
            {
                for (int i = 0; i < Write.Length; i++)
                {
                    Write[i] = write;
                }
            }
        }
    }
}
