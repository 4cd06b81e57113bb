using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>Who programs a device's interrupts through VFIO.</summary>
    public enum VfioInterruptOwner
    {
        /// <summary>
        /// The runtime: it follows the consumer's MSI, MSI-X and Command registers (the msi, msix and command behaviors)
        /// and delivers to eventfds it owns (<see cref="VfioDevice.MsiVectors"/>, …).
        /// </summary>
        Runtime,

        /// <summary>
        /// The VMM, as with the kernel's vfio-pci: it emulates MSI/MSI-X for its guest, supplies its own eventfds and
        /// calls <see cref="VfioDevice.SetIrqs"/>; the MSI/MSI-X registers stay virtualized and the behaviors program nothing.
        /// </summary>
        Vmm,
    }

    /// <summary>How a device is opened: where audit events go, who owns its interrupts.</summary>
    public sealed record VfioDeviceOptions
    {
        /// <summary>
        /// Where denied consumer writes are reported; null: a <see cref="AccessModel.Audit.BoundedAuditSink"/> with its
        /// default limits, which the device exposes as <see cref="VfioDevice.Audit"/>. Bounded, because a hostile
        /// consumer that hammers a denied register must not grow the host's memory.
        /// </summary>
        public IAuditSink? Audit { get; init; }

        /// <summary>Who programs the device's interrupts (default: the runtime).</summary>
        public VfioInterruptOwner Interrupts { get; init; } = VfioInterruptOwner.Runtime;

        /// <summary>
        /// For <see cref="VfioDevice.Open(string, ICompiledPolicy, IVfioKernel, VfioDeviceOptions?)"/>, which makes a
        /// container of its own: that container's options (paths, open path). Ignored by <see cref="VfioContainer.OpenDevice(string, ICompiledPolicy, VfioDeviceOptions?)"/>.
        /// </summary>
        public VfioContainerOptions? Container { get; init; }
    }

    /// <summary>
    /// A PCI device opened through vfio-pci with a policy's firewall between the consumer and the hardware: config
    /// space through the firewall, BARs mapped where allowed and trapped elsewhere, interrupts as eventfds programmed
    /// from the consumer's virtual MSI/MSI-X registers, resets that restore what the policy keeps.
    /// </summary>
    /// <remarks>Thread-safe: consumer accesses are serialised on one lock per device.</remarks>
    public sealed partial class VfioDevice : IDisposable
    {
        private const int CommandOffset = 0x04;
        private const uint CommandIo = 0x1;
        private const uint CommandMemory = 0x2;
        private const uint CommandIntxDisable = 0x400;
        private const int FirstBarOffset = 0x10;
        private const int RomOffset = 0x30;
        private const int InterruptPinOffset = 0x3d;

        private readonly IVfioKernel _kernel;
        private readonly VfioContainer _container;
        private readonly bool _ownsContainer;
        private readonly int _deviceFd;
        private readonly VfioRegionInfo?[] _regions;
        private readonly VfioIrqInfo?[] _irqs;
        private readonly VfioConfigHardware _configHardware;
        private readonly List<VfioException> _behaviorErrors = new List<VfioException>();
        private readonly VfioBar?[] _bars = new VfioBar?[7];
        private readonly uint[] _hostBarRegisters = new uint[7];
        private IConfigSpaceFirewall _firewall = null!;
        private IShadowAccess _shadow = null!;
        private uint _consumerCommand;

        /// <summary>The policy's config mirrors: routed through the firewall, their pages trapped and never offered to a client's own mappings.</summary>
        private AccessModel.Model.ConfigMirror[] _mirrors = Array.Empty<AccessModel.Model.ConfigMirror>();
        private MsixTable? _msix;
        private Thread? _monitor;
        private volatile bool _closed;

        private VfioDevice(VfioContainer container, int deviceFd, string address, string sysfsPath, int group, VfioDeviceOptions options, bool ownsContainer)
        {
            _container = container;
            _kernel = container.Kernel;
            _ownsContainer = ownsContainer;
            Address = address;
            SysfsPath = sysfsPath;
            IommuGroup = group;
            InterruptOwner = options.Interrupts;
            _deviceFd = deviceFd;
            Info = _kernel.GetDeviceInfo(deviceFd);
            _regions = new VfioRegionInfo?[Math.Max(Info.RegionCount, VfioConstants.ConfigRegionIndex + 1)];
            _irqs = new VfioIrqInfo?[Math.Max(Info.IrqCount, VfioConstants.ReqIrqIndex + 1)];
            Describe(deviceFd);
            VfioRegionInfo config = _regions[VfioConstants.ConfigRegionIndex]
                ?? throw new VfioException(VfioErrorKind.Kernel, "VFIO_DEVICE_GET_REGION_INFO (config) on " + address, 0, "the device has no config region: is it a PCI device?");
            ConfigSize = config.Size >= 4096 ? 4096 : 256;
            _configHardware = new VfioConfigHardware(_kernel, deviceFd, config.Offset, ConfigSize);
            Audit = null!;
            Binding = null!;
            Identity = null!;
        }

        /// <summary>The PCI address, <c>dddd:bb:dd.f</c>.</summary>
        public string Address { get; }

        /// <summary>The device's sysfs folder.</summary>
        public string SysfsPath { get; }

        /// <summary>The IOMMU group number.</summary>
        public int IommuGroup { get; }

        /// <summary>The IOMMU address space the device is open in (its own, when opened with <see cref="Open(string, ICompiledPolicy, IVfioKernel, VfioDeviceOptions?)"/>).</summary>
        public VfioContainer Container => _container;

        /// <summary>How the device was opened: through its group and a type1 container, or as a cdev bound to iommufd.</summary>
        public VfioOpenPath OpenPath => _container.OpenPath;

        /// <summary>Who programs the device's interrupts through VFIO.</summary>
        public VfioInterruptOwner InterruptOwner { get; }

        /// <summary>What <c>VFIO_DEVICE_GET_INFO</c> said.</summary>
        public VfioDeviceInfo Info { get; }

        /// <summary>True when the device has a reset of its own (<c>VFIO_DEVICE_FLAGS_RESET</c>); without one <see cref="Reset"/> tries a bus reset.</summary>
        public bool CanReset => Info.CanReset;

        /// <summary>Every region that exists, by index.</summary>
        public IReadOnlyList<VfioRegionInfo> Regions => _regions.Where(r => r is not null).Select(r => r!).ToArray();

        /// <summary>Every IRQ index that exists.</summary>
        public IReadOnlyList<VfioIrqInfo> Irqs => _irqs.Where(i => i is not null).Select(i => i!).ToArray();

        /// <summary>The config-space size (256 or 4096).</summary>
        public int ConfigSize { get; }

        /// <summary>The identity read at open.</summary>
        public DeviceIdentity Identity { get; private set; }

        /// <summary>The policy bound to this device.</summary>
        public BoundConfigSpace Binding { get; private set; }

        /// <summary>The firewall every consumer config access goes through.</summary>
        public IConfigSpaceFirewall Firewall => _firewall;

        /// <summary>Where denied writes are reported.</summary>
        public IAuditSink Audit { get; private set; }

        /// <summary>
        /// What the audit sink held, recorded and dropped (by rate, by capacity) so far, when it is a
        /// <see cref="AccessModel.Audit.BoundedAuditSink"/> (the default); null for a sink of the caller's that is not.
        /// </summary>
        public AccessModel.Audit.AuditCounts? AuditCounts => (Audit as AccessModel.Audit.BoundedAuditSink)?.Counts;

        /// <summary>The chain walk's and binder's warnings.</summary>
        public IReadOnlyList<string> Warnings => Binding.Warnings;

        /// <summary>
        /// A descriptor an untrusted client may mmap to reach BAR <paramref name="index"/> directly, and the areas it may
        /// map (<see cref="VfioBar.ClientMappableAreas"/>); the caller owns the descriptor. Null when nothing of the BAR
        /// may be mapped by a client (I/O, the ROM, MSI-X only, no such BAR). Accesses through such a mapping bypass the
        /// runtime: no decode gating, no power-state blocking, and the mapping survives resets; callers offer it only
        /// where that is acceptable (docs/serving.md).
        /// </summary>
        /// <exception cref="VfioException">The kernel has no such descriptor for the BAR.</exception>
        public (int Fd, IReadOnlyList<VfioSparseArea> Areas)? OpenBarForClient(int index)
        {
            lock (Gate)
            {
                ThrowIfClosed();
                if (index < 0 || index > 5 || _bars[index] is not { IsIo: false, IsRom: false } bar || bar.ClientMappableAreas.Count == 0)
                {
                    return null;
                }

                return (_kernel.OpenBarFile(_deviceFd, index), bar.ClientMappableAreas);
            }
        }

        /// <summary>The implemented BARs and the ROM, in index order.</summary>
        public IReadOnlyList<VfioBar> Bars => _bars.Where(b => b is not null).Select(b => b!).ToArray();

        /// <summary>The expansion ROM, or null when the device has none.</summary>
        public VfioBar? Rom => _bars[VfioConstants.RomRegionIndex];

        /// <summary>How many resets the runtime performed (explicit, FLR, or a D3hot→D0 transition that lost state).</summary>
        public int ResetCount { get; private set; }

        /// <summary>Behavior actions that failed during consumer writes (a consumer's write itself never fails for them).</summary>
        public IReadOnlyList<VfioException> BehaviorErrors
        {
            get
            {
                lock (Gate)
                {
                    return _behaviorErrors.ToArray();
                }
            }
        }

        /// <summary>Raised when a behavior action fails (for example an FLR on a device that cannot reset).</summary>
        public event EventHandler<VfioException>? BehaviorFailed;

        /// <summary>Raised when the kernel signals an error (AER) on the device.</summary>
        public event EventHandler? ErrorReported;

        /// <summary>Raised when the host asks for the device back (the VFIO device request, e.g. an unbind).</summary>
        public event EventHandler? ReleaseRequested;

        internal object Gate { get; } = new object();

        /// <summary>The VFIO device descriptor (for the container's hot reset).</summary>
        internal int DeviceFd => _deviceFd;

        /// <summary>
        /// Opens <paramref name="device"/> (a PCI address or sysfs path) with a compiled policy's generated handler, in an
        /// address space of its own (closed with the device). To share one, open the devices through a <see cref="VfioContainer"/>.
        /// </summary>
        /// <exception cref="VfioException">The device cannot be opened; <see cref="VfioException.Kind"/> says why.</exception>
        public static VfioDevice Open(string device, ICompiledPolicy policy, IVfioKernel kernel, VfioDeviceOptions? options = null)
        {
            if (policy is null)
            {
                throw new ArgumentNullException(nameof(policy));
            }

            return OpenAlone(device, PolicyOpener.Compiled(policy), kernel, options);
        }

        /// <summary>Opens <paramref name="device"/> with a policy loaded at run time, executed by the reference interpreter, in an address space of its own.</summary>
        /// <exception cref="VfioException">The device cannot be opened; <see cref="VfioException.Kind"/> says why.</exception>
        public static VfioDevice Open(string device, PolicyModel policy, IVfioKernel kernel, VfioDeviceOptions? options = null)
        {
            if (policy is null)
            {
                throw new ArgumentNullException(nameof(policy));
            }

            return OpenAlone(device, PolicyOpener.Interpreted(policy), kernel, options);
        }

        /// <summary>The consumer reads <paramref name="length"/> (1 to 4) config bytes at <paramref name="offset"/>; anything but Ok changed nothing.</summary>
        public AccessStatus TryReadConfig(int offset, int length, out uint value)
        {
            lock (Gate)
            {
                ThrowIfClosed();
                return _firewall.Read(offset, length, out value);
            }
        }

        /// <summary>The consumer writes <paramref name="length"/> (1 to 4) config bytes at <paramref name="offset"/>.</summary>
        public AccessStatus TryWriteConfig(int offset, int length, uint value)
        {
            lock (Gate)
            {
                ThrowIfClosed();
                AccessStatus status = _firewall.Write(offset, length, value);
                if (status == AccessStatus.Ok && offset <= CommandOffset + 1 && offset + length > CommandOffset)
                {
                    RefreshCommand();
                }

                return status;
            }
        }

        /// <summary>A consumer config read that throws on failure.</summary>
        /// <exception cref="VfioException">Out of range or bad length (<see cref="VfioErrorKind.InvalidAccess"/>), or the hardware failed.</exception>
        public uint ReadConfig(int offset, int length)
        {
            lock (Gate)
            {
                AccessStatus status = TryReadConfig(offset, length, out uint value);
                ThrowOnStatus(status, "config read", offset, length, _configHardware.LastError);
                return value;
            }
        }

        /// <summary>A consumer config write that throws on failure.</summary>
        /// <exception cref="VfioException">Out of range or bad length (<see cref="VfioErrorKind.InvalidAccess"/>), or the hardware failed.</exception>
        public void WriteConfig(int offset, int length, uint value)
        {
            lock (Gate)
            {
                ThrowOnStatus(TryWriteConfig(offset, length, value), "config write", offset, length, _configHardware.LastError);
            }
        }

        /// <summary>BAR <paramref name="index"/> (0 to 5), or the ROM for 6.</summary>
        /// <exception cref="VfioException">The BAR is not implemented (<see cref="VfioErrorKind.InvalidAccess"/>).</exception>
        public VfioBar Bar(int index)
        {
            if (index < 0 || index >= _bars.Length || _bars[index] is null)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, "BAR" + index.ToString(CultureInfo.InvariantCulture) + " of " + Address, 0, "the device does not implement it");
            }

            return _bars[index]!;
        }

        /// <summary>The VGA region (8) or a device-specific region (9 and up), for pread/pwrite access.</summary>
        /// <exception cref="VfioException">No such region, or <paramref name="index"/> names a BAR, the ROM or config space, which have their own paths (<see cref="VfioErrorKind.InvalidAccess"/>).</exception>
        public VfioRegion Region(int index)
        {
            string operation = "region " + index.ToString(CultureInfo.InvariantCulture) + " of " + Address;
            if (index <= VfioConstants.ConfigRegionIndex)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, operation, 0, "BARs, the ROM and config space are reached through Bar() and ReadConfig/WriteConfig");
            }

            if (index >= _regions.Length || _regions[index] is not { } region)
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, operation, 0, "the device has no such region");
            }

            return new VfioRegion(this, region);
        }

        /// <summary>Closes the device: interrupts off, mappings gone, descriptors closed, the device out of its address space. Idempotent.</summary>
        public void Dispose()
        {
            Thread? monitor;
            lock (Gate)
            {
                if (_closed)
                {
                    return;
                }

                _closed = true;
                monitor = _monitor;
                try
                {
                    TearDownInterrupts();
                }
                catch (VfioException error)
                {
                    // Closing the device fd below releases its interrupts anyway; keep the reason for diagnostics.
                    _behaviorErrors.Add(error);
                }

                foreach (VfioBar? bar in _bars)
                {
                    bar?.Unmap();
                }
            }

            if (monitor is not null && monitor != Thread.CurrentThread)
            {
                monitor.Join();
            }

            CloseDescriptors();
            _container.Release(this);
            if (_ownsContainer)
            {
                _container.Dispose();
            }
        }

        internal void ThrowIfClosed()
        {
            if (_closed)
            {
                throw new VfioException(VfioErrorKind.Closed, "access to " + Address, 0, "the device has been closed");
            }
        }

        /// <summary>
        /// True when the consumer's Command (and ROM enable) let it reach <paramref name="bar"/>, and the function is in
        /// D0: in D3hot and deeper a function does not decode its BARs, and the kernel blocks them too.
        /// </summary>
        internal bool DecodeEnabled(VfioBar bar)
        {
            if (_powerState != 0)
            {
                return false;
            }

            if (bar.IsRom)
            {
                return (_consumerCommand & CommandMemory) != 0 && (ConsumerRegister(RomOffset) & 1) != 0;
            }

            return (_consumerCommand & (bar.IsIo ? CommandIo : CommandMemory)) != 0;
        }

        internal ulong ReadRegion(VfioRegionInfo region, long offset, int width)
        {
            Span<byte> buffer = stackalloc byte[8];
            string operation = "pread of " + width.ToString(CultureInfo.InvariantCulture) + " bytes at 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + " of region " + region.Index.ToString(CultureInfo.InvariantCulture) + " of " + Address;
            try
            {
                KernelTransfer.ReadFully(_kernel, _deviceFd, buffer.Slice(0, width), region.Offset + offset, operation);
            }
            catch (VfioException error) when (error.Kind == VfioErrorKind.Kernel && error.Operation != operation)
            {
                throw new VfioException(VfioErrorKind.Kernel, operation, error.Errno, string.Empty);
            }

            ulong value = 0;
            for (int b = width - 1; b >= 0; b--)
            {
                value = (value << 8) | buffer[b];
            }

            return value;
        }

        internal void WriteRegion(VfioRegionInfo region, long offset, int width, ulong value)
        {
            Span<byte> buffer = stackalloc byte[8];
            for (int b = 0; b < width; b++)
            {
                buffer[b] = (byte)(value >> (8 * b));
            }

            string operation = "pwrite of " + width.ToString(CultureInfo.InvariantCulture) + " bytes at 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + " of region " + region.Index.ToString(CultureInfo.InvariantCulture) + " of " + Address;
            try
            {
                KernelTransfer.WriteFully(_kernel, _deviceFd, buffer.Slice(0, width), region.Offset + offset, operation);
            }
            catch (VfioException error) when (error.Kind == VfioErrorKind.Kernel && error.Operation != operation)
            {
                throw new VfioException(VfioErrorKind.Kernel, operation, error.Errno, string.Empty);
            }
        }

        private static VfioDevice OpenAlone(string device, PolicyOpener policy, IVfioKernel kernel, VfioDeviceOptions? options)
        {
            if (kernel is null)
            {
                throw new ArgumentNullException(nameof(kernel));
            }

            return VfioContainer.OpenAlone(device, policy, kernel, options ?? new VfioDeviceOptions());
        }

        /// <summary>
        /// Builds the device on an opened descriptor: reads what the kernel reports, binds the policy, sets up BARs and
        /// interrupts. On failure everything it opened is closed again, the descriptor included.
        /// </summary>
        internal static VfioDevice Create(VfioContainer container, int deviceFd, string address, string sysfsPath, int group, PolicyOpener policy, VfioDeviceOptions options, bool ownsContainer)
        {
            VfioDevice? device = null;
            try
            {
                device = new VfioDevice(container, deviceFd, address, sysfsPath, group, options, ownsContainer);
                device.Initialise(policy, options);
                return device;
            }
            catch
            {
                if (device is null)
                {
                    container.Kernel.Close(deviceFd);
                }
                else
                {
                    device.DisposeUnopened();
                }

                throw;
            }
        }

        /// <summary>Undoes a failed <see cref="Create"/>: like <see cref="Dispose"/>, but the container never knew the device.</summary>
        private void DisposeUnopened()
        {
            lock (Gate)
            {
                _closed = true;
                try
                {
                    TearDownInterrupts();
                }
                catch (VfioException)
                {
                    // The device descriptor closes next, which releases its interrupts anyway.
                }

                foreach (VfioBar? bar in _bars)
                {
                    bar?.Unmap();
                }
            }

            CloseDescriptors();
        }

        private void CloseDescriptors()
        {
            foreach (VfioInterruptVector vector in AllVectors())
            {
                _kernel.Close(vector.EventFd);
            }

            _kernel.Close(_deviceFd);
        }

        private void Describe(int deviceFd)
        {
            for (int index = 0; index < Info.RegionCount; index++)
            {
                try
                {
                    VfioRegionInfo region = _kernel.GetRegionInfo(deviceFd, index);
                    _regions[index] = region.Size > 0 ? region : null;
                }
                catch (VfioException error) when (error.Errno == VfioConstants.EINVAL)
                {
                    // Normal: the VGA region of a non-VGA device.
                }
            }

            for (int index = 0; index < Info.IrqCount; index++)
            {
                try
                {
                    VfioIrqInfo irq = _kernel.GetIrqInfo(deviceFd, index);
                    _irqs[index] = irq.Count > 0 ? irq : null;
                }
                catch (VfioException error) when (error.Errno == VfioConstants.EINVAL)
                {
                    // Normal: the ERR index of a conventional PCI device.
                }
            }
        }

        private void Initialise(PolicyOpener policy, VfioDeviceOptions options)
        {
            byte[] config = new byte[ConfigSize];
            VfioRegionInfo configRegion = _regions[VfioConstants.ConfigRegionIndex]!;
            KernelTransfer.ReadFully(_kernel, _deviceFd, config, configRegion.Offset, "pread of config space of " + Address);

            Identity = DeviceIdentityReader.Read(config);
            PolicyOpener resolved = policy.Resolve(Identity, Address);
            PolicyModel model = resolved.Model;
            string policyName = resolved.Name;
            Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IBehaviorHost?, IConfigSpaceFirewall> openFirewall = resolved.Open;
            if (!PolicyMatcher.Matches(model, Identity))
            {
                throw new VfioException(
                    VfioErrorKind.PolicyMismatch,
                    "binding policy '" + policyName + "' to " + Address,
                    0,
                    string.Format(CultureInfo.InvariantCulture, "the policy's match lines do not select device {0:x4}:{1:x4} (subsystem {2:x4}:{3:x4}, class {4:x6})", Identity.Vendor, Identity.Device, Identity.SubsystemVendor, Identity.Subsystem, Identity.ClassCode));
            }

            Binding = DeviceBinder.Bind(model, config);
            if (Binding.Errors.Count > 0)
            {
                throw new VfioException(
                    VfioErrorKind.PolicyDoesNotFit,
                    "binding policy '" + policyName + "' to " + Address,
                    0,
                    "the policy does not fit this device:\n  " + string.Join("\n  ", Binding.Errors));
            }
            _mirrors = model.Mirrors.ToArray();
            Audit = options.Audit ?? new AccessModel.Audit.BoundedAuditSink();
            for (int i = 0; i < 6; i++)
            {
                _hostBarRegisters[i] = Dword(config, FirstBarOffset + (4 * i));
            }

            _hostBarRegisters[6] = Dword(config, RomOffset);
            EnableHostDecode(config);

            try
            {
                _firewall = openFirewall(Binding, _configHardware, Audit, new BehaviorHost(this));
            }
            catch (InvalidOperationException error)
            {
                throw new VfioException(VfioErrorKind.Kernel, "opening the firewall of " + Address, _configHardware.LastError?.Errno ?? 0, error.Message);
            }

            _shadow = _firewall as IShadowAccess
                ?? throw new NotSupportedException("The firewall of policy '" + policyName + "' does not expose its shadow (IShadowAccess); the runtime needs it for BAR sizing and interrupts.");

            SetUpBars(config);
            SetUpInterrupts(config);
            ApplyAllBarSizing();
            RefreshCommand();
        }

        private static uint Dword(byte[] config, int offset) => (uint)(config[offset] | (config[offset + 1] << 8) | (config[offset + 2] << 16) | (config[offset + 3] << 24));

        /// <summary>
        /// When the policy virtualizes the decode bits, the consumer's choice lives in the shadow and gates access in
        /// the runtime, so the hardware must decode regardless (vfio-pci normally leaves it on; a reset clears it).
        /// </summary>
        private void EnableHostDecode(byte[] config)
        {
            uint wanted = 0;
            for (int i = 0; i < 6; i++)
            {
                if (_regions[i] is not null)
                {
                    wanted |= (_hostBarRegisters[i] & 1) != 0 ? CommandIo : CommandMemory;
                }
            }

            if (_regions[VfioConstants.RomRegionIndex] is not null)
            {
                wanted |= CommandMemory;
            }

            wanted &= Binding.VirtMask[CommandOffset];
            uint command = (uint)(config[CommandOffset] | (config[CommandOffset + 1] << 8));
            if ((command & wanted) != wanted)
            {
                WriteHardware(CommandOffset, 2, command | wanted);
            }
        }

        private void WriteHardware(int offset, int width, uint value)
        {
            if (!_configHardware.TryWrite(offset, width, value))
            {
                throw _configHardware.LastError ?? new VfioException(VfioErrorKind.Kernel, "pwrite of config space of " + Address, 0, string.Empty);
            }
        }

        private uint ReadHardware(int offset, int width)
        {
            if (!_configHardware.TryRead(offset, width, out uint value))
            {
                throw _configHardware.LastError ?? new VfioException(VfioErrorKind.Kernel, "pread of config space of " + Address, 0, string.Empty);
            }

            return value;
        }

        /// <summary>The consumer's view of a config register (through the firewall).</summary>
        private uint ConsumerRegister(int offset, int width = 4)
        {
            return _firewall.Read(offset, width, out uint value) == AccessStatus.Ok ? value : 0;
        }

        private void RefreshCommand() => _consumerCommand = ConsumerRegister(CommandOffset, 2);

        private void SetUpBars(byte[] config)
        {
            _msix = CreateMsixTable(config);
            for (int index = 0; index <= VfioConstants.RomRegionIndex; index++)
            {
                VfioRegionInfo? region = _regions[index];
                if (region is null || (index > 0 && index < 6 && _bars[index - 1] is { Is64Bit: true }))
                {
                    continue;
                }

                uint typeBits = index == VfioConstants.RomRegionIndex ? 0 : (_hostBarRegisters[index] & 1) != 0 ? _hostBarRegisters[index] & 0x3 : _hostBarRegisters[index] & 0xF;
                var bar = new VfioBar(this, region, typeBits, _msix is not null && (_msix.TableBar == index || _msix.PbaBar == index) ? _msix : null);
                _bars[index] = bar;
                bar.MapAllowedAreas(_kernel, _deviceFd, _mirrors.Where(m => m.Bar == index).ToArray());
            }
        }

        private MsixTable? CreateMsixTable(byte[] config)
        {
            BoundCapability? capability = FindCapability(0x11);
            if (capability is null)
            {
                return null;
            }

            int start = capability.Info.Offset;
            int vectors = (int)((config[start + 2] | (config[start + 3] << 8)) & 0x7FF) + 1;
            uint table = Dword(config, start + 4);
            uint pba = Dword(config, start + 8);
            return new MsixTable(vectors, (int)(table & 7), table & ~7u, (int)(pba & 7), pba & ~7u, OnMsixVectorChanged, InterruptOwner == VfioInterruptOwner.Runtime);
        }

        private BoundCapability? FindCapability(int id)
        {
            foreach (BoundCapability capability in Binding.Capabilities)
            {
                if (!capability.Info.Extended && capability.Info.Id == id && capability.Bound && !capability.Hidden)
                {
                    return capability;
                }
            }

            return null;
        }

        private void ApplyAllBarSizing()
        {
            foreach (BoundBehavior behavior in Binding.Behaviors)
            {
                if (behavior.Behavior == Behavior.Bar || behavior.Behavior == Behavior.Rom)
                {
                    ApplyBarSizing(behavior.Offset);
                }
            }
        }

        /// <summary>Makes the shadow of the BAR register at <paramref name="registerOffset"/> what a real BAR would read after the consumer's write.</summary>
        private void ApplyBarSizing(int registerOffset)
        {
            uint written = _shadow.ReadShadow(registerOffset, 4);
            _shadow.WriteShadow(registerOffset, 4, BarRegisterValue(registerOffset, written));
        }

        /// <summary>A BAR register's value after <paramref name="written"/>: address bits above the size kept, type bits the hardware's, the rest 0.</summary>
        internal uint BarRegisterValue(int registerOffset, uint written)
        {
            if (registerOffset == RomOffset)
            {
                VfioBar? rom = _bars[VfioConstants.RomRegionIndex];
                return rom is null ? 0 : (written & (uint)~(rom.Size - 1) & 0xFFFFF800u) | (written & 1);
            }

            int index = (registerOffset - FirstBarOffset) / 4;
            if (index < 0 || index > 5)
            {
                return written;
            }

            if (index > 0 && _bars[index - 1] is { Is64Bit: true } lower)
            {
                return written & (uint)(~(ulong)(lower.Size - 1) >> 32);
            }

            VfioBar? bar = _bars[index];
            if (bar is null)
            {
                return 0; // an unimplemented BAR reads 0, so sizing finds nothing there
            }

            uint mask = bar.IsIo ? 0xFFFFFFFCu : 0xFFFFFFF0u;
            return (written & (uint)~(ulong)(bar.Size - 1) & mask) | bar.TypeBits;
        }

        private static void ThrowOnStatus(AccessStatus status, string what, int offset, int length, VfioException? hardwareError)
        {
            if (status == AccessStatus.Ok)
            {
                return;
            }

            string operation = string.Format(CultureInfo.InvariantCulture, "{0} of {1} bytes at 0x{2:x3}", what, length, offset);
            throw status == AccessStatus.HardwareError
                ? new VfioException(VfioErrorKind.Kernel, operation, hardwareError is { Errno: not 0 } cause ? cause.Errno : VfioConstants.EIO, "the device's config region failed the access (" + (hardwareError?.Message ?? "no detail") + "); nothing changed")
                : new VfioException(VfioErrorKind.InvalidAccess, operation, 0, status == AccessStatus.InvalidLength ? "the length must be 1 to 4 bytes" : "the access lies outside config space");
        }

        private void RecordBehaviorError(VfioException error)
        {
            _behaviorErrors.Add(error);
            BehaviorFailed?.Invoke(this, error);
        }

        /// <summary>
        /// A policy and how to open its firewall on a bound device (the generated handler, or the interpreter); or, for
        /// <see cref="FromRegistry"/>, the instruction to take the compiled policy that selects the device most specifically.
        /// </summary>
        internal sealed record PolicyOpener(PolicyModel Model, string Name, Func<BoundConfigSpace, IHardwareConfig, IAuditSink, IBehaviorHost?, IConfigSpaceFirewall> Open)
        {
            /// <summary>Chooses, once the device's identity is known, among the compiled policies the process registered.</summary>
            public static PolicyOpener FromRegistry { get; } = new PolicyOpener(null!, "(from the policy registry)", null!) { FindInRegistry = true };

            private bool FindInRegistry { get; init; }

            public static PolicyOpener Compiled(ICompiledPolicy policy) => new PolicyOpener(policy.Model, policy.Name, policy.Open);

            public static PolicyOpener Interpreted(PolicyModel model) =>
                new PolicyOpener(model, model.Name, (bound, hardware, audit, behaviors) => new PolicyInterpreter(bound, hardware, audit, behaviors));

            /// <summary>The policy for <paramref name="identity"/>: this one, or the registry's choice.</summary>
            public PolicyOpener Resolve(DeviceIdentity identity, string address)
            {
                if (!FindInRegistry)
                {
                    return this;
                }

                try
                {
                    return Compiled(PolicyRegistry.Find(identity));
                }
                catch (PolicyLookupException error)
                {
                    throw new VfioException(VfioErrorKind.PolicyMismatch, "finding the compiled policy for " + address, 0, error.Message);
                }
            }
        }

        /// <summary>Routes the firewall's behavior callbacks to the device.</summary>
        private sealed class BehaviorHost : IBehaviorHost
        {
            private readonly VfioDevice _device;

            public BehaviorHost(VfioDevice device) => _device = device;

            public void OnWrite(Behavior behavior, int registerOffset, int offset, int width, uint value)
            {
                // The firewall calls this while opening (never: no writes) and during consumer writes, under Gate.
                try
                {
                    _device.OnBehaviorWrite(behavior, registerOffset, offset, width, value);
                }
                catch (VfioException error)
                {
                    _device.RecordBehaviorError(error);
                }
            }
        }
    }
}
