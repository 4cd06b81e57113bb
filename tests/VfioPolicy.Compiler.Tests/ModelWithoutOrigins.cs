using System.Linq;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Tests
{
    /// <summary>
    /// Replaces every origin of a model with one placeholder, so that two spellings of one policy compare equal
    /// with the model's own structural equality: same bits, same actions, different lines.
    /// </summary>
    internal static class ModelWithoutOrigins
    {
        private static readonly RuleOrigin Nowhere = new RuleOrigin("-", 0, 0, string.Empty);

        public static PolicyModel Strip(PolicyModel model) => model with
        {
            Origin = Nowhere,
            Matches = model.Matches.Select(m => m with { Origin = Nowhere }).ToEquatableArray(),
            Defaults = new PolicyDefaults(Strip(model.Defaults.Header), Strip(model.Defaults.Capability), Strip(model.Defaults.Gap), Strip(model.Defaults.UnknownCapability)),
            Header = Strip(model.Header),
            DeviceSpecific = Strip(model.DeviceSpecific),
            Capabilities = model.Capabilities.Select(c => c with
            {
                Origin = Nowhere,
                Registers = Strip(c.Registers),
                Hide = c.Hide == null ? null : c.Hide with { Origin = Nowhere },
            }).ToEquatableArray(),
            Mirrors = model.Mirrors.Select(m => m with { Origin = Nowhere }).ToEquatableArray(),
        };

        private static DefaultRule Strip(DefaultRule rule) => rule with { Origin = Nowhere };

        private static EquatableArray<RegisterModel> Strip(EquatableArray<RegisterModel> registers)
            => registers.Select(r => r with
            {
                Origin = Nowhere,
                Rules = r.Rules.Select(b => b with { Origin = Nowhere }).ToEquatableArray(),
            }).ToEquatableArray();
    }
}
