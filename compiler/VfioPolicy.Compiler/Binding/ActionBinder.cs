using VfioPolicy.AccessModel.Model;
using VfioPolicy.Compiler.Diagnostics;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Compiler.Binding
{
    /// <summary>
    /// Binds an action (<c>passthrough rw</c>, <c>virtualize rw1c init 0</c>, <c>deny 0xff silent</c>) to a
    /// <see cref="BitAction"/> whose value is right-aligned: bit 0 of the value is the lowest bit the action covers.
    /// </summary>
    internal static class ActionBinder
    {
        /// <summary>
        /// Binds <paramref name="syntax"/> for <paramref name="bitCount"/> bits; <paramref name="valueTarget"/> names
        /// them in a too-wide message ("bits 4..7", "a byte"). Null when the action is invalid (reported).
        /// </summary>
        public static BitAction? Bind(ActionSyntax syntax, int bitCount, string valueTarget, bool allowHardwareRw1c, DiagnosticBag diagnostics)
        {
            bool valid = true;
            if (syntax.HardwareRw1c && !allowHardwareRw1c)
            {
                diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, syntax.Span, "hw-rw1c marks register bits; it is not allowed on defaults and hidden bodies");
                valid = false;
            }

            uint value = 0;
            if (syntax.Value != null)
            {
                ulong limit = bitCount >= 32 ? uint.MaxValue : (1UL << bitCount) - 1;
                if (syntax.Value.Value > limit)
                {
                    diagnostics.Report(CompilerDiagnostics.ValueTooWide, syntax.Value.Span, "value " + syntax.Value.Text + " does not fit in " + valueTarget + " (at most " + Formatting.Hex(limit) + ")");
                    valid = false;
                }
                else
                {
                    value = (uint)syntax.Value.Value;
                }
            }

            switch (syntax.Kind)
            {
                case ActionKind.Passthrough:
                    WriteSemantics? passthroughMode = BindMode(syntax, diagnostics);
                    if (passthroughMode == WriteSemantics.WriteOneToClear)
                    {
                        diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, syntax.Mode!.Span, "passthrough cannot be rw1c: write 'passthrough rw hw-rw1c' for hardware write-1-to-clear bits, or 'virtualize rw1c'");
                        return null;
                    }

                    if (syntax.Value != null || syntax.InitFromHardware)
                    {
                        diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, syntax.Value?.Span ?? syntax.Span, "passthrough takes no value: its bits read the hardware");
                        return null;
                    }

                    if (passthroughMode == null || !valid)
                    {
                        return null;
                    }

                    return passthroughMode == WriteSemantics.ReadWrite ? BitAction.PassthroughReadWrite : BitAction.PassthroughReadOnly;

                case ActionKind.Virtualize:
                    WriteSemantics? virtualMode = BindMode(syntax, diagnostics);
                    if (virtualMode == null || !valid)
                    {
                        return null;
                    }

                    if (syntax.WriteHardware)
                    {
                        if (virtualMode != WriteSemantics.ReadOnly)
                        {
                            diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, syntax.Mode!.Span, "write-hw goes with 'virtualize ro': a write cannot both store in the shadow and reach the hardware");
                            return null;
                        }

                        virtualMode = WriteSemantics.WriteHardware;
                    }

                    bool literal = syntax.Value != null && !syntax.InitFromHardware;
                    return new BitAction(Disposition.Virtualize, virtualMode.Value, literal ? InitialValueSource.Literal : InitialValueSource.Hardware, literal ? value : 0, false);

                default:
                    if (syntax.Mode != null)
                    {
                        diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, syntax.Mode.Span, "deny takes no access mode: denied bits read a constant and drop writes");
                        return null;
                    }

                    return valid ? BitAction.Deny(value, syntax.Silent) : null;
            }
        }

        private static WriteSemantics? BindMode(ActionSyntax syntax, DiagnosticBag diagnostics)
        {
            string disposition = syntax.Kind == ActionKind.Passthrough ? "passthrough" : "virtualize";
            if (syntax.Mode == null)
            {
                diagnostics.Report(CompilerDiagnostics.ModeNotAllowed, syntax.Span, disposition + " needs an access mode: " + (syntax.Kind == ActionKind.Passthrough ? "rw or ro" : "rw, ro or rw1c"));
                return null;
            }

            switch (syntax.Mode.Text)
            {
                case "rw":
                    return WriteSemantics.ReadWrite;
                case "ro":
                    return WriteSemantics.ReadOnly;
                case "rw1c":
                    return WriteSemantics.WriteOneToClear;
                default:
                    diagnostics.Report(CompilerDiagnostics.UnknownMode, syntax.Mode.Span, "unknown access mode '" + syntax.Mode.Text + "'; expected rw, ro or rw1c");
                    return null;
            }
        }
    }
}
