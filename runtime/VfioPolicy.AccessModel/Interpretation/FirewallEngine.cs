using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.AccessModel.Interpretation
{
    /// <summary>
    /// The piece-execution core (<see cref="FirewallCore"/>) over a mask source: every access is split into pieces
    /// whose masks <typeparamref name="TMasks"/> looks up. The reference interpreter is this over the binding's
    /// arrays; generated handlers derive from <see cref="FirewallCore"/> directly and serve single-piece accesses
    /// from their constants.
    /// </summary>
    /// <typeparam name="TMasks">Where the masks of a piece come from (a struct, so the lookup is inlined).</typeparam>
    public sealed class FirewallEngine<TMasks> : FirewallCore
        where TMasks : struct, IPieceMaskSource
    {
        private readonly TMasks _masks;

        /// <summary>Opens the firewall: the shadow starts at the reset values, with the hardware's value where the policy says so.</summary>
        /// <param name="bound">The policy bound to the device.</param>
        /// <param name="masks">The masks of <paramref name="bound"/>, however the caller looks them up.</param>
        /// <param name="hardware">The device's config space.</param>
        /// <param name="audit">Where denied writes are reported.</param>
        /// <param name="behaviors">Called after writes to behavior registers; null when nothing implements behaviors.</param>
        /// <exception cref="System.InvalidOperationException">The hardware failed a read needed to initialise the shadow.</exception>
        public FirewallEngine(BoundConfigSpace bound, TMasks masks, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null)
            : base(bound, hardware, audit, behaviors)
        {
            _masks = masks;
        }

        /// <summary>The mask source this engine looks masks up in.</summary>
        public TMasks Masks => _masks;

        /// <inheritdoc />
        public override AccessStatus Read(int offset, int length, out uint value)
        {
            AccessStatus status = Validate(offset, length);
            if (status != AccessStatus.Ok)
            {
                value = 0;
                return status;
            }

            return ReadPieces(in _masks, offset, length, out value);
        }

        /// <inheritdoc />
        public override AccessStatus Write(int offset, int length, uint value)
        {
            AccessStatus status = Validate(offset, length);
            return status != AccessStatus.Ok ? status : WritePieces(in _masks, offset, length, value);
        }
    }
}
