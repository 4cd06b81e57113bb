using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.AccessModel.Contracts
{
    /// <summary>
    /// A policy compiled at build time by the source generator: its lowered model as static data, and a factory for
    /// its generated access handler. The runtime binds <see cref="Model"/> to a device (<see cref="DeviceBinder"/>)
    /// and opens the generated firewall on that binding; the reference interpreter opened on the same binding must
    /// behave identically.
    /// </summary>
    public interface ICompiledPolicy
    {
        /// <summary>The policy's name (its <c>policy</c> line).</summary>
        string Name { get; }

        /// <summary>The lowered model the handler was generated from.</summary>
        PolicyModel Model { get; }

        /// <summary>Opens the generated firewall for one device.</summary>
        /// <param name="bound"><see cref="Model"/> bound to the device.</param>
        /// <param name="hardware">The device's config space.</param>
        /// <param name="audit">Where denied writes are reported.</param>
        /// <param name="behaviors">Called after writes to behavior registers; null when nothing implements behaviors.</param>
        IConfigSpaceFirewall Open(BoundConfigSpace bound, IHardwareConfig hardware, IAuditSink audit, IBehaviorHost? behaviors = null);
    }
}
