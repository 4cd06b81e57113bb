using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.Runtime.Kernel;

namespace VfioPolicy.Runtime
{
    /// <summary>Interrupts, behaviors, resets and notifications of a <see cref="VfioDevice"/>.</summary>
    public sealed partial class VfioDevice
    {
        private const int MaxMsiVectors = 32;
        private const ushort PmStateMask = 0x3;
        private const ushort PmNoSoftReset = 0x8;
        private const ushort PmPmeStatus = 0x8000;
        private const int D3Hot = 3;
        private const int MsiCapabilityId = 0x05;
        private const int MsiFlagsOffset = 0x02;
        private const uint MsiMultipleMessageCapable = 0x000E;
        private const uint MsiMultipleMessageEnable = 0x0070;
        private const int ExpressCapabilityId = 0x10;
        private const int ExpressDeviceCapabilities = 0x04;
        private const uint ExpressFlrCapable = 0x1000_0000;
        private const int AdvancedFeaturesCapabilityId = 0x13;
        private const int AdvancedFeaturesCapabilities = 0x03;
        private const uint AdvancedFeaturesTp = 0x01;
        private const uint AdvancedFeaturesFlr = 0x02;

        private readonly List<VfioInterruptVector> _msiVectors = new List<VfioInterruptVector>();
        private readonly List<VfioInterruptVector> _msixVectors = new List<VfioInterruptVector>();

        // The runtime's own eventfd per MSI-X vector: VFIO signals it while the consumer masks the vector, and a firing
        // there is the vector's pending bit (vfio-pci cannot mask MSI-X vectors, so this is how QEMU does it too).
        private readonly List<VfioInterruptVector> _msixPendingVectors = new List<VfioInterruptVector>();
        private VfioInterruptVector? _intx;
        private VfioInterruptVector? _errorNotification;
        private VfioInterruptVector? _requestNotification;
        private readonly Dictionary<(int Index, int Vector), VfioVectorRoute> _routes = new Dictionary<(int, int), VfioVectorRoute>();
        private int[] _programmed = Array.Empty<int>();
        private int _powerState;
        private int _vmmErrorFd = -1;
        private int _vmmRequestFd = -1;

        /// <summary>The mechanism the device currently signals through, as the consumer's registers ask.</summary>
        public VfioInterruptMode InterruptMode { get; private set; }

        /// <summary>The INTx line's eventfd, or null when the device has no INTx (interrupt pin 0).</summary>
        public VfioInterruptVector? Intx => _intx;

        /// <summary>The MSI vectors the device offers (up to 32); the first 2^MME are armed while the consumer enables MSI.</summary>
        public IReadOnlyList<VfioInterruptVector> MsiVectors => _msiVectors;

        /// <summary>The MSI-X vectors (one per table entry); each is armed while MSI-X is enabled and the entry unmasked.</summary>
        public IReadOnlyList<VfioInterruptVector> MsixVectors => _msixVectors;

        /// <summary>How many vectors of the current mode VFIO was asked to set up.</summary>
        public int ActiveVectorCount => _programmed.Length;

        /// <summary>
        /// Runtime-owned interrupts: raised when an MSI or MSI-X vector's route changes (the consumer enables, masks,
        /// unmasks or disables it, or writes its message address or data), so a VMM that programs interrupt routes
        /// (KVM's GSI routing, say) can follow. Raised under the device's lock, after VFIO was reprogrammed.
        /// </summary>
        public event EventHandler<VfioVectorRoute>? VectorRouteChanged;

        /// <summary>
        /// VMM-owned interrupts (<see cref="VfioInterruptOwner.Vmm"/>): the VMM's <c>VFIO_DEVICE_SET_IRQS</c>, with the
        /// kernel's vfio-pci contract (INTx trigger and mask/unmask, an unmask eventfd for resampling; MSI and MSI-X by
        /// vector ranges, not maskable; DATA_NONE/DATA_BOOL triggers as loopback; count 0 disables). The policy still
        /// owns config space: an index the consumer cannot see (a hidden capability, interrupt pin 0) has no vectors, and
        /// no more vectors than the consumer's view of the capability offers can be set. ERR and REQ eventfds are not
        /// handed to the kernel: the runtime keeps its own, and forwards each event to the VMM's eventfd.
        /// </summary>
        /// <exception cref="VfioException"><see cref="VfioErrorKind.InvalidAccess"/> for a malformed request, a runtime-owned device, or vectors beyond what the policy allows; a kernel error otherwise.</exception>
        public void SetIrqs(VfioIrqSet request)
        {
            if (request is null)
            {
                throw new ArgumentNullException(nameof(request));
            }

            lock (Gate)
            {
                ThrowIfClosed();
                string operation = "VFIO_DEVICE_SET_IRQS (" + IndexName(request.Index) + ", " + request.Action.ToString() + ") on " + Address;
                if (InterruptOwner != VfioInterruptOwner.Vmm)
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, operation, 0, "the runtime owns this device's interrupts; open it with VfioDeviceOptions.Interrupts = Vmm to program them yourself");
                }

                if (request.Malformation() is { } malformed)
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, operation, VfioConstants.EINVAL, malformed);
                }

                int allowed = VmmVectorLimit(request.Index);
                bool disable = request.Action == VfioIrqAction.Trigger && request.DataType == VfioIrqDataType.None && request.Count == 0;
                if (allowed == 0 || (!disable && (request.Count == 0 || request.Start + request.Count > allowed)))
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, operation, VfioConstants.EINVAL, string.Format(CultureInfo.InvariantCulture, "vectors {0} to {1} are outside the {2} the consumer's view of the device offers", request.Start, request.Start + request.Count - 1, allowed));
                }

                if (request.Index >= VfioConstants.ErrIrqIndex)
                {
                    ForwardNotification(request, disable, operation);
                    return;
                }

                ApplyIrqs(request);
                if (request.Action == VfioIrqAction.Trigger && (disable || request.DataType == VfioIrqDataType.EventFd))
                {
                    InterruptMode = disable ? VfioInterruptMode.None : ModeOf(request.Index);
                }
            }
        }

        /// <summary>
        /// Unmasks INTx after the consumer handled an interrupt: VFIO masks the line after each one (the device must be
        /// acknowledged first, or it fires again at once).
        /// </summary>
        /// <exception cref="VfioException">INTx is not the current mode (<see cref="VfioErrorKind.InvalidAccess"/>), or the ioctl failed.</exception>
        public void UnmaskIntx()
        {
            lock (Gate)
            {
                ThrowIfClosed();
                if (InterruptOwner == VfioInterruptOwner.Vmm)
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, "INTx unmask on " + Address, 0, "the VMM owns this device's interrupts: unmask through SetIrqs (or its resample eventfd)");
                }

                if (InterruptMode != VfioInterruptMode.Intx)
                {
                    throw new VfioException(VfioErrorKind.InvalidAccess, "INTx unmask on " + Address, 0, "INTx is not the current interrupt mode (" + InterruptMode.ToString() + ")");
                }

                ApplyIrqs(VfioIrqSet.Unmask(VfioConstants.IntxIrqIndex, 0));
            }
        }

        /// <summary>
        /// Resets the function and restores what the policy keeps (see docs/runtime.md): through its own reset
        /// (<c>VFIO_DEVICE_RESET</c>) when it has one, else through a PCI hot reset of its bus or slot, which resets the
        /// other functions there too, and is done only when every one of them is open in this device's container (each
        /// open one is restored as well).
        /// </summary>
        /// <exception cref="VfioException"><see cref="VfioErrorKind.CannotReset"/> when no reset is possible (with <see cref="VfioException.BlockingDevices"/> naming the functions a bus reset would reach that the container does not own); a kernel error otherwise.</exception>
        public void Reset()
        {
            if (CanReset)
            {
                lock (Gate)
                {
                    ThrowIfClosed();
                    ResetLocked("VFIO_DEVICE_RESET");
                }

                return;
            }

            ThrowIfClosed();
            _container.HotReset(this);
        }

        /// <summary>
        /// Waits up to <paramref name="timeoutMilliseconds"/> for the error or request notification and raises
        /// <see cref="ErrorReported"/> / <see cref="ReleaseRequested"/> for what arrived; returns how many events were raised.
        /// </summary>
        public int PollNotifications(int timeoutMilliseconds)
        {
            var vectors = new List<VfioInterruptVector>();
            if (_errorNotification is not null)
            {
                vectors.Add(_errorNotification);
            }

            if (_requestNotification is not null)
            {
                vectors.Add(_requestNotification);
            }

            if (vectors.Count == 0 || _closed)
            {
                if (timeoutMilliseconds > 0)
                {
                    Thread.Sleep(timeoutMilliseconds);
                }

                return 0;
            }

            Span<int> fds = stackalloc int[vectors.Count];
            Span<bool> ready = stackalloc bool[vectors.Count];
            for (int i = 0; i < vectors.Count; i++)
            {
                fds[i] = vectors[i].EventFd;
            }

            if (_kernel.Poll(fds, timeoutMilliseconds, ready) <= 0)
            {
                return 0;
            }

            int raised = 0;
            for (int i = 0; i < vectors.Count; i++)
            {
                if (ready[i] && vectors[i].Consume() is ulong count && count > 0)
                {
                    raised++;
                    bool error = ReferenceEquals(vectors[i], _errorNotification);
                    int forward = error ? _vmmErrorFd : _vmmRequestFd;
                    if (forward >= 0)
                    {
                        // The VMM asked for this notification (SetIrqs on ERR/REQ): it gets the event too.
                        _kernel.WriteEventFd(forward, count);
                    }

                    (error ? ErrorReported : ReleaseRequested)?.Invoke(this, EventArgs.Empty);
                }
            }

            return raised;
        }

        /// <summary>Starts a background thread that raises <see cref="ErrorReported"/> and <see cref="ReleaseRequested"/> as they arrive, until <see cref="Dispose"/>.</summary>
        public void StartNotificationMonitor()
        {
            lock (Gate)
            {
                ThrowIfClosed();
                if (_monitor is not null)
                {
                    return;
                }

                _monitor = new Thread(() =>
                {
                    while (!_closed)
                    {
                        PollNotifications(50);
                    }
                })
                {
                    IsBackground = true,
                    Name = "vfio notifications " + Address,
                };
                _monitor.Start();
            }
        }

        private IEnumerable<VfioInterruptVector> AllVectors()
        {
            if (_intx is not null)
            {
                yield return _intx;
            }

            foreach (VfioInterruptVector vector in _msiVectors)
            {
                yield return vector;
            }

            foreach (VfioInterruptVector vector in _msixVectors)
            {
                yield return vector;
            }

            foreach (VfioInterruptVector vector in _msixPendingVectors)
            {
                yield return vector;
            }

            if (_errorNotification is not null)
            {
                yield return _errorNotification;
            }

            if (_requestNotification is not null)
            {
                yield return _requestNotification;
            }
        }

        private VfioInterruptVector CreateVector(int index, int vector) => new VfioInterruptVector(_kernel, index, vector, _kernel.CreateEventFd());

        private void SetUpInterrupts(byte[] config)
        {
            if (InterruptOwner == VfioInterruptOwner.Vmm)
            {
                // The VMM brings its own eventfds; the runtime keeps only the notifications (forwarded on request).
                SetUpNotifications();
                _powerState = ConsumerPowerState();
                RefreshCommand();
                return;
            }

            if (_irqs[VfioConstants.IntxIrqIndex] is not null && config[InterruptPinOffset] != 0)
            {
                _intx = CreateVector(VfioConstants.IntxIrqIndex, 0);
            }

            if (_irqs[VfioConstants.MsiIrqIndex] is { } msi && FindCapability(0x05) is not null)
            {
                for (int vector = 0; vector < Math.Min(msi.Count, MaxMsiVectors); vector++)
                {
                    _msiVectors.Add(CreateVector(VfioConstants.MsiIrqIndex, vector));
                }
            }

            if (_irqs[VfioConstants.MsixIrqIndex] is { } msix && _msix is not null)
            {
                for (int vector = 0; vector < Math.Min(msix.Count, _msix.Vectors); vector++)
                {
                    _msixVectors.Add(CreateVector(VfioConstants.MsixIrqIndex, vector));
                    _msixPendingVectors.Add(CreateVector(VfioConstants.MsixIrqIndex, vector));
                }

                _msix.CollectPending = CollectMsixPending;
            }

            SetUpNotifications();
            _powerState = ConsumerPowerState();
            RefreshCommand();
            SyncInterrupts();
        }

        /// <summary>The runtime's own eventfds for the error (AER) and request (unplug) notifications.</summary>
        private void SetUpNotifications()
        {
            if (_irqs[VfioConstants.ErrIrqIndex] is not null)
            {
                _errorNotification = CreateVector(VfioConstants.ErrIrqIndex, 0);
                ApplyIrqs(VfioIrqSet.Trigger(VfioConstants.ErrIrqIndex, 0, new[] { _errorNotification.EventFd }));
            }

            if (_irqs[VfioConstants.ReqIrqIndex] is not null)
            {
                _requestNotification = CreateVector(VfioConstants.ReqIrqIndex, 0);
                ApplyIrqs(VfioIrqSet.Trigger(VfioConstants.ReqIrqIndex, 0, new[] { _requestNotification.EventFd }));
            }
        }

        /// <summary>
        /// How many vectors of IRQ index <paramref name="index"/> <see cref="SetIrqs"/> accepts: what the kernel offers,
        /// capped by what the consumer sees through the firewall (interrupt pin, MSI Multiple Message Capable, MSI-X
        /// table size); 0 for a capability the policy hides or an index the device lacks.
        /// </summary>
        public int VmmVectorLimit(int index)
        {
            if (index < 0 || index >= _irqs.Length || _irqs[index] is not { } irq)
            {
                return 0;
            }

            lock (Gate)
            {
                return Math.Min(irq.Count, ConsumerVisibleVectors(index));
            }
        }

        private int ConsumerVisibleVectors(int index)
        {
            return index switch
            {
                VfioConstants.IntxIrqIndex => ConsumerRegister(InterruptPinOffset, 1) != 0 ? 1 : 0,
                VfioConstants.MsiIrqIndex => FindCapability(0x05) is { } msi ? 1 << (int)Math.Min((ConsumerRegister(msi.Info.Offset + 2, 2) >> 1) & 7, 5) : 0,
                VfioConstants.MsixIrqIndex => FindCapability(0x11) is { } msix ? (int)(ConsumerRegister(msix.Info.Offset + 2, 2) & 0x7FF) + 1 : 0,
                _ => 1,
            };
        }

        /// <summary>ERR/REQ in VMM mode: the VMM's eventfd gets every event the runtime's own eventfd receives.</summary>
        private void ForwardNotification(VfioIrqSet request, bool disable, string operation)
        {
            if (request.Action != VfioIrqAction.Trigger || (!disable && request.DataType != VfioIrqDataType.EventFd))
            {
                throw new VfioException(VfioErrorKind.InvalidAccess, operation, VfioConstants.EINVAL, "the error and request notifications take an eventfd trigger (or a disable)");
            }

            int fd = disable ? -1 : request.EventFds![0];
            if (request.Index == VfioConstants.ErrIrqIndex)
            {
                _vmmErrorFd = fd;
            }
            else
            {
                _vmmRequestFd = fd;
            }

            if (fd >= 0)
            {
                StartNotificationMonitor();
            }
        }

        private static VfioInterruptMode ModeOf(int index) => index switch
        {
            VfioConstants.IntxIrqIndex => VfioInterruptMode.Intx,
            VfioConstants.MsiIrqIndex => VfioInterruptMode.Msi,
            _ => VfioInterruptMode.Msix,
        };

        private void ApplyIrqs(VfioIrqSet request)
        {
            try
            {
                _kernel.SetIrqs(_deviceFd, request);
            }
            catch (VfioException error) when (error.Kind == VfioErrorKind.Kernel)
            {
                // Name the index and action as a user knows them; the kernel's own words stay in the detail.
                throw new VfioException(VfioErrorKind.Kernel, "VFIO_DEVICE_SET_IRQS (" + IndexName(request.Index) + ", " + request.Action.ToString() + ") on " + Address, error.Errno, error.Detail.Length > 0 ? error.Detail : error.Operation);
            }
        }

        private static string IndexName(int index) => index switch
        {
            VfioConstants.IntxIrqIndex => "INTx",
            VfioConstants.MsiIrqIndex => "MSI",
            VfioConstants.MsixIrqIndex => "MSI-X",
            VfioConstants.ErrIrqIndex => "ERR",
            VfioConstants.ReqIrqIndex => "REQ",
            _ => "index " + index.ToString(CultureInfo.InvariantCulture),
        };

        private void TearDownInterrupts()
        {
            try
            {
                switch (InterruptMode)
                {
                    case VfioInterruptMode.Intx:
                        ApplyIrqs(VfioIrqSet.Disable(VfioConstants.IntxIrqIndex));
                        break;
                    case VfioInterruptMode.Msi:
                        ApplyIrqs(VfioIrqSet.Disable(VfioConstants.MsiIrqIndex));
                        break;
                    case VfioInterruptMode.Msix:
                        ApplyIrqs(VfioIrqSet.Disable(VfioConstants.MsixIrqIndex));

                        // Interrupts that reached the runtime's eventfds before the disable stay pending in the PBA.
                        CollectMsixPending();
                        break;
                }
            }
            finally
            {
                InterruptMode = VfioInterruptMode.None;
                _programmed = Array.Empty<int>();
                foreach (VfioInterruptVector vector in AllVectors())
                {
                    if (vector.IrqIndex <= VfioConstants.MsixIrqIndex)
                    {
                        vector.Armed = false;
                    }
                }
            }
        }

        /// <summary>
        /// Makes VFIO's interrupt setup what the consumer's registers ask for: MSI-X if enabled, else MSI if enabled
        /// (2^MME vectors, capped by what the device offers), else INTx unless INTx Disable is set.
        /// </summary>
        private void SyncInterrupts()
        {
            VfioInterruptMode wanted = VfioInterruptMode.None;
            int[] fds = Array.Empty<int>();
            BoundCapability? msixCapability = FindCapability(0x11);
            BoundCapability? msiCapability = FindCapability(0x05);
            if (msixCapability is not null && _msix is not null && _msixVectors.Count > 0 && (ConsumerRegister(msixCapability.Info.Offset + 2, 2) & 0x8000) != 0)
            {
                wanted = VfioInterruptMode.Msix;
                bool functionMasked = (ConsumerRegister(msixCapability.Info.Offset + 2, 2) & 0x4000) != 0;
                fds = new int[_msixVectors.Count];
                for (int i = 0; i < fds.Length; i++)
                {
                    VfioInterruptVector vector = _msixVectors[i];
                    vector.MessageAddress = _msix.AddressOf(i);
                    vector.MessageData = _msix.DataOf(i);
                    fds[i] = functionMasked || _msix.IsMasked(i) ? _msixPendingVectors[i].EventFd : vector.EventFd;
                }
            }
            else if (msiCapability is not null && _msiVectors.Count > 0 && (ConsumerRegister(msiCapability.Info.Offset + 2, 2) & 1) != 0)
            {
                wanted = VfioInterruptMode.Msi;
                fds = MsiEventFds(msiCapability.Info.Offset);
            }
            else if (_intx is not null && (_consumerCommand & CommandIntxDisable) == 0)
            {
                wanted = VfioInterruptMode.Intx;
                fds = new[] { _intx.EventFd };
            }

            if (wanted != InterruptMode || fds.Length != _programmed.Length)
            {
                TearDownInterrupts();
                if (wanted != VfioInterruptMode.None)
                {
                    ApplyIrqs(VfioIrqSet.Trigger(IndexOf(wanted), 0, fds));
                }
            }
            else
            {
                // Same mode and size: reprogram only the vectors whose eventfd attachment changed (mask bits).
                int first = -1;
                int last = -1;
                for (int i = 0; i < fds.Length; i++)
                {
                    if (fds[i] != _programmed[i])
                    {
                        first = first < 0 ? i : first;
                        last = i;
                    }
                }

                if (first >= 0)
                {
                    ApplyIrqs(VfioIrqSet.Trigger(IndexOf(wanted), first, new ArraySegment<int>(fds, first, last - first + 1)));
                }
            }

            InterruptMode = wanted;
            _programmed = fds;
            IReadOnlyList<VfioInterruptVector> vectors = wanted == VfioInterruptMode.Msix ? _msixVectors : wanted == VfioInterruptMode.Msi ? _msiVectors : Array.Empty<VfioInterruptVector>();
            for (int i = 0; i < vectors.Count; i++)
            {
                vectors[i].Armed = i < fds.Length && fds[i] == vectors[i].EventFd;
            }

            if (wanted == VfioInterruptMode.Msix)
            {
                DeliverPendingMsix();
            }

            if (_intx is not null)
            {
                _intx.Armed = wanted == VfioInterruptMode.Intx;
            }

            ReportRouteChanges();
        }

        /// <summary>Raises <see cref="VectorRouteChanged"/> for every MSI/MSI-X vector whose (address, data, armed) differs from what was last reported.</summary>
        private void ReportRouteChanges()
        {
            foreach (VfioInterruptVector vector in _msiVectors.Concat(_msixVectors))
            {
                var route = new VfioVectorRoute(vector.IrqIndex, vector.Vector, vector.MessageAddress, vector.MessageData, vector.Armed);
                (int, int) key = (vector.IrqIndex, vector.Vector);
                bool known = _routes.TryGetValue(key, out VfioVectorRoute? last);
                if (known ? last != route : route.Armed)
                {
                    _routes[key] = route;
                    VectorRouteChanged?.Invoke(this, route);
                }
            }
        }

        /// <summary>
        /// Records as pending every MSI-X vector whose runtime-owned eventfd VFIO signalled: the device fired while the
        /// consumer masked the vector (or the function). Lazy: called before a PBA read, on unmask and on teardown.
        /// </summary>
        private void CollectMsixPending()
        {
            if (_msix is null)
            {
                return;
            }

            for (int i = 0; i < _msixPendingVectors.Count; i++)
            {
                if (_msixPendingVectors[i].Consume() > 0)
                {
                    _msix.SetPending(i);
                }
            }
        }

        /// <summary>
        /// For each MSI-X vector now routed to the consumer: an interrupt that arrived while it was masked is sent now,
        /// once, and its pending bit clears (PCI MSI-X semantics). Runs after the re-route, so a firing in between lands
        /// in the runtime's eventfd and is still collected here.
        /// </summary>
        private void DeliverPendingMsix()
        {
            if (_msix is null)
            {
                return;
            }

            CollectMsixPending();
            for (int i = 0; i < _programmed.Length && i < _msixVectors.Count; i++)
            {
                if (_programmed[i] == _msixVectors[i].EventFd && _msix.IsPending(i))
                {
                    _kernel.WriteEventFd(_msixVectors[i].EventFd, 1);
                    _msix.ClearPending(i);
                }
            }
        }

        private static int IndexOf(VfioInterruptMode mode) => mode switch
        {
            VfioInterruptMode.Intx => VfioConstants.IntxIrqIndex,
            VfioInterruptMode.Msi => VfioConstants.MsiIrqIndex,
            _ => VfioConstants.MsixIrqIndex,
        };

        /// <summary>One eventfd per enabled MSI vector, -1 for a vector the consumer masked.</summary>
        private int[] MsiEventFds(int capability)
        {
            uint flags = ConsumerRegister(capability + 2, 2);
            int capable = (int)((flags >> 1) & 7);
            int enabled = (int)((flags >> 4) & 7);
            int count = Math.Min(1 << Math.Min(enabled, capable), _msiVectors.Count);
            bool address64 = (flags & 0x80) != 0;
            bool perVectorMask = (flags & 0x100) != 0;
            ulong address = ConsumerRegister(capability + 4);
            if (address64)
            {
                address |= (ulong)ConsumerRegister(capability + 8) << 32;
            }

            uint data = ConsumerRegister(capability + (address64 ? 0x0C : 0x08), 2);
            uint mask = perVectorMask ? ConsumerRegister(capability + (address64 ? 0x10 : 0x0C)) : 0;
            var fds = new int[count];
            for (int i = 0; i < count; i++)
            {
                VfioInterruptVector vector = _msiVectors[i];
                vector.MessageAddress = address;
                vector.MessageData = (data & ~(uint)(count - 1)) | (uint)i; // multiple messages vary the low data bits
                fds[i] = (mask & (1u << i)) != 0 ? -1 : vector.EventFd;
            }

            return fds;
        }

        private void OnMsixVectorChanged(int vector) => SyncInterrupts();

        private void OnBehaviorWrite(Behavior behavior, int registerOffset, int offset, int width, uint value)
        {
            switch (behavior)
            {
                case Behavior.Bar:
                case Behavior.Rom:
                    ApplyBarSizing(registerOffset);
                    break;
                case Behavior.Command:
                    RefreshCommand();
                    if (InterruptOwner == VfioInterruptOwner.Runtime)
                    {
                        SyncInterrupts();
                    }

                    break;
                case Behavior.Msi:
                    ClampMultipleMessageEnable(registerOffset);
                    if (InterruptOwner == VfioInterruptOwner.Runtime)
                    {
                        SyncInterrupts();
                    }

                    break;
                case Behavior.Msix:
                    // VMM-owned: the registers stay virtualized (the VMM emulates MSI for its guest) and nothing is programmed.
                    if (InterruptOwner == VfioInterruptOwner.Runtime)
                    {
                        SyncInterrupts();
                    }

                    break;
                case Behavior.Flr:
                    if (RequestsFunctionReset(registerOffset, offset, width, value, out int flrBitOffset, out byte flrBit))
                    {
                        // Initiate FLR always reads 0, as on hardware: whether or not the reset happens below.
                        ClearShadowBits(flrBitOffset, flrBit);
                        if (AdvertisesFunctionReset(registerOffset))
                        {
                            ResetLocked("function-level reset (consumer write at 0x" + offset.ToString("x3", CultureInfo.InvariantCulture) + ")");
                        }
                        else
                        {
                            // The kernel resets only a function that advertises FLR (pcie_has_flr, AF TP and FLR);
                            // anything else would be a bus reset the consumer has no right to. Dropped and audited.
                            RuleOrigin origin = Binding.FindBehavior(registerOffset)?.Origin ?? RuleOrigin.Chain;
                            new AuditRecord(offset, width, value, origin, Binding.PolicyName).ReportTo(Audit);
                        }
                    }

                    break;
                case Behavior.Pm:
                    OnPowerControlWrite(registerOffset, offset, width, value);
                    break;
            }
        }

        /// <summary>
        /// True when the write sets Initiate FLR: bit 15 of PCIe Device Control, bit 0 of AF Control.
        /// <paramref name="bitOffset"/> and <paramref name="bitMask"/> locate that bit in config space.
        /// </summary>
        private bool RequestsFunctionReset(int registerOffset, int offset, int width, uint value, out int bitOffset, out byte bitMask)
        {
            int bit = -1;
            CapabilityInfo? owner = CapabilityContaining(registerOffset);
            if (owner is not null)
            {
                bit = owner.Id == ExpressCapabilityId ? 15 : owner.Id == AdvancedFeaturesCapabilityId ? 0 : -1;
            }

            bitOffset = registerOffset + (Math.Max(bit, 0) / 8);
            bitMask = (byte)(1 << (Math.Max(bit, 0) % 8));
            if (bit < 0 || bitOffset < offset || bitOffset >= offset + width)
            {
                return false;
            }

            return ((value >> (((bitOffset - offset) * 8) + (bit % 8))) & 1) != 0;
        }

        /// <summary>
        /// MSI Multiple Message Enable (Message Control bits 4..6) never exceeds Multiple Message Capable (bits 1..3)
        /// in the shadow, as <c>vfio_msi_config_write</c> clamps it: the consumer reads back the vector count the
        /// runtime (or the VMM) can actually set up.
        /// </summary>
        private void ClampMultipleMessageEnable(int registerOffset)
        {
            CapabilityInfo? owner = CapabilityContaining(registerOffset);
            if (owner is null || owner.Id != MsiCapabilityId || registerOffset != owner.Offset + MsiFlagsOffset)
            {
                return;
            }

            // Capable as the consumer sees it (a policy may offer fewer vectors) and never above the device's own;
            // Enable from the shadow, where the msi behavior keeps it.
            uint capable = Math.Min(
                (ConsumerRegister(registerOffset, 2) & MsiMultipleMessageCapable) >> 1,
                (ReadHardware(registerOffset, 2) & MsiMultipleMessageCapable) >> 1);
            uint shadow = _shadow.ReadShadow(registerOffset, 2);
            uint enabled = (shadow & MsiMultipleMessageEnable) >> 4;
            if (enabled > capable && (Binding.VirtMask[registerOffset] & MsiMultipleMessageEnable) == MsiMultipleMessageEnable)
            {
                _shadow.WriteShadow(registerOffset, 2, (shadow & ~MsiMultipleMessageEnable) | (capable << 4));
            }
        }

        /// <summary>
        /// Whether the function advertises a function-level reset where the Initiate-FLR bit lives: PCI Express Device
        /// Capabilities bit 28 (FLR Capable), or AF Capabilities with both TP and FLR, as the kernel requires.
        /// </summary>
        private bool AdvertisesFunctionReset(int registerOffset)
        {
            CapabilityInfo? owner = CapabilityContaining(registerOffset);
            if (owner is null)
            {
                return false;
            }

            return owner.Id == ExpressCapabilityId
                ? (ReadHardware(owner.Offset + ExpressDeviceCapabilities, 4) & ExpressFlrCapable) != 0
                : (ReadHardware(owner.Offset + AdvancedFeaturesCapabilities, 1) & (AdvancedFeaturesTp | AdvancedFeaturesFlr)) == (AdvancedFeaturesTp | AdvancedFeaturesFlr);
        }

        private CapabilityInfo? CapabilityContaining(int offset)
        {
            CapabilityInfo? owner = null;
            foreach (BoundCapability capability in Binding.Capabilities)
            {
                CapabilityInfo info = capability.Info;
                if (!info.Extended && offset >= info.Offset && offset < info.Offset + info.Length)
                {
                    owner = info;
                }
            }

            return owner;
        }

        /// <summary>Clears <paramref name="bits"/> of shadow byte <paramref name="offset"/> where they are virtualized.</summary>
        private void ClearShadowBits(int offset, byte bits)
        {
            byte virtualized = (byte)(bits & Binding.VirtMask[offset]);
            if (virtualized != 0)
            {
                _shadow.WriteShadow(offset, 1, _shadow.ReadShadow(offset, 1) & ~(uint)virtualized);
            }
        }

        private int ConsumerPowerState()
        {
            BoundCapability? pm = FindCapability(0x01);
            return pm is null ? 0 : (int)(ConsumerRegister(pm.Info.Offset + 4, 2) & PmStateMask);
        }

        /// <summary>
        /// The pm behavior, on the written value as <c>vfio_pm_config_write</c> acts on it: a write that covers PMCSR's
        /// low byte asks for the power state in its bits 0..1. The runtime puts the hardware there unless the write
        /// already did (the state bits passthrough-writable), whatever the policy shows the consumer (virtualized, or
        /// passthrough read-only as in linux-vfio-default); in D3hot the BARs are blocked (<see cref="DecodeEnabled"/>);
        /// on the way back to D0 it restores what the device lost.
        /// </summary>
        private void OnPowerControlWrite(int registerOffset, int offset, int width, uint value)
        {
            if (registerOffset < offset || registerOffset >= offset + width)
            {
                return;
            }

            int previous = _powerState;
            int state = (int)((value >> ((registerOffset - offset) * 8)) & PmStateMask);
            _powerState = state;
            if (state == previous)
            {
                return;
            }

            if ((Binding.PassthroughWritable[registerOffset] & PmStateMask) != PmStateMask)
            {
                uint hardware = ReadHardware(registerOffset, 2);

                // PME Status is write-1-to-clear: writing back what was read would clear it behind the host's back.
                WriteHardware(registerOffset, 2, (hardware & ~(uint)(PmStateMask | PmPmeStatus)) | (uint)state);
            }

            if (previous == D3Hot && state == 0)
            {
                // PCI PM 1.2, 5.6.1: 10 ms of recovery time after D3hot -> D0 before the function is accessed.
                Thread.Sleep(10);
                if ((ReadHardware(registerOffset, 2) & PmNoSoftReset) == 0)
                {
                    RestoreAfterReset(ReadHardware(CommandOffset, 2) | HostDecodeBits(), KeptBarShadows());
                }
            }
        }

        private uint HostDecodeBits()
        {
            uint bits = 0;
            for (int i = 0; i < 6; i++)
            {
                if (_bars[i] is { } bar)
                {
                    bits |= bar.IsIo ? CommandIo : CommandMemory;
                }
            }

            return bits & Binding.VirtMask[CommandOffset];
        }

        private List<(int Offset, uint Value)> KeptBarShadows()
        {
            var kept = new List<(int Offset, uint Value)>();
            foreach (BoundBehavior behavior in Binding.Behaviors)
            {
                if (behavior.Behavior == Behavior.Bar || behavior.Behavior == Behavior.Rom)
                {
                    kept.Add((behavior.Offset, _shadow.ReadShadow(behavior.Offset, 4)));
                }
            }

            return kept;
        }

        private void ResetLocked(string what)
        {
            string operation = "VFIO_DEVICE_RESET on " + Address;
            if (!CanReset)
            {
                // A consumer's FLR must never turn into a bus reset that reaches other functions: only the VMM's Reset() does that.
                throw new VfioException(
                    VfioErrorKind.CannotReset,
                    operation,
                    0,
                    what + " is impossible: the device reports no reset method of its own (VFIO_DEVICE_FLAGS_RESET is clear: no function-level, power-management or lone-on-its-bus reset)");
            }

            ResetState saved = BeginReset();
            try
            {
                _kernel.ResetDevice(_deviceFd);
            }
            catch (VfioException error) when (error.Errno == VfioConstants.EINVAL || error.Errno == VfioConstants.ENOTTY || error.Errno == VfioConstants.ENODEV)
            {
                AbortReset();
                throw new VfioException(VfioErrorKind.CannotReset, operation, error.Errno, "the kernel could not reset the function (" + what + ")");
            }
            catch (VfioException error)
            {
                AbortReset();
                throw new VfioException(VfioErrorKind.Kernel, operation, error.Errno, error.Detail);
            }

            FinishReset(saved);
        }

        /// <summary>Before any reset (the caller holds <see cref="Gate"/>): what the restore needs, and runtime-owned interrupts down.</summary>
        internal ResetState BeginReset()
        {
            var saved = new ResetState(KeptBarShadows(), ReadHardware(CommandOffset, 2));
            if (InterruptOwner == VfioInterruptOwner.Runtime)
            {
                TearDownInterrupts();
            }

            return saved;
        }

        /// <summary>After a successful reset (the caller holds <see cref="Gate"/>).</summary>
        internal void FinishReset(ResetState saved) => RestoreAfterReset(saved.HardwareCommand, saved.KeptBars);

        /// <summary>After a reset that did not happen (the caller holds <see cref="Gate"/>): interrupts as they were.</summary>
        internal void AbortReset() => RestoreInterruptsAfterFailedReset();

        private void RestoreInterruptsAfterFailedReset()
        {
            if (InterruptOwner == VfioInterruptOwner.Vmm)
            {
                return;
            }

            try
            {
                SyncInterrupts();
            }
            catch (VfioException error)
            {
                RecordBehaviorError(error);
            }
        }

        /// <summary>
        /// After any reset: the host's BARs, ROM and Command back on the hardware, virtualized fields at their reset
        /// values, the consumer's BAR addresses kept (the policy keeps them), the MSI-X table at its reset state, and
        /// VFIO's interrupts matching the consumer's (reset) registers.
        /// </summary>
        private void RestoreAfterReset(uint hardwareCommand, List<(int Offset, uint Value)> keptBars)
        {
            for (int i = 0; i < 7; i++)
            {
                bool implemented = i == 6 ? _bars[6] is not null : _bars[i] is not null || (i > 0 && _bars[i - 1] is { Is64Bit: true });
                int offset = i == 6 ? RomOffset : FirstBarOffset + (4 * i);
                if (implemented && ReadHardware(offset, 4) != _hostBarRegisters[i])
                {
                    WriteHardware(offset, 4, _hostBarRegisters[i]);
                }
            }

            if (ReadHardware(CommandOffset, 2) != hardwareCommand)
            {
                WriteHardware(CommandOffset, 2, hardwareCommand);
            }

            if (_firewall.ResetShadow() != AccessStatus.Ok)
            {
                throw new VfioException(VfioErrorKind.Kernel, "resetting the shadow of " + Address, _configHardware.LastError?.Errno ?? VfioConstants.EIO, "reading the hardware for fields initialised from it failed");
            }

            foreach ((int offset, uint value) in keptBars)
            {
                _shadow.WriteShadow(offset, 4, value);
                ApplyBarSizing(offset);
            }

            _msix?.Reset();
            RefreshCommand();
            _powerState = ConsumerPowerState();
            if (InterruptOwner == VfioInterruptOwner.Runtime)
            {
                // VMM-owned interrupts stay as the VMM set them, as with the kernel's vfio-pci: re-arming is the VMM's business.
                SyncInterrupts();
            }

            ResetCount++;
        }

        /// <summary>What a reset must put back: the consumer's BAR addresses (shadow) and the host's Command register.</summary>
        internal sealed record ResetState(List<(int Offset, uint Value)> KeptBars, uint HardwareCommand);
    }
}
