using System;
using System.Globalization;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.AccessModel.Interpretation
{
    /// <summary>
    /// The one piece-execution core: splits accesses into pieces, merges reads, computes writes whole before anything
    /// changes, audits and calls behaviors, exactly as the access model states. The reference interpreter and every
    /// generated handler are this class over different mask sources, so they cannot differ in anything but where the
    /// masks come from; <see cref="BitSemantics"/> does all the bit arithmetic.
    /// </summary>
    /// <typeparam name="TMasks">Where the masks of a piece come from (a struct, so the lookup is inlined).</typeparam>
    /// <remarks>
    /// A write: every hardware read happens first, then the hardware writes, then the shadow commit, then audit events
    /// and behavior callbacks. The hot path allocates nothing except the audit events it records.
    /// Not thread-safe: one device's accesses are serialised by its caller.
    /// </remarks>
    public sealed class FirewallEngine<TMasks> : IConfigSpaceFirewall
        where TMasks : struct, IPieceMaskSource
    {
        private const int MaxPiecesPerAccess = 3;

        private readonly BoundConfigSpace _bound;
        private readonly TMasks _masks;
        private readonly IHardwareConfig _hardware;
        private readonly IAuditSink _audit;
        private readonly IBehaviorHost? _behaviors;
        private readonly BoundBehavior[] _behaviorRegisters;
        private byte[] _shadow;
        private byte[] _spareShadow;

        /// <summary>Opens the firewall: the shadow starts at the reset values, with the hardware's value where the policy says so.</summary>
        /// <param name="bound">The policy bound to the device.</param>
        /// <param name="masks">The masks of <paramref name="bound"/>, however the caller looks them up.</param>
        /// <param name="hardware">The device's config space.</param>
        /// <param name="audit">Where denied writes are reported.</param>
        /// <param name="behaviors">Called after writes to behavior registers; null when nothing implements behaviors.</param>
        /// <exception cref="InvalidOperationException">The hardware failed a read needed to initialise the shadow.</exception>
        public FirewallEngine(BoundConfigSpace bound, TMasks masks, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null)
        {
            _bound = bound ?? throw new ArgumentNullException(nameof(bound));
            _masks = masks;
            _hardware = hardware ?? throw new ArgumentNullException(nameof(hardware));
            _audit = audit ?? throw new ArgumentNullException(nameof(audit));
            _behaviors = behaviors;
            _behaviorRegisters = bound.BehaviorArray;
            _shadow = new byte[bound.Size];
            _spareShadow = new byte[bound.Size];

            int failedOffset = ComputeResetShadow(_shadow);
            if (failedOffset >= 0)
            {
                throw new InvalidOperationException(
                    "Opening the firewall for policy '" + bound.PolicyName + "' failed: the hardware read of the config dword at 0x"
                    + failedOffset.ToString("x3", CultureInfo.InvariantCulture) + " (needed for fields initialised from hardware) failed.");
            }
        }

        /// <inheritdoc />
        public string PolicyName => _bound.PolicyName;

        /// <inheritdoc />
        public int Size => _bound.Size;

        /// <summary>The binding this engine executes.</summary>
        public BoundConfigSpace Bound => _bound;

        /// <summary>The mask source this engine looks masks up in.</summary>
        public TMasks Masks => _masks;

        /// <summary>The current shadow (virtualized values and denied constants; passthrough bits are meaningless here).</summary>
        public ReadOnlySpan<byte> Shadow => _shadow;

        /// <inheritdoc />
        public AccessStatus Read(int offset, int length, out uint value)
        {
            value = 0;
            AccessStatus status = Validate(offset, length);
            if (status != AccessStatus.Ok)
            {
                return status;
            }

            uint result = 0;
            int position = offset;
            int end = offset + length;
            while (position < end)
            {
                int width = PieceWidth(position, end);
                uint virt = _masks.MasksOf(position, width).Virt;
                uint hardware = 0;

                // Hardware is read only when at least one bit of the piece comes from it: reads can have side effects.
                if (virt != BitSemantics.WidthMask(width) && !_hardware.TryRead(position, width, out hardware))
                {
                    return AccessStatus.HardwareError;
                }

                uint piece = BitSemantics.MergeRead(hardware, PieceMasks.Load(_shadow, position, width), virt);
                result |= piece << ((position - offset) * 8);
                position += width;
            }

            value = result;
            return AccessStatus.Ok;
        }

        /// <inheritdoc />
        public AccessStatus Write(int offset, int length, uint value)
        {
            AccessStatus status = Validate(offset, length);
            if (status != AccessStatus.Ok)
            {
                return status;
            }

            // Phase 1: decide every piece, doing every hardware read now, so that a failing read changes nothing.
            Span<PendingWrite> pieces = stackalloc PendingWrite[MaxPiecesPerAccess];
            int count = 0;
            int position = offset;
            int end = offset + length;
            while (position < end)
            {
                int width = PieceWidth(position, end);
                uint widthMask = BitSemantics.WidthMask(width);
                uint pieceValue = (value >> ((position - offset) * 8)) & widthMask;
                PieceMasks masks = _masks.MasksOf(position, width);
                uint shadow = PieceMasks.Load(_shadow, position, width);

                ref PendingWrite piece = ref pieces[count++];
                piece.Offset = position;
                piece.Width = width;
                piece.Value = pieceValue;
                piece.NewShadow = BitSemantics.WriteShadow(shadow, pieceValue, masks.ShadowReadWrite, masks.ShadowWriteOneToClear);
                piece.DeniedChange = BitSemantics.DeniedChange(pieceValue, masks.DeniedValue, masks.Audit);
                piece.WritesHardware = masks.PassthroughWritable != 0;
                if (piece.WritesHardware)
                {
                    uint hardware = 0;
                    if (BitSemantics.WriteNeedsHardwareRead(masks.PassthroughWritable, masks.HardwareWriteOneToClear, widthMask)
                        && !_hardware.TryRead(position, width, out hardware))
                    {
                        return AccessStatus.HardwareError;
                    }

                    piece.HardwareValue = BitSemantics.MergeHardwareWrite(hardware, pieceValue, masks.PassthroughWritable, masks.HardwareWriteOneToClear);
                }

                position += width;
            }

            // Phase 2: hardware writes. The limit of "never in part": if a later piece's write fails after an earlier
            // piece's write succeeded, the earlier one cannot be undone (config writes have side effects). Doing every
            // read in phase 1 leaves only that window, and an access has at most two pieces that write hardware.
            // The shadow is committed only after all hardware writes succeeded, so it never reflects a failed access.
            for (int i = 0; i < count; i++)
            {
                ref PendingWrite piece = ref pieces[i];
                if (piece.WritesHardware && !_hardware.TryWrite(piece.Offset, piece.Width, piece.HardwareValue))
                {
                    return AccessStatus.HardwareError;
                }
            }

            for (int i = 0; i < count; i++)
            {
                Store(_shadow, pieces[i].Offset, pieces[i].Width, pieces[i].NewShadow);
            }

            for (int i = 0; i < count; i++)
            {
                ref PendingWrite piece = ref pieces[i];
                if (piece.DeniedChange != 0)
                {
                    int bit = BitSemantics.LowestSetBit(piece.DeniedChange);
                    int owner = _bound.OwnerIndexOf(piece.Offset + (bit / 8), bit % 8);
                    _audit.Record(new AuditEvent(piece.Offset, piece.Width, piece.Value, _bound.Rules[owner], _bound.PolicyName));
                }
            }

            // Behaviors run last: they see the shadow as the write left it (the access model's "update, then call").
            if (_behaviors is not null)
            {
                foreach (BoundBehavior register in _behaviorRegisters)
                {
                    if (register.Overlaps(offset, length))
                    {
                        int touchedStart = Math.Max(offset, register.Offset);
                        int touchedEnd = Math.Min(end, register.Offset + register.Width);
                        int touchedWidth = touchedEnd - touchedStart;
                        uint touchedValue = (value >> ((touchedStart - offset) * 8)) & BitSemantics.WidthMask(touchedWidth);
                        _behaviors.OnWrite(register.Behavior, register.Offset, touchedStart, touchedWidth, touchedValue);
                    }
                }
            }

            return AccessStatus.Ok;
        }

        /// <inheritdoc />
        /// <remarks>On a hardware failure the shadow keeps its previous contents.</remarks>
        public AccessStatus ResetShadow()
        {
            if (ComputeResetShadow(_spareShadow) >= 0)
            {
                return AccessStatus.HardwareError;
            }

            byte[] previous = _shadow;
            _shadow = _spareShadow;
            _spareShadow = previous;
            return AccessStatus.Ok;
        }

        /// <summary>Fills <paramref name="target"/> with the reset shadow; returns -1, or the dword offset whose hardware read failed.</summary>
        private int ComputeResetShadow(byte[] target)
        {
            byte[] resetValue = _bound.ResetValueArray;
            byte[] initFromHardware = _bound.InitFromHardwareArray;
            for (int dword = 0; dword < target.Length; dword += 4)
            {
                int width = Math.Min(4, target.Length - dword);
                uint reset = PieceMasks.Load(resetValue, dword, width);
                uint fromHardware = PieceMasks.Load(initFromHardware, dword, width);
                uint hardware = 0;
                if (fromHardware != 0 && !_hardware.TryRead(dword, width, out hardware))
                {
                    return dword;
                }

                Store(target, dword, width, BitSemantics.InitialShadow(reset, hardware, fromHardware));
            }

            return -1;
        }

        private AccessStatus Validate(int offset, int length)
        {
            if (length < 1 || length > 4)
            {
                return AccessStatus.InvalidLength;
            }

            // Compared as long so that an offset near int.MaxValue cannot overflow into range.
            if (offset < 0 || (long)offset + length > _bound.Size)
            {
                return AccessStatus.OutOfRange;
            }

            return AccessStatus.Ok;
        }

        /// <summary>The widest naturally aligned piece that starts at <paramref name="position"/> and ends by <paramref name="end"/>.</summary>
        private static int PieceWidth(int position, int end)
        {
            int remaining = end - position;
            if ((position & 3) == 0 && remaining >= 4)
            {
                return 4;
            }

            return (position & 1) == 0 && remaining >= 2 ? 2 : 1;
        }

        private static void Store(byte[] bytes, int offset, int width, uint value)
        {
            for (int b = 0; b < width; b++)
            {
                bytes[offset + b] = (byte)(value >> (8 * b));
            }
        }

        /// <summary>One piece of a write, decided in phase 1 and applied in phase 2.</summary>
        private struct PendingWrite
        {
            public int Offset;
            public int Width;
            public uint Value;
            public uint NewShadow;
            public uint DeniedChange;
            public bool WritesHardware;
            public uint HardwareValue;
        }
    }
}
