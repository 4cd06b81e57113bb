using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using VfioPolicy.AccessModel.Binding;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Pci;
using VfioPolicy.Cli.Infrastructure;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>
    /// The <c>map</c> verb's output: who owns every byte of a bound device. JSON lists every byte; the text form
    /// groups bytes by register (header registers by catalogue name, capability registers as <c>MSI@0x50 FLAGS</c>)
    /// and folds bytes outside registers into runs of identical ownership.
    /// </summary>
    public static class OwnershipMap
    {
        /// <summary>A labelled range of config space: a register, or a run of bytes with identical masks and owners.</summary>
        /// <param name="Offset">The first byte.</param>
        /// <param name="Length">How many bytes.</param>
        /// <param name="Area">The heading it is listed under (header, a capability, gap).</param>
        /// <param name="Label">The name the table prints.</param>
        /// <param name="IsRegister">True for a register, false for a run of unclaimed bytes.</param>
        /// <param name="Name">The register's own name (<c>FLAGS</c>, where <see cref="Label"/> says <c>MSI@0x50 FLAGS</c>); for a run, its label.</param>
        private sealed record Segment(int Offset, int Length, string Area, string Label, bool IsRegister, string Name);

        /// <summary>
        /// The registers of the bound device as the text map lays them out (catalogue registers, the policy's own, and
        /// a capability's ID/NEXT or extended HEADER), each with its full label and its own name; the pictures label
        /// bytes with these, so the grid and the table name the same registers.
        /// </summary>
        internal static IReadOnlyList<(int Offset, int Length, string Label, string Name)> Registers(BoundConfigSpace bound, byte[] config)
            => Layout(bound, config).Where(s => s.IsRegister).Select(s => (s.Offset, s.Length, s.Label, s.Name)).ToList();

        /// <summary>
        /// <c>vfiopolicy.map/1</c>: the device and the policy, then <c>"bytes":[{"offset","register","virt","write","rule"},…]</c>,
        /// one byte per line; <c>register</c> names the catalogue register or area the byte belongs to.
        /// </summary>
        public static string RenderJson(BoundConfigSpace bound, LoadedDevice device, CliContext context)
        {
            var text = new StringBuilder("{");
            text.Append(JsonLines.Header("vfiopolicy.map/1", device));
            text.Append(",\"policy\":").Append(JsonLines.Object(writer =>
            {
                writer.WriteString("name", bound.PolicyName);
                writer.WriteString("origin", Location(bound.Model.Origin, context));
            }));
            text.Append(",\"size\":").Append(bound.Size.ToString(CultureInfo.InvariantCulture)).Append(",\"bytes\":[");
            var names = new string[bound.Size];
            foreach (Segment segment in Layout(bound, device.Image.Bytes))
            {
                for (int at = segment.Offset; at < segment.Offset + segment.Length && at < names.Length; at++)
                {
                    names[at] = segment.Label;
                }
            }

            for (int offset = 0; offset < bound.Size; offset++)
            {
                int at = offset;
                RuleOrigin rule = bound.DominantRule(at);
                text.Append(offset == 0 ? "\n  " : ",\n  ");
                text.Append(JsonLines.Object(writer =>
                {
                    writer.WriteNumber("offset", at);
                    writer.WriteString("register", names[at] ?? string.Empty);
                    writer.WriteNumber("virt", bound.VirtMask[at]);
                    writer.WriteNumber("write", bound.WriteMask[at]);
                    writer.WriteString("rule", Location(rule, context));
                }));
            }

            text.Append(bound.Size == 0 ? "]}\n" : "\n]}\n");
            return text.ToString();
        }

        /// <summary>The table: one row per register or run, a heading per area, then the binding's warnings.</summary>
        public static string RenderText(BoundConfigSpace bound, byte[] config, CliContext context)
        {
            IReadOnlyList<Segment> segments = Layout(bound, config);
            var rows = new List<string[]>();
            string? area = null;
            var text = new StringBuilder();
            text.AppendLine("policy \"" + bound.PolicyName + "\" (" + Location(bound.Model.Origin, context) + "), " + bound.Size.ToString(CultureInfo.InvariantCulture) + " bytes");
            int labelWidth = Math.Max("register".Length, segments.Max(s => s.Label.Length));
            string format = "{0,-11}  {1,-" + labelWidth.ToString(CultureInfo.InvariantCulture) + "}  {2,-10}  {3,-10}  {4,-8}  {5}";
            foreach (Segment segment in segments)
            {
                if (segment.Area != area)
                {
                    area = segment.Area;
                    text.AppendLine();
                    text.AppendLine("[" + area + "]");
                    text.AppendLine(string.Format(CultureInfo.InvariantCulture, format, "offset", "register", "virt", "write", "behavior", "owners").TrimEnd());
                }

                BoundBehavior? behavior = bound.FindBehavior(segment.Offset);
                text.AppendLine(string.Format(
                    CultureInfo.InvariantCulture,
                    format,
                    Range(segment),
                    segment.Label,
                    Mask(bound.VirtMask.ToArray(), segment),
                    Mask(bound.WriteMask.ToArray(), segment),
                    behavior == null ? "-" : behavior.Behavior.ToString().ToLowerInvariant(),
                    Owners(bound, segment, context)).TrimEnd());
            }

            foreach (string warning in bound.Warnings)
            {
                text.AppendLine("warning: " + warning);
            }

            return text.ToString();
        }

        /// <summary><c>path:line</c> with the path relative to the working directory.</summary>
        public static string Location(RuleOrigin origin, CliContext context)
            => context.Display(origin.Path) + ":" + origin.Line.ToString(CultureInfo.InvariantCulture);

        private static string Range(Segment segment)
            => segment.Length == 1 || segment.IsRegister
                ? "0x" + segment.Offset.ToString("x3", CultureInfo.InvariantCulture) + (segment.IsRegister ? " u" + (segment.Length * 8).ToString(CultureInfo.InvariantCulture) : string.Empty)
                : "0x" + segment.Offset.ToString("x3", CultureInfo.InvariantCulture) + "-0x" + (segment.Offset + segment.Length - 1).ToString("x3", CultureInfo.InvariantCulture);

        // A register's mask is one little-endian value; a run's bytes are all equal, so one byte stands for all.
        private static string Mask(byte[] masks, Segment segment)
        {
            if (!segment.IsRegister && segment.Length > 1)
            {
                return "0x" + masks[segment.Offset].ToString("x2", CultureInfo.InvariantCulture) + "/byte";
            }

            var value = new StringBuilder("0x");
            for (int i = segment.Length - 1; i >= 0; i--)
            {
                value.Append(masks[segment.Offset + i].ToString("x2", CultureInfo.InvariantCulture));
            }

            return value.ToString();
        }

        private static string Owners(BoundConfigSpace bound, Segment segment, CliContext context)
        {
            var owners = new List<int>();
            for (int offset = segment.Offset; offset < segment.Offset + segment.Length; offset++)
            {
                for (int bit = 0; bit < 8; bit++)
                {
                    int owner = bound.OwnerIndexOf(offset, bit);
                    if (!owners.Contains(owner))
                    {
                        owners.Add(owner);
                    }
                }
            }

            // Rules of one file and kind fold into one entry with its lines compressed: "header-type0.vfiopolicy:10-21".
            var groups = new List<(string Prefix, string Suffix, List<int> Lines)>();
            foreach (int index in owners)
            {
                RuleOrigin origin = bound.Rules[index];
                BitOwnerKind kind = bound.RuleKinds[index];
                if (kind == BitOwnerKind.ChainLink)
                {
                    if (!groups.Any(g => g.Prefix == "chain link"))
                    {
                        groups.Add(("chain link", string.Empty, new List<int>()));
                    }

                    continue;
                }

                string prefix = context.Display(origin.Path) + ":";
                string suffix = KindSuffix(kind);
                int existing = groups.FindIndex(g => g.Prefix == prefix && g.Suffix == suffix);
                if (existing < 0)
                {
                    groups.Add((prefix, suffix, new List<int> { origin.Line }));
                }
                else if (!groups[existing].Lines.Contains(origin.Line))
                {
                    groups[existing].Lines.Add(origin.Line);
                }
            }

            return string.Join(", ", groups.Select(g => g.Prefix + LineRanges(g.Lines) + g.Suffix));
        }

        private static string KindSuffix(BitOwnerKind kind) => kind switch
        {
            BitOwnerKind.HeaderDefault => " (default header)",
            BitOwnerKind.CapabilityDefault => " (default capability)",
            BitOwnerKind.GapDefault => " (default gap)",
            BitOwnerKind.UnknownCapabilityDefault => " (default unknown-capability)",
            BitOwnerKind.HiddenBody => " (hidden body)",
            _ => string.Empty,
        };

        // 10,11,12,14 -> "10-12,14"
        private static string LineRanges(List<int> lines)
        {
            if (lines.Count == 0)
            {
                return string.Empty;
            }

            int[] sorted = lines.OrderBy(l => l).ToArray();
            var parts = new List<string>();
            int start = sorted[0];
            int previous = start;
            foreach (int line in sorted.Skip(1).Concat(new[] { int.MinValue }))
            {
                if (line == previous + 1)
                {
                    previous = line;
                    continue;
                }

                parts.Add(start == previous
                    ? start.ToString(CultureInfo.InvariantCulture)
                    : start.ToString(CultureInfo.InvariantCulture) + "-" + previous.ToString(CultureInfo.InvariantCulture));
                start = previous = line;
            }

            return string.Join(",", parts);
        }

        private static IReadOnlyList<Segment> Layout(BoundConfigSpace bound, byte[] config)
        {
            int size = bound.Size;
            var claimed = new bool[size];
            var areas = new string[size];
            var bodies = new string[size];
            var segments = new List<Segment>();

            void Claim(int offset, int width, string area, string label, string name)
            {
                if (offset < 0 || offset + width > size || Enumerable.Range(offset, width).Any(i => claimed[i]))
                {
                    return;
                }

                for (int i = offset; i < offset + width; i++)
                {
                    claimed[i] = true;
                }

                segments.Add(new Segment(offset, width, area, label, IsRegister: true, name));
            }

            const string HeaderArea = "header";
            for (int i = 0; i < Math.Min(0x40, size); i++)
            {
                areas[i] = HeaderArea;
                bodies[i] = "reserved";
            }

            foreach (RegisterInfo register in RegisterCatalog.Header.Registers)
            {
                Claim(register.Offset, register.Width, HeaderArea, register.Name, register.Name);
            }

            foreach (RegisterModel register in bound.Model.Header)
            {
                Claim(register.Offset, register.Width, HeaderArea, register.Name, register.Name);
            }

            foreach (BoundCapability capability in bound.Capabilities.Where(c => c.Bound))
            {
                int start = capability.Info.Offset;
                BlockCatalog? catalog = RegisterCatalog.FindCapability(capability.Info.Id, capability.Info.Extended);

                // The catalogue's short name is the one policies use (EXP, ERR); lspci's long name only when it has none.
                string name = (catalog?.Name ?? capability.Info.Name) + "@0x" + start.ToString(capability.Info.Extended ? "x3" : "x2", CultureInfo.InvariantCulture);
                string area = (capability.Info.Extended ? "extended capability " : "capability ") + name
                    + (capability.Hidden ? " (hidden)" : string.Empty)
                    + (capability.Known ? string.Empty : " (no rules: unknown-capability default)");
                for (int i = start; i < Math.Min(start + capability.Info.Length, size); i++)
                {
                    areas[i] = area;
                    bodies[i] = name + " body";
                }

                if (capability.Info.Extended)
                {
                    Claim(start, 4, area, name + " HEADER", "HEADER");
                }
                else
                {
                    Claim(start, 1, area, name + " ID", "ID");
                    Claim(start + 1, 1, area, name + " NEXT", "NEXT");
                }

                IEnumerable<(string Name, int Offset, int Width, IReadOnlyList<RegisterCondition> Conditions)> registers =
                    (catalog?.Registers.Select(r => (r.Name, r.Offset, r.Width, r.Conditions)) ?? Enumerable.Empty<(string, int, int, IReadOnlyList<RegisterCondition>)>())
                    .Concat(bound.Model.Capabilities
                        .Where(c => c.Id == capability.Info.Id && c.Extended == capability.Info.Extended)
                        .SelectMany(c => c.Registers)
                        .Select(r => (r.Name, r.Offset, r.Width, (IReadOnlyList<RegisterCondition>)r.Conditions.ToArray())));
                foreach (var register in registers)
                {
                    if (register.Offset < capability.Info.Length && register.Conditions.All(c => c.Holds(config, start)))
                    {
                        Claim(start + register.Offset, register.Width, area, name + " " + register.Name, register.Name);
                    }
                }
            }

            foreach (RegisterModel register in bound.Model.DeviceSpecific)
            {
                Claim(register.Offset, register.Width, "device-specific", register.Name, register.Name);
            }

            // Whatever no register claimed: runs of bytes in the same area with identical masks and owners.
            for (int offset = 0; offset < size;)
            {
                if (claimed[offset])
                {
                    offset++;
                    continue;
                }

                string area = areas[offset] ?? "gap";
                string label = bodies[offset] ?? "gap";
                int end = offset + 1;
                while (end < size && !claimed[end] && (areas[end] ?? "gap") == area && (bodies[end] ?? "gap") == label && SameByte(bound, offset, end))
                {
                    end++;
                }

                segments.Add(new Segment(offset, end - offset, area, label, IsRegister: false, label));
                offset = end;
            }

            return segments.OrderBy(s => s.Offset).ToList();
        }

        private static bool SameByte(BoundConfigSpace bound, int a, int b)
        {
            if (bound.VirtMask[a] != bound.VirtMask[b] || bound.WriteMask[a] != bound.WriteMask[b])
            {
                return false;
            }

            for (int bit = 0; bit < 8; bit++)
            {
                if (bound.OwnerIndexOf(a, bit) != bound.OwnerIndexOf(b, bit))
                {
                    return false;
                }
            }

            return true;
        }

    }
}
