using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Infrastructure;

namespace VfioPolicy.AccessModel.Interpretation
{
    /// <summary>
    /// The piece-execution core (<see cref="FirewallCore"/>) with nothing but its general path: every access is
    /// split into pieces whose masks are loaded from the binding's arrays. The reference interpreter is this;
    /// generated handlers derive from <see cref="FirewallCore"/> too and serve single-piece accesses from their
    /// constants first.
    /// </summary>
    public sealed class FirewallEngine : FirewallCore
    {
        /// <summary>Opens the firewall: the shadow starts at the reset values, with the hardware's value where the policy says so.</summary>
        /// <param name="bound">The policy bound to the device.</param>
        /// <param name="hardware">The device's config space.</param>
        /// <param name="audit">Where denied writes are reported.</param>
        /// <param name="behaviors">Called after writes to behavior registers; null when nothing implements behaviors.</param>
        /// <exception cref="System.InvalidOperationException">The hardware failed a read needed to initialise the shadow.</exception>
        public FirewallEngine(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null)
            : base(bound, hardware, audit, behaviors)
        {
        }

        /// <inheritdoc />
        public override AccessStatus Read(int offset, int length, out uint value) => ReadGeneral(offset, length, out value);

        /// <inheritdoc />
        public override AccessStatus Write(int offset, int length, uint value) => WriteGeneral(offset, length, value);
    }
}
