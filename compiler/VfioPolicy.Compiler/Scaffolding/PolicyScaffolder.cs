using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Compiler.Scaffolding
{
    /// <summary>What <see cref="PolicyScaffolder"/> starts a device policy from.</summary>
    /// <param name="Config">The device's config-space bytes (256 or 4096).</param>
    /// <param name="Slot">The device's slot, when the dump names it.</param>
    /// <param name="Description">lspci's title line for the device, when the dump has it.</param>
    /// <param name="Walk">Both capability chains of <paramref name="Config"/>.</param>
    /// <param name="Base">The compiled base policy the scaffold extends.</param>
    /// <param name="ExtendsPath">The <c>extends</c> path, relative to the folder the scaffold will live in; with <paramref name="ExtendsLibrary"/>, the library policy's name (<c>strict</c>).</param>
    /// <param name="DumpName">The dump's file name as the header comment names it.</param>
    /// <param name="ExtendsLibrary">The base is the policy library's (<c>extends library "strict"</c>), which a policy anywhere can reach by name.</param>
    public sealed record ScaffoldRequest(
        byte[] Config,
        string? Slot,
        string? Description,
        ChainWalk Walk,
        PolicyModel Base,
        string ExtendsPath,
        string DumpName,
        bool ExtendsLibrary = false);

    /// <summary>
    /// Writes the first draft of a device policy: the device's identity, an exact <c>match</c>, <c>extends</c> of the
    /// base, and per capability found a commented section saying what the base does with it and a commented
    /// skeleton of its catalogue registers as the base has them, for the author to decide. The draft compiles as it
    /// stands (every decision is a comment) and is in canonical <c>fmt</c> layout.
    /// </summary>
    public static class PolicyScaffolder
    {
        /// <summary>The type-0 header's Header Type register (<c>PCI_HEADER_TYPE</c>); bit 7 only says multi-function.</summary>
        private const int HeaderTypeOffset = 0x0e;

        /// <summary>The scaffold's policy name when the dump does not name the device: <c>VVVV-DDDD</c>, its vendor and device IDs in hex.</summary>
        public static string PolicyName(byte[] config)
        {
            DeviceIdentity identity = DeviceIdentityReader.Read(config);
            return identity.Vendor.ToString("x4", CultureInfo.InvariantCulture) + "-" + identity.Device.ToString("x4", CultureInfo.InvariantCulture);
        }

        // Words of a vendor's legal name that say nothing about the device.
        private static readonly HashSet<string> CorporateWords = new HashSet<string>(StringComparer.Ordinal)
        {
            "inc", "corporation", "corp", "co", "ltd", "limited", "llc", "gmbh", "ag", "sa", "semiconductor", "technologies", "technology",
        };

        /// <summary>
        /// The scaffold's policy name from the device's name as lspci gives it in the dump's title (<c>Ethernet controller:
        /// Intel Corporation 82574L Gigabit Network Connection</c> becomes <c>intel-82574l-gigabit-network-connection</c>):
        /// the words after the class, without corporate suffixes, bracketed IDs or the revision. When the title names no
        /// device (lspci without its ID database prints <c>Device [1234:11e8]</c>), the IDs: <see cref="PolicyName(byte[])"/>.
        /// </summary>
        public static string PolicyName(byte[] config, string? description)
        {
            string name = description ?? string.Empty;
            int colon = name.IndexOf(": ", StringComparison.Ordinal);
            name = colon >= 0 ? name.Substring(colon + 2) : name;
            name = System.Text.RegularExpressions.Regex.Replace(name, @"\[[^\]]*\]|\((rev|prog-if)[^)]*\)|\(SR-IOV[^)]*\)|\(virtual function\)", " ");
            var words = System.Text.RegularExpressions.Regex.Split(name.ToLowerInvariant(), "[^a-z0-9]+")
                .Where(w => w.Length > 0 && !CorporateWords.Contains(w))
                .ToList();
            if (words.Count == 0 || (words.Count == 1 && words[0] == "device"))
            {
                return PolicyName(config);
            }

            string joined = string.Join("-", words);
            return joined.Length <= 60 ? joined : joined.Substring(0, 60).TrimEnd('-');
        }

        /// <summary>
        /// Null when a policy can be scaffolded for the device; otherwise why not. The language describes the type-0
        /// header only, and vfio-pci refuses to bind anything else (vfio_pci_core_register_device: "if
        /// (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL) return -EINVAL"), so bridges get no device policy.
        /// </summary>
        public static string? Unsupported(byte[] config)
        {
            int headerType = config.Length > HeaderTypeOffset ? config[HeaderTypeOffset] & 0x7f : 0;
            return headerType == 0
                ? null
                : "the device has header type " + headerType.ToString(CultureInfo.InvariantCulture)
                  + (headerType == 1 ? " (a PCI-to-PCI bridge or root port)" : headerType == 2 ? " (a CardBus bridge)" : string.Empty)
                  + ": vfio-pci assigns only type-0 functions and the policy language describes only the type-0 header, so there is no device policy to write";
        }

        /// <summary>The scaffold's text, in canonical layout.</summary>
        /// <exception cref="ArgumentException">The device is not a type-0 function (see <see cref="Unsupported"/>).</exception>
        public static string Scaffold(ScaffoldRequest request)
        {
            string? unsupported = Unsupported(request.Config);
            if (unsupported != null)
            {
                throw new ArgumentException(unsupported, nameof(request));
            }

            var text = new StringBuilder();
            DeviceIdentity identity = DeviceIdentityReader.Read(request.Config);
            string title = (request.Slot == null ? string.Empty : request.Slot + " ")
                + (string.IsNullOrEmpty(request.Description) ? "vendor " + Hex4(identity.Vendor) + " device " + Hex4(identity.Device) : request.Description);
            Line(text, "# " + title);
            Line(text, "# Scaffolded by `vfio-policy init` over \"" + request.Base.Name + "\" from " + request.DumpName + ".");
            Line(text, "# Each commented section below is a capability the device has, with its registers as the base policy treats");
            Line(text, "# them. Uncomment what the driver needs and change it (a changed rule starts with `override`), give every line");
            Line(text, "# a reason, delete the rest.");
            Line(text, "policy \"" + PolicyName(request.Config, request.Description) + "\"");
            Line(text, MatchLine(identity));
            Line(text, string.Empty);
            Line(text, "extends " + (request.ExtendsLibrary ? "library " : string.Empty) + "\"" + request.ExtendsPath + "\"");

            IReadOnlyList<CapabilityInfo> found = request.Walk.Capabilities;
            if (found.Count == 0)
            {
                Line(text, string.Empty);
                Line(text, "# The device has no capabilities: the base's header rules and defaults are the whole policy.");
            }

            foreach (IGrouping<(bool Extended, int Id), CapabilityInfo> group in found.GroupBy(c => (c.Extended, c.Id)))
            {
                Line(text, string.Empty);
                WriteCapability(text, request, group.ToList());
            }

            string draft = text.ToString();
            ParseResult parsed = PolicyParser.Parse(new SourceFile("scaffold.vfiopolicy", draft));
            if (parsed.File == null || parsed.Diagnostics.Any(d => d.IsError))
            {
                throw new InvalidOperationException("the scaffold does not parse: " + string.Join("; ", parsed.Diagnostics.Select(d => d.Message)));
            }

            return PolicyFormatter.Format(parsed.File);
        }

        private static string MatchLine(DeviceIdentity identity)
        {
            string line = "match vendor " + Hex4(identity.Vendor) + " device " + Hex4(identity.Device);

            // A zero subsystem vendor means the function has none (PCI 3.0, 6.2.4); matching on it would only add noise.
            if (identity.SubsystemVendor != 0)
            {
                line += " subsystem-vendor " + Hex4(identity.SubsystemVendor) + " subsystem " + Hex4(identity.Subsystem);
            }

            return line;
        }

        private static void WriteCapability(StringBuilder text, ScaffoldRequest request, IReadOnlyList<CapabilityInfo> instances)
        {
            CapabilityInfo first = instances[0];
            BlockCatalog? catalogue = RegisterCatalog.FindCapability(first.Id, first.Extended);
            string keyword = first.Extended ? "extended-capability" : "capability";
            string name = catalogue?.Name ?? ("0x" + first.Id.ToString(first.Extended ? "x4" : "x2", CultureInfo.InvariantCulture));
            string where = string.Join(", ", instances.Select(i => "0x" + i.Offset.ToString(i.Extended ? "x3" : "x2", CultureInfo.InvariantCulture)
                + " (" + i.Length.ToString(CultureInfo.InvariantCulture) + " bytes" + (i.Version is int v ? ", version " + v.ToString(CultureInfo.InvariantCulture) : string.Empty) + ")"));
            Line(text, "# " + first.Name + " (" + keyword + " " + name + ") at " + where + ".");

            PolicyModel basePolicy = request.Base;
            CapabilityModel? described = basePolicy.Capabilities.FirstOrDefault(c => c.Extended == first.Extended && c.Id == first.Id);
            DefaultRule uncovered = described?.Default ?? basePolicy.Defaults.Capability;
            Line(text, "# " + basePolicy.Name + ": " + BaseTreatment(basePolicy, described, uncovered));
            if (catalogue == null)
            {
                Line(text, "# The catalogue names no registers here: declare them as `register OFFSET WIDTH NAME ACTION`.");
                Line(text, "# " + keyword + " " + name + " {");
                Line(text, "# }");
                return;
            }

            // The skeleton shows the first instance's layout (registers whose conditions hold there).
            Line(text, "# " + keyword + " " + name + " {");
            foreach (RegisterInfo register in catalogue.Registers.OrderBy(r => r.Offset))
            {
                if (register.Offset + register.Width > first.Length || !register.Conditions.All(c => c.Holds(request.Config, first.Offset)))
                {
                    continue;
                }

                RegisterModel? baseRegister = described?.Registers.FirstOrDefault(r => r.Offset == register.Offset && r.Width == register.Width
                    && r.Conditions.All(c => c.Holds(request.Config, first.Offset)));
                string? when = WhenClause(register, baseRegister, described, catalogue, request.Config, first.Offset);
                if (when == null)
                {
                    Line(text, "#   # register " + register.Name + ": the base declares registers over it whose conditions no field test here can tell apart; see its rules.");
                    continue;
                }

                WriteRegister(text, register, when, baseRegister, described == null || described.Hide != null ? basePolicy.Defaults.Capability : uncovered);
            }

            Line(text, "# }");
        }

        /// <summary>
        /// The <c>when</c> the scaffold must write so that the uncommented rule names the register the base binds here
        /// rather than a second one over the same bytes (VP0305): the base register's own conditions beyond the
        /// catalogue's, or, where the base declares conditional registers over these bytes that do not exist on this
        /// device, a field test that holds here and rules each of them out. Empty when none is needed; null when the
        /// separation cannot be written as field tests.
        /// </summary>
        private static string? WhenClause(RegisterInfo register, RegisterModel? baseRegister, CapabilityModel? described, BlockCatalog catalogue, byte[] config, int capabilityOffset)
        {
            EquatableArray<RegisterCondition> catalogueConditions = Binding.RegisterBinder.NormalizeConditions(register.Conditions);
            var clauses = new List<RegisterCondition>();
            if (baseRegister != null)
            {
                clauses.AddRange(baseRegister.Conditions.Where(c => !catalogueConditions.Contains(c)));
            }
            else
            {
                IEnumerable<RegisterModel> absentOverlapping = (described?.Registers ?? Enumerable.Empty<RegisterModel>())
                    .Where(r => r.Offset < register.Offset + register.Width && register.Offset < r.Offset + r.Width && !r.Conditions.Equals(catalogueConditions));
                foreach (RegisterModel absent in absentOverlapping)
                {
                    RegisterCondition? failing = absent.Conditions.FirstOrDefault(c => !c.Holds(config, capabilityOffset));
                    RegisterCondition? separator = failing == null ? null : Separator(failing, catalogue, config, capabilityOffset);
                    if (separator == null)
                    {
                        return null;
                    }

                    if (!clauses.Contains(separator))
                    {
                        clauses.Add(separator);
                    }
                }
            }

            if (clauses.Count == 0)
            {
                return string.Empty;
            }

            string named = Binding.ConditionNames.Describe(new EquatableArray<RegisterCondition>(clauses.ToArray()), catalogue);
            return named.IndexOf('[') >= 0 ? null : " when " + named;
        }

        /// <summary>A test of whole catalogue fields that holds on this device and contradicts <paramref name="failing"/>, which does not hold here.</summary>
        private static RegisterCondition? Separator(RegisterCondition failing, BlockCatalog catalogue, byte[] config, int capabilityOffset)
        {
            if (failing.NotEqual)
            {
                // The device has exactly the bits the inequality excludes: the equality holds here.
                return failing with { NotEqual = false };
            }

            RegisterInfo? tested = catalogue.Registers.FirstOrDefault(r => r.Offset == failing.Offset && r.Width == failing.Width);
            foreach (FieldInfo field in tested?.Fields ?? (IEnumerable<FieldInfo>)Array.Empty<FieldInfo>())
            {
                uint mask = field.Mask;
                var inequality = new RegisterCondition(failing.Offset, failing.Width, mask, failing.Value & mask, NotEqual: true);
                if ((failing.Mask & mask) == mask && inequality.Holds(config, capabilityOffset))
                {
                    return inequality;
                }
            }

            return null;
        }

        private static string BaseTreatment(PolicyModel basePolicy, CapabilityModel? described, DefaultRule uncovered)
        {
            if (described?.Hide != null)
            {
                return "hidden (unlinked from the chain, body " + ActionSyntax.Format(described.Hide.Body) + "); a block here describes it but does not unhide it.";
            }

            if (described != null)
            {
                return "described by " + FileName(described.Origin) + "; bytes no rule covers: " + ActionSyntax.Format(uncovered.Action) + ".";
            }

            DefaultRule unknown = basePolicy.Defaults.UnknownCapability;
            string now = unknown.Hide
                ? "hidden by `default unknown-capability` (body " + ActionSyntax.Format(unknown.Action) + ")"
                : "not described: `default unknown-capability` gives it " + ActionSyntax.Format(unknown.Action);
            return now + "; a block here makes it visible, with " + ActionSyntax.Format(basePolicy.Defaults.Capability.Action) + " where no rule says otherwise.";
        }

        private static void WriteRegister(StringBuilder text, RegisterInfo register, string when, RegisterModel? baseRegister, DefaultRule uncovered)
        {
            int bits = register.Width * 8;
            var perBit = new (BitAction Action, bool HardwareW1c, uint ValueBit)[bits];
            for (int bit = 0; bit < bits; bit++)
            {
                BitRule? rule = baseRegister?.Rules.FirstOrDefault(r => bit >= r.LowBit && bit <= r.HighBit);
                perBit[bit] = rule == null
                    ? (uncovered.Action, false, (uncovered.Action.Value >> (bit % 8)) & 1u)
                    : (rule.Action, rule.HardwareWriteOneToClear, (rule.Action.Value >> (bit - rule.LowBit)) & 1u);
            }

            // Runs of bits that act alike, so the skeleton reads like a policy someone wrote rather than 32 lines.
            var runs = new List<(int Low, int High, BitAction Action, bool HardwareW1c)>();
            for (int bit = 0; bit < bits;)
            {
                int high = bit;
                while (high + 1 < bits && Alike(perBit[high + 1], perBit[bit]))
                {
                    high++;
                }

                uint value = 0;
                for (int b = high; b >= bit; b--)
                {
                    value = (value << 1) | perBit[b].ValueBit;
                }

                runs.Add((bit, high, perBit[bit].Action with { Value = value }, perBit[bit].HardwareW1c));
                bit = high + 1;
            }

            string behavior = baseRegister != null && baseRegister.Behavior != Behavior.None
                ? "  # behavior " + baseRegister.Behavior.ToString().ToLowerInvariant() + " is bound by the base"
                : string.Empty;
            if (runs.Count == 1)
            {
                Line(text, "#   register " + register.Name + when + " " + ActionSyntax.Format(runs[0].Action, bits) + (runs[0].HardwareW1c ? " hw-rw1c" : string.Empty) + behavior);
                return;
            }

            Line(text, "#   register " + register.Name + when + " {" + behavior);
            foreach ((int low, int high, BitAction action, bool hardwareW1c) in runs)
            {
                FieldInfo? field = register.Fields.FirstOrDefault(f => f.LowBit == low && f.HighBit == high);
                string selector = field != null
                    ? "field " + field.Name
                    : low == high ? "bit " + low.ToString(CultureInfo.InvariantCulture) : "bits " + low.ToString(CultureInfo.InvariantCulture) + ".." + high.ToString(CultureInfo.InvariantCulture);
                Line(text, "#     " + selector + " " + ActionSyntax.Format(action, high - low + 1) + (hardwareW1c ? " hw-rw1c" : string.Empty));
            }

            Line(text, "#   }");
        }

        private static bool Alike((BitAction Action, bool HardwareW1c, uint ValueBit) a, (BitAction Action, bool HardwareW1c, uint ValueBit) b)
            => a.Action.Disposition == b.Action.Disposition
               && a.Action.Write == b.Action.Write
               && a.Action.Initial == b.Action.Initial
               && a.Action.Silent == b.Action.Silent
               && a.HardwareW1c == b.HardwareW1c;


        private static string FileName(RuleOrigin origin)
        {
            string path = origin.Path.Replace('\\', '/');
            int slash = path.LastIndexOf('/');
            return slash < 0 ? path : path.Substring(slash + 1);
        }

        private static string Hex4(int value) => "0x" + value.ToString("x4", CultureInfo.InvariantCulture);

        private static void Line(StringBuilder text, string line) => text.Append(line).Append('\n');
    }
}
