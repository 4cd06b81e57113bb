using System;
using System.Globalization;
using System.Runtime.CompilerServices;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.AccessModel.Infrastructure
{
    /// <summary>
    /// The one piece-execution core: splits accesses into pieces, merges reads, computes writes whole before anything
    /// changes, audits and calls behaviors, exactly as the access model states; <see cref="BitSemantics"/> does all
    /// the bit arithmetic. The reference interpreter (<see cref="Interpretation.FirewallEngine"/>, the general path alone)
    /// and every generated handler derive from it and run the same per-piece steps: a generated handler only adds a
    /// fast path that finds an access's case (<see cref="CaseOf"/>) and runs that piece's step with the case's
    /// offset-independent width and masks, as constants (<see cref="ReadPiece"/>, <see cref="WritePiece"/>) or from
    /// its case table (<see cref="ReadCase"/>, <see cref="WriteCase"/>), and leaves every other access to
    /// <see cref="ReadGeneral"/> and <see cref="WriteGeneral"/>, the interpreter's piece loop.
    /// </summary>
    /// <remarks>
    /// A write: every hardware read happens first, then the hardware writes, then the shadow commit, then audit events
    /// and behavior callbacks. Nothing allocates per access, denied writes included: they are reported as <see cref="AuditRecord"/> structs
    /// to an <see cref="IAuditRecordSink"/> (the bounded sink); only a sink that takes <see cref="AuditEvent"/>s costs an allocation.
    /// Not thread-safe: one device's accesses are serialised by its caller.
    /// </remarks>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public abstract class FirewallCore : IConfigSpaceFirewall, IShadowAccess
    {
        private const int MaxPiecesPerAccess = 3;

        private readonly BoundConfigSpace _bound;
        private readonly int _size;
        private readonly IHardwareConfig _hardware;
        private readonly IAuditSink _audit;

        // The sink as an IAuditRecordSink, or null: denied writes reach such a sink as structs, without allocating.
        private readonly IAuditRecordSink? _auditRecords;
        private readonly IBehaviorHost? _behaviors;
        private readonly BoundBehavior[] _behaviorRegisters;

        // Per dword: whether a behavior register overlaps it, so that writes elsewhere skip the register scan.
        private readonly bool[] _dwordHasBehavior;
        private byte[] _shadow;
        private byte[] _spareShadow;

        /// <summary>Opens the firewall: the shadow starts at the reset values, with the hardware's value where the policy says so.</summary>
        /// <param name="bound">The policy bound to the device.</param>
        /// <param name="hardware">The device's config space.</param>
        /// <param name="audit">Where denied writes are reported.</param>
        /// <param name="behaviors">Called after writes to behavior registers; null when nothing implements behaviors.</param>
        /// <exception cref="InvalidOperationException">The hardware failed a read needed to initialise the shadow.</exception>
        protected FirewallCore(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors)
        {
            _bound = bound ?? throw new ArgumentNullException(nameof(bound));
            _size = bound.Size;
            _hardware = hardware ?? throw new ArgumentNullException(nameof(hardware));
            _audit = audit ?? throw new ArgumentNullException(nameof(audit));
            _auditRecords = audit as IAuditRecordSink;
            _behaviors = behaviors;
            _behaviorRegisters = bound.BehaviorArray;
            _dwordHasBehavior = new bool[bound.Size / 4];
            for (int dword = 0; dword < _dwordHasBehavior.Length; dword++)
            {
                foreach (BoundBehavior register in _behaviorRegisters)
                {
                    _dwordHasBehavior[dword] |= register.Overlaps(dword * 4, 4);
                }
            }

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
        public int Size => _size;

        /// <summary>The binding this engine executes.</summary>
        public BoundConfigSpace Bound => _bound;

        /// <summary>The current shadow (virtualized values and denied constants; passthrough bits are meaningless here).</summary>
        public ReadOnlySpan<byte> Shadow => _shadow;

        /// <inheritdoc />
        public abstract AccessStatus Read(int offset, int length, out uint value);

        /// <inheritdoc />
        public abstract AccessStatus Write(int offset, int length, uint value);

        /// <inheritdoc />
        public uint ReadShadow(int offset, int width)
        {
            CheckShadowRange(offset, width);
            return PieceMasks.Load(_shadow, offset, width);
        }

        /// <inheritdoc />
        public void WriteShadow(int offset, int width, uint value)
        {
            CheckShadowRange(offset, width);
            PieceMasks.Store(_shadow, offset, width, value);
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

        /// <summary><see cref="AccessStatus.Ok"/> when <paramref name="length"/> bytes at <paramref name="offset"/> are a valid access.</summary>
        protected AccessStatus Validate(int offset, int length)
        {
            if (length < 1 || length > 4)
            {
                return AccessStatus.InvalidLength;
            }

            // Compared as long so that an offset near int.MaxValue cannot overflow into range.
            if (offset < 0 || (long)offset + length > _size)
            {
                return AccessStatus.OutOfRange;
            }

            return AccessStatus.Ok;
        }

        /// <summary>
        /// The generated case serving an access: <paramref name="cases"/> (a <see cref="DwordDispatch"/> table) at the
        /// access's key, or 0, the general path, for an offset or length no table entry can describe. A nonzero case is
        /// only ever stored for a single naturally aligned piece inside the config space, so it needs no other check.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected int CaseOf(ushort[] cases, int offset, int length)
            => (uint)offset < (uint)_size && (uint)(length - 1) < 4u ? cases[PieceShape.AccessKey(offset, length)] : 0;

        /// <summary>Validates an access, then reads it piece by piece with the binding's masks: the interpreter's path, for accesses no generated case serves.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected AccessStatus ReadGeneral(int offset, int length, out uint value)
        {
            AccessStatus status = Validate(offset, length);
            if (status != AccessStatus.Ok)
            {
                value = 0;
                return status;
            }

            return ReadPieces(offset, length, out value);
        }

        /// <summary>Validates an access, then writes it piece by piece with the binding's masks: the interpreter's path, for accesses no generated case serves.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected AccessStatus WriteGeneral(int offset, int length, uint value)
        {
            AccessStatus status = Validate(offset, length);
            return status != AccessStatus.Ok ? status : WritePieces(offset, length, value);
        }

        /// <summary>
        /// Runs read case <paramref name="readCase"/> of a generated handler's <paramref name="cases"/> (its table,
        /// indexed by case number), or the general path for case 0: the case's masks come from the table, so
        /// <see cref="ReadPiece"/> and its hardware read are inlined here once per width, whatever the policy's size.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected AccessStatus ReadCase(PieceCase[] cases, int readCase, int offset, int length, out uint value)
        {
            if (readCase == 0)
            {
                return ReadGeneral(offset, length, out value);
            }

            // One branch on the width makes it a constant for everything after it: loads, masks and an inlined hardware access.
            ref readonly PieceCase piece = ref cases[readCase];
            switch (piece.Width)
            {
                case 4: return ReadPiece(offset, 4, piece.Virt, out value);
                case 2: return ReadPiece(offset, 2, piece.Virt, out value);
                default: return ReadPiece(offset, 1, piece.Virt, out value);
            }
        }

        /// <summary>
        /// Runs write case <paramref name="writeCase"/> of a generated handler's <paramref name="cases"/> (its table,
        /// indexed by case number), or the general path for case 0: the case's masks come from the table, so the
        /// write's steps and its hardware read-modify-write are inlined here once per width, whatever the policy's
        /// size.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected AccessStatus WriteCase(PieceCase[] cases, int writeCase, int offset, int length, uint value)
        {
            if (writeCase == 0)
            {
                return WriteGeneral(offset, length, value);
            }

            ref readonly PieceCase piece = ref cases[writeCase];

            // Pieces that touch only the shadow (virtualized registers) get their own copy, free of the hardware and
            // audit steps' loads, registers and branches.
            if ((piece.PassthroughWritable | piece.Audit) == 0)
            {
                switch (piece.Width)
                {
                    case 4: return WritePiece(offset, 4, value, 0, piece.ShadowReadWrite, piece.ShadowWriteOneToClear, 0, 0, 0);
                    case 2: return WritePiece(offset, 2, value, 0, piece.ShadowReadWrite, piece.ShadowWriteOneToClear, 0, 0, 0);
                    default: return WritePiece(offset, 1, value, 0, piece.ShadowReadWrite, piece.ShadowWriteOneToClear, 0, 0, 0);
                }
            }

            switch (piece.Width)
            {
                case 4: return WriteCasePiece(offset, 4, value, in piece);
                case 2: return WriteCasePiece(offset, 2, value, in piece);
                default: return WriteCasePiece(offset, 1, value, in piece);
            }
        }

        /// <summary>
        /// Reads one naturally aligned piece of <paramref name="width"/> bytes at <paramref name="offset"/> (already
        /// known valid) whose virtualized bits are <paramref name="virt"/>, a mask over the piece. Inlined into a caller
        /// that passes constants, a wholly virtualized piece is one shadow load and the hardware step folds away;
        /// <see cref="ReadCase"/> is the one call site with variable masks.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected AccessStatus ReadPiece(int offset, int width, uint virt, out uint value)
        {
            if (virt == BitSemantics.WidthMask(width))
            {
                value = PieceMasks.Load(_shadow, offset, width);
                return AccessStatus.Ok;
            }

            if (!_hardware.TryRead(offset, width, out uint hardware))
            {
                value = 0;
                return AccessStatus.HardwareError;
            }

            value = virt == 0 ? hardware : BitSemantics.MergeRead(hardware, PieceMasks.Load(_shadow, offset, width), virt);
            return AccessStatus.Ok;
        }

        /// <summary>
        /// Writes one naturally aligned piece of <paramref name="width"/> bytes at <paramref name="offset"/> (already
        /// known valid) with the piece's masks (those of <see cref="PieceMasks"/>, over the piece): hardware read and
        /// write, shadow, audit, behaviors, in the order and with the helpers <see cref="WritePieces"/> uses
        /// for each piece. Inlined into a caller that passes constants, every test of a mask folds away; the audit
        /// record and the behaviors stay out of line.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        protected AccessStatus WritePiece(
            int offset, int width, uint value,
            uint passthroughWritable, uint shadowReadWrite, uint shadowWriteOneToClear, uint hardwareWriteOneToClear, uint audit, uint deniedValue)
        {
            uint pieceValue = value & BitSemantics.WidthMask(width);
            if (passthroughWritable != 0 && !WritePieceToHardware(offset, width, pieceValue, passthroughWritable, hardwareWriteOneToClear))
            {
                return AccessStatus.HardwareError;
            }

            WritePieceToShadow(offset, width, pieceValue, shadowReadWrite, shadowWriteOneToClear);
            AuditPiece(offset, width, pieceValue, audit, deniedValue);

            // A tail call, so that a caller whose other paths make no call needs no stack frame.
            return _behaviors is null ? AccessStatus.Ok : CallBehaviorsAfterWrite(offset, width, value);
        }

        /// <summary>
        /// <see cref="WritePiece"/> with the masks of a case table row, each read where its step needs it: a mask is
        /// then not held in a register (or spilled) across the hardware access, which the row can be read again after.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private AccessStatus WriteCasePiece(int offset, int width, uint value, ref readonly PieceCase piece)
        {
            uint pieceValue = value & BitSemantics.WidthMask(width);
            if (piece.PassthroughWritable != 0 && !WritePieceToHardware(offset, width, pieceValue, piece.PassthroughWritable, piece.HardwareWriteOneToClear))
            {
                return AccessStatus.HardwareError;
            }

            WritePieceToShadow(offset, width, pieceValue, piece.ShadowReadWrite, piece.ShadowWriteOneToClear);
            AuditPiece(offset, width, pieceValue, piece.Audit, piece.DeniedValue);
            return _behaviors is null ? AccessStatus.Ok : CallBehaviorsAfterWrite(offset, width, value);
        }

        /// <summary>The shadow step of a piece's write. WriteShadow with no writable shadow bits is the identity, so the store is skipped for those pieces.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void WritePieceToShadow(int offset, int width, uint pieceValue, uint shadowReadWrite, uint shadowWriteOneToClear)
        {
            if ((shadowReadWrite | shadowWriteOneToClear) != 0)
            {
                // A piece whose every bit the write stores keeps nothing of the old shadow, so it is not loaded: the
                // store then does not wait for the previous one (constant masks fold the test away).
                ref byte shadow = ref PieceMasks.At(_shadow, offset, width);
                uint old = shadowReadWrite == BitSemantics.WidthMask(width) ? 0 : PieceMasks.Load(ref shadow, width);
                PieceMasks.Store(ref shadow, width, BitSemantics.WriteShadow(old, pieceValue, shadowReadWrite, shadowWriteOneToClear));
            }
        }

        /// <summary>The audit step of a piece's write: a record when the write tried to change audited denied bits.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void AuditPiece(int offset, int width, uint pieceValue, uint audit, uint deniedValue)
        {
            if (audit != 0)
            {
                uint deniedChange = BitSemantics.DeniedChange(pieceValue, deniedValue, audit);
                if (deniedChange != 0)
                {
                    RecordDenied(offset, width, pieceValue, deniedChange);
                }
            }
        }

        /// <summary>The behavior step of <see cref="WritePiece"/>, out of line: behaviors, then <see cref="AccessStatus.Ok"/>.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private AccessStatus CallBehaviorsAfterWrite(int offset, int width, uint value)
        {
            CallBehaviors(offset, width, value);
            return AccessStatus.Ok;
        }

        /// <summary>
        /// The hardware part of <see cref="WritePiece"/>: the read-modify-write; false on a failure. Inlined: callers
        /// with constant masks that write no hardware fold it away, and <see cref="WriteCase"/>'s (through
        /// <c>WriteCasePiece</c>) are the call sites with variable masks.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool WritePieceToHardware(int offset, int width, uint pieceValue, uint passthroughWritable, uint hardwareWriteOneToClear)
            => TryMergeHardware(offset, width, pieceValue, passthroughWritable, hardwareWriteOneToClear, out uint hardwareValue)
               && _hardware.TryWrite(offset, width, hardwareValue);

        /// <summary>Reads a validated access piece by piece, the masks of each from the binding.</summary>
        private AccessStatus ReadPieces(int offset, int length, out uint value)
        {
            uint result = 0;
            int position = offset;
            int end = offset + length;
            while (position < end)
            {
                int width = PieceWidth(position, end);
                uint virt = PieceMasks.Load(_bound, position, width).Virt;
                uint hardware = 0;

                // Hardware is read only when at least one bit of the piece comes from it: reads can have side effects.
                if (virt != BitSemantics.WidthMask(width) && !_hardware.TryRead(position, width, out hardware))
                {
                    value = 0;
                    return AccessStatus.HardwareError;
                }

                uint piece = BitSemantics.MergeRead(hardware, PieceMasks.Load(_shadow, position, width), virt);
                result |= piece << ((position - offset) * 8);
                position += width;
            }

            value = result;
            return AccessStatus.Ok;
        }

        /// <summary>Writes a validated access piece by piece, the masks of each from the binding.</summary>
        private AccessStatus WritePieces(int offset, int length, uint value)
        {
            // Phase 1: decide every piece, doing every hardware read now, so that a failing read changes nothing.
            Span<PendingWrite> pieces = stackalloc PendingWrite[MaxPiecesPerAccess];
            int count = 0;
            int position = offset;
            int end = offset + length;
            while (position < end)
            {
                int width = PieceWidth(position, end);
                PieceMasks m = PieceMasks.Load(_bound, position, width);
                uint pieceValue = (value >> ((position - offset) * 8)) & BitSemantics.WidthMask(width);
                ref PendingWrite piece = ref pieces[count++];
                if (!Decide(ref piece, position, width, pieceValue, m.PassthroughWritable, m.ShadowReadWrite, m.ShadowWriteOneToClear, m.HardwareWriteOneToClear, m.Audit, m.DeniedValue))
                {
                    return AccessStatus.HardwareError;
                }

                position += width;
            }

            // Phase 2: hardware writes. The limit of "never in part": if a later piece's write fails after an earlier
            // piece's write succeeded, the earlier one cannot be undone (config writes have side effects). Doing every
            // read in phase 1 leaves only that window, and an access has at most two pieces that write hardware.
            // The shadow is committed only after all hardware writes succeeded, so it never reflects a failed access.
            for (int i = 0; i < count; i++)
            {
                if (!WriteHardware(ref pieces[i]))
                {
                    return AccessStatus.HardwareError;
                }
            }

            for (int i = 0; i < count; i++)
            {
                PieceMasks.Store(_shadow, pieces[i].Offset, pieces[i].Width, pieces[i].NewShadow);
            }

            for (int i = 0; i < count; i++)
            {
                ref PendingWrite piece = ref pieces[i];
                if (piece.DeniedChange != 0)
                {
                    RecordDenied(piece.Offset, piece.Width, piece.Value, piece.DeniedChange);
                }
            }

            if (_behaviors is not null)
            {
                CallBehaviors(offset, length, value);
            }

            return AccessStatus.Ok;
        }

        /// <summary>Phase 1 of one piece: the new shadow, the denied change, and the hardware value (reading hardware if needed); false on a hardware failure.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool Decide(
            ref PendingWrite piece, int position, int width, uint pieceValue,
            uint passthroughWritable, uint shadowReadWrite, uint shadowWriteOneToClear, uint hardwareWriteOneToClear, uint audit, uint deniedValue)
        {
            piece.Offset = position;
            piece.Width = width;
            piece.Value = pieceValue;
            piece.NewShadow = BitSemantics.WriteShadow(PieceMasks.Load(_shadow, position, width), pieceValue, shadowReadWrite, shadowWriteOneToClear);
            piece.DeniedChange = BitSemantics.DeniedChange(pieceValue, deniedValue, audit);
            piece.WritesHardware = passthroughWritable != 0;
            piece.HardwareValue = 0;
            return !piece.WritesHardware || TryMergeHardware(position, width, pieceValue, passthroughWritable, hardwareWriteOneToClear, out piece.HardwareValue);
        }

        /// <summary>The value a write of passthrough-writable bits sends to hardware, reading the hardware first when bits keep its value; false on a failed read.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool TryMergeHardware(int position, int width, uint pieceValue, uint passthroughWritable, uint hardwareWriteOneToClear, out uint hardwareValue)
        {
            uint hardware = 0;
            if (BitSemantics.WriteNeedsHardwareRead(passthroughWritable, hardwareWriteOneToClear, BitSemantics.WidthMask(width))
                && !_hardware.TryRead(position, width, out hardware))
            {
                hardwareValue = 0;
                return false;
            }

            hardwareValue = BitSemantics.MergeHardwareWrite(hardware, pieceValue, passthroughWritable, hardwareWriteOneToClear);
            return true;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private bool WriteHardware(ref PendingWrite piece)
            => !piece.WritesHardware || _hardware.TryWrite(piece.Offset, piece.Width, piece.HardwareValue);

        /// <summary>Records (without allocating) the audit record of a write whose <paramref name="deniedChange"/> bits tried to change denied bits; the event names the lowest one's rule.</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        private void RecordDenied(int offset, int width, uint pieceValue, uint deniedChange)
        {
            int bit = BitSemantics.LowestSetBit(deniedChange);
            int owner = _bound.OwnerIndexOf(offset + (bit / 8), bit % 8);
            var record = new AuditRecord(offset, width, pieceValue, _bound.Rules[owner], _bound.PolicyName);
            if (_auditRecords is not null)
            {
                _auditRecords.Record(in record);
            }
            else
            {
                _audit.Record(record.ToEvent());
            }
        }

        /// <summary>Behaviors run last: they see the shadow as the write left it (the access model's "update, then call").</summary>
        private void CallBehaviors(int offset, int length, uint value)
        {
            int end = offset + length;
            if (!_dwordHasBehavior[offset >> 2] && !_dwordHasBehavior[(end - 1) >> 2])
            {
                return;
            }

            foreach (BoundBehavior register in _behaviorRegisters)
            {
                if (register.Overlaps(offset, length))
                {
                    int touchedStart = Math.Max(offset, register.Offset);
                    int touchedEnd = Math.Min(end, register.Offset + register.Width);
                    int touchedWidth = touchedEnd - touchedStart;
                    uint touchedValue = (value >> ((touchedStart - offset) * 8)) & BitSemantics.WidthMask(touchedWidth);
                    _behaviors!.OnWrite(register.Behavior, register.Offset, touchedStart, touchedWidth, touchedValue);
                }
            }
        }

        private void CheckShadowRange(int offset, int width)
        {
            if (width != 1 && width != 2 && width != 4)
            {
                throw new ArgumentOutOfRangeException(nameof(width), width, "A shadow access is 1, 2 or 4 bytes wide.");
            }

            if (offset < 0 || (long)offset + width > _shadow.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(offset), offset, "The shadow access lies outside the config space.");
            }
        }

        /// <summary>Fills <paramref name="target"/> with the reset shadow; returns -1, or the dword offset whose hardware read failed.</summary>
        private int ComputeResetShadow(byte[] target)
        {
            byte[] resetValue = _bound.ResetValueArray;
            byte[] initFromHardware = _bound.InitFromHardwareArray;
            // A config space is 64, 256 or 4096 bytes long (the binder checks): whole dwords.
            for (int dword = 0; dword < target.Length; dword += 4)
            {
                uint reset = PieceMasks.Load(resetValue, dword, 4);
                uint fromHardware = PieceMasks.Load(initFromHardware, dword, 4);
                uint hardware = 0;
                if (fromHardware != 0 && !_hardware.TryRead(dword, 4, out hardware))
                {
                    return dword;
                }

                PieceMasks.Store(target, dword, 4, BitSemantics.InitialShadow(reset, hardware, fromHardware));
            }

            return -1;
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
