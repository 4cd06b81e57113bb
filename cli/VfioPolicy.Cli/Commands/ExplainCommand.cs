using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Contracts;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.AccessModel.Simulation;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Cli.Simulation;
using VfioPolicy.Compiler;
using VfioPolicy.Compiler.Explaining;
using VfioPolicy.Compiler.Scaffolding;

namespace VfioPolicy.Cli.Commands
{
    /// <summary>
    /// <c>explain --policy P [--device DUMP [--slot S]] [CAP+]OFFSET[:WIDTH]</c>: per bit of one register, what it does,
    /// the rule that decides it, the rules that rule overrode, and (with a device) what a read and an all-ones write do.
    /// </summary>
    public static class ExplainCommand
    {
        private const string TargetHelp =
            "A register by name as setpci takes it (COMMAND, EXP.DEVCTL, MSI.FLAGS), or OFFSET[:WIDTH] or CAP+OFFSET[:WIDTH]: an absolute offset (0x04), or an offset inside a capability by its catalogue name (MSI+0x02, ERR+0x08). "
            + "WIDTH is 1, 2 or 4 bytes; without it, the register at that offset, else 4. "
            + "Without --device only the header (below 0x40) and CAP+OFFSET can be explained: where capabilities lie depends on the device.";

        private static readonly Regex TargetSyntax = new Regex(
            @"^(?:(?<cap>[A-Za-z_][A-Za-z0-9_]*)\+)?(?<offset>0[xX][0-9a-fA-F_]+|[0-9_]+)(?::(?<width>[0-9]+))?$",
            RegexOptions.CultureInvariant);

        /// <summary>The range to explain, resolved.</summary>
        private sealed record Target(int Offset, int Width, string Label, string Area, CapabilityModel? ModelCapability);

        /// <summary>Builds the verb.</summary>
        public static Command Create(CliContext context)
        {
            Option<string> policy = CommonOptions.Policy();
            Option<string> device = CommonOptions.Device();
            device.Required = false;
            Option<string?> slot = CommonOptions.Slot();
            Option<string?> physicalFunction = CommonOptions.PhysicalFunction();
            Option<OutputFormat> format = CommonOptions.Format();
            Option<bool> force = CommonOptions.Force();
            var target = new Argument<string>("TARGET") { Description = TargetHelp };
            var command = new Command("explain", "Explain one register bit by bit: disposition, deciding rule, overridden rules, and what a read and a write do")
            {
                policy,
                device,
                slot,
                physicalFunction,
                format,
                force,
                target,
            };
            command.SetAction(parseResult =>
            {
                CompilationResult compiled = Compile(context, parseResult.GetValue(policy)!);
                string? devicePath = parseResult.GetValue(device);
                LoadedDevice? loaded = null;
                if (devicePath != null)
                {
                    loaded = DeviceLoader.Load(context, devicePath, parseResult.GetValue(slot), parseResult.GetValue(physicalFunction));
                    PolicyLoader.RequireMatch(context, compiled.Model!, loaded, parseResult.GetValue(force));
                }

                context.Output.Write(Explain(context, compiled, loaded, parseResult.GetValue(target)!, parseResult.GetValue(format) == OutputFormat.Json));
                return ExitCodes.Success;
            });
            return command;
        }

        /// <summary>
        /// The explanation of <paramref name="spec"/> (a target as the verb takes it) under the compiled policy, with the
        /// device's bits and an all-ones write trial when <paramref name="loaded"/> is given. Shared by the verb and the
        /// language server's hover, so both say the same thing. Throws <see cref="CommandFailedException"/> for a target
        /// that cannot be explained; <paramref name="compiled"/> must have a model.
        /// </summary>
        internal static string Explain(CliContext context, CompilationResult compiled, LoadedDevice? loaded, string spec, bool json)
        {
            PolicyModel model = compiled.Model ?? throw new CommandFailedException("the policy has no model to explain (it has errors or is a fragment)");
            if (loaded == null)
            {
                Target resolved = ResolveWithoutDevice(model, spec);
                IReadOnlyList<BitExplanation> bits = RegisterExplainer.FromModel(model, compiled.Overrides, resolved.ModelCapability, resolved.Offset, resolved.Width);
                return json ? RenderJson(context, model, resolved, null, bits, null) : RenderText(context, model, resolved, null, bits, null);
            }

            BoundConfigSpace bound = PolicyLoader.Bind(context, model, loaded);
            Target onDevice = ResolveOnDevice(bound, loaded.Image.Bytes, spec);
            IReadOnlyList<BitExplanation> deviceBits = RegisterExplainer.FromBinding(bound, compiled.Overrides, onDevice.Offset, onDevice.Width);
            AccessTrial trial = AccessTrial.Run(bound, loaded.Image.Bytes, onDevice.Offset, onDevice.Width);
            return json ? RenderJson(context, model, onDevice, loaded, deviceBits, trial) : RenderText(context, model, onDevice, loaded, deviceBits, trial);
        }

        // Like PolicyLoader.Load, but explain needs the whole result: the overrides travel beside the model.
        private static CompilationResult Compile(CliContext context, string path)
        {
            string full = InputFiles.RequireFile(context, path, "policy file");
            CompilationResult result = PolicyCompiler.Compile(context.Display(full), new WorkingDirectorySource(context));
            var printer = new DiagnosticPrinter(context);
            printer.Print(result.Diagnostics, context.Error);
            if (result.HasErrors || result.Model == null)
            {
                throw new CommandFailedException(string.Format(
                    CultureInfo.InvariantCulture,
                    "policy {0} has {1} error(s)",
                    context.Display(full),
                    result.Diagnostics.Count(d => d.IsError)));
            }

            return result;
        }

        private static readonly Regex NamedTarget = new Regex(
            @"^(?:(?<cap>[A-Za-z_][A-Za-z0-9_]*)\.)?(?<register>[A-Za-z_][A-Za-z0-9_]*)(?::(?<width>[0-9]+))?$",
            RegexOptions.CultureInvariant);

        private static (string? Capability, int Offset, int? Width) Parse(string spec)
        {
            Match named = NamedTarget.Match(spec.Trim());
            if (named.Success)
            {
                return ParseNamed(named);
            }

            Match match = TargetSyntax.Match(spec.Trim());
            if (!match.Success)
            {
                throw new CommandFailedException("cannot read target '" + spec + "': expected a register (COMMAND, EXP.DEVCTL), OFFSET[:WIDTH] or CAP+OFFSET[:WIDTH], e.g. 0x04, 0x04:2, MSI+0x02");
            }

            string digits = match.Groups["offset"].Value.Replace("_", string.Empty);
            bool hex = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
            if (!int.TryParse(hex ? digits.Substring(2) : digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out int offset) || offset < 0 || offset > 0xfff)
            {
                throw new CommandFailedException("offset '" + match.Groups["offset"].Value + "' is not an offset in config space (0x000-0xfff)");
            }

            int? width = null;
            if (match.Groups["width"].Success)
            {
                width = int.Parse(match.Groups["width"].Value, NumberStyles.None, CultureInfo.InvariantCulture);
                if (width != 1 && width != 2 && width != 4)
                {
                    throw new CommandFailedException("width " + match.Groups["width"].Value + " is not 1, 2 or 4 bytes");
                }
            }

            return (match.Groups["cap"].Success ? match.Groups["cap"].Value : null, offset, width);
        }

        /// <summary><c>COMMAND</c>, <c>EXP.DEVCTL[:WIDTH]</c>: the catalogue register's offset and width, as setpci names registers.</summary>
        private static (string? Capability, int Offset, int? Width) ParseNamed(Match named)
        {
            string register = named.Groups["register"].Value;
            string? capability = named.Groups["cap"].Success ? named.Groups["cap"].Value : null;
            BlockCatalog block = capability is null ? RegisterCatalog.Header : FindCatalogue(capability);
            RegisterInfo info = block.FindRegister(register.ToUpperInvariant())
                ?? throw new CommandFailedException("no register '" + register + "' in " + (capability is null ? "the header" : block.Name)
                    + VfioPolicy.Grammar.Text.NameSuggestions.Hint(register, block.Registers.Select(r => r.Name))
                    + " (a capability register is CAP.REGISTER, e.g. EXP.DEVCTL; or give an offset)");
            int? width = null;
            if (named.Groups["width"].Success)
            {
                width = int.Parse(named.Groups["width"].Value, NumberStyles.None, CultureInfo.InvariantCulture);
                if (width != 1 && width != 2 && width != 4)
                {
                    throw new CommandFailedException("width " + named.Groups["width"].Value + " is not 1, 2 or 4 bytes");
                }
            }

            return (capability is null ? null : block.Name, info.Offset, width ?? info.Width);
        }

        private static BlockCatalog FindCatalogue(string name)
            => RegisterCatalog.FindCapability(name, extended: false)
               ?? RegisterCatalog.FindCapability(name, extended: true)
               ?? throw new CommandFailedException("unknown capability '" + name + "': use a catalogue name such as PM, MSI, MSIX, EXP, VNDR, ERR, DSN");

        private static Target ResolveWithoutDevice(PolicyModel model, string spec)
        {
            (string? capabilityName, int offset, int? width) = Parse(spec);
            if (capabilityName == null)
            {
                if (offset >= 0x40)
                {
                    throw new CommandFailedException("offset 0x" + offset.ToString("x", CultureInfo.InvariantCulture)
                        + " lies past the header, where the layout depends on the device: give --device DUMP, or name the capability as CAP+OFFSET (e.g. MSI+0x02)");
                }

                RegisterInfo? header = RegisterCatalog.Header.Registers.FirstOrDefault(r => r.Offset == offset);
                int headerWidth = FitWidth(width, header?.Width ?? 4, offset, 0x40);
                return new Target(offset, headerWidth, Label(header?.Name ?? model.Header.FirstOrDefault(r => r.Offset == offset)?.Name, offset, headerWidth, 3), "header", null);
            }

            BlockCatalog catalogue = FindCatalogue(capabilityName);
            CapabilityModel capability = model.Capabilities.FirstOrDefault(c => c.Extended == catalogue.Extended && c.Id == catalogue.Id)
                ?? throw new CommandFailedException("policy \"" + model.Name + "\" has no block for " + (catalogue.Extended ? "extended-capability " : "capability ") + catalogue.Name
                    + ": every instance follows its 'default unknown-capability' (" + Describe(model.Defaults.UnknownCapability) + ")");
            int limit = catalogue.Extended ? 0x1000 - 0x100 : 0x100 - 0x40;
            if (offset >= limit)
            {
                throw new CommandFailedException("offset 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + " is past the end any " + catalogue.Name + " capability can have");
            }

            string? name = catalogue.Registers.FirstOrDefault(r => r.Offset == offset)?.Name ?? capability.Registers.FirstOrDefault(r => r.Offset == offset)?.Name;
            int registerWidth = FitWidth(width, catalogue.Registers.FirstOrDefault(r => r.Offset == offset)?.Width ?? capability.Registers.FirstOrDefault(r => r.Offset == offset)?.Width ?? 4, offset, limit);
            string label = catalogue.Name + "+" + Label(name, offset, registerWidth, 2);
            return new Target(offset, registerWidth, label, (catalogue.Extended ? "extended-capability " : "capability ") + catalogue.Name + ", relative to wherever the chain walk finds it", capability);
        }

        private static Target ResolveOnDevice(BoundConfigSpace bound, byte[] config, string spec)
        {
            (string? capabilityName, int offset, int? width) = Parse(spec);
            if (capabilityName != null)
            {
                BlockCatalog catalogue = FindCatalogue(capabilityName);
                BoundCapability found = bound.Capabilities.FirstOrDefault(c => c.Bound && c.Info.Extended == catalogue.Extended && c.Info.Id == catalogue.Id)
                    ?? throw new CommandFailedException("the device has no " + catalogue.Name + " capability");
                offset += found.Info.Offset;
            }

            if (offset >= bound.Size)
            {
                throw new CommandFailedException("offset 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + " is past the device's " + bound.Size.ToString(CultureInfo.InvariantCulture) + "-byte config space");
            }

            // The register at that offset: the header's catalogue, the capability holding it (catalogue, then policy), the device-specific layout.
            string area = "gap (no capability)";
            string? name = null;
            int? registerWidth = null;
            if (offset < 0x40)
            {
                area = "header";
                RegisterInfo? header = RegisterCatalog.Header.Registers.FirstOrDefault(r => r.Offset == offset);
                name = header?.Name;
                registerWidth = header?.Width;
            }
            else if (bound.Capabilities.FirstOrDefault(c => c.Bound && offset >= c.Info.Offset && offset < c.Info.Offset + c.Info.Length) is BoundCapability capability)
            {
                BlockCatalog? catalogue = RegisterCatalog.FindCapability(capability.Info.Id, capability.Info.Extended);
                string capabilityName2 = catalogue?.Name ?? capability.Info.Name;
                area = (capability.Info.Extended ? "extended capability " : "capability ") + capabilityName2 + " at 0x" + capability.Info.Offset.ToString("x", CultureInfo.InvariantCulture)
                       + (capability.Hidden ? " (hidden)" : capability.Known ? string.Empty : " (no rules: unknown-capability default)");
                int relative = offset - capability.Info.Offset;
                var candidates = (catalogue?.Registers.Select(r => (r.Name, r.Offset, r.Width, Conditions: (IEnumerable<RegisterCondition>)r.Conditions)) ?? Enumerable.Empty<(string, int, int, IEnumerable<RegisterCondition>)>())
                    .Concat(bound.Model.Capabilities.Where(c => c.Extended == capability.Info.Extended && c.Id == capability.Info.Id)
                        .SelectMany(c => c.Registers).Select(r => (r.Name, r.Offset, r.Width, Conditions: (IEnumerable<RegisterCondition>)r.Conditions)));
                foreach (var candidate in candidates)
                {
                    if (candidate.Offset == relative && candidate.Conditions.All(c => c.Holds(config, capability.Info.Offset)))
                    {
                        name = capabilityName2 + " " + (candidate.Name.Length > 0 ? candidate.Name : "+0x" + relative.ToString("x2", CultureInfo.InvariantCulture));
                        registerWidth = candidate.Width;
                        break;
                    }
                }
            }
            else if (bound.Model.DeviceSpecific.FirstOrDefault(r => r.Offset == offset) is RegisterModel specific)
            {
                area = "device-specific";
                name = specific.Name.Length > 0 ? specific.Name : null;
                registerWidth = specific.Width;
            }

            int resolvedWidth = FitWidth(width, registerWidth ?? 4, offset, bound.Size);
            return new Target(offset, resolvedWidth, Label(name, offset, resolvedWidth, 3), area, null);
        }

        // A width the user did not give shrinks to what fits; one they gave must fit.
        /// <summary>
        /// The access width: <paramref name="given"/> if the user gave one (then it must be naturally aligned, as every
        /// config access is), else the register's <paramref name="inferred"/> width narrowed until it is aligned (0x05
        /// alone is the byte at 0x05).
        /// </summary>
        private static int FitWidth(int? given, int inferred, int offset, int limit)
        {
            int width = given ?? inferred;
            if (given is null)
            {
                while (offset % width != 0)
                {
                    width /= 2;
                }
            }
            else if (offset % width != 0)
            {
                throw new CommandFailedException(string.Format(CultureInfo.InvariantCulture, "{0} bytes at 0x{1:x} are not naturally aligned: a {0}-byte access starts at a multiple of {0} (0x{2:x}:{0}, or 0x{1:x}:1)", width, offset, offset & ~(width - 1)));
            }

            if (offset + width <= limit)
            {
                return width;
            }

            throw new CommandFailedException(width.ToString(CultureInfo.InvariantCulture) + " bytes at 0x" + offset.ToString("x", CultureInfo.InvariantCulture) + " run past 0x" + (limit - 1).ToString("x", CultureInfo.InvariantCulture));
        }

        private static string Label(string? name, int offset, int width, int digits)
            => "0x" + offset.ToString("x" + digits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + " u" + (width * 8).ToString(CultureInfo.InvariantCulture) + (name == null ? string.Empty : " " + name);


        private static string Describe(DefaultRule rule) => rule.Hide ? "hide body " + ActionSyntax.Format(rule.Action) : ActionSyntax.Format(rule.Action);

        /// <summary>What the action does to reads and writes, in words.</summary>
        private static string Semantics(BitAction action, bool hardwareW1c, int bits)
        {
            switch (action.Disposition)
            {
                case Disposition.Passthrough:
                    return "reads the hardware; " + (action.Write == WriteSemantics.ReadOnly ? "writes are dropped" : "writes reach the hardware")
                        + (hardwareW1c ? " (hardware RW1C: a merge writes 0 there unless the consumer writes 1)" : string.Empty);
                case Disposition.Virtualize:
                    string start = action.Initial == InitialValueSource.Hardware ? "the hardware's value at open" : ActionSyntax.Hex(action.Value, bits);
                    string write = action.Write switch
                    {
                        WriteSemantics.ReadWrite => "writes store in the shadow, never the hardware",
                        WriteSemantics.WriteOneToClear => "a written 1 clears the shadow bit",
                        WriteSemantics.WriteHardware => "writes reach the hardware, the shadow keeps its value",
                        _ => "writes are ignored",
                    };
                    return "reads the shadow (starts as " + start + "); " + write;
                default:
                    return "reads " + ActionSyntax.Hex(action.Value, bits) + "; writes are dropped" + (action.Silent ? " silently" : " and audited");
            }
        }

        private static string OwnerText(CliContext context, RuleOrigin owner, BitOwnerKind kind)
        {
            if (kind == BitOwnerKind.ChainLink)
            {
                return "<chain>: capability ID and next pointer, kept consistent with the visible chain";
            }

            string suffix = kind switch
            {
                BitOwnerKind.HeaderDefault => " (default header)",
                BitOwnerKind.CapabilityDefault => " (default capability)",
                BitOwnerKind.GapDefault => " (default gap)",
                BitOwnerKind.UnknownCapabilityDefault => " (default unknown-capability)",
                BitOwnerKind.HiddenBody => " (hidden capability body)",
                _ => string.Empty,
            };
            return Location(context, owner) + suffix + "  " + owner.Text.Trim();
        }

        private static string Location(CliContext context, RuleOrigin origin)
            => origin.Line == 0 ? origin.Path : context.Display(origin.Path) + ":" + origin.Line.ToString(CultureInfo.InvariantCulture);

        private static string Bits(BitRun run, int registerBits)
        {
            string low = run.LowBit.ToString(CultureInfo.InvariantCulture);
            return run.LowBit == run.HighBit ? "bit " + low
                : run.LowBit == 0 && run.HighBit == registerBits - 1 ? "bits " + low + ".." + run.HighBit.ToString(CultureInfo.InvariantCulture) + " (all)"
                : "bits " + low + ".." + run.HighBit.ToString(CultureInfo.InvariantCulture);
        }

        private static string Hex(uint value, int width) => "0x" + value.ToString("x" + (width * 2).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        private static string RenderText(CliContext context, PolicyModel model, Target target, LoadedDevice? device, IReadOnlyList<BitExplanation> bits, AccessTrial? trial)
        {
            var text = new StringBuilder();
            text.Append(target.Label).Append(" (").Append(target.Area).Append(") under policy \"").Append(model.Name).Append("\" (").Append(Location(context, model.Origin)).Append(")\n");
            if (device != null)
            {
                text.Append(device.Title).Append('\n');
            }

            foreach (BitRun run in RegisterExplainer.Runs(bits))
            {
                text.Append('\n').Append(Bits(run, target.Width * 8)).Append(": ").Append(ActionSyntax.Format(run.Action, run.HighBit - run.LowBit + 1)).Append(run.HardwareWriteOneToClear ? " hw-rw1c" : string.Empty).Append('\n');
                text.Append("  ").Append(Semantics(run.Action, run.HardwareWriteOneToClear, run.HighBit - run.LowBit + 1)).Append('\n');
                text.Append("  decided by ").Append(OwnerText(context, run.Owner, run.OwnerKind)).Append('\n');
                foreach (RuleOrigin overridden in run.Overridden)
                {
                    text.Append("  overrides  ").Append(Location(context, overridden)).Append("  ").Append(overridden.Text.Trim()).Append('\n');
                }
            }

            if (trial != null)
            {
                int width = target.Width;
                text.Append("\nread: the hardware holds ").Append(Hex(trial.HardwareBefore, width)).Append(", the consumer reads ").Append(Hex(trial.ConsumerRead, width)).Append('\n');
                text.Append("write ").Append(Hex(trial.Written, width)).Append(" (all ones), status ").Append(trial.WriteStatus.ToString()).Append(":\n");
                text.Append("  reaches the hardware: ").Append(trial.HardwareWrites.Count == 0 ? "nothing" : string.Join(", ", trial.HardwareWrites.Select(w => w.ToString()))).Append('\n');
                text.Append("  audited: ").Append(trial.Audits.Count == 0 ? "nothing" : string.Join(", ", trial.Audits.Select(a => "0x" + a.Offset.ToString("x3", CultureInfo.InvariantCulture) + "+" + a.Width.ToString(CultureInfo.InvariantCulture) + " by " + Location(context, a.Rule)))).Append('\n');
                text.Append("  behaviors told: ").Append(trial.Behaviors.Count == 0 ? "none" : string.Join(", ", trial.Behaviors.Select(b => b.Behavior.ToString().ToLowerInvariant() + " (register 0x" + b.RegisterOffset.ToString("x3", CultureInfo.InvariantCulture) + ")"))).Append('\n');
                text.Append("  afterwards the consumer reads ").Append(Hex(trial.ConsumerAfter, width)).Append(", the hardware holds ").Append(Hex(trial.HardwareAfter, width)).Append('\n');
            }
            else
            {
                text.Append("\n(no --device: what a read returns and what a write reaches depends on the device; give --device DUMP to see it)\n");
            }

            return text.ToString();
        }

        private static string RenderJson(CliContext context, PolicyModel model, Target target, LoadedDevice? device, IReadOnlyList<BitExplanation> bits, AccessTrial? trial)
        {
            using var stream = new MemoryStream();
            using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                json.WriteString("schema", "vfiopolicy.explain/1");
                if (device is not null)
                {
                    AccessModel.Devices.DeviceIdentity identity = AccessModel.Devices.DeviceIdentityReader.Read(device.Image.Bytes);
                    json.WriteString("deviceIdentity", "0x" + identity.Vendor.ToString("x4", CultureInfo.InvariantCulture) + ":0x" + identity.Device.ToString("x4", CultureInfo.InvariantCulture));
                }

                json.WriteString("policy", model.Name);
                json.WriteString("policyOrigin", Location(context, model.Origin));
                if (device == null)
                {
                    json.WriteNull("device");
                }
                else
                {
                    json.WriteString("device", device.DisplayPath);
                }

                json.WriteString("target", target.Label);
                json.WriteString("area", target.Area);
                json.WriteNumber("offset", target.Offset);
                json.WriteNumber("width", target.Width);
                json.WriteStartArray("bits");
                foreach (BitRun run in RegisterExplainer.Runs(bits))
                {
                    json.WriteStartObject();
                    json.WriteNumber("low", run.LowBit);
                    json.WriteNumber("high", run.HighBit);
                    json.WriteString("action", ActionSyntax.Format(run.Action, run.HighBit - run.LowBit + 1));
                    json.WriteString("disposition", ActionSyntax.DispositionWord(run.Action.Disposition));
                    json.WriteBoolean("hwRw1c", run.HardwareWriteOneToClear);
                    json.WriteString("semantics", Semantics(run.Action, run.HardwareWriteOneToClear, run.HighBit - run.LowBit + 1));
                    json.WriteString("rule", Location(context, run.Owner));
                    json.WriteString("ruleKind", run.OwnerKind.ToString());
                    json.WriteString("ruleText", run.Owner.Text.Trim());
                    json.WriteStartArray("overrides");
                    foreach (RuleOrigin overridden in run.Overridden)
                    {
                        json.WriteStartObject();
                        json.WriteString("rule", Location(context, overridden));
                        json.WriteString("ruleText", overridden.Text.Trim());
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                if (trial != null)
                {
                    json.WriteStartObject("read");
                    json.WriteNumber("hardware", trial.HardwareBefore);
                    json.WriteNumber("consumer", trial.ConsumerRead);
                    json.WriteEndObject();
                    json.WriteStartObject("write");
                    json.WriteNumber("value", trial.Written);
                    json.WriteString("status", trial.WriteStatus.ToString());
                    json.WriteStartArray("hardwareWrites");
                    foreach (HardwareAccess access in trial.HardwareWrites)
                    {
                        json.WriteStartObject();
                        json.WriteNumber("offset", access.Offset);
                        json.WriteNumber("width", access.Width);
                        json.WriteNumber("value", access.Value);
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteStartArray("audits");
                    foreach (AuditEvent audit in trial.Audits)
                    {
                        json.WriteStartObject();
                        json.WriteNumber("offset", audit.Offset);
                        json.WriteNumber("width", audit.Width);
                        json.WriteNumber("value", audit.Value);
                        json.WriteString("rule", Location(context, audit.Rule));
                        json.WriteEndObject();
                    }

                    json.WriteEndArray();
                    json.WriteStartArray("behaviors");
                    foreach (BehaviorCall call in trial.Behaviors)
                    {
                        json.WriteStringValue(call.Behavior.ToString().ToLowerInvariant());
                    }

                    json.WriteEndArray();
                    json.WriteNumber("consumerAfter", trial.ConsumerAfter);
                    json.WriteNumber("hardwareAfter", trial.HardwareAfter);
                    json.WriteEndObject();
                }

                json.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
        }

        /// <summary>A read and an all-ones write of the range through the interpreter, on fresh simulated hardware over the dump.</summary>
        private sealed record AccessTrial(
            uint HardwareBefore,
            uint ConsumerRead,
            uint Written,
            AccessStatus WriteStatus,
            IReadOnlyList<HardwareAccess> HardwareWrites,
            IReadOnlyList<AuditEvent> Audits,
            IReadOnlyList<BehaviorCall> Behaviors,
            uint ConsumerAfter,
            uint HardwareAfter)
        {
            public static AccessTrial Run(BoundConfigSpace bound, byte[] config, int offset, int width)
            {
                var hardware = new SimulatedConfigHardware(config, SimulationSession.HardwareWriteOneToClear(bound, config));
                var audit = new RecordingAuditSink();
                var behaviors = new RecordingBehaviorHost();
                var interpreter = new PolicyInterpreter(bound, hardware, audit, behaviors);
                uint before = hardware.Peek(offset, width);
                interpreter.Read(offset, width, out uint consumerRead);
                hardware.ClearTraffic();
                uint allOnes = width >= 4 ? uint.MaxValue : (1u << (width * 8)) - 1;
                AccessStatus status = interpreter.Write(offset, width, allOnes);
                HardwareAccess[] writes = hardware.Traffic.Where(t => t.Kind == HardwareAccessKind.Write).ToArray();
                interpreter.Read(offset, width, out uint after);
                return new AccessTrial(before, consumerRead, allOnes, status, writes, audit.Events.ToArray(), behaviors.Calls.ToArray(), after, hardware.Peek(offset, width));
            }
        }
    }
}
