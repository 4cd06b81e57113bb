using System;
using System.Globalization;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Scaffolding
{
    /// <summary>Writes a lowered <see cref="BitAction"/> back in the policy language, as a rule line would say it.</summary>
    public static class ActionSyntax
    {
        /// <summary>
        /// The action as policy text: <c>passthrough rw</c>, <c>virtualize rw init hw</c>, <c>deny 0x0 silent</c>.
        /// <see cref="BitAction.Value"/> is taken as right-aligned to the rule's bits, as <see cref="BitRule"/> keeps it.
        /// </summary>
        public static string Format(BitAction action) => Format(action, 0);

        /// <summary>As <see cref="Format(BitAction)"/>, with the value in as many hex digits as <paramref name="bits"/> bits take (<c>init 0x0010</c> for 16).</summary>
        public static string Format(BitAction action, int bits)
        {
            switch (action.Disposition)
            {
                case Disposition.Passthrough:
                    return "passthrough " + WriteWord(action.Write);
                case Disposition.Virtualize:
                    return "virtualize " + WriteWord(action.Write) + " init " + (action.Initial == InitialValueSource.Hardware ? "hw" : Hex(action.Value, bits));
                case Disposition.Deny:
                    return "deny " + Hex(action.Value, bits) + (action.Silent ? " silent" : string.Empty);
                default:
                    throw new ArgumentOutOfRangeException(nameof(action), action.Disposition, "unknown disposition");
            }
        }

        /// <summary>The language's words for write semantics: <c>ro</c>, <c>rw</c>, <c>rw1c</c>, <c>ro write-hw</c>.</summary>
        public static string WriteWord(WriteSemantics write) => write switch
        {
            WriteSemantics.ReadOnly => "ro",
            WriteSemantics.ReadWrite => "rw",
            WriteSemantics.WriteOneToClear => "rw1c",
            WriteSemantics.WriteHardware => "ro write-hw",
            _ => throw new ArgumentOutOfRangeException(nameof(write), write, "unknown write semantics"),
        };

        /// <summary>The language's keyword for a disposition.</summary>
        public static string DispositionWord(Disposition disposition) => disposition switch
        {
            Disposition.Passthrough => "passthrough",
            Disposition.Virtualize => "virtualize",
            Disposition.Deny => "deny",
            _ => throw new ArgumentOutOfRangeException(nameof(disposition), disposition, "unknown disposition"),
        };

        /// <summary><c>0x</c> and lower-case hex digits, invariant.</summary>
        public static string Hex(uint value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

        /// <summary>
        /// <c>0x</c> and lower-case hex digits, as many as <paramref name="bits"/> bits take: a 16-bit value keeps its
        /// four (<c>0x0010</c>). Zero is <c>0</c>, as policies write it; without a width (0), as <see cref="Hex(uint)"/>.
        /// </summary>
        public static string Hex(uint value, int bits)
            => bits <= 0 ? Hex(value)
               : value == 0 ? "0"
               : "0x" + value.ToString("x" + ((bits + 3) / 4).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
    }
}
