using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Cli.Commands;
using VfioPolicy.Cli.Infrastructure;
using VfioPolicy.Compiler;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Cli.LanguageServer
{
    /// <summary>
    /// Hover over a register rule (its line, a field line or a condition in it): what the catalogue knows of the register,
    /// then what <c>vfio-policy explain</c> prints for it under the compiled policy, with the configured device's bits
    /// and a trial write when a device is set and the policy selects it.
    /// </summary>
    internal static class HoverProvider
    {
        public static JsonObject? Hover(PolicyWorkspace workspace, OpenDocument document, int offset, Func<LoadedDevice?> device)
        {
            PolicyFile? file = document.Syntax;
            if (file is null)
            {
                return null;
            }

            BlockStatement? block = file.Statements.OfType<BlockStatement>().FirstOrDefault(b => Contains(b.Span, offset));
            RegisterStatement? register = block?.Registers.FirstOrDefault(r => Contains(r.Span, offset));
            if (block is null || register is null)
            {
                return null;
            }

            (string? spec, string title, RegisterInfo? info) = Describe(block, register);
            var text = new StringBuilder();
            text.Append("**").Append(title).Append("**");
            if (info is not null)
            {
                text.Append(string.Format(CultureInfo.InvariantCulture, ": offset 0x{0:x2}, {1} bits", info.Offset, info.Width * 8));
                if (info.Fields.Count > 0)
                {
                    text.Append("; fields ").Append(string.Join(", ", info.Fields.Select(f => f.Name + (f.LowBit == f.HighBit
                        ? " (bit " + f.LowBit.ToString(CultureInfo.InvariantCulture) + ")"
                        : " (bits " + f.LowBit.ToString(CultureInfo.InvariantCulture) + ".." + f.HighBit.ToString(CultureInfo.InvariantCulture) + ")"))));
                }
            }

            text.Append("\n\n");
            text.Append(Explanation(workspace, document, spec, device));
            return new JsonObject
            {
                ["contents"] = new JsonObject { ["kind"] = "markdown", ["value"] = text.ToString() },
                ["range"] = LspText.Range(register.Register.Span),
            };
        }

        private static string Explanation(PolicyWorkspace workspace, OpenDocument document, string? spec, Func<LoadedDevice?> device)
        {
            CompilationResult? compiled = document.Compiled;
            if (spec is null)
            {
                return "(a capability given by an ID the catalogue does not know: explain needs its name)";
            }

            if (compiled?.Model is null)
            {
                return compiled is { IsFragment: true }
                    ? "(a fragment: the per-bit treatment depends on the policy that includes it; hover in that policy)"
                    : "(no per-bit treatment: the document does not compile yet)";
            }

            string note = string.Empty;
            LoadedDevice? loaded = null;
            try
            {
                loaded = device();
                if (loaded is not null && !DeviceMatching.Matches(compiled.Model, loaded.Image.Bytes))
                {
                    note = "(device " + loaded.DisplayPath + " is not selected by this policy's match lines: shown without it)\n\n";
                    loaded = null;
                }
            }
            catch (Exception problem) when (problem is CommandFailedException or System.IO.IOException or UnauthorizedAccessException or AccessModel.Devices.DeviceDumpException)
            {
                note = "(device: " + problem.Message + ")\n\n";
            }

            try
            {
                return note + "```text\n" + ExplainCommand.Explain(workspace.Context, compiled, loaded, spec, json: false) + "```";
            }
            catch (CommandFailedException failed)
            {
                return note + "(" + failed.Message + ")";
            }
        }

        /// <summary>The explain target for the rule (null when it cannot be named), a title, and the catalogue's register.</summary>
        private static (string? Spec, string Title, RegisterInfo? Info) Describe(BlockStatement block, RegisterStatement register)
        {
            BlockCatalog? catalogue = block.Kind switch
            {
                BlockKind.Header => RegisterCatalog.Header,
                BlockKind.Capability or BlockKind.ExtendedCapability => Capability(block),
                _ => null,
            };
            string? prefix = block.Kind switch
            {
                BlockKind.Header or BlockKind.DeviceSpecific => string.Empty,
                _ => catalogue?.Name,
            };
            RegisterRef reference = register.Register;
            string? name = reference.Name?.Text;
            if (reference.Offset is null)
            {
                RegisterInfo? info = name is null ? null : catalogue?.FindRegister(name);
                string title = (prefix is { Length: > 0 } ? prefix + "." : string.Empty) + (name ?? "?");
                return (prefix is null || name is null ? null : prefix.Length == 0 ? name : prefix + "." + name, title, info);
            }

            int offset = (int)Math.Min(reference.Offset.Value, 0xfff);
            int width = reference.Width?.Text switch
            {
                "u8" => 1,
                "u16" => 2,
                _ => 4,
            };
            string at = string.Format(CultureInfo.InvariantCulture, "0x{0:x}:{1}", offset, width);
            RegisterInfo? known = catalogue?.Registers.FirstOrDefault(r => r.Offset == offset && r.Width == width);
            string label = (prefix is { Length: > 0 } ? prefix + "+" : string.Empty) + at + (name is null ? string.Empty : " " + name);
            return (prefix is null ? null : prefix.Length == 0 ? at : prefix + "+" + at, label, known);
        }

        private static BlockCatalog? Capability(BlockStatement block)
        {
            bool extended = block.Kind == BlockKind.ExtendedCapability;
            CapabilityRef? reference = block.Capability;
            return reference?.Name is Identifier name ? RegisterCatalog.FindCapability(name.Text, extended)
                : reference?.Id is NumberLiteral id && id.Value <= 0xffff ? RegisterCatalog.FindCapability((int)id.Value, extended)
                : null;
        }

        /// <summary>True when <paramref name="offset"/> lies in the span, its end included (the cursor right after a word is on it).</summary>
        public static bool Contains(Grammar.Text.SourceSpan span, int offset) => offset >= span.Start.Offset && offset <= span.End.Offset;
    }
}
