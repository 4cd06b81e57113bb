using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Testing;

namespace VfioPolicy.Conformance.Tests
{
    /// <summary>The inputs of the equivalence proof: every compiled policy and every device the dump reader can read.</summary>
    public static class ConformanceInputs
    {
        /// <summary>Every device of tests/corpus/qemu/*.xxxx.txt and tests/corpus/pciutils/*.txt, in a stable order.</summary>
        public static IReadOnlyList<CorpusDevice> CorpusDevices => Testing.CorpusDevices.All;

        /// <summary>Every policy the library's generated code registered, by name.</summary>
        public static IReadOnlyList<ICompiledPolicy> Policies
            => PolicyLibrary.All.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();

        /// <summary>The registered policy called <paramref name="name"/>.</summary>
        public static ICompiledPolicy Policy(string name)
            => Policies.SingleOrDefault(p => p.Name == name)
               ?? throw new InvalidOperationException("No compiled policy named '" + name + "'; registered: " + string.Join(", ", Policies.Select(p => p.Name)));

        /// <summary>The corpus device called <paramref name="name"/> (as <see cref="CorpusDevice.Name"/>).</summary>
        public static CorpusDevice Device(string name) => Testing.CorpusDevices.Named(name);

        /// <summary>Theory rows: every (policy name, device name) pair.</summary>
        public static IEnumerable<object[]> PolicyDevicePairs()
            => from policy in Policies
               from device in CorpusDevices
               select new object[] { policy.Name, device.Name };
    }
}
