using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Policies;
using VfioPolicy.Testing;

namespace VfioPolicy.Hardening.Tests
{
    /// <summary>The inputs every hardening suite runs over: the compiled policy library, the corpus devices, the policy files.</summary>
    public static class HardeningInputs
    {
        /// <summary>Every device of tests/corpus/qemu/*.xxxx.txt and tests/corpus/pciutils/*.txt, in a stable order.</summary>
        public static IReadOnlyList<CorpusDevice> CorpusDevices => Testing.CorpusDevices.All;

        /// <summary>Every policy the library's generated code registered, by name.</summary>
        public static IReadOnlyList<ICompiledPolicy> Policies
        {
            get
            {
                PolicyLibrary.EnsureRegistered();
                return PolicyRegistry.All.OrderBy(p => p.Name, StringComparer.Ordinal).ToArray();
            }
        }

        /// <summary>Every dump file of the corpus (lspci text), absolute paths in a stable order.</summary>
        public static IReadOnlyList<string> DumpFiles() => Testing.CorpusDevices.DumpFiles();

        /// <summary>Every *.vfiopolicy of policies/ (bin/ and obj/ excluded), absolute paths in a stable order.</summary>
        public static IReadOnlyList<string> PolicyFiles()
            => Directory.EnumerateFiles(RepositoryPaths.Policies, "*.vfiopolicy", SearchOption.AllDirectories)
                .Where(p => !p.Contains(Path.DirectorySeparatorChar + "obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                    && !p.Contains(Path.DirectorySeparatorChar + "bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                .OrderBy(p => p, StringComparer.Ordinal)
                .ToArray();

        /// <summary>The regression inputs folder of this project (kept crashing inputs; replayed by tests).</summary>
        public static string Regressions(string kind) => RepositoryPaths.InRepository("tests/VfioPolicy.Hardening.Tests/Regressions/" + kind);

        /// <summary>
        /// The shadow of a firewall. Both engines expose the one of their FirewallCore (the interpreter wraps one and
        /// exposes it; the generated handler is a private subclass), so the public Shadow property is found on the runtime
        /// type; a span cannot be boxed, so it is bound as a delegate rather than invoked through reflection.
        /// </summary>
        public static ShadowView ShadowOf(IConfigSpaceFirewall firewall)
        {
            MethodInfo? getter = firewall.GetType().GetProperty("Shadow", BindingFlags.Public | BindingFlags.Instance)?.GetMethod;
            if (getter is null || getter.ReturnType != typeof(ReadOnlySpan<byte>))
            {
                throw new InvalidOperationException(
                    "The firewall " + firewall.GetType().FullName + " exposes no public ReadOnlySpan<byte> Shadow, so its shadow cannot be checked.");
            }

            return (ShadowView)Delegate.CreateDelegate(typeof(ShadowView), firewall, getter);
        }
    }

    /// <summary>Reads a firewall's shadow.</summary>
    public delegate ReadOnlySpan<byte> ShadowView();
}
