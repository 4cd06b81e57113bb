using System;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.AccessModel.Interpretation
{
    /// <summary>
    /// The reference engine: executes a <see cref="BoundConfigSpace"/> access by access, exactly as the access model
    /// states, reading every piece's masks from the binding's arrays. Generated handlers run the same
    /// <see cref="FirewallCore"/> with constant masks; both call <see cref="BitSemantics"/> for every bit operation.
    /// </summary>
    /// <remarks>
    /// One access is split into naturally aligned pieces of 1, 2 or 4 bytes. A write is computed whole before anything
    /// changes: every hardware read happens first, then the hardware writes, then the shadow commit, then audit events
    /// and behavior callbacks. Nothing allocates per access, denied writes included (see <see cref="FirewallCore"/>).
    /// Not thread-safe: one device's accesses are serialised by its caller.
    /// </remarks>
    public sealed class PolicyInterpreter : IConfigSpaceFirewall, IShadowAccess
    {
        private readonly FirewallEngine _engine;

        /// <summary>Opens the firewall: the shadow starts at the reset values, with the hardware's value where the policy says so.</summary>
        /// <param name="bound">The policy bound to the device.</param>
        /// <param name="hardware">The device's config space.</param>
        /// <param name="audit">Where denied writes are reported.</param>
        /// <param name="behaviors">Called after writes to behavior registers; null when nothing implements behaviors.</param>
        /// <exception cref="InvalidOperationException">The hardware failed a read needed to initialise the shadow.</exception>
        public PolicyInterpreter(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null)
        {
            if (bound is null)
            {
                throw new ArgumentNullException(nameof(bound));
            }

            _engine = new FirewallEngine(bound, hardware, audit, behaviors);
        }

        /// <inheritdoc />
        public string PolicyName => _engine.PolicyName;

        /// <inheritdoc />
        public int Size => _engine.Size;

        /// <summary>The binding this interpreter executes.</summary>
        public BoundConfigSpace Bound => _engine.Bound;

        /// <summary>The current shadow (virtualized values and denied constants; passthrough bits are meaningless here).</summary>
        public ReadOnlySpan<byte> Shadow => _engine.Shadow;

        /// <inheritdoc />
        public AccessStatus Read(int offset, int length, out uint value) => _engine.Read(offset, length, out value);

        /// <inheritdoc />
        public AccessStatus Write(int offset, int length, uint value) => _engine.Write(offset, length, value);

        /// <inheritdoc />
        /// <remarks>On a hardware failure the shadow keeps its previous contents.</remarks>
        public AccessStatus ResetShadow() => _engine.ResetShadow();

        /// <inheritdoc />
        public uint ReadShadow(int offset, int width) => _engine.ReadShadow(offset, width);

        /// <inheritdoc />
        public void WriteShadow(int offset, int width, uint value) => _engine.WriteShadow(offset, width, value);
    }
}
