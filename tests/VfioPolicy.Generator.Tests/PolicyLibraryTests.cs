using System;
using System.IO;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Sources;
using VfioPolicy.Policies;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Generator.Tests
{
    /// <summary>The policy library as the real build generated it (the VfioPolicy.Policies assembly).</summary>
    public sealed class PolicyLibraryTests
    {
        private static ConfigSpaceImage Edu()
            => ConfigDumpReader.ParseLspci(File.ReadAllText(Path.Combine(RepositoryPaths.Policies, "dumps", "qemu-edu.lspci-xxx.txt")), "qemu-edu").Single();

        [Fact]
        public void The_generated_types_exist_and_register_themselves()
        {
            Assert.Equal("strict", VfioPolicy.Generated.StrictPolicy.PolicyName);
            Assert.Equal("linux-vfio-default", VfioPolicy.Generated.LinuxVfioDefaultPolicy.PolicyName);

            string[] names = PolicyLibrary.All.Select(p => p.Name).ToArray();

            Assert.Contains("strict", names);
            Assert.Contains("linux-vfio-default", names);
            Assert.IsType<VfioPolicy.Generated.StrictPolicy>(PolicyLibrary.All.Single(p => p.Name == "strict"));
        }

        [Fact]
        public void The_generated_model_equals_the_compilers_model()
        {
            CompilationResult compiled = PolicyCompiler.Compile("strict.vfiopolicy", new DirectorySource(RepositoryPaths.Policies));

            Assert.Equal(compiled.Model, new VfioPolicy.Generated.StrictPolicy().Model);
        }

        [Fact]
        public void For_the_edu_device_the_two_match_any_policies_are_an_ambiguity_that_names_both()
        {
            var candidates = PolicyLibrary.All.Where(p => p.Name == "strict" || p.Name == "linux-vfio-default");

            PolicyLookupException error = Assert.Throws<PolicyLookupException>(() => PolicyRegistry.Find(Edu().Identity, candidates));

            Assert.Contains("\"linux-vfio-default\" and \"strict\"", error.Message, StringComparison.Ordinal);
            Assert.Contains("(0 identity bits)", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_device_no_device_policy_selects_is_ambiguous_across_the_whole_registry()
        {
            PolicyLibrary.EnsureRegistered();
            var unknown = new DeviceIdentity(0xabcd, 0x0001, 0, 0, 0xff0000, 0);

            PolicyLookupException error = Assert.Throws<PolicyLookupException>(() => PolicyRegistry.Find(unknown));

            Assert.Contains("\"linux-vfio-default\" and \"strict\"", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void A_device_policy_beats_the_match_any_policies()
        {
            PolicyLibrary.EnsureRegistered();
            DeviceIdentity edu = Edu().Identity;

            ICompiledPolicy found = PolicyRegistry.Find(edu);

            // The library has a device policy for edu (policies/devices), which must win over the match-any tie.
            Assert.True(AccessModel.Binding.PolicyMatcher.Specificity(found.Model, edu) > 0, found.Name + " was chosen");
            Assert.DoesNotContain(found.Name, new[] { "strict", "linux-vfio-default" });
        }

        [Fact]
        public void The_most_specific_match_wins()
        {
            var identity = new DeviceIdentity(0x1af4, 0x1041, 0x1af4, 0x1100, 0x020000, 1);
            var candidates = PolicyLibrary.All.Where(p => p.Name != "linux-vfio-default");

            Assert.Equal("qemu-virtio-net", PolicyRegistry.Find(identity, candidates).Name);
        }

        [Fact]
        public void No_match_lists_the_registered_policies()
        {
            var identity = new DeviceIdentity(0x1234, 0x11e8, 0, 0, 0, 0);
            var candidates = PolicyLibrary.All.Where(p => p.Name == "qemu-virtio-net");

            PolicyLookupException error = Assert.Throws<PolicyLookupException>(() => PolicyRegistry.Find(identity, candidates));

            Assert.Contains("No compiled policy matches device 1234:11e8", error.Message, StringComparison.Ordinal);
            Assert.Contains("registered: \"qemu-virtio-net\"", error.Message, StringComparison.Ordinal);
        }

        [Fact]
        public void Open_rejects_a_binding_of_another_policy()
        {
            var strict = new VfioPolicy.Generated.StrictPolicy();
            BoundConfigSpace other = DeviceBinder.Bind(new VfioPolicy.Generated.LinuxVfioDefaultPolicy().Model, Edu().Bytes);

            Assert.Throws<ArgumentException>(() => strict.Open(other, new SimulatedConfigHardware(Edu().Bytes), new RecordingAuditSink()));
        }

        [Theory]
        [InlineData("strict")]
        [InlineData("linux-vfio-default")]
        public void The_generated_handler_serves_most_dwords_from_constants_and_answers_like_the_interpreter(string name)
        {
            // A smoke test only: the exhaustive engine equivalence lives with the conformance tests.
            ICompiledPolicy policy = PolicyLibrary.All.Single(p => p.Name == name);
            ConfigSpaceImage edu = Edu();
            BoundConfigSpace bound = DeviceBinder.Bind(policy.Model, edu.Bytes);
            var generatedHardware = new SimulatedConfigHardware(edu.Bytes);
            var interpretedHardware = new SimulatedConfigHardware(edu.Bytes);
            var generatedAudit = new RecordingAuditSink();
            var interpretedAudit = new RecordingAuditSink();
            IConfigSpaceFirewall generated = policy.Open(bound, generatedHardware, generatedAudit);
            var interpreted = new PolicyInterpreter(bound, interpretedHardware, interpretedAudit);

            Assert.True(DwordDispatch.Build(bound, BlockIndex(policy), CaseTable(policy, "s_readCaseOfBlockShape"), CaseTable(policy, "s_writeCaseOfBlockShape")).ConstantDwords > bound.Size / 8);
            foreach (uint pattern in new[] { 0xFFFF_FFFFu, 0x0000_0000u, 0xA5A5_5A5Au })
            {
                for (int offset = 0; offset < bound.Size; offset += 2)
                {
                    int length = offset % 4 == 0 ? 4 : 2;
                    Assert.Equal(interpreted.Write(offset, length, pattern), generated.Write(offset, length, pattern));
                    Assert.Equal(interpreted.Read(offset, length, out uint expected), generated.Read(offset, length, out uint actual));
                    Assert.Equal(expected, actual);
                }
            }

            Assert.Equal(interpretedAudit.Events, generatedAudit.Events);
            Assert.Equal(interpretedHardware.Traffic, generatedHardware.Traffic);
            Assert.True(interpretedHardware.Bytes.SequenceEqual(generatedHardware.Bytes));
        }

        private static System.Collections.Generic.IReadOnlyDictionary<PieceMasks, ushort> BlockIndex(ICompiledPolicy policy)
        {
            var field = policy.GetType().GetField("s_blocks", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            return (System.Collections.Generic.IReadOnlyDictionary<PieceMasks, ushort>)field.GetValue(null)!;
        }

        private static ushort[] CaseTable(ICompiledPolicy policy, string name)
            => (ushort[])policy.GetType().GetField(name, System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.GetValue(null)!;

        /// <summary>Policy files read below one folder under paths relative to it, as the generator sees them.</summary>
        private sealed class DirectorySource : IPolicySource
        {
            private readonly FileSystemPolicySource _files = new FileSystemPolicySource();
            private readonly string _root;

            public DirectorySource(string root) => _root = root;

            public bool TryRead(string path, out string text) => _files.TryRead(Path.Combine(_root, path), out text);

            public string Resolve(string includingFile, string includePath) => _files.Resolve(includingFile, includePath);
        }
    }
}
