using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Threading.Tasks;
using VfioPolicy.Runtime.Kernel;
using Xunit;

namespace VfioPolicy.Runtime.Tests.Kernel
{
    /// <summary>
    /// Holds <see cref="VfioAbi"/> against the Linux UAPI headers. Every expected number below is transcribed from the
    /// header text (quoted next to it), never taken from <see cref="VfioAbi"/>: <c>/usr/include/linux/vfio.h</c> (Linux
    /// 6.1) for the group/container/device/type1 ioctls, and upstream <c>include/uapi/linux/vfio.h</c> and
    /// <c>include/uapi/linux/iommufd.h</c> (torvalds/linux) for the cdev and iommufd pieces 6.1 lacks. Layouts are the
    /// C ones on x86-64/arm64: little-endian, <c>__u64</c>/<c>__aligned_u64</c> on 8-byte boundaries.
    /// </summary>
    public sealed class VfioAbiTests
    {
        // #define VFIO_TYPE (';')          and, in iommufd.h, #define IOMMUFD_TYPE (';')
        private const int VFIO_TYPE = ';';
        private const int IOMMUFD_TYPE = ';';

        // #define VFIO_BASE 100
        private const int VFIO_BASE = 100;

        // enum { IOMMUFD_CMD_BASE = 0x80, IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE, IOMMUFD_CMD_IOAS_ALLOC,
        //        IOMMUFD_CMD_IOAS_ALLOW_IOVAS, IOMMUFD_CMD_IOAS_COPY, IOMMUFD_CMD_IOAS_IOVA_RANGES, IOMMUFD_CMD_IOAS_MAP,
        //        IOMMUFD_CMD_IOAS_UNMAP, ... };
        private const int IOMMUFD_CMD_BASE = 0x80;
        private const int IOMMUFD_CMD_DESTROY = IOMMUFD_CMD_BASE + 0;
        private const int IOMMUFD_CMD_IOAS_ALLOC = IOMMUFD_CMD_BASE + 1;
        private const int IOMMUFD_CMD_IOAS_IOVA_RANGES = IOMMUFD_CMD_BASE + 4;
        private const int IOMMUFD_CMD_IOAS_MAP = IOMMUFD_CMD_BASE + 5;
        private const int IOMMUFD_CMD_IOAS_UNMAP = IOMMUFD_CMD_BASE + 6;

        // struct vfio_region_info flags
        // #define VFIO_REGION_INFO_FLAG_READ  (1 << 0) / WRITE (1 << 1) / MMAP (1 << 2) / CAPS (1 << 3)
        private const uint VFIO_REGION_INFO_FLAG_READ = 1 << 0;
        private const uint VFIO_REGION_INFO_FLAG_WRITE = 1 << 1;
        private const uint VFIO_REGION_INFO_FLAG_MMAP = 1 << 2;
        private const uint VFIO_REGION_INFO_FLAG_CAPS = 1 << 3;

        // #define VFIO_REGION_INFO_CAP_SPARSE_MMAP 1, VFIO_REGION_INFO_CAP_TYPE 2, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE 3
        private const ushort VFIO_REGION_INFO_CAP_SPARSE_MMAP = 1;
        private const ushort VFIO_REGION_INFO_CAP_TYPE = 2;
        private const ushort VFIO_REGION_INFO_CAP_MSIX_MAPPABLE = 3;

        // #define VFIO_REGION_TYPE_PCI_VENDOR_TYPE (1 << 31); #define VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG (3)
        private const uint VFIO_REGION_TYPE_PCI_VENDOR_TYPE = 1u << 31;
        private const uint VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG = 3;

        // struct vfio_irq_info flags
        // #define VFIO_IRQ_INFO_EVENTFD (1 << 0), MASKABLE (1 << 1), AUTOMASKED (1 << 2), NORESIZE (1 << 3)
        private const uint VFIO_IRQ_INFO_EVENTFD = 1 << 0;
        private const uint VFIO_IRQ_INFO_MASKABLE = 1 << 1;
        private const uint VFIO_IRQ_INFO_AUTOMASKED = 1 << 2;
        private const uint VFIO_IRQ_INFO_NORESIZE = 1 << 3;

        // struct vfio_irq_set flags
        // #define VFIO_IRQ_SET_DATA_NONE (1 << 0), DATA_BOOL (1 << 1), DATA_EVENTFD (1 << 2),
        //         VFIO_IRQ_SET_ACTION_MASK (1 << 3), ACTION_UNMASK (1 << 4), ACTION_TRIGGER (1 << 5)
        private const uint VFIO_IRQ_SET_DATA_NONE = 1 << 0;
        private const uint VFIO_IRQ_SET_DATA_BOOL = 1 << 1;
        private const uint VFIO_IRQ_SET_DATA_EVENTFD = 1 << 2;
        private const uint VFIO_IRQ_SET_ACTION_MASK = 1 << 3;
        private const uint VFIO_IRQ_SET_ACTION_UNMASK = 1 << 4;
        private const uint VFIO_IRQ_SET_ACTION_TRIGGER = 1 << 5;

        // struct vfio_iommu_type1_info flags: #define VFIO_IOMMU_INFO_PGSIZES (1 << 0), VFIO_IOMMU_INFO_CAPS (1 << 1)
        private const uint VFIO_IOMMU_INFO_PGSIZES = 1 << 0;
        private const uint VFIO_IOMMU_INFO_CAPS = 1 << 1;

        // #define VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE 1, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION 2, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL 3
        private const ushort VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE = 1;
        private const ushort VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION = 2;
        private const ushort VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL = 3;

        // #define VFIO_DMA_MAP_FLAG_READ (1 << 0), VFIO_DMA_MAP_FLAG_WRITE (1 << 1)
        private const uint VFIO_DMA_MAP_FLAG_READ = 1 << 0;
        private const uint VFIO_DMA_MAP_FLAG_WRITE = 1 << 1;

        // upstream vfio.h: #define VFIO_PCI_HOT_RESET_FLAG_DEV_ID (1 << 0), VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED (1 << 1)
        private const uint VFIO_PCI_HOT_RESET_FLAG_DEV_ID = 1 << 0;
        private const uint VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED = 1 << 1;

        // upstream vfio.h: #define VFIO_PCI_DEVID_OWNED 0, #define VFIO_PCI_DEVID_NOT_OWNED -1 (in a __u32 devid)
        private const uint VFIO_PCI_DEVID_OWNED = 0;
        private const uint VFIO_PCI_DEVID_NOT_OWNED = unchecked((uint)-1);

        // iommufd.h: enum iommufd_ioas_map_flags { IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0, IOMMU_IOAS_MAP_WRITEABLE = 1 << 1,
        //                                          IOMMU_IOAS_MAP_READABLE = 1 << 2 };
        private const uint IOMMU_IOAS_MAP_FIXED_IOVA = 1 << 0;
        private const uint IOMMU_IOAS_MAP_WRITEABLE = 1 << 1;
        private const uint IOMMU_IOAS_MAP_READABLE = 1 << 2;

        // ---------------------------------------------------------------------------------------------------------
        // 1. Request numbers: _IO(type, nr) = (type << 8) | nr (direction and size bits zero).

        /// <summary>(VfioAbi field, header macro, VfioAbi's value, nr from the header).</summary>
        public static TheoryData<string, string, int, int> Requests => new TheoryData<string, string, int, int>
        {
            // #define VFIO_GET_API_VERSION _IO(VFIO_TYPE, VFIO_BASE + 0)
            { nameof(VfioAbi.GetApiVersion), "VFIO_GET_API_VERSION", VfioAbi.GetApiVersion, VFIO_BASE + 0 },
            // #define VFIO_CHECK_EXTENSION _IO(VFIO_TYPE, VFIO_BASE + 1)
            { nameof(VfioAbi.CheckExtension), "VFIO_CHECK_EXTENSION", VfioAbi.CheckExtension, VFIO_BASE + 1 },
            // #define VFIO_SET_IOMMU _IO(VFIO_TYPE, VFIO_BASE + 2)
            { nameof(VfioAbi.SetIommu), "VFIO_SET_IOMMU", VfioAbi.SetIommu, VFIO_BASE + 2 },
            // #define VFIO_GROUP_GET_STATUS _IO(VFIO_TYPE, VFIO_BASE + 3)
            { nameof(VfioAbi.GroupGetStatus), "VFIO_GROUP_GET_STATUS", VfioAbi.GroupGetStatus, VFIO_BASE + 3 },
            // #define VFIO_GROUP_SET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 4)
            { nameof(VfioAbi.GroupSetContainer), "VFIO_GROUP_SET_CONTAINER", VfioAbi.GroupSetContainer, VFIO_BASE + 4 },
            // #define VFIO_GROUP_UNSET_CONTAINER _IO(VFIO_TYPE, VFIO_BASE + 5)
            { nameof(VfioAbi.GroupUnsetContainer), "VFIO_GROUP_UNSET_CONTAINER", VfioAbi.GroupUnsetContainer, VFIO_BASE + 5 },
            // #define VFIO_GROUP_GET_DEVICE_FD _IO(VFIO_TYPE, VFIO_BASE + 6)
            { nameof(VfioAbi.GroupGetDeviceFd), "VFIO_GROUP_GET_DEVICE_FD", VfioAbi.GroupGetDeviceFd, VFIO_BASE + 6 },
            // #define VFIO_DEVICE_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 7)
            { nameof(VfioAbi.DeviceGetInfo), "VFIO_DEVICE_GET_INFO", VfioAbi.DeviceGetInfo, VFIO_BASE + 7 },
            // #define VFIO_DEVICE_GET_REGION_INFO _IO(VFIO_TYPE, VFIO_BASE + 8)
            { nameof(VfioAbi.DeviceGetRegionInfo), "VFIO_DEVICE_GET_REGION_INFO", VfioAbi.DeviceGetRegionInfo, VFIO_BASE + 8 },
            // #define VFIO_DEVICE_GET_IRQ_INFO _IO(VFIO_TYPE, VFIO_BASE + 9)
            { nameof(VfioAbi.DeviceGetIrqInfo), "VFIO_DEVICE_GET_IRQ_INFO", VfioAbi.DeviceGetIrqInfo, VFIO_BASE + 9 },
            // #define VFIO_DEVICE_SET_IRQS _IO(VFIO_TYPE, VFIO_BASE + 10)
            { nameof(VfioAbi.DeviceSetIrqs), "VFIO_DEVICE_SET_IRQS", VfioAbi.DeviceSetIrqs, VFIO_BASE + 10 },
            // #define VFIO_DEVICE_RESET _IO(VFIO_TYPE, VFIO_BASE + 11)
            { nameof(VfioAbi.DeviceReset), "VFIO_DEVICE_RESET", VfioAbi.DeviceReset, VFIO_BASE + 11 },
            // #define VFIO_DEVICE_GET_PCI_HOT_RESET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)
            { nameof(VfioAbi.DeviceGetPciHotResetInfo), "VFIO_DEVICE_GET_PCI_HOT_RESET_INFO", VfioAbi.DeviceGetPciHotResetInfo, VFIO_BASE + 12 },
            // #define VFIO_DEVICE_PCI_HOT_RESET _IO(VFIO_TYPE, VFIO_BASE + 13)
            { nameof(VfioAbi.DevicePciHotReset), "VFIO_DEVICE_PCI_HOT_RESET", VfioAbi.DevicePciHotReset, VFIO_BASE + 13 },
            // #define VFIO_IOMMU_GET_INFO _IO(VFIO_TYPE, VFIO_BASE + 12)  (on the container fd, so it may share 12)
            { nameof(VfioAbi.IommuGetInfo), "VFIO_IOMMU_GET_INFO", VfioAbi.IommuGetInfo, VFIO_BASE + 12 },
            // #define VFIO_IOMMU_MAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 13)
            { nameof(VfioAbi.IommuMapDma), "VFIO_IOMMU_MAP_DMA", VfioAbi.IommuMapDma, VFIO_BASE + 13 },
            // #define VFIO_IOMMU_UNMAP_DMA _IO(VFIO_TYPE, VFIO_BASE + 14)
            { nameof(VfioAbi.IommuUnmapDma), "VFIO_IOMMU_UNMAP_DMA", VfioAbi.IommuUnmapDma, VFIO_BASE + 14 },
            // upstream vfio.h: #define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
            { nameof(VfioAbi.DeviceBindIommufd), "VFIO_DEVICE_BIND_IOMMUFD", VfioAbi.DeviceBindIommufd, VFIO_BASE + 18 },
            // upstream vfio.h: #define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
            { nameof(VfioAbi.DeviceAttachIommufdPt), "VFIO_DEVICE_ATTACH_IOMMUFD_PT", VfioAbi.DeviceAttachIommufdPt, VFIO_BASE + 19 },
            // upstream vfio.h: #define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
            { nameof(VfioAbi.DeviceDetachIommufdPt), "VFIO_DEVICE_DETACH_IOMMUFD_PT", VfioAbi.DeviceDetachIommufdPt, VFIO_BASE + 20 },
            // iommufd.h: #define IOMMU_DESTROY _IO(IOMMUFD_TYPE, IOMMUFD_CMD_DESTROY)
            { nameof(VfioAbi.IommuDestroy), "IOMMU_DESTROY", VfioAbi.IommuDestroy, IOMMUFD_CMD_DESTROY },
            // iommufd.h: #define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_ALLOC)
            { nameof(VfioAbi.IommuIoasAlloc), "IOMMU_IOAS_ALLOC", VfioAbi.IommuIoasAlloc, IOMMUFD_CMD_IOAS_ALLOC },
            // iommufd.h: #define IOMMU_IOAS_IOVA_RANGES _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_IOVA_RANGES)
            { nameof(VfioAbi.IommuIoasIovaRanges), "IOMMU_IOAS_IOVA_RANGES", VfioAbi.IommuIoasIovaRanges, IOMMUFD_CMD_IOAS_IOVA_RANGES },
            // iommufd.h: #define IOMMU_IOAS_MAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_MAP)
            { nameof(VfioAbi.IommuIoasMap), "IOMMU_IOAS_MAP", VfioAbi.IommuIoasMap, IOMMUFD_CMD_IOAS_MAP },
            // iommufd.h: #define IOMMU_IOAS_UNMAP _IO(IOMMUFD_TYPE, IOMMUFD_CMD_IOAS_UNMAP)
            { nameof(VfioAbi.IommuIoasUnmap), "IOMMU_IOAS_UNMAP", VfioAbi.IommuIoasUnmap, IOMMUFD_CMD_IOAS_UNMAP },
        };

        [Theory]
        [MemberData(nameof(Requests))]
        public void Request_number_is_IO_of_the_header_type_and_nr(string field, string macro, int actual, int nr)
        {
            Assert.Equal(0x3B, VFIO_TYPE);
            Assert.Equal(VFIO_TYPE, IOMMUFD_TYPE);
            int expected = (VFIO_TYPE << 8) | nr; // _IO: no direction, no size
            Assert.True(expected == actual, string.Format(CultureInfo.InvariantCulture, "VfioAbi.{0} = 0x{1:x4}, but {2} = _IO(';', {3}) = 0x{4:x4}", field, actual, macro, nr, expected));
        }

        [Fact]
        public void Every_request_number_constant_of_VfioAbi_is_checked_against_a_header_macro()
        {
            var checkedFields = new HashSet<string>();
            foreach (object[] row in Requests)
            {
                checkedFields.Add((string)row[0]);
            }

            foreach (FieldInfo field in typeof(VfioAbi).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                if (field.IsLiteral && field.FieldType == typeof(int) && ((int)field.GetRawConstantValue()! >> 8) == 0x3B)
                {
                    Assert.Contains(field.Name, checkedFields);
                }
            }
        }

        // ---------------------------------------------------------------------------------------------------------
        // 2. Structure sizes.

        /// <summary>(VfioAbi field, header struct, VfioAbi's value, sizeof from the header).</summary>
        public static TheoryData<string, string, int, int> Sizes => new TheoryData<string, string, int, int>
        {
            // struct vfio_group_status { __u32 argsz; __u32 flags; };
            { nameof(VfioAbi.GroupStatusSize), "struct vfio_group_status", VfioAbi.GroupStatusSize, 8 },
            // upstream: struct vfio_device_info { __u32 argsz; __u32 flags; __u32 num_regions; __u32 num_irqs;
            //                                     __u32 cap_offset; __u32 pad; };
            // (the 6.1 header has no `pad`, sizeof 20; upstream added it, sizeof 24; the fields before it are the same)
            { nameof(VfioAbi.DeviceInfoSize), "struct vfio_device_info", VfioAbi.DeviceInfoSize, 24 },
            // struct vfio_region_info { __u32 argsz; __u32 flags; __u32 index; __u32 cap_offset; __u64 size; __u64 offset; };
            { nameof(VfioAbi.RegionInfoSize), "struct vfio_region_info", VfioAbi.RegionInfoSize, 32 },
            // struct vfio_irq_info { __u32 argsz; __u32 flags; __u32 index; __u32 count; };
            { nameof(VfioAbi.IrqInfoSize), "struct vfio_irq_info", VfioAbi.IrqInfoSize, 16 },
            // struct vfio_irq_set { __u32 argsz; __u32 flags; __u32 index; __u32 start; __u32 count; __u8 data[]; };
            { nameof(VfioAbi.IrqSetHeaderSize), "struct vfio_irq_set", VfioAbi.IrqSetHeaderSize, 20 },
            // struct vfio_iommu_type1_info { __u32 argsz; __u32 flags; __u64 iova_pgsizes; __u32 cap_offset; };
            // 4 + 4 + 8 + 4 = 20, rounded up to the __u64 alignment: 24 (upstream spells the tail out as `__u32 pad;`)
            { nameof(VfioAbi.IommuType1InfoSize), "struct vfio_iommu_type1_info", VfioAbi.IommuType1InfoSize, 24 },
            // struct vfio_iommu_type1_dma_map { __u32 argsz; __u32 flags; __u64 vaddr; __u64 iova; __u64 size; };
            { nameof(VfioAbi.DmaMapSize), "struct vfio_iommu_type1_dma_map", VfioAbi.DmaMapSize, 32 },
            // struct vfio_iommu_type1_dma_unmap { __u32 argsz; __u32 flags; __u64 iova; __u64 size; __u8 data[]; };
            { nameof(VfioAbi.DmaUnmapSize), "struct vfio_iommu_type1_dma_unmap", VfioAbi.DmaUnmapSize, 24 },
            // struct vfio_pci_hot_reset_info { __u32 argsz; __u32 flags; __u32 count;
            //                                  struct vfio_pci_dependent_device devices[]; };
            { nameof(VfioAbi.HotResetInfoHeaderSize), "struct vfio_pci_hot_reset_info", VfioAbi.HotResetInfoHeaderSize, 12 },
            // struct vfio_pci_dependent_device { __u32 group_id (union devid); __u16 segment; __u8 bus; __u8 devfn; };
            { nameof(VfioAbi.DependentDeviceSize), "struct vfio_pci_dependent_device", VfioAbi.DependentDeviceSize, 8 },
            // struct vfio_pci_hot_reset { __u32 argsz; __u32 flags; __u32 count; __s32 group_fds[]; };
            { nameof(VfioAbi.HotResetHeaderSize), "struct vfio_pci_hot_reset", VfioAbi.HotResetHeaderSize, 12 },
            // upstream: struct vfio_device_bind_iommufd { __u32 argsz; __u32 flags; __s32 iommufd; __u32 out_devid;
            //                                             __aligned_u64 token_uuid_ptr; };  first layout: up to out_devid
            { nameof(VfioAbi.BindIommufdSize), "struct vfio_device_bind_iommufd (before token_uuid_ptr)", VfioAbi.BindIommufdSize, 16 },
            // upstream: struct vfio_device_attach_iommufd_pt { __u32 argsz; __u32 flags; __u32 pt_id; __u32 pasid; };
            //           first layout: up to pt_id
            { nameof(VfioAbi.AttachIommufdPtSize), "struct vfio_device_attach_iommufd_pt (before pasid)", VfioAbi.AttachIommufdPtSize, 12 },
            // upstream: struct vfio_device_detach_iommufd_pt { __u32 argsz; __u32 flags; __u32 pasid; };
            //           first layout: up to flags
            { nameof(VfioAbi.DetachIommufdPtSize), "struct vfio_device_detach_iommufd_pt (before pasid)", VfioAbi.DetachIommufdPtSize, 8 },
            // iommufd.h: struct iommu_destroy { __u32 size; __u32 id; };
            { nameof(VfioAbi.IommuDestroySize), "struct iommu_destroy", VfioAbi.IommuDestroySize, 8 },
            // iommufd.h: struct iommu_ioas_alloc { __u32 size; __u32 flags; __u32 out_ioas_id; };
            { nameof(VfioAbi.IoasAllocSize), "struct iommu_ioas_alloc", VfioAbi.IoasAllocSize, 12 },
            // iommufd.h: struct iommu_ioas_iova_ranges { __u32 size; __u32 ioas_id; __u32 num_iovas; __u32 __reserved;
            //                                            __aligned_u64 allowed_iovas; __aligned_u64 out_iova_alignment; };
            { nameof(VfioAbi.IoasIovaRangesSize), "struct iommu_ioas_iova_ranges", VfioAbi.IoasIovaRangesSize, 32 },
            // iommufd.h: struct iommu_iova_range { __aligned_u64 start; __aligned_u64 last; };
            { nameof(VfioAbi.IovaRangeSize), "struct iommu_iova_range", VfioAbi.IovaRangeSize, 16 },
            // iommufd.h: struct iommu_ioas_map { __u32 size; __u32 flags; __u32 ioas_id; __u32 __reserved;
            //                                    __aligned_u64 user_va; __aligned_u64 length; __aligned_u64 iova; };
            { nameof(VfioAbi.IoasMapSize), "struct iommu_ioas_map", VfioAbi.IoasMapSize, 40 },
            // iommufd.h: struct iommu_ioas_unmap { __u32 size; __u32 ioas_id; __aligned_u64 iova; __aligned_u64 length; };
            { nameof(VfioAbi.IoasUnmapSize), "struct iommu_ioas_unmap", VfioAbi.IoasUnmapSize, 24 },
        };

        [Theory]
        [MemberData(nameof(Sizes))]
        public void Structure_size_is_the_header_sizeof(string field, string structure, int actual, int expected)
        {
            Assert.True(expected == actual, string.Format(CultureInfo.InvariantCulture, "VfioAbi.{0} = {1}, but {2} is {3} bytes", field, actual, structure, expected));
        }

        [Fact]
        public void Every_size_constant_of_VfioAbi_is_checked_against_a_header_struct()
        {
            var checkedFields = new HashSet<string>();
            foreach (object[] row in Sizes)
            {
                checkedFields.Add((string)row[0]);
            }

            foreach (FieldInfo field in typeof(VfioAbi).GetFields(BindingFlags.Public | BindingFlags.Static))
            {
                // MaxInfoSize is the runtime's own cap on a capability chain, not a header structure.
                if (field.IsLiteral && field.Name.EndsWith("Size", StringComparison.Ordinal) && field.Name != nameof(VfioAbi.MaxInfoSize))
                {
                    Assert.Contains(field.Name, checkedFields);
                }
            }
        }

        [Fact]
        public void The_minimal_cdev_layouts_are_prefixes_of_the_grown_header_structs()
        {
            // upstream: struct vfio_device_bind_iommufd { __u32 argsz; /*0*/ __u32 flags; /*4*/ __s32 iommufd; /*8*/
            //           __u32 out_devid; /*12*/ __aligned_u64 token_uuid_ptr; /*16*/ };  sizeof 24
            Assert.Equal(16, VfioAbi.BindIommufdSize);
            Assert.True(VfioAbi.BindIommufdSize < 24);

            // upstream: struct vfio_device_attach_iommufd_pt { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 pt_id; /*8*/
            //           __u32 pasid; /*12*/ };  sizeof 16
            Assert.Equal(12, VfioAbi.AttachIommufdPtSize);
            Assert.True(VfioAbi.AttachIommufdPtSize < 16);

            // upstream: struct vfio_device_detach_iommufd_pt { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 pasid; /*8*/ };
            //           sizeof 12
            Assert.Equal(8, VfioAbi.DetachIommufdPtSize);
            Assert.True(VfioAbi.DetachIommufdPtSize < 12);

            // The encoders write each field at the header's offset and nothing past the prefix (byte checks below), and
            // they leave the flag that would make the kernel read the grown field (BIND_FLAG_TOKEN, ATTACH/DETACH_PASID,
            // all (1 << 0)) clear.
            byte[] bind = Filled(VfioAbi.BindIommufdSize);
            VfioAbi.EncodeBindIommufd(bind, 3);
            Assert.Equal(0u, U32(bind, 4) & (1 << 0));
            byte[] attach = Filled(VfioAbi.AttachIommufdPtSize);
            VfioAbi.EncodeAttachIommufdPt(attach, 3);
            Assert.Equal(0u, U32(attach, 4) & (1 << 0));
            byte[] detach = Filled(VfioAbi.DetachIommufdPtSize);
            VfioAbi.EncodeDetachIommufdPt(detach);
            Assert.Equal(0u, U32(detach, 4) & (1 << 0));
        }

        // ---------------------------------------------------------------------------------------------------------
        // Flag values and capability ids.

        /// <summary>(VfioAbi field, header macro, VfioAbi's value, the header's value).</summary>
        public static TheoryData<string, string, uint, uint> FlagValues => new TheoryData<string, string, uint, uint>
        {
            { nameof(VfioAbi.SparseMmapCapability), "VFIO_REGION_INFO_CAP_SPARSE_MMAP", VfioAbi.SparseMmapCapability, VFIO_REGION_INFO_CAP_SPARSE_MMAP },
            { nameof(VfioAbi.RegionTypeCapability), "VFIO_REGION_INFO_CAP_TYPE", VfioAbi.RegionTypeCapability, VFIO_REGION_INFO_CAP_TYPE },
            { nameof(VfioAbi.MsixMappableCapability), "VFIO_REGION_INFO_CAP_MSIX_MAPPABLE", VfioAbi.MsixMappableCapability, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE },
            { nameof(VfioAbi.IovaRangeCapability), "VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE", VfioAbi.IovaRangeCapability, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE },
            { nameof(VfioAbi.DmaAvailCapability), "VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL", VfioAbi.DmaAvailCapability, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL },
            { nameof(VfioAbi.IrqSetDataNone), "VFIO_IRQ_SET_DATA_NONE", VfioAbi.IrqSetDataNone, VFIO_IRQ_SET_DATA_NONE },
            { nameof(VfioAbi.IrqSetDataBool), "VFIO_IRQ_SET_DATA_BOOL", VfioAbi.IrqSetDataBool, VFIO_IRQ_SET_DATA_BOOL },
            { nameof(VfioAbi.IrqSetDataEventFd), "VFIO_IRQ_SET_DATA_EVENTFD", VfioAbi.IrqSetDataEventFd, VFIO_IRQ_SET_DATA_EVENTFD },
            { nameof(VfioAbi.IrqSetActionMask), "VFIO_IRQ_SET_ACTION_MASK", VfioAbi.IrqSetActionMask, VFIO_IRQ_SET_ACTION_MASK },
            { nameof(VfioAbi.IrqSetActionUnmask), "VFIO_IRQ_SET_ACTION_UNMASK", VfioAbi.IrqSetActionUnmask, VFIO_IRQ_SET_ACTION_UNMASK },
            { nameof(VfioAbi.IrqSetActionTrigger), "VFIO_IRQ_SET_ACTION_TRIGGER", VfioAbi.IrqSetActionTrigger, VFIO_IRQ_SET_ACTION_TRIGGER },
            { nameof(VfioAbi.IommuInfoPageSizes), "VFIO_IOMMU_INFO_PGSIZES", VfioAbi.IommuInfoPageSizes, VFIO_IOMMU_INFO_PGSIZES },
            { nameof(VfioAbi.IommuInfoCaps), "VFIO_IOMMU_INFO_CAPS", VfioAbi.IommuInfoCaps, VFIO_IOMMU_INFO_CAPS },
            { nameof(VfioAbi.DmaMapRead), "VFIO_DMA_MAP_FLAG_READ", VfioAbi.DmaMapRead, VFIO_DMA_MAP_FLAG_READ },
            { nameof(VfioAbi.DmaMapWrite), "VFIO_DMA_MAP_FLAG_WRITE", VfioAbi.DmaMapWrite, VFIO_DMA_MAP_FLAG_WRITE },
            { nameof(VfioAbi.HotResetFlagDeviceId), "VFIO_PCI_HOT_RESET_FLAG_DEV_ID", VfioAbi.HotResetFlagDeviceId, VFIO_PCI_HOT_RESET_FLAG_DEV_ID },
            { nameof(VfioAbi.HotResetFlagDeviceIdOwned), "VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED", VfioAbi.HotResetFlagDeviceIdOwned, VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED },
            { nameof(VfioAbi.IoasMapFixedIova), "IOMMU_IOAS_MAP_FIXED_IOVA", VfioAbi.IoasMapFixedIova, IOMMU_IOAS_MAP_FIXED_IOVA },
            { nameof(VfioAbi.IoasMapWriteable), "IOMMU_IOAS_MAP_WRITEABLE", VfioAbi.IoasMapWriteable, IOMMU_IOAS_MAP_WRITEABLE },
            { nameof(VfioAbi.IoasMapReadable), "IOMMU_IOAS_MAP_READABLE", VfioAbi.IoasMapReadable, IOMMU_IOAS_MAP_READABLE },
        };

        [Theory]
        [MemberData(nameof(FlagValues))]
        public void Flag_and_capability_id_is_the_header_value(string field, string macro, uint actual, uint expected)
        {
            Assert.True(expected == actual, string.Format(CultureInfo.InvariantCulture, "VfioAbi.{0} = 0x{1:x}, but {2} = 0x{3:x}", field, actual, macro, expected));
        }

        [Fact]
        public void The_flag_enums_the_decoders_cast_to_have_the_header_bits()
        {
            // #define VFIO_GROUP_FLAGS_VIABLE (1 << 0), VFIO_GROUP_FLAGS_CONTAINER_SET (1 << 1)
            Assert.Equal(1u << 0, (uint)VfioGroupFlags.Viable);
            Assert.Equal(1u << 1, (uint)VfioGroupFlags.ContainerSet);

            // #define VFIO_DEVICE_FLAGS_RESET (1 << 0), VFIO_DEVICE_FLAGS_PCI (1 << 1)
            Assert.Equal(1u << 0, (uint)VfioDeviceFlags.Reset);
            Assert.Equal(1u << 1, (uint)VfioDeviceFlags.Pci);

            Assert.Equal(VFIO_REGION_INFO_FLAG_READ, (uint)VfioRegionFlags.Read);
            Assert.Equal(VFIO_REGION_INFO_FLAG_WRITE, (uint)VfioRegionFlags.Write);
            Assert.Equal(VFIO_REGION_INFO_FLAG_MMAP, (uint)VfioRegionFlags.Mmap);
            Assert.Equal(VFIO_REGION_INFO_FLAG_CAPS, (uint)VfioRegionFlags.Caps);

            Assert.Equal(VFIO_IRQ_INFO_EVENTFD, (uint)VfioIrqFlags.EventFd);
            Assert.Equal(VFIO_IRQ_INFO_MASKABLE, (uint)VfioIrqFlags.Maskable);
            Assert.Equal(VFIO_IRQ_INFO_AUTOMASKED, (uint)VfioIrqFlags.AutoMasked);
            Assert.Equal(VFIO_IRQ_INFO_NORESIZE, (uint)VfioIrqFlags.NoResize);

            Assert.Equal(VFIO_REGION_TYPE_PCI_VENDOR_TYPE, VfioRegionType.PciVendorType);
            Assert.Equal(VFIO_PCI_DEVID_OWNED, VfioDependentDevice.DeviceIdOwned);
            Assert.Equal(VFIO_PCI_DEVID_NOT_OWNED, VfioDependentDevice.DeviceIdNotOwned);
        }

        [Fact]
        public void The_vfio_h_numbers_in_VfioConstants_are_the_header_values()
        {
            Assert.Equal(0, VfioConstants.ApiVersion); // #define VFIO_API_VERSION 0
            Assert.Equal(1u, VfioConstants.Type1Iommu); // #define VFIO_TYPE1_IOMMU 1
            Assert.Equal(3u, VfioConstants.Type1v2Iommu); // #define VFIO_TYPE1v2_IOMMU 3
            Assert.Equal(8u, VfioConstants.NoIommu); // #define VFIO_NOIOMMU_IOMMU 8

            // enum { VFIO_PCI_BAR0_REGION_INDEX, ... BAR5, VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX,
            //        VFIO_PCI_VGA_REGION_INDEX, VFIO_PCI_NUM_REGIONS = 9 };
            Assert.Equal(0, VfioConstants.Bar0RegionIndex);
            Assert.Equal(6, VfioConstants.RomRegionIndex);
            Assert.Equal(7, VfioConstants.ConfigRegionIndex);
            Assert.Equal(8, VfioConstants.VgaRegionIndex);

            // enum { VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX,
            //        VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_NUM_IRQS };
            Assert.Equal(0, VfioConstants.IntxIrqIndex);
            Assert.Equal(1, VfioConstants.MsiIrqIndex);
            Assert.Equal(2, VfioConstants.MsixIrqIndex);
            Assert.Equal(3, VfioConstants.ErrIrqIndex);
            Assert.Equal(4, VfioConstants.ReqIrqIndex);
        }

        // ---------------------------------------------------------------------------------------------------------
        // 3. Encoders: every byte of the buffer, which starts out 0xCC.

        [Theory]
        [InlineData(8)]
        [InlineData(24)]
        [InlineData(4096)]
        public void EncodeArgsz_puts_the_buffer_length_in_the_first_u32(int length)
        {
            // Every VFIO structure starts with `__u32 argsz;` and every iommufd one with `__u32 size;`.
            byte[] buffer = Filled(length);
            VfioAbi.EncodeArgsz(buffer);
            Assert.Equal((uint)length, U32(buffer, 0));
        }

        [Theory]
        [InlineData(32)]
        [InlineData(32 + 256)]
        public void EncodeRegionInfo_writes_argsz_and_index_at_the_header_offsets(int length)
        {
            // struct vfio_region_info {
            //     __u32 argsz;       0
            //     __u32 flags;       4
            //     __u32 index;       8
            //     __u32 cap_offset; 12
            //     __u64 size;       16
            //     __u64 offset;     24
            // };  (room past 32 is for the capability chain the kernel writes back)
            byte[] expected = new byte[length];
            Put32(expected, 0, (uint)length);
            Put32(expected, 8, 0x0A0B0C0D);

            byte[] actual = Filled(length);
            VfioAbi.EncodeRegionInfo(actual, 0x0A0B0C0D);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIrqInfo_writes_argsz_and_index_at_the_header_offsets()
        {
            // struct vfio_irq_info { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 index; /*8*/ __u32 count; /*12*/ };
            byte[] expected = new byte[16];
            Put32(expected, 0, 16);
            Put32(expected, 8, 0x0A0B0C0D);

            byte[] actual = Filled(16);
            VfioAbi.EncodeIrqInfo(actual, 0x0A0B0C0D);

            AssertBytes(expected, actual);
        }

        // struct vfio_irq_set {
        //     __u32 argsz;   0
        //     __u32 flags;   4   VFIO_IRQ_SET_DATA_* | VFIO_IRQ_SET_ACTION_*
        //     __u32 index;   8
        //     __u32 start;  12
        //     __u32 count;  16
        //     __u8  data[]; 20   DATA_EVENTFD: __s32 per vector; DATA_BOOL: one byte (bool, u8) per vector
        // };
        [Fact]
        public void EncodeIrqSet_with_eventfds_lays_out_the_s32_array_after_the_header()
        {
            var request = VfioIrqSet.Trigger(0x0A0B0C0D, 0x01020304, new[] { 0x11223344, -1, 0x55667788 });
            byte[] expected = new byte[20 + (3 * 4)];
            Put32(expected, 0, (uint)expected.Length);
            Put32(expected, 4, VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER);
            Put32(expected, 8, 0x0A0B0C0D);
            Put32(expected, 12, 0x01020304);
            Put32(expected, 16, 3);
            Put32(expected, 20, 0x11223344);
            Put32(expected, 24, 0xFFFFFFFF);
            Put32(expected, 28, 0x55667788);

            Assert.Equal(expected.Length, VfioAbi.IrqSetSize(request));
            byte[] actual = Filled(expected.Length);
            VfioAbi.EncodeIrqSet(actual, request);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIrqSet_with_bools_lays_out_one_byte_per_vector_after_the_header()
        {
            // The header's own example: "to mask interrupts [0,1] and [0,3] (but not [0,2]):
            // flags = (DATA_BOOL|ACTION_MASK), index = 0, start = 1, count = 3, data = {1,0,1}" (index made distinctive).
            var request = new VfioIrqSet(0x0A0B0C0D, VfioIrqAction.Mask, 1, 3, null) { Bools = new[] { true, false, true } };
            byte[] expected = new byte[20 + 3];
            Put32(expected, 0, (uint)expected.Length);
            Put32(expected, 4, VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_MASK);
            Put32(expected, 8, 0x0A0B0C0D);
            Put32(expected, 12, 1);
            Put32(expected, 16, 3);
            expected[20] = 1;
            expected[21] = 0;
            expected[22] = 1;

            Assert.Equal(expected.Length, VfioAbi.IrqSetSize(request));
            byte[] actual = Filled(expected.Length);
            VfioAbi.EncodeIrqSet(actual, request);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIrqSet_with_bools_can_unmask_and_trigger()
        {
            var unmask = new VfioIrqSet(2, VfioIrqAction.Unmask, 5, 2, null) { Bools = new[] { false, true } };
            byte[] actual = Filled(VfioAbi.IrqSetSize(unmask));
            VfioAbi.EncodeIrqSet(actual, unmask);
            Assert.Equal(22, actual.Length);
            Assert.Equal(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_UNMASK, U32(actual, 4));
            Assert.Equal(new byte[] { 0, 1 }, actual[20..]);

            var trigger = new VfioIrqSet(2, VfioIrqAction.Trigger, 0, 1, null) { Bools = new[] { true } };
            actual = Filled(VfioAbi.IrqSetSize(trigger));
            VfioAbi.EncodeIrqSet(actual, trigger);
            Assert.Equal(21, actual.Length);
            Assert.Equal(VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER, U32(actual, 4));
            Assert.Equal(1, actual[20]);
        }

        [Theory]
        [InlineData(VfioIrqAction.Unmask, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK)]
        [InlineData(VfioIrqAction.Mask, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK)]
        [InlineData(VfioIrqAction.Trigger, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER)]
        public void EncodeIrqSet_without_data_is_the_bare_header(VfioIrqAction action, uint flags)
        {
            var request = new VfioIrqSet(0x0A0B0C0D, action, 0x01020304, 0x00050006, null);
            byte[] expected = new byte[20];
            Put32(expected, 0, 20);
            Put32(expected, 4, flags);
            Put32(expected, 8, 0x0A0B0C0D);
            Put32(expected, 12, 0x01020304);
            Put32(expected, 16, 0x00050006);

            Assert.Equal(20, VfioAbi.IrqSetSize(request));
            byte[] actual = Filled(20);
            VfioAbi.EncodeIrqSet(actual, request);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIrqSet_disable_is_trigger_data_none_count_zero()
        {
            // "the index can be disabled as a whole with: flags = (DATA_NONE|ACTION_TRIGGER), count = 0."
            byte[] expected = new byte[20];
            Put32(expected, 0, 20);
            Put32(expected, 4, VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
            Put32(expected, 8, 2);

            byte[] actual = Filled(VfioAbi.IrqSetSize(VfioIrqSet.Disable(2)));
            VfioAbi.EncodeIrqSet(actual, VfioIrqSet.Disable(2));

            AssertBytes(expected, actual);
        }

        [Theory]
        [InlineData(VfioDmaAccess.Read, VFIO_DMA_MAP_FLAG_READ)]
        [InlineData(VfioDmaAccess.Write, VFIO_DMA_MAP_FLAG_WRITE)]
        [InlineData(VfioDmaAccess.ReadWrite, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE)]
        public void EncodeDmaMap_puts_vaddr_iova_and_size_at_the_header_offsets(VfioDmaAccess access, uint flags)
        {
            // struct vfio_iommu_type1_dma_map {
            //     __u32 argsz;  0
            //     __u32 flags;  4   VFIO_DMA_MAP_FLAG_READ (1 << 0) | VFIO_DMA_MAP_FLAG_WRITE (1 << 1)
            //     __u64 vaddr;  8
            //     __u64 iova;  16
            //     __u64 size;  24
            // };
            byte[] expected = new byte[32];
            Put32(expected, 0, 32);
            Put32(expected, 4, flags);
            Put64(expected, 8, 0x00007F0102030000);
            Put64(expected, 16, 0x1122334455667788);
            Put64(expected, 24, 0x0000000A0B0C0000);

            byte[] actual = Filled(32);
            VfioAbi.EncodeDmaMap(actual, 0x00007F0102030000, 0x1122334455667788, 0x0000000A0B0C0000, access);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeDmaUnmap_puts_iova_and_size_at_the_header_offsets()
        {
            // struct vfio_iommu_type1_dma_unmap {
            //     __u32 argsz;  0
            //     __u32 flags;  4
            //     __u64 iova;   8
            //     __u64 size;  16
            //     __u8  data[]; 24
            // };
            byte[] expected = new byte[24];
            Put32(expected, 0, 24);
            Put64(expected, 8, 0x1122334455667788);
            Put64(expected, 16, 0x0000000A0B0C0000);

            byte[] actual = Filled(24);
            VfioAbi.EncodeDmaUnmap(actual, 0x1122334455667788, 0x0000000A0B0C0000);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeHotResetInfo_writes_only_argsz()
        {
            // struct vfio_pci_hot_reset_info { __u32 argsz; __u32 flags; __u32 count; devices[]; }: the caller sets argsz
            // (header plus room for the devices), the kernel fills the rest.
            byte[] expected = new byte[12 + (4 * 8)];
            Put32(expected, 0, (uint)expected.Length);

            byte[] actual = Filled(expected.Length);
            VfioAbi.EncodeHotResetInfo(actual);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeHotReset_lays_out_count_and_the_s32_group_fds()
        {
            // struct vfio_pci_hot_reset {
            //     __u32 argsz;        0
            //     __u32 flags;        4
            //     __u32 count;        8
            //     __s32 group_fds[]; 12
            // };
            int[] fds = { 0x0A0B0C0D, 0x01020304, -1 };
            byte[] expected = new byte[12 + (3 * 4)];
            Put32(expected, 0, (uint)expected.Length);
            Put32(expected, 8, 3);
            Put32(expected, 12, 0x0A0B0C0D);
            Put32(expected, 16, 0x01020304);
            Put32(expected, 20, 0xFFFFFFFF);

            Assert.Equal(expected.Length, VfioAbi.HotResetSize(fds.Length));
            byte[] actual = Filled(expected.Length);
            VfioAbi.EncodeHotReset(actual, fds);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeHotReset_with_no_group_fds_is_the_cdev_form()
        {
            // upstream: "When called on a direct cdev opened vfio device, ... this ioctl must be called with an empty
            // group_fds array."
            byte[] expected = new byte[12];
            Put32(expected, 0, 12);

            Assert.Equal(12, VfioAbi.HotResetSize(0));
            byte[] actual = Filled(12);
            VfioAbi.EncodeHotReset(actual, Array.Empty<int>());

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeBindIommufd_puts_the_iommufd_at_offset_8()
        {
            // upstream: struct vfio_device_bind_iommufd {
            //     __u32 argsz;                  0
            //     __u32 flags;                  4   VFIO_DEVICE_BIND_FLAG_TOKEN (1 << 0) left clear
            //     __s32 iommufd;                8
            //     __u32 out_devid;             12   (out)
            //     __aligned_u64 token_uuid_ptr; 16  (not sent: the minimal layout ends here)
            // };
            byte[] expected = new byte[16];
            Put32(expected, 0, 16);
            Put32(expected, 8, 0x0A0B0C0D);

            byte[] actual = Filled(16);
            VfioAbi.EncodeBindIommufd(actual, 0x0A0B0C0D);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeAttachIommufdPt_puts_the_pt_id_at_offset_8()
        {
            // upstream: struct vfio_device_attach_iommufd_pt {
            //     __u32 argsz;  0
            //     __u32 flags;  4   VFIO_DEVICE_ATTACH_PASID (1 << 0) left clear
            //     __u32 pt_id;  8
            //     __u32 pasid; 12   (not sent)
            // };
            byte[] expected = new byte[12];
            Put32(expected, 0, 12);
            Put32(expected, 8, 0x0A0B0C0D);

            byte[] actual = Filled(12);
            VfioAbi.EncodeAttachIommufdPt(actual, 0x0A0B0C0D);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeDetachIommufdPt_is_argsz_and_zero_flags()
        {
            // upstream: struct vfio_device_detach_iommufd_pt { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 pasid; /*8, not sent*/ };
            byte[] expected = new byte[8];
            Put32(expected, 0, 8);

            byte[] actual = Filled(8);
            VfioAbi.EncodeDetachIommufdPt(actual);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIommuDestroy_puts_the_id_at_offset_4()
        {
            // iommufd.h: struct iommu_destroy { __u32 size; /*0*/ __u32 id; /*4*/ };
            byte[] expected = new byte[8];
            Put32(expected, 0, 8);
            Put32(expected, 4, 0x0A0B0C0D);

            byte[] actual = Filled(8);
            VfioAbi.EncodeIommuDestroy(actual, 0x0A0B0C0D);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIoasAlloc_is_size_and_zero_flags()
        {
            // iommufd.h: struct iommu_ioas_alloc { __u32 size; /*0*/ __u32 flags; /*4, must be 0*/ __u32 out_ioas_id; /*8*/ };
            byte[] expected = new byte[12];
            Put32(expected, 0, 12);

            byte[] actual = Filled(12);
            VfioAbi.EncodeIoasAlloc(actual);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIoasIovaRanges_puts_each_field_at_the_header_offset()
        {
            // iommufd.h: struct iommu_ioas_iova_ranges {
            //     __u32 size;                        0
            //     __u32 ioas_id;                     4
            //     __u32 num_iovas;                   8   (in: the array's length)
            //     __u32 __reserved;                 12   must be 0
            //     __aligned_u64 allowed_iovas;      16   pointer to struct iommu_iova_range[]
            //     __aligned_u64 out_iova_alignment; 24   (out)
            // };
            byte[] expected = new byte[32];
            Put32(expected, 0, 32);
            Put32(expected, 4, 0x0A0B0C0D);
            Put32(expected, 8, 0x00000105);
            Put64(expected, 16, 0x1122334455667788);

            byte[] actual = Filled(32);
            VfioAbi.EncodeIoasIovaRanges(actual, 0x0A0B0C0D, 0x105, 0x1122334455667788);

            AssertBytes(expected, actual);
        }

        [Theory]
        [InlineData(VfioDmaAccess.Read, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE)]
        [InlineData(VfioDmaAccess.Write, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_WRITEABLE)]
        [InlineData(VfioDmaAccess.ReadWrite, IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)]
        public void EncodeIoasMap_puts_each_field_at_the_header_offset(VfioDmaAccess access, uint flags)
        {
            // iommufd.h: struct iommu_ioas_map {
            //     __u32 size;              0
            //     __u32 flags;             4   enum iommufd_ioas_map_flags
            //     __u32 ioas_id;           8
            //     __u32 __reserved;       12   must be 0
            //     __aligned_u64 user_va;  16
            //     __aligned_u64 length;   24
            //     __aligned_u64 iova;     32
            // };
            byte[] expected = new byte[40];
            Put32(expected, 0, 40);
            Put32(expected, 4, flags);
            Put32(expected, 8, 0x0A0B0C0D);
            Put64(expected, 16, 0x00007F0102030000);
            Put64(expected, 24, 0x0000000A0B0C0000);
            Put64(expected, 32, 0x1122334455667788);

            byte[] actual = Filled(40);
            VfioAbi.EncodeIoasMap(actual, 0x0A0B0C0D, 0x00007F0102030000, 0x1122334455667788, 0x0000000A0B0C0000, access);

            AssertBytes(expected, actual);
        }

        [Fact]
        public void EncodeIoasUnmap_puts_each_field_at_the_header_offset()
        {
            // iommufd.h: struct iommu_ioas_unmap {
            //     __u32 size;             0
            //     __u32 ioas_id;          4
            //     __aligned_u64 iova;     8
            //     __aligned_u64 length;  16
            // };
            byte[] expected = new byte[24];
            Put32(expected, 0, 24);
            Put32(expected, 4, 0x0A0B0C0D);
            Put64(expected, 8, 0x1122334455667788);
            Put64(expected, 16, 0x0000000A0B0C0000);

            byte[] actual = Filled(24);
            VfioAbi.EncodeIoasUnmap(actual, 0x0A0B0C0D, 0x1122334455667788, 0x0000000A0B0C0000);

            AssertBytes(expected, actual);
        }

        // ---------------------------------------------------------------------------------------------------------
        // 4. Decoders: answers laid out by hand as the kernel writes them.

        [Theory]
        [InlineData(0u, VfioGroupFlags.None)]
        [InlineData(1u << 0, VfioGroupFlags.Viable)]
        [InlineData(1u << 1, VfioGroupFlags.ContainerSet)]
        [InlineData((1u << 0) | (1u << 1), VfioGroupFlags.Viable | VfioGroupFlags.ContainerSet)]
        public void DecodeGroupStatus_reads_flags_at_offset_4(uint flags, VfioGroupFlags expected)
        {
            // struct vfio_group_status { __u32 argsz; /*0*/ __u32 flags; /*4*/ };
            byte[] answer = new byte[8];
            Put32(answer, 0, 8);
            Put32(answer, 4, flags);

            Assert.Equal(expected, VfioAbi.DecodeGroupStatus(answer));
        }

        [Fact]
        public void DecodeDeviceInfo_reads_flags_num_regions_and_num_irqs_at_the_header_offsets()
        {
            // struct vfio_device_info {
            //     __u32 argsz;        0
            //     __u32 flags;        4   VFIO_DEVICE_FLAGS_RESET (1 << 0) | VFIO_DEVICE_FLAGS_PCI (1 << 1)
            //     __u32 num_regions;  8
            //     __u32 num_irqs;    12
            //     __u32 cap_offset;  16
            //     __u32 pad;         20   (upstream only)
            // };
            byte[] answer = new byte[24];
            Put32(answer, 0, 24);
            Put32(answer, 4, (1 << 0) | (1 << 1));
            Put32(answer, 8, 9);
            Put32(answer, 12, 5);
            Put32(answer, 16, 0x77);
            Put32(answer, 20, 0x66);

            VfioDeviceInfo info = VfioAbi.DecodeDeviceInfo(answer);

            Assert.Equal(new VfioDeviceInfo(VfioDeviceFlags.Reset | VfioDeviceFlags.Pci, 9, 5), info);
            Assert.True(info.CanReset);
        }

        [Fact]
        public void DecodeDeviceInfo_also_reads_the_6_1_layout_without_pad()
        {
            // 6.1: struct vfio_device_info { __u32 argsz; __u32 flags; __u32 num_regions; __u32 num_irqs; __u32 cap_offset; };
            byte[] answer = new byte[20];
            Put32(answer, 0, 20);
            Put32(answer, 4, 1 << 1);
            Put32(answer, 8, 9);
            Put32(answer, 12, 5);

            Assert.Equal(new VfioDeviceInfo(VfioDeviceFlags.Pci, 9, 5), VfioAbi.DecodeDeviceInfo(answer));
        }

        [Fact]
        public void DecodeRegionInfo_without_capabilities_reads_the_fixed_fields()
        {
            byte[] answer = RegionFixedPart(32, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP, 0);

            VfioRegionInfo region = VfioAbi.DecodeRegionInfo(answer, 2);

            AssertRegionFixedPart(region, VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap);
            Assert.Null(region.SparseAreas);
            Assert.False(region.MsixMappable);
            Assert.Null(region.Type);
        }

        [Fact]
        public void DecodeRegionInfo_reads_a_chain_of_sparse_mmap_type_and_msix_mappable()
        {
            const uint flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
            byte[] answer = RegionFixedPart(104, flags, 32);
            PutSparseMmap(answer, 32, next: 80);
            PutRegionType(answer, 80, next: 96);
            PutCapHeader(answer, 96, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, next: 0); // header only (96..104)

            VfioRegionInfo region = VfioAbi.DecodeRegionInfo(answer, 2);

            AssertRegionFixedPart(region, VfioRegionFlags.Read | VfioRegionFlags.Write | VfioRegionFlags.Mmap | VfioRegionFlags.Caps);
            AssertSparseAndType(region);
            Assert.True(region.MsixMappable);
        }

        [Fact]
        public void DecodeRegionInfo_reads_the_same_capabilities_chained_in_another_order()
        {
            const uint flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS;
            byte[] answer = RegionFixedPart(104, flags, 32);
            PutCapHeader(answer, 32, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, next: 40);
            PutRegionType(answer, 40, next: 56);
            PutSparseMmap(answer, 56, next: 0); // 56..104

            VfioRegionInfo region = VfioAbi.DecodeRegionInfo(answer, 2);

            AssertRegionFixedPart(region, VfioRegionFlags.Read | VfioRegionFlags.Mmap | VfioRegionFlags.Caps);
            AssertSparseAndType(region);
            Assert.True(region.MsixMappable);
        }

        [Fact]
        public void DecodeRegionInfo_ignores_cap_offset_when_the_CAPS_flag_is_clear()
        {
            // "This field is only valid when the corresponding bit in the flags bitmap is set."
            byte[] answer = RegionFixedPart(80, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP, 32);
            PutSparseMmap(answer, 32, next: 0);

            VfioRegionInfo region = VfioAbi.DecodeRegionInfo(answer, 2);

            Assert.Null(region.SparseAreas);
            Assert.False(region.MsixMappable);
        }

        [Fact]
        public void RegionInfoNeeds_reads_the_argsz_the_kernel_asked_for()
        {
            // "Callers of INFO ioctls passing insufficiently sized buffers will see the capability chain flag bit set, a
            // zero value for the first capability offset (if available within the provided argsz), and argsz will be
            // updated to report the necessary buffer size."
            byte[] answer = RegionFixedPart(32, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS, 0);
            Put32(answer, 0, 104);

            Assert.Equal(104, VfioAbi.RegionInfoNeeds(answer));
            VfioRegionInfo region = VfioAbi.DecodeRegionInfo(answer, 2);
            Assert.Null(region.SparseAreas);
            Assert.Equal(0x0000001234567000L, region.Size);

            byte[] fits = RegionFixedPart(104, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS, 32);
            PutCapHeader(fits, 32, VFIO_REGION_INFO_CAP_MSIX_MAPPABLE, 1, next: 0);
            Assert.Equal(0, VfioAbi.RegionInfoNeeds(fits));
        }

        [Fact]
        public void DecodeIrqInfo_reads_flags_and_count_at_the_header_offsets()
        {
            // struct vfio_irq_info { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 index; /*8*/ __u32 count; /*12*/ };
            byte[] answer = new byte[16];
            Put32(answer, 0, 16);
            Put32(answer, 4, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE);
            Put32(answer, 8, 2);
            Put32(answer, 12, 0x800);

            Assert.Equal(new VfioIrqInfo(2, VfioIrqFlags.EventFd | VfioIrqFlags.NoResize, 0x800), VfioAbi.DecodeIrqInfo(answer, 2));

            Put32(answer, 4, VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED);
            Put32(answer, 8, 0);
            Put32(answer, 12, 1);
            Assert.Equal(new VfioIrqInfo(0, VfioIrqFlags.EventFd | VfioIrqFlags.Maskable | VfioIrqFlags.AutoMasked, 1), VfioAbi.DecodeIrqInfo(answer, 0));
        }

        [Fact]
        public void DecodeIommuInfo_reads_page_sizes_and_a_chain_of_iova_ranges_migration_and_dma_avail()
        {
            // struct vfio_iommu_type1_info {
            //     __u32 argsz;          0
            //     __u32 flags;          4   VFIO_IOMMU_INFO_PGSIZES (1 << 0) | VFIO_IOMMU_INFO_CAPS (1 << 1)
            //     __u64 iova_pgsizes;   8
            //     __u32 cap_offset;    16
            // };                       (24 with tail padding)
            // The chain as vfio_iommu_type1 builds it: IOVA range, migration (unknown to the runtime: skipped), DMA avail.
            byte[] answer = new byte[116];
            Put32(answer, 0, 116);
            Put32(answer, 4, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
            Put64(answer, 8, 0x0000000040201000); // 4 KiB | 2 MiB | 1 GiB
            Put32(answer, 16, 24);
            Put32(answer, 20, 0);
            PutIovaRanges(answer, 24, next: 72); // 24..72

            // struct vfio_iommu_type1_info_cap_migration { struct vfio_info_cap_header header; /*0*/ __u32 flags; /*8*/
            //     __u64 pgsize_bitmap; /*16*/ __u64 max_dirty_bitmap_size; /*24*/ };  sizeof 32: 72..104
            PutCapHeader(answer, 72, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION, 1, next: 104);
            Put32(answer, 80, 0);
            Put64(answer, 88, 0x1000);
            Put64(answer, 96, 0x0000000008000000);

            // struct vfio_iommu_type1_info_dma_avail { struct vfio_info_cap_header header; /*0*/ __u32 avail; /*8*/ };
            PutCapHeader(answer, 104, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, next: 0);
            Put32(answer, 112, 65535);

            VfioIommuInfo info = VfioAbi.DecodeIommuInfo(answer);

            Assert.Equal(0x0000000040201000UL, info.PageSizes);
            Assert.Equal(ExpectedIovaRanges, info.IovaRanges);
            Assert.Equal(65535, info.DmaMappingLimit);
        }

        [Fact]
        public void DecodeIommuInfo_without_the_PGSIZES_and_CAPS_flags_ignores_those_fields()
        {
            byte[] answer = new byte[72];
            Put32(answer, 0, 72);
            Put32(answer, 4, 0);
            Put64(answer, 8, 0x0000000040201000);
            Put32(answer, 16, 24);
            PutIovaRanges(answer, 24, next: 0);

            VfioIommuInfo info = VfioAbi.DecodeIommuInfo(answer);

            Assert.Equal(0UL, info.PageSizes);
            Assert.Empty(info.IovaRanges);
            Assert.Null(info.DmaMappingLimit);
        }

        [Fact]
        public void IommuInfoNeeds_reads_the_argsz_the_kernel_asked_for()
        {
            byte[] answer = new byte[24];
            Put32(answer, 0, 116);
            Put32(answer, 4, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
            Put64(answer, 8, 0x1000);
            Put32(answer, 16, 0);

            Assert.Equal(116, VfioAbi.IommuInfoNeeds(answer));
            VfioIommuInfo info = VfioAbi.DecodeIommuInfo(answer);
            Assert.Equal(0x1000UL, info.PageSizes);
            Assert.Empty(info.IovaRanges);

            Put32(answer, 0, 24);
            Assert.Equal(0, VfioAbi.IommuInfoNeeds(answer));
        }

        [Fact]
        public void DecodeDmaUnmap_reads_the_unmapped_size_at_offset_16()
        {
            // struct vfio_iommu_type1_dma_unmap { __u32 argsz; __u32 flags; __u64 iova; /*8*/ __u64 size; /*16*/ ... };
            // "The actual unmapped size is returned in the size field."
            byte[] answer = new byte[24];
            Put32(answer, 0, 24);
            Put64(answer, 8, 0x1122334455667788);
            Put64(answer, 16, 0x0000000A0B0C0000);

            Assert.Equal(0x0000000A0B0C0000UL, VfioAbi.DecodeDmaUnmap(answer));
        }

        [Fact]
        public void DecodeHotResetInfo_reads_two_dependent_devices_of_the_group_path()
        {
            // struct vfio_pci_hot_reset_info { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 count; /*8*/ devices[]; /*12*/ };
            // struct vfio_pci_dependent_device { __u32 group_id; /*0*/ __u16 segment; /*4*/ __u8 bus; /*6*/ __u8 devfn; /*7*/ };
            byte[] answer = new byte[12 + (2 * 8)];
            Put32(answer, 0, (uint)answer.Length);
            Put32(answer, 4, 0);
            Put32(answer, 8, 2);
            PutDependentDevice(answer, 12, 42, 0xABCD, 0x3B, (0x1F << 3) | 5);
            PutDependentDevice(answer, 20, 7, 0x0000, 0xA0, (0x02 << 3) | 0);

            Assert.Equal(2, VfioAbi.HotResetInfoCount(answer));
            VfioHotResetInfo info = VfioAbi.DecodeHotResetInfo(answer);

            Assert.False(info.UsesDeviceIds);
            Assert.False(info.AllOwned);
            Assert.Equal(new[] { new VfioDependentDevice(42, 0xABCD, 0x3B, 0xFD), new VfioDependentDevice(7, 0, 0xA0, 0x10) }, info.Devices);
            Assert.Equal("abcd:3b:1f.5", info.Devices[0].Address);
            Assert.Equal("0000:a0:02.0", info.Devices[1].Address);
        }

        [Theory]
        [InlineData(VFIO_PCI_HOT_RESET_FLAG_DEV_ID, true, false)]
        [InlineData(VFIO_PCI_HOT_RESET_FLAG_DEV_ID | VFIO_PCI_HOT_RESET_FLAG_DEV_ID_OWNED, true, true)]
        public void DecodeHotResetInfo_reads_the_cdev_flags_and_device_ids(uint flags, bool usesDeviceIds, bool allOwned)
        {
            byte[] answer = new byte[12 + (2 * 8)];
            Put32(answer, 0, (uint)answer.Length);
            Put32(answer, 4, flags);
            Put32(answer, 8, 2);
            PutDependentDevice(answer, 12, 0x00000003, 0x0001, 0x02, (0x00 << 3) | 1);
            PutDependentDevice(answer, 20, VFIO_PCI_DEVID_NOT_OWNED, 0x0001, 0x02, (0x00 << 3) | 0);

            VfioHotResetInfo info = VfioAbi.DecodeHotResetInfo(answer);

            Assert.Equal(usesDeviceIds, info.UsesDeviceIds);
            Assert.Equal(allOwned, info.AllOwned);
            Assert.Equal(new[] { new VfioDependentDevice(3, 1, 2, 1), new VfioDependentDevice(0xFFFFFFFF, 1, 2, 0) }, info.Devices);
            Assert.Equal("0001:02:00.1", info.Devices[0].Address);
        }

        [Fact]
        public void HotResetInfoCount_reads_count_even_when_the_array_did_not_fit()
        {
            // "-enospc = insufficient buffer": the kernel still writes count.
            byte[] answer = new byte[12 + 8];
            Put32(answer, 0, (uint)answer.Length);
            Put32(answer, 8, 5);
            PutDependentDevice(answer, 12, 42, 0, 1, 0);

            Assert.Equal(5, VfioAbi.HotResetInfoCount(answer));
            Assert.Single(VfioAbi.DecodeHotResetInfo(answer).Devices);
        }

        [Fact]
        public void DecodeBindIommufd_reads_out_devid_at_offset_12()
        {
            // upstream: struct vfio_device_bind_iommufd { __u32 argsz; __u32 flags; __s32 iommufd; /*8*/
            //                                             __u32 out_devid; /*12*/ __aligned_u64 token_uuid_ptr; /*16*/ };
            byte[] answer = new byte[16];
            Put32(answer, 0, 16);
            Put32(answer, 8, 0x0A0B0C0D);
            Put32(answer, 12, 0x01020304);
            Assert.Equal(0x01020304u, VfioAbi.DecodeBindIommufd(answer));

            byte[] grown = new byte[24]; // the full upstream struct: the same offset
            Put32(grown, 0, 24);
            Put32(grown, 8, 0x0A0B0C0D);
            Put32(grown, 12, 0x01020304);
            Put64(grown, 16, 0x1122334455667788);
            Assert.Equal(0x01020304u, VfioAbi.DecodeBindIommufd(grown));
        }

        [Fact]
        public void DecodeAttachIommufdPt_reads_pt_id_at_offset_8()
        {
            // upstream: struct vfio_device_attach_iommufd_pt { __u32 argsz; __u32 flags; __u32 pt_id; /*8, in and out*/ __u32 pasid; };
            byte[] answer = new byte[12];
            Put32(answer, 0, 12);
            Put32(answer, 4, 0x00000000);
            Put32(answer, 8, 0x01020304);

            Assert.Equal(0x01020304u, VfioAbi.DecodeAttachIommufdPt(answer));
        }

        [Fact]
        public void DecodeIoasAlloc_reads_out_ioas_id_at_offset_8()
        {
            // iommufd.h: struct iommu_ioas_alloc { __u32 size; __u32 flags; __u32 out_ioas_id; /*8*/ };
            byte[] answer = new byte[12];
            Put32(answer, 0, 12);
            Put32(answer, 4, 0);
            Put32(answer, 8, 0x01020304);

            Assert.Equal(0x01020304u, VfioAbi.DecodeIoasAlloc(answer));
        }

        [Fact]
        public void IoasIovaRanges_answer_is_read_at_the_header_offsets()
        {
            // iommufd.h: struct iommu_ioas_iova_ranges { __u32 size; __u32 ioas_id; __u32 num_iovas; /*8*/ __u32 __reserved;
            //            __aligned_u64 allowed_iovas; /*16*/ __aligned_u64 out_iova_alignment; /*24*/ };
            byte[] answer = new byte[32];
            Put32(answer, 0, 32);
            Put32(answer, 4, 0x0A0B0C0D);
            Put32(answer, 8, 3);
            Put64(answer, 16, 0x00007F0000001000);
            Put64(answer, 24, 0x1000);

            Assert.Equal(3, VfioAbi.IoasIovaRangesCount(answer));
            Assert.Equal(0x1000UL, VfioAbi.IoasIovaAlignment(answer));

            // iommufd.h: struct iommu_iova_range { __aligned_u64 start; /*0*/ __aligned_u64 last; /*8*/ };  sizeof 16
            byte[] ranges = new byte[2 * 16];
            Put64(ranges, 0, 0x0000000000001000);
            Put64(ranges, 8, 0x00000000FEDFFFFF);
            Put64(ranges, 16, 0x00000000FEF00000);
            Put64(ranges, 24, 0x000FFFFFFFFFFFFF);

            Assert.Equal(new VfioIovaRange(0x1000, 0xFEDFFFFF), VfioAbi.DecodeIovaRange(ranges, 0));
            Assert.Equal(new VfioIovaRange(0xFEF00000, 0x000FFFFFFFFFFFFF), VfioAbi.DecodeIovaRange(ranges, 1));
        }

        [Fact]
        public void DecodeIoasUnmap_reads_the_unmapped_length_at_offset_16()
        {
            // iommufd.h: struct iommu_ioas_unmap { __u32 size; __u32 ioas_id; __aligned_u64 iova; /*8*/
            //            __aligned_u64 length; /*16, "return back the bytes unmapped"*/ };
            byte[] answer = new byte[24];
            Put32(answer, 0, 24);
            Put32(answer, 4, 0x0A0B0C0D);
            Put64(answer, 8, 0x1122334455667788);
            Put64(answer, 16, 0x0000000A0B0C0000);

            Assert.Equal(0x0000000A0B0C0000UL, VfioAbi.DecodeIoasUnmap(answer));
        }

        // ---------------------------------------------------------------------------------------------------------
        // 5. Robustness: a confused or hostile capability chain must not throw or loop.

        // A region answer of 80 bytes: fixed part 0..32, a type capability at 32 (16 bytes, next = next1), a sparse-mmap
        // capability with one area at 48 (32 bytes, next = next2).
        [Theory]
        [InlineData(32u, 48u, 32u)] // the second points back to the first
        [InlineData(32u, 32u, 0u)] // the first points at itself
        [InlineData(32u, 48u, 48u)] // the second points at itself
        [InlineData(32u, 48u, 40u)] // the second points backwards into the first
        [InlineData(32u, 0xFFFFFFF8u, 0u)] // next far outside the buffer
        [InlineData(32u, 76u, 0u)] // next leaves no room for a header (76 + 8 > 80)
        [InlineData(32u, 80u, 0u)] // next is the buffer's end
        [InlineData(32u, 8u, 0u)] // next points into the fixed part
        [InlineData(32u, 48u, 16u)] // the second's next points into the fixed part
        [InlineData(8u, 0u, 0u)] // cap_offset points into the fixed part
        [InlineData(0u, 0u, 0u)] // cap_offset 0 with CAPS set (the "did not fit" answer) in a buffer that has room
        [InlineData(0xFFFFFFFFu, 0u, 0u)] // cap_offset far outside
        [InlineData(78u, 0u, 0u)] // cap_offset leaves no room for a header
        public async Task DecodeRegionInfo_survives_a_broken_capability_chain(uint capOffset, uint next1, uint next2)
        {
            byte[] answer = RegionFixedPart(80, VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS, capOffset);
            PutCapHeader(answer, 32, VFIO_REGION_INFO_CAP_TYPE, 1, next1);
            Put32(answer, 40, VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086);
            Put32(answer, 44, VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG);
            PutCapHeader(answer, 48, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, next2);
            Put32(answer, 56, 1);
            Put64(answer, 64, 0x1000);
            Put64(answer, 72, 0x2000);

            VfioRegionInfo region = await Bounded(() => VfioAbi.DecodeRegionInfo(answer, 2));

            AssertRegionFixedPart(region, VfioRegionFlags.Read | VfioRegionFlags.Mmap | VfioRegionFlags.Caps);
        }

        // An IOMMU answer of 72 bytes: fixed part 0..24, a DMA-avail capability at 24 (12 bytes, room to 40, next = next1),
        // an IOVA-range capability with one range at 40 (32 bytes, next = next2).
        [Theory]
        [InlineData(24u, 40u, 24u)] // the second points back to the first
        [InlineData(24u, 24u, 0u)] // the first points at itself
        [InlineData(24u, 40u, 40u)] // the second points at itself
        [InlineData(24u, 0xFFFFFFF8u, 0u)] // next far outside the buffer
        [InlineData(24u, 68u, 0u)] // next leaves no room for a header
        [InlineData(24u, 4u, 0u)] // next points into the fixed part
        [InlineData(24u, 40u, 8u)] // the second's next points into the fixed part
        [InlineData(8u, 0u, 0u)] // cap_offset points into the fixed part
        [InlineData(0xFFFFFFFFu, 0u, 0u)] // cap_offset far outside
        [InlineData(70u, 0u, 0u)] // cap_offset leaves no room for a header
        public async Task DecodeIommuInfo_survives_a_broken_capability_chain(uint capOffset, uint next1, uint next2)
        {
            byte[] answer = new byte[72];
            Put32(answer, 0, 72);
            Put32(answer, 4, VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS);
            Put64(answer, 8, 0x0000000040201000);
            Put32(answer, 16, capOffset);
            PutCapHeader(answer, 24, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL, 1, next1);
            Put32(answer, 32, 100);
            PutCapHeader(answer, 40, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, next2);
            Put32(answer, 48, 1);
            Put64(answer, 56, 0x1000);
            Put64(answer, 64, 0xFFFFF);

            VfioIommuInfo info = await Bounded(() => VfioAbi.DecodeIommuInfo(answer));

            Assert.Equal(0x0000000040201000UL, info.PageSizes);
        }

        [Fact]
        public async Task Decoders_survive_counts_larger_than_the_buffer()
        {
            byte[] region = RegionFixedPart(64, VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS, 32);
            PutCapHeader(region, 32, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, next: 0);
            Put32(region, 40, 0xFFFFFFFF); // nr_areas
            Put64(region, 48, 0x1000);
            Put64(region, 56, 0x2000);
            VfioRegionInfo decodedRegion = await Bounded(() => VfioAbi.DecodeRegionInfo(region, 2));
            Assert.True(decodedRegion.SparseAreas is null || decodedRegion.SparseAreas.Count <= 1);

            byte[] iommu = new byte[56];
            Put32(iommu, 0, 56);
            Put32(iommu, 4, VFIO_IOMMU_INFO_CAPS);
            Put32(iommu, 16, 24);
            PutCapHeader(iommu, 24, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, next: 0);
            Put32(iommu, 32, 0xFFFFFFFF); // nr_iovas
            Put64(iommu, 40, 0x1000);
            Put64(iommu, 48, 0x2000);
            VfioIommuInfo decodedIommu = await Bounded(() => VfioAbi.DecodeIommuInfo(iommu));
            Assert.True(decodedIommu.IovaRanges.Count <= 1);

            byte[] hotReset = new byte[12 + 8];
            Put32(hotReset, 0, 20);
            Put32(hotReset, 8, 0xFFFFFFFF); // count
            VfioHotResetInfo decodedHotReset = await Bounded(() => VfioAbi.DecodeHotResetInfo(hotReset));
            Assert.True(decodedHotReset.Devices.Count <= 1);
        }

        // ---------------------------------------------------------------------------------------------------------
        // Answers built by hand.

        private static readonly VfioSparseArea[] ExpectedSparseAreas =
        {
            new VfioSparseArea(0x0000000000001000, 0x0000000000002000),
            new VfioSparseArea(0x0000000000004000, 0x000000123455C000),
        };

        private static readonly VfioIovaRange[] ExpectedIovaRanges =
        {
            new VfioIovaRange(0x0000000000001000, 0x00000000FEDFFFFF),
            new VfioIovaRange(0x00000000FEF00000, 0x000FFFFFFFFFFFFF),
        };

        /// <summary>
        /// <c>struct vfio_region_info { __u32 argsz; /*0*/ __u32 flags; /*4*/ __u32 index; /*8*/ __u32 cap_offset; /*12*/
        /// __u64 size; /*16*/ __u64 offset; /*24*/ };</c> for region 2 of <paramref name="length"/> bytes.
        /// </summary>
        private static byte[] RegionFixedPart(int length, uint flags, uint capOffset)
        {
            byte[] answer = new byte[length];
            Put32(answer, 0, (uint)length);
            Put32(answer, 4, flags);
            Put32(answer, 8, 2);
            Put32(answer, 12, capOffset);
            Put64(answer, 16, 0x0000001234567000);
            Put64(answer, 24, 0x0000020000000000); // vfio-pci puts region i at i << 40
            return answer;
        }

        private static void AssertRegionFixedPart(VfioRegionInfo region, VfioRegionFlags flags)
        {
            Assert.Equal(2, region.Index);
            Assert.Equal(flags, region.Flags);
            Assert.Equal(0x0000001234567000L, region.Size);
            Assert.Equal(0x0000020000000000L, region.Offset);
        }

        private static void AssertSparseAndType(VfioRegionInfo region)
        {
            Assert.NotNull(region.SparseAreas);
            Assert.Equal(ExpectedSparseAreas, region.SparseAreas);
            Assert.Equal(new VfioRegionType(VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG), region.Type);
        }

        /// <summary><c>struct vfio_info_cap_header { __u16 id; /*0*/ __u16 version; /*2*/ __u32 next; /*4*/ };</c></summary>
        private static void PutCapHeader(byte[] buffer, int at, ushort id, ushort version, uint next)
        {
            Put16(buffer, at, id);
            Put16(buffer, at + 2, version);
            Put32(buffer, at + 4, next);
        }

        /// <summary>
        /// <c>struct vfio_region_info_cap_sparse_mmap { struct vfio_info_cap_header header; /*0*/ __u32 nr_areas; /*8*/
        /// __u32 reserved; /*12*/ struct vfio_region_sparse_mmap_area areas[]; /*16*/ };</c> with
        /// <c>struct vfio_region_sparse_mmap_area { __u64 offset; /*0*/ __u64 size; /*8*/ };</c>: two areas, 48 bytes.
        /// </summary>
        private static void PutSparseMmap(byte[] buffer, int at, uint next)
        {
            PutCapHeader(buffer, at, VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, next);
            Put32(buffer, at + 8, 2);
            Put32(buffer, at + 12, 0);
            Put64(buffer, at + 16, (ulong)ExpectedSparseAreas[0].Offset);
            Put64(buffer, at + 24, (ulong)ExpectedSparseAreas[0].Size);
            Put64(buffer, at + 32, (ulong)ExpectedSparseAreas[1].Offset);
            Put64(buffer, at + 40, (ulong)ExpectedSparseAreas[1].Size);
        }

        /// <summary>
        /// <c>struct vfio_region_info_cap_type { struct vfio_info_cap_header header; /*0*/ __u32 type; /*8*/
        /// __u32 subtype; /*12*/ };</c>: 16 bytes, Intel IGD LPC bridge config.
        /// </summary>
        private static void PutRegionType(byte[] buffer, int at, uint next)
        {
            PutCapHeader(buffer, at, VFIO_REGION_INFO_CAP_TYPE, 1, next);
            Put32(buffer, at + 8, VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086);
            Put32(buffer, at + 12, VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG);
        }

        /// <summary>
        /// <c>struct vfio_iommu_type1_info_cap_iova_range { struct vfio_info_cap_header header; /*0*/ __u32 nr_iovas; /*8*/
        /// __u32 reserved; /*12*/ struct vfio_iova_range iova_ranges[]; /*16*/ };</c> with
        /// <c>struct vfio_iova_range { __u64 start; /*0*/ __u64 end; /*8*/ };</c>: two ranges, 48 bytes.
        /// </summary>
        private static void PutIovaRanges(byte[] buffer, int at, uint next)
        {
            PutCapHeader(buffer, at, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE, 1, next);
            Put32(buffer, at + 8, 2);
            Put32(buffer, at + 12, 0);
            Put64(buffer, at + 16, ExpectedIovaRanges[0].Start);
            Put64(buffer, at + 24, ExpectedIovaRanges[0].Last);
            Put64(buffer, at + 32, ExpectedIovaRanges[1].Start);
            Put64(buffer, at + 40, ExpectedIovaRanges[1].Last);
        }

        /// <summary><c>struct vfio_pci_dependent_device { __u32 group_id; /*0*/ __u16 segment; /*4*/ __u8 bus; /*6*/ __u8 devfn; /*7*/ };</c></summary>
        private static void PutDependentDevice(byte[] buffer, int at, uint id, ushort segment, byte bus, int devfn)
        {
            Put32(buffer, at, id);
            Put16(buffer, at + 4, segment);
            buffer[at + 6] = bus;
            buffer[at + 7] = (byte)devfn;
        }

        private static async Task<T> Bounded<T>(Func<T> decode)
        {
            Task<T> work = Task.Run(decode);
            Task first = await Task.WhenAny(work, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(ReferenceEquals(first, work), "the decoder did not return within 10 s: does it loop on the capability chain?");
            return await work;
        }

        // ---------------------------------------------------------------------------------------------------------
        // Byte helpers (little-endian, as on x86-64 and arm64).

        private static byte[] Filled(int length)
        {
            byte[] buffer = new byte[length];
            buffer.AsSpan().Fill(0xCC);
            return buffer;
        }

        private static void Put16(byte[] buffer, int at, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(at), value);

        private static void Put32(byte[] buffer, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), value);

        private static void Put64(byte[] buffer, int at, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(at), value);

        private static uint U32(byte[] buffer, int at) => BinaryPrimitives.ReadUInt32LittleEndian(buffer.AsSpan(at));

        private static void AssertBytes(byte[] expected, byte[] actual)
        {
            Assert.Equal(expected.Length, actual.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                if (expected[i] != actual[i])
                {
                    Assert.Fail(string.Format(
                        CultureInfo.InvariantCulture,
                        "byte {0}: expected 0x{1:x2}, got 0x{2:x2}\nexpected {3}\nactual   {4}",
                        i,
                        expected[i],
                        actual[i],
                        Convert.ToHexString(expected),
                        Convert.ToHexString(actual)));
                }
            }
        }
    }
}
