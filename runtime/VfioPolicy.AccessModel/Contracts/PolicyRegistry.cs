using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Devices;

namespace VfioPolicy.AccessModel.Contracts
{
    /// <summary>
    /// Every policy compiled into a loaded assembly. Generated code registers its policies from a module initializer,
    /// so loading the assembly that holds them (for the bundled library, touching any of its types) is enough.
    /// </summary>
    /// <remarks>Thread-safe. Registration order does not affect <see cref="Find(DeviceIdentity)"/>.</remarks>
    public static class PolicyRegistry
    {
        private static readonly object Gate = new object();
        private static readonly List<ICompiledPolicy> Policies = new List<ICompiledPolicy>();

        /// <summary>Every registered policy, in registration order.</summary>
        public static IReadOnlyList<ICompiledPolicy> All
        {
            get
            {
                lock (Gate)
                {
                    return Policies.ToArray();
                }
            }
        }

        /// <summary>Registers <paramref name="policy"/>; registering the same instance again does nothing.</summary>
        public static void Register(ICompiledPolicy policy)
        {
            if (policy is null)
            {
                throw new ArgumentNullException(nameof(policy));
            }

            lock (Gate)
            {
                if (!Policies.Any(p => ReferenceEquals(p, policy)))
                {
                    Policies.Add(policy);
                }
            }
        }

        /// <summary>
        /// The registered policy whose match lines select <paramref name="identity"/> most specifically
        /// (<see cref="PolicyMatcher.Specificity(Model.PolicyModel, DeviceIdentity)"/>).
        /// </summary>
        /// <exception cref="PolicyLookupException">No policy matches, or two or more match equally specifically.</exception>
        public static ICompiledPolicy Find(DeviceIdentity identity) => Find(identity, All);

        /// <summary>The policy among <paramref name="candidates"/> that selects <paramref name="identity"/> most specifically.</summary>
        /// <exception cref="PolicyLookupException">No policy matches, or two or more match equally specifically.</exception>
        public static ICompiledPolicy Find(DeviceIdentity identity, IEnumerable<ICompiledPolicy> candidates)
        {
            if (identity is null)
            {
                throw new ArgumentNullException(nameof(identity));
            }

            if (candidates is null)
            {
                throw new ArgumentNullException(nameof(candidates));
            }

            ICompiledPolicy[] all = candidates.ToArray();
            var scored = all
                .Select(policy => (Policy: policy, Score: PolicyMatcher.Specificity(policy.Model, identity)))
                .Where(entry => entry.Score >= 0)
                .ToArray();
            string device = Describe(identity);
            if (scored.Length == 0)
            {
                string registered = all.Length == 0
                    ? "no policies are registered (is the assembly holding the compiled policies loaded?)"
                    : "registered: " + string.Join(", ", all.Select(p => Quote(p.Name)).OrderBy(n => n, StringComparer.Ordinal));
                throw new PolicyLookupException("No compiled policy matches device " + device + "; " + registered + ".");
            }

            int best = scored.Max(entry => entry.Score);
            ICompiledPolicy[] winners = scored.Where(entry => entry.Score == best).Select(entry => entry.Policy).ToArray();
            if (winners.Length > 1)
            {
                throw new PolicyLookupException(
                    "Device " + device + " is matched equally specifically (" + best.ToString(CultureInfo.InvariantCulture) + " identity bits) by "
                    + string.Join(" and ", winners.Select(p => Quote(p.Name)).OrderBy(n => n, StringComparer.Ordinal))
                    + "; give one of them a more specific match line.");
            }

            return winners[0];
        }

        private static string Quote(string name) => "\"" + name + "\"";

        private static string Describe(DeviceIdentity identity) => string.Format(
            CultureInfo.InvariantCulture,
            "{0:x4}:{1:x4} (subsystem {2:x4}:{3:x4}, class {4:x6}, revision {5:x2})",
            identity.Vendor,
            identity.Device,
            identity.SubsystemVendor,
            identity.Subsystem,
            identity.ClassCode,
            identity.Revision);
    }

    /// <summary>No registered policy, or more than one equally specific policy, matches a device.</summary>
    public sealed class PolicyLookupException : Exception
    {
        /// <summary>Creates the exception with its message.</summary>
        public PolicyLookupException(string message)
            : base(message)
        {
        }
    }
}
