using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using VfioPolicy.AccessModel.Infrastructure;
using VfioPolicy.AccessModel.Interpretation;
using VfioPolicy.AccessModel.Model;
using VfioPolicy.AccessModel.Semantics;

namespace VfioPolicy.Compiler.Emit
{
    /// <summary>
    /// Turns a <see cref="PolicyModel"/> into the C# of its compiled handler: a class implementing
    /// <c>ICompiledPolicy</c> with the model as static data, the dwords of masks the policy can produce as constants
    /// (<see cref="ConstantBlockPlanner"/>) and their pieces as switch cases (<see cref="AccessCasePlanner"/>), and an
    /// <c>Open</c> that runs the shared <c>FirewallCore</c> with them.
    /// Pure and deterministic: the same model, path and class name give the same text, on every machine and culture.
    /// The source generator and <c>vfio-policy emit</c> both call it, so they print the same code.
    /// </summary>
    public static class HandlerEmitter
    {
        /// <summary>The namespace every generated policy class lives in.</summary>
        public const string Namespace = "VfioPolicy.Generated";

        /// <summary>The tool name <c>[GeneratedCode]</c> carries.</summary>
        public const string ToolName = "VfioPolicy.Generator";

        /// <summary>The tool version <c>[GeneratedCode]</c> carries: the packages' version (a test holds them equal).</summary>
        public const string ToolVersion = "0.1.0";

        private const string Model = "global::VfioPolicy.AccessModel.Model";
        private const string Contracts = "global::VfioPolicy.AccessModel.Contracts";
        private const string Binding = "global::VfioPolicy.AccessModel.Binding";
        private const string Infrastructure = "global::VfioPolicy.AccessModel.Infrastructure";
        private const string AggressiveInlining = "[global::System.Runtime.CompilerServices.MethodImpl(global::System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]";

        /// <summary>The class name for a policy called <paramref name="policyName"/> when no other policy's name collides with it.</summary>
        public static string ClassName(string policyName)
        {
            string identifier = CSharpLiteral.Identifier(policyName, "Unnamed").TrimStart('@');
            return identifier + "Policy";
        }

        /// <summary>
        /// Class names for a set of policies (path → policy name): <see cref="ClassName"/>, and where two policies'
        /// names give the same class name, each of them gets a suffix hashed from its path, stable whatever else changes.
        /// </summary>
        public static IReadOnlyDictionary<string, string> ClassNames(IEnumerable<KeyValuePair<string, string>> policies)
        {
            var list = policies.ToList();
            var counts = list.GroupBy(p => ClassName(p.Value), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var names = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> policy in list)
            {
                string name = ClassName(policy.Value);
                names[policy.Key] = counts[name] > 1 ? name + "_" + CSharpLiteral.StableHash(policy.Key) : name;
            }

            return names;
        }

        /// <summary>A unique, deterministic <c>AddSource</c> hint name for the policy file at <paramref name="path"/>.</summary>
        public static string HintName(string path)
        {
            int slash = path.LastIndexOfAny(new[] { '/', '\\' });
            string file = slash >= 0 ? path.Substring(slash + 1) : path;
            var safe = new string(file.Select(c => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_').ToArray());
            return safe + "." + CSharpLiteral.StableHash(path) + ".g.cs";
        }

        private static void RequireIdentifier(string className)
        {
            if (string.IsNullOrEmpty(className) || !className.All(c => c == '_' || (c < 0x80 && char.IsLetterOrDigit(c))) || char.IsDigit(className[0]))
            {
                throw new ArgumentException("The class name must be an ASCII identifier.", nameof(className));
            }
        }

        /// <summary>
        /// The class a policy with errors would have had, with the same name and members, so that the build's errors are
        /// the policy's own (VP…) and not also a C# "type not found" wherever the application names the class. It is
        /// never registered and every member throws: the build fails on the policy's errors before anything can run it.
        /// </summary>
        public static string EmitPlaceholder(string policyName, string path, string className)
        {
            RequireIdentifier(className);

            string failure = "throw new global::System.InvalidOperationException(" + CSharpLiteral.String("the policy \"" + policyName + "\" (" + path + ") has errors and was not compiled") + ")";
            var w = new SourceWriter();
            w.Line("// <auto-generated/>");
            w.Line("// Generated by " + ToolName + " for the policy file " + CSharpLiteral.Comment(path) + ", which has errors (see the VP diagnostics).");
            w.Line("// A placeholder with the class's name and members, so the build reports the policy's errors and not a missing class.");
            w.Line("#nullable enable");
            w.Line();
            w.Line("namespace " + Namespace);
            w.Open();
            w.Line("/// <summary>The policy " + CSharpLiteral.Xml("\"" + policyName + "\"") + " did not compile: fix the errors reported in " + CSharpLiteral.Xml(path) + ".</summary>");
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(" + CSharpLiteral.String(ToolName) + ", " + CSharpLiteral.String(ToolVersion) + ")]");
            w.Line("public sealed class " + className + " : " + Contracts + ".ICompiledPolicy");
            w.Open();
            w.Line("/// <summary>The policy's name, as its <c>policy</c> line gives it.</summary>");
            w.Line("public const string PolicyName = " + CSharpLiteral.String(policyName) + ";");
            w.Line();
            w.Line("/// <summary>No blocks: the policy did not compile.</summary>");
            w.Line("public const int BlockCount = 0;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public string Name => PolicyName;");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public " + Model + ".PolicyModel Model => " + failure + ";");
            w.Line();
            w.Line("/// <inheritdoc/>");
            w.Line("public " + Contracts + ".IConfigSpaceFirewall Open(" + Binding + ".BoundConfigSpace bound, " + Contracts + ".IHardwareConfig hardware, " + Contracts + ".IAuditSink audit, " + Contracts + ".IBehaviorHost? behaviors = null)");
            w.Line("    => " + failure + ";");
            w.Close();
            w.Close();
            return w.ToString();
        }

        /// <summary>The generated C# for <paramref name="model"/>, compiled from the file shown as <paramref name="path"/>, as class <paramref name="className"/>.</summary>
        /// <exception cref="ArgumentException"><paramref name="className"/> is not a plain identifier.</exception>
        public static string Emit(PolicyModel model, string path, string className) => Emit(model, path, className, literalCases: true);

        /// <summary>
        /// As <see cref="Emit(PolicyModel, string, string)"/>; with <paramref name="literalCases"/> false, the entry
        /// methods have no literal case and every case runs from the case tables. Tests use it to run the table path
        /// on every piece of the library's policies, which the literal cases otherwise take first.
        /// </summary>
        /// <exception cref="ArgumentException"><paramref name="className"/> is not a plain identifier.</exception>
        public static string Emit(PolicyModel model, string path, string className, bool literalCases)
        {
            if (model is null)
            {
                throw new ArgumentNullException(nameof(model));
            }

            RequireIdentifier(className);

            IReadOnlyList<ConstantBlock> blocks = ConstantBlockPlanner.Plan(model);
            AccessCasePlan cases = literalCases
                ? AccessCasePlanner.Plan(blocks)
                : AccessCasePlanner.Plan(blocks, maxEntryReadCases: 0, maxEntryWriteCases: 0);
            var w = new SourceWriter();
            w.Line("// <auto-generated/>");
            w.Line("// Generated by " + ToolName + " from the policy file " + CSharpLiteral.Comment(path) + ".");
            w.Line("// Do not edit: change the policy and rebuild. Every comment quotes the policy only through escaping.");
            w.Line("#nullable enable");
            w.Line("#pragma warning disable CA2255 // Registering from a module initializer is the point of a compiled policy library.");
            w.Line();
            w.Line("namespace " + Namespace);
            w.Open();
            WriteRemarks(w, model, path);
            w.Line("[global::System.CodeDom.Compiler.GeneratedCode(" + CSharpLiteral.String(ToolName) + ", " + CSharpLiteral.String(ToolVersion) + ")]");
            w.Line("public sealed class " + className + " : " + Contracts + ".ICompiledPolicy");
            w.Open();
            w.Line("/// <summary>The policy's name, as its <c>policy</c> line gives it.</summary>");
            w.Line("public const string PolicyName = " + CSharpLiteral.String(model.Name) + ";");
            w.Line();
            w.Line("/// <summary>How many constant blocks of masks this handler holds.</summary>");
            w.Line("public const int BlockCount = " + CSharpLiteral.Int(blocks.Count) + ";");
            w.Line();
            w.Line("// The lowered model, rebuilt as data: the runtime binds it to a device without a parser.");
            ModelSerializer.Write(w, model, "private static readonly " + Model + ".PolicyModel s_model = ", ";");
            w.Line();
            w.Line("// Masks -> block number, from the constants below; Open matches every dword of a binding against it.");
            w.Line("private static readonly global::System.Collections.Generic.Dictionary<" + Infrastructure + ".PieceMasks, ushort> s_blocks = CreateBlockIndex();");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line("public string Name => PolicyName;");
            w.Line();
            w.Line("/// <inheritdoc />");
            w.Line("public " + Model + ".PolicyModel Model => s_model;");
            w.Line();
            WriteOpen(w, className);
            w.Line();
            w.Line("/// <summary>Registers this policy with the policy registry when the assembly loads.</summary>");
            w.Line("[global::System.Runtime.CompilerServices.ModuleInitializer]");
            w.Line("internal static void Register() => " + Contracts + ".PolicyRegistry.Register(new " + className + "());");
            w.Line();
            WriteBlockIndex(w);
            w.Line();
            WriteBlocks(w, blocks);
            w.Line();
            WriteCaseTables(w, blocks, cases);
            w.Line();
            WritePieceTables(w, cases);
            w.Line();
            WriteFirewall(w, cases);
            w.Close();
            w.Close();
            return w.ToString();
        }

        private static void WriteRemarks(SourceWriter w, PolicyModel model, string path)
        {
            w.Line("/// <summary>The policy " + CSharpLiteral.Xml("\"" + model.Name + "\"") + ", compiled at build time from " + CSharpLiteral.Xml(path) + ".</summary>");
            w.Line("/// <remarks>");
            w.Line("/// <para>Declared at " + CSharpLiteral.Xml(PolicyWords.Origin(model.Origin)) + ".</para>");
            w.Line("/// <para>Applies to:</para>");
            w.Line("/// <list type=\"bullet\">");
            if (model.Matches.Count == 0)
            {
                w.Line("/// <item><description>no device on its own (it has no match lines)</description></item>");
            }

            foreach (DeviceMatch match in model.Matches)
            {
                w.Line("/// <item><description>" + CSharpLiteral.Xml(PolicyWords.Match(match) + " (" + PolicyWords.Origin(match.Origin) + ")") + "</description></item>");
            }

            w.Line("/// </list>");
            w.Line("/// <para>Defaults:</para>");
            w.Line("/// <list type=\"bullet\">");
            foreach (DefaultRule rule in new[] { model.Defaults.Header, model.Defaults.Capability, model.Defaults.Gap, model.Defaults.UnknownCapability })
            {
                w.Line("/// <item><description>" + CSharpLiteral.Xml(PolicyWords.Default(rule) + " (" + PolicyWords.Origin(rule.Origin) + ")") + "</description></item>");
            }

            w.Line("/// </list>");
            var hidden = model.Capabilities.Where(c => c.Hide != null).Select(c => c.Name + " (body " + PolicyWords.Action(c.Hide!.Body) + ")").ToList();
            if (model.Defaults.UnknownCapability.Hide)
            {
                hidden.Add("every capability the policy does not describe");
            }

            var capabilityDefaults = model.Capabilities.Where(c => c.Default != null).Select(c => c.Name + ": " + PolicyWords.Action(c.Default!.Action) + " (" + PolicyWords.Origin(c.Default.Origin) + ")").ToList();
            if (capabilityDefaults.Count > 0)
            {
                w.Line("/// <para>Capability defaults (in place of the policy's): " + CSharpLiteral.Xml(string.Join("; ", capabilityDefaults)) + ".</para>");
            }

            w.Line("/// <para>Hidden capabilities: " + CSharpLiteral.Xml(hidden.Count == 0 ? "none" : string.Join("; ", hidden)) + ".</para>");
            w.Line("/// <list type=\"table\">");
            w.Line("/// <listheader><term>Register</term><description>Dispositions</description></listheader>");
            foreach (RegisterModel register in model.Header)
            {
                WriteRegisterRow(w, "header", register);
            }

            foreach (CapabilityModel capability in model.Capabilities)
            {
                foreach (RegisterModel register in capability.Registers)
                {
                    WriteRegisterRow(w, capability.Name + " +", register);
                }
            }

            foreach (RegisterModel register in model.DeviceSpecific)
            {
                WriteRegisterRow(w, "device-specific", register);
            }

            w.Line("/// </list>");
            w.Line("/// </remarks>");
        }

        private static void WriteRegisterRow(SourceWriter w, string where, RegisterModel register)
        {
            string term = where + (where.EndsWith("+", StringComparison.Ordinal) ? string.Empty : " ") + PolicyWords.Hex(register.Offset) + " " + register.Name
                + " (" + register.Width.ToString(CultureInfo.InvariantCulture) + (register.Width == 1 ? " byte" : " bytes") + (register.Behavior == Behavior.None ? string.Empty : ", behavior " + register.Behavior.ToString().ToLowerInvariant())
                + (register.Conditions.Count > 0 ? ", conditional" : string.Empty) + ")";
            w.Line("/// <item><term>" + CSharpLiteral.Xml(term) + "</term><description>" + CSharpLiteral.Xml(PolicyWords.Rules(register)) + "</description></item>");
        }

        private static void WriteOpen(SourceWriter w, string className)
        {
            w.Line("/// <inheritdoc />");
            w.Line("/// <exception cref=\"global::System.ArgumentException\"><paramref name=\"bound\"/> binds another policy.</exception>");
            w.Line("public " + Contracts + ".IConfigSpaceFirewall Open(" + Binding + ".BoundConfigSpace bound, " + Contracts + ".IHardwareConfig hardware, "
                + Contracts + ".IAuditSink audit, " + Contracts + ".IBehaviorHost? behaviors = null)");
            w.Open();
            w.Line("if (bound is null)");
            w.Open();
            w.Line("throw new global::System.ArgumentNullException(nameof(bound));");
            w.Close();
            w.Line();
            w.Line("// The constants below were planned for this model; a binding of another one would be served wrongly.");
            w.Line("if (!ReferenceEquals(bound.Model, s_model) && !bound.Model.Equals(s_model))");
            w.Open();
            w.Line("throw new global::System.ArgumentException(\"The binding is of policy '\" + bound.PolicyName + \"', not of \" + nameof(" + className + ") + \".\", nameof(bound));");
            w.Close();
            w.Line();
            w.Line("// Each dword is served by the constant block whose masks equal the binding's there, else by the binding itself;");
            w.Line("// each single-piece access of a served dword then by its block's case for the piece's shape.");
            w.Line(Infrastructure + ".DwordDispatch dispatch = " + Infrastructure + ".DwordDispatch.Build(bound, s_blocks, s_readCaseOfBlockShape, s_writeCaseOfBlockShape);");
            w.Line("return new Firewall(bound, dispatch, hardware, audit, behaviors);");
            w.Close();
        }

        private static void WriteBlockIndex(SourceWriter w)
        {
            w.Line("private static global::System.Collections.Generic.Dictionary<" + Infrastructure + ".PieceMasks, ushort> CreateBlockIndex()");
            w.Open();
            w.Line("var index = new global::System.Collections.Generic.Dictionary<" + Infrastructure + ".PieceMasks, ushort>(BlockCount);");
            w.Line("for (int block = 1; block <= BlockCount; block++)");
            w.Open();
            w.Line("index.Add(Block(block), (ushort)block);");
            w.Close();
            w.Line();
            w.Line("return index;");
            w.Close();
        }

        private static void WriteBlocks(SourceWriter w, IReadOnlyList<ConstantBlock> blocks)
        {
            w.Line("// One case per distinct dword of masks the policy produces (bit 0 is the dword's lowest bit).");
            w.Line("// Arguments: virt, passthrough-writable, shadow rw, shadow rw1c, hardware rw1c, audit, denied value.");
            w.Line("private static " + Infrastructure + ".PieceMasks Block(int block)");
            w.Open();
            w.Line("switch (block)");
            w.Open();
            foreach (ConstantBlock block in blocks)
            {
                w.Line("// " + CSharpLiteral.Comment(block.Place) + ":");
                foreach (BitRun run in block.Bits)
                {
                    string bits = run.LowBit == run.HighBit
                        ? "bit " + run.LowBit.ToString(CultureInfo.InvariantCulture)
                        : "bits " + run.LowBit.ToString(CultureInfo.InvariantCulture) + ".." + run.HighBit.ToString(CultureInfo.InvariantCulture);
                    w.Line("//   " + CSharpLiteral.Comment(bits + " " + run.Treatment + ": " + PolicyWords.OwnerKind(run.OwnerKind) + " at " + PolicyWords.Origin(run.Owner)));
                }

                var m = block.Masks;
                w.Line("case " + CSharpLiteral.Int(block.Number) + ": return new " + Infrastructure + ".PieceMasks("
                    + string.Join(", ", new[] { m.Virt, m.PassthroughWritable, m.ShadowReadWrite, m.ShadowWriteOneToClear, m.HardwareWriteOneToClear, m.Audit, m.DeniedValue }.Select(CSharpLiteral.UInt))
                    + ");");
            }

            w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(block), block, \"No such constant block.\");");
            w.Close();
            w.Close();
        }

        private static void WriteCaseTables(SourceWriter w, IReadOnlyList<ConstantBlock> blocks, AccessCasePlan cases)
        {
            w.Line("// Per block, the read and write case of each piece shape: the dword, the words at +0 and +2, the bytes at +0 to +3.");
            w.Line("// 0 is the general path: no block (row 0), or a piece past the case limit.");
            WriteCaseTable(w, "s_readCaseOfBlockShape", blocks, cases.ReadCaseOfBlockShape);
            w.Line();
            WriteCaseTable(w, "s_writeCaseOfBlockShape", blocks, cases.WriteCaseOfBlockShape);
        }

        private static void WriteCaseTable(SourceWriter w, string name, IReadOnlyList<ConstantBlock> blocks, IReadOnlyList<int> table)
        {
            w.Line("private static readonly ushort[] " + name + " =");
            w.Open();
            for (int block = 0; block <= blocks.Count; block++)
            {
                string row = string.Join(", ", Enumerable.Range(0, PieceShape.Count).Select(shape => CSharpLiteral.Int(table[(block * PieceShape.Count) + shape])));
                w.Line(row + ", // " + (block == 0 ? "no block" : "block " + CSharpLiteral.Int(block) + ": " + CSharpLiteral.Comment(blocks[block - 1].Place)));
            }

            w.Close(";");
        }

        private static void WritePieceTables(SourceWriter w, AccessCasePlan cases)
        {
            WritePieceTable(
                w,
                "s_readPieces",
                "its width and virtualized bits (every other",
                "bit is read from hardware).",
                cases.Reads,
                "Read",
                access => Bytes(access.Width) + ", " + ReadKind(access) + ": " + Uses(access),
                access => "Read(" + CSharpLiteral.Int(access.Width) + ", " + CSharpLiteral.UInt(access.Masks.Virt) + ")");
            w.Line();
            WritePieceTable(
                w,
                "s_writePieces",
                "its width, then its passthrough-writable,",
                "shadow rw, shadow rw1c, hardware rw1c, audited and denied-value bits.",
                cases.Writes,
                "Write",
                access => Bytes(access.Width) + ": " + Uses(access),
                access => "Write(" + CSharpLiteral.Int(access.Width) + ", " + WriteMasks(access.Masks) + ")");
        }

        // A case table: row 0 for the general path, then one row per case. A literal case of the entry method is
        // described there, so its row only points to it.
        private static void WritePieceTable(
            SourceWriter w, string name, string rowMeaning, string rowMeaningContinued, IReadOnlyList<AccessCase> cases, string entryMethod, Func<AccessCase, string> describe, Func<AccessCase, string> row)
        {
            w.Line("// Every case's piece, indexed by case number (0 is the general path): " + rowMeaning);
            w.Line("// " + rowMeaningContinued);
            w.Line("private static readonly " + Infrastructure + ".PieceCase[] " + name + " =");
            w.Open();
            w.Line("default, // 0: the general path");
            foreach (AccessCase access in cases)
            {
                if (!access.InEntry)
                {
                    w.Line("// " + CSharpLiteral.Comment(describe(access)));
                }

                w.Line(Infrastructure + ".PieceCase." + row(access) + ", // " + CSharpLiteral.Int(access.Number)
                    + (access.InEntry ? ": a literal case of " + entryMethod : string.Empty));
            }

            w.Close(";");
        }

        private static void WriteFirewall(SourceWriter w, AccessCasePlan cases)
        {
            w.Line("/// <summary>");
            w.Line("/// The shared firewall core with a fast path: an access that is one naturally aligned piece of a dword a constant");
            w.Line("/// block serves runs its case, the core's own per-piece step with the piece's width and masks (literals for the");
            w.Line("/// cases below, which the JIT folds; the case table's row for the others); every other access (unaligned, several");
            w.Line("/// pieces, or a dword no block serves) runs the core's general path over the binding's masks, the interpreter's.");
            w.Line("/// Both paths are the core's code, so the semantics are the interpreter's by construction.");
            w.Line("/// </summary>");
            w.Line("private sealed class Firewall : " + Infrastructure + ".FirewallCore");
            w.Open();
            w.Line("private readonly ushort[] _readCases;");
            w.Line("private readonly ushort[] _writeCases;");
            w.Line();
            w.Line("public Firewall(" + Binding + ".BoundConfigSpace bound, " + Infrastructure + ".DwordDispatch dispatch, " + Contracts + ".IHardwareConfig hardware, "
                + Contracts + ".IAuditSink audit, " + Contracts + ".IBehaviorHost? behaviors)");
            using (w.Indent())
            {
                w.Line(": base(bound, hardware, audit, behaviors)");
            }

            w.Open();
            w.Line("_readCases = dispatch.ReadCases;");
            w.Line("_writeCases = dispatch.WriteCases;");
            w.Close();
            w.Line();
            w.Line("// Wholly virtualized pieces are literal cases: one shadow load. Every other case runs from its row of the case");
            w.Line("// table, through one inlined ReadPiece whatever the policy's size, so the whole method stays small enough to");
            w.Line("// inline wherever the JIT devirtualizes a call, as a hand-written firewall would be.");
            w.Line(AggressiveInlining);
            w.Line("public override " + Contracts + ".AccessStatus Read(int offset, int length, out uint value)");
            w.Open();
            w.Line("int readCase = CaseOf(_readCases, offset, length);");
            w.Line("// Arguments: the address, the piece's width, its virtualized bits (every other bit is read from hardware).");
            w.Line("switch (readCase)");
            w.Open();
            foreach (AccessCase access in cases.Reads.Where(c => c.InEntry))
            {
                w.Line("// " + CSharpLiteral.Comment(Bytes(access.Width) + ", " + ReadKind(access) + ": " + Uses(access)));
                w.Line("case " + CSharpLiteral.Int(access.Number) + ": return ReadPiece(offset, " + CSharpLiteral.Int(access.Width) + ", " + CSharpLiteral.UInt(access.Masks.Virt) + ", out value);");
            }

            w.Line("default: return ReadCase(s_readPieces, readCase, offset, length, out value);");
            w.Close();
            w.Close();
            w.Line();
            w.Line("// Writes that touch only the shadow are literal cases, the first " + CSharpLiteral.Int(AccessCasePlanner.MaxEntryWriteCases) + " met at most (the header's and the first");
            w.Line("// capabilities'). Every other case runs from its row of the case table, through one inlined WritePiece whatever");
            w.Line("// the policy's size, so the whole method stays small enough to inline wherever the JIT devirtualizes a call.");
            w.Line(AggressiveInlining);
            w.Line("public override " + Contracts + ".AccessStatus Write(int offset, int length, uint value)");
            w.Open();
            w.Line("int writeCase = CaseOf(_writeCases, offset, length);");
            w.Line("// Arguments: the address, the piece's width, the value, then the piece's passthrough-writable, shadow rw, shadow rw1c,");
            w.Line("// hardware rw1c, audited and denied-value bits.");
            w.Line("switch (writeCase)");
            w.Open();
            foreach (AccessCase access in cases.Writes.Where(c => c.InEntry))
            {
                w.Line("// " + CSharpLiteral.Comment(Bytes(access.Width) + ": " + Uses(access)));
                w.Line("case " + CSharpLiteral.Int(access.Number) + ": return WritePiece(offset, " + CSharpLiteral.Int(access.Width) + ", value, " + WriteMasks(access.Masks) + ");");
            }

            w.Line("default: return WriteCase(s_writePieces, writeCase, offset, length, value);");
            w.Close();
            w.Close();
            w.Close();
        }

        private static string WriteMasks(PieceMasks m)
            => string.Join(", ", new[] { m.PassthroughWritable, m.ShadowReadWrite, m.ShadowWriteOneToClear, m.HardwareWriteOneToClear, m.Audit, m.DeniedValue }.Select(CSharpLiteral.UInt));

        private static string Bytes(int width) => width.ToString(CultureInfo.InvariantCulture) + (width == 1 ? " byte" : " bytes");

        private static string ReadKind(AccessCase access)
        {
            uint virt = access.Masks.Virt;
            return virt == 0 ? "all from hardware" : virt == BitSemantics.WidthMask(access.Width) ? "all virtualized" : "hardware and virtualized bits";
        }

        private static string Uses(AccessCase access)
        {
            const int Shown = 3;
            string shown = string.Join(", ", access.Uses.Take(Shown).Select(u => u.Describe()));
            return access.Uses.Count > Shown ? shown + " and " + (access.Uses.Count - Shown).ToString(CultureInfo.InvariantCulture) + " more" : shown;
        }
    }
}
