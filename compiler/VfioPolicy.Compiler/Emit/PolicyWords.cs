using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>The model in English, for the generated code's remarks and comments. Callers escape the result.</summary>
    public static class PolicyWords
    {
        /// <summary>An action in words: <c>passthrough rw</c>, <c>virtualized ro, initially 0x1</c>, <c>denied, reads 0x0, audited</c>.</summary>
        public static string Action(BitAction action)
        {
            string write = action.Write switch
            {
                WriteSemantics.ReadOnly => "ro",
                WriteSemantics.ReadWrite => "rw",
                WriteSemantics.WriteHardware => "ro, writes reach the hardware",
                _ => "rw1c",
            };
            switch (action.Disposition)
            {
                case Disposition.Passthrough:
                    return "passthrough " + write;
                case Disposition.Virtualize:
                    return "virtualized " + write + ", initially " + (action.Initial == InitialValueSource.Hardware ? "the hardware's value" : Hex(action.Value));
                default:
                    return "denied, reads " + Hex(action.Value) + (action.Silent ? ", silent" : ", audited");
            }
        }

        /// <summary>A match line in words.</summary>
        public static string Match(DeviceMatch match)
        {
            if (match.Criteria.Count == 0)
            {
                return "any device";
            }

            return string.Join(", ", match.Criteria.Select(c =>
            {
                string field = c.Field switch
                {
                    MatchField.Vendor => "vendor",
                    MatchField.Device => "device",
                    MatchField.SubsystemVendor => "subsystem vendor",
                    MatchField.Subsystem => "subsystem",
                    MatchField.Class => "class",
                    _ => "revision",
                };
                bool fullMask = (c.Mask & PolicyMatcher.FieldMask(c.Field)) == PolicyMatcher.FieldMask(c.Field);
                return field + " " + Hex(c.Value) + (fullMask ? string.Empty : " under mask " + Hex(c.Mask));
            }));
        }

        /// <summary>A default in words.</summary>
        public static string Default(DefaultRule rule)
        {
            string target = rule.Target switch
            {
                DefaultTarget.Header => "header bytes no rule covers",
                DefaultTarget.Capability => "uncovered bytes of described capabilities",
                DefaultTarget.Gap => "bytes outside every capability",
                _ => "capabilities the policy does not describe",
            };
            return target + ": " + (rule.Hide ? "hidden, body " : string.Empty) + Action(rule.Action);
        }

        /// <summary>A bit rule in words: <c>bits 0..2 (io): passthrough rw</c>.</summary>
        public static string Rule(BitRule rule)
        {
            string bits = rule.LowBit == rule.HighBit
                ? "bit " + rule.LowBit.ToString(CultureInfo.InvariantCulture)
                : "bits " + rule.LowBit.ToString(CultureInfo.InvariantCulture) + ".." + rule.HighBit.ToString(CultureInfo.InvariantCulture);
            string field = rule.Field != null ? " (" + rule.Field + ")" : string.Empty;
            return bits + field + ": " + Action(rule.Action) + (rule.HardwareWriteOneToClear ? ", hardware rw1c" : string.Empty);
        }

        /// <summary>What owns a run of bits, in words.</summary>
        public static string OwnerKind(BitOwnerKind kind) => kind switch
        {
            BitOwnerKind.Rule => "rule",
            BitOwnerKind.HeaderDefault => "header default",
            BitOwnerKind.CapabilityDefault => "capability default",
            BitOwnerKind.GapDefault => "gap default",
            BitOwnerKind.UnknownCapabilityDefault => "unknown-capability default",
            BitOwnerKind.HiddenBody => "hidden capability body",
            _ => "capability chain link",
        };

        /// <summary>A rule's origin as <c>path(line,col)</c>, the form compilers print.</summary>
        public static string Origin(RuleOrigin origin)
            => origin.Line <= 0
                ? origin.Path
                : origin.Path + "(" + origin.Line.ToString(CultureInfo.InvariantCulture) + "," + origin.Column.ToString(CultureInfo.InvariantCulture) + ")";

        /// <summary>The rules of <paramref name="register"/> in words, separated by semicolons.</summary>
        public static string Rules(RegisterModel register)
        {
            var parts = new List<string>();
            foreach (BitRule rule in register.Rules)
            {
                parts.Add(Rule(rule));
            }

            return parts.Count == 0 ? "no rules (defaults apply)" : string.Join("; ", parts);
        }

        /// <summary><c>0x</c> and lower-case hex digits.</summary>
        public static string Hex(uint value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

        /// <summary><c>0x</c> and at least two lower-case hex digits.</summary>
        public static string Hex(int value) => "0x" + value.ToString("x2", CultureInfo.InvariantCulture);
    }
}
