using System.Collections.Generic;
using System.Runtime.CompilerServices;
using VfioPolicy.AccessModel.Contracts;

namespace VfioPolicy.Policies
{
    /// <summary>
    /// The compiled policy library. The generated classes (namespace <c>VfioPolicy.Generated</c>) register
    /// themselves from module initializers; those run when this assembly is first used, which
    /// <see cref="EnsureRegistered"/> makes explicit for callers that go straight to <see cref="PolicyRegistry"/>.
    /// </summary>
    public static class PolicyLibrary
    {
        /// <summary>Runs this assembly's module initializers (once), registering every policy it holds.</summary>
        public static void EnsureRegistered() => RuntimeHelpers.RunModuleConstructor(typeof(PolicyLibrary).Module.ModuleHandle);

        /// <summary>Every registered policy, after <see cref="EnsureRegistered"/>.</summary>
        public static IReadOnlyList<ICompiledPolicy> All
        {
            get
            {
                EnsureRegistered();
                return PolicyRegistry.All;
            }
        }
    }
}
