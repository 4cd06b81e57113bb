using System;
using System.Collections.Generic;
using VfioPolicy.Grammar.Text;

namespace VfioPolicy.Grammar.Syntax
{
    // The syntax tree of a .vfiopolicy file, exactly as written. Every node carries its span; comments are kept
    // as trivia on the statement they precede or end, so `fmt` can print them back. Nothing here is checked:
    // names, widths and overlaps are the compiler's business.

    /// <summary>Base of every syntax node.</summary>
    public abstract record SyntaxNode(SourceSpan Span);

    /// <summary>A <c>#</c> comment; <see cref="Text"/> includes the <c>#</c> and excludes the line break.</summary>
    public sealed record Comment(string Text, SourceSpan Span) : SyntaxNode(Span)
    {
        /// <summary>True when a blank line separates this comment from the line above it (kept by <c>fmt</c>).</summary>
        public bool BlankLineBefore { get; init; }
    }

    /// <summary>A name or keyword-like word as written (identifiers may contain <c>-</c> after the first character only in keywords).</summary>
    public sealed record Identifier(string Text, SourceSpan Span) : SyntaxNode(Span);

    /// <summary>A number: hex (<c>0x</c>), binary (<c>0b</c>) or decimal, with <c>_</c> separators; <see cref="Text"/> as written.</summary>
    public sealed record NumberLiteral(ulong Value, string Text, SourceSpan Span) : SyntaxNode(Span);

    /// <summary>A double-quoted string; <see cref="Value"/> has escapes resolved.</summary>
    public sealed record StringLiteral(string Value, SourceSpan Span) : SyntaxNode(Span);

    /// <summary>A parsed policy file.</summary>
    public sealed record PolicyFile(SourceFile Source, IReadOnlyList<Statement> Statements, IReadOnlyList<Comment> TrailingComments, SourceSpan Span) : SyntaxNode(Span);

    /// <summary>A line-level statement with its comments.</summary>
    public abstract record Statement(SourceSpan Span) : SyntaxNode(Span)
    {
        /// <summary>Whole-line comments directly above the statement.</summary>
        public IReadOnlyList<Comment> LeadingComments { get; init; } = Array.Empty<Comment>();

        /// <summary>A comment at the end of the statement's (first) line.</summary>
        public Comment? TrailingComment { get; init; }

        /// <summary>True when a blank line separates the statement (or its leading comments) from what precedes it.</summary>
        public bool BlankLineBefore { get; init; }

        /// <summary>True when a blank line separates the last leading comment from the statement itself.</summary>
        public bool BlankLineAfterLeadingComments { get; init; }
    }

    /// <summary><c>policy "name"</c>: names a complete policy.</summary>
    public sealed record PolicyStatement(StringLiteral Name, SourceSpan Span) : Statement(Span);

    /// <summary><c>match any</c> or <c>match vendor 0x8086 device 0x10d3 …</c>: all criteria on the line must hold; lines are alternatives.</summary>
    public sealed record MatchStatement(bool Any, IReadOnlyList<MatchCriterionSyntax> Criteria, SourceSpan Span) : Statement(Span);

    /// <summary>One criterion of a match line: <c>FIELD VALUE [mask MASK]</c>.</summary>
    public sealed record MatchCriterionSyntax(Identifier Field, NumberLiteral Value, NumberLiteral? Mask, SourceSpan Span) : SyntaxNode(Span);

    /// <summary><c>include "path"</c> (a library fragment) or <c>extends "path"</c> (a complete base policy).</summary>
    public sealed record IncludeStatement(StringLiteral Path, bool IsExtends, SourceSpan Span) : Statement(Span)
    {
        /// <summary>
        /// <c>include library "NAME"</c> / <c>extends library "NAME"</c>: <see cref="Path"/> names a file of the
        /// standard policy library that travels with the compiler, not a file beside this one.
        /// </summary>
        public bool FromLibrary { get; init; }
    }

    /// <summary><c>default TARGET ACTION</c> or <c>default unknown-capability hide [body ACTION]</c>.</summary>
    public sealed record DefaultStatement(bool Override, Identifier Target, bool Hide, ActionSyntax? Action, SourceSpan Span) : Statement(Span);

    /// <summary><c>[override] hide capability|extended-capability CAP [body ACTION]</c>.</summary>
    public sealed record HideStatement(bool Override, bool Extended, CapabilityRef Capability, ActionSyntax? Body, SourceSpan Span) : Statement(Span);

    /// <summary><c>mirror bar N offset OFFSET size SIZE</c>: a BAR window that mirrors config space.</summary>
    public sealed record MirrorStatement(NumberLiteral Bar, NumberLiteral Offset, NumberLiteral Size, SourceSpan Span) : Statement(Span)
    {
        /// <summary>
        /// <c>mirror bar N address OFF data OFF base BASE size SIZE</c>: an address/data window pair. <see cref="Offset"/>
        /// is then the address register's offset, this the data register's; null for a fixed window (<c>offset</c>).
        /// </summary>
        public NumberLiteral? DataOffset { get; init; }

        /// <summary>The address value that selects config offset 0 through the data register (pairs only).</summary>
        public NumberLiteral? Base { get; init; }
    }

    /// <summary>Which space a block's register offsets are relative to.</summary>
    public enum BlockKind
    {
        /// <summary><c>header { }</c>: absolute offsets 0x00–0x3F.</summary>
        Header,

        /// <summary><c>device-specific { }</c>: absolute offsets from 0x40.</summary>
        DeviceSpecific,

        /// <summary><c>capability CAP { }</c>: offsets relative to a standard capability.</summary>
        Capability,

        /// <summary><c>extended-capability CAP { }</c>: offsets relative to an extended capability.</summary>
        ExtendedCapability,
    }

    /// <summary>A block of registers: <c>header {</c>, <c>capability MSI {</c>… up to its closing <c>}</c> line.</summary>
    public sealed record BlockStatement(BlockKind Kind, CapabilityRef? Capability, IReadOnlyList<RegisterStatement> Registers, IReadOnlyList<Comment> ClosingComments, SourceSpan Span) : Statement(Span)
    {
        /// <summary>A comment at the end of the closing <c>}</c> line.</summary>
        public Comment? ClosingLineComment { get; init; }

        /// <summary>
        /// The block's <c>default ACTION</c> lines, in source order. They are kept apart from <see cref="Registers"/>
        /// so that code reading only registers is unaffected; the source order of both is their spans' order.
        /// The grammar accepts them in every block; the compiler allows them in capability blocks only.
        /// </summary>
        public IReadOnlyList<BlockDefaultStatement> Defaults { get; init; } = Array.Empty<BlockDefaultStatement>();
    }

    /// <summary>
    /// <c>[override] default ACTION</c> inside a <c>capability X {</c> or <c>extended-capability X {</c> block: what
    /// that capability's bytes no rule covers do, instead of the policy's <c>default capability</c>.
    /// </summary>
    public sealed record BlockDefaultStatement(bool Override, ActionSyntax Action, SourceSpan Span) : Statement(Span);

    /// <summary>A capability by catalogue name (<c>MSI</c>) or ID (<c>0x05</c>).</summary>
    public sealed record CapabilityRef(Identifier? Name, NumberLiteral? Id, SourceSpan Span) : SyntaxNode(Span);

    /// <summary>A register by catalogue name (<c>COMMAND</c>) or by offset and width with an optional name (<c>0x40 u32 MY_REG</c>).</summary>
    public sealed record RegisterRef(NumberLiteral? Offset, Identifier? Width, Identifier? Name, SourceSpan Span) : SyntaxNode(Span);

    /// <summary><c>when REGISTER.FIELD = VALUE</c> (or <c>!= VALUE</c>): the register exists only where the device's bits say so.</summary>
    public sealed record ConditionSyntax(Identifier Register, Identifier Field, NumberLiteral Value, SourceSpan Span) : SyntaxNode(Span)
    {
        /// <summary>The operator is <c>!=</c>: the condition holds when the field differs from <see cref="Value"/>.</summary>
        public bool NotEqual { get; init; }

        /// <summary>The operator as written: <c>=</c> or <c>!=</c>.</summary>
        public string Operator => NotEqual ? "!=" : "=";
    }

    /// <summary>
    /// <c>[override] register REF [behavior NAME] [when …] [ACTION] [{ … }]</c>. A register-level action covers every
    /// bit no field line of the body covers.
    /// </summary>
    public sealed record RegisterStatement(
        bool Override,
        RegisterRef Register,
        Identifier? Behavior,
        IReadOnlyList<ConditionSyntax> Conditions,
        ActionSyntax? Action,
        bool HasBody,
        IReadOnlyList<FieldStatement> Fields,
        IReadOnlyList<Comment> ClosingComments,
        SourceSpan Span) : Statement(Span)
    {
        /// <summary>A comment at the end of the body's closing <c>}</c> line (only when <see cref="HasBody"/>).</summary>
        public Comment? ClosingLineComment { get; init; }
    }

    /// <summary><c>[override] bit N [NAME] ACTION</c>, <c>[override] bits L..H [NAME] ACTION</c> or <c>[override] field NAME ACTION</c> (<see cref="Bits"/> null: bits from the catalogue).</summary>
    public sealed record FieldStatement(bool Override, BitRangeSyntax? Bits, Identifier? Name, ActionSyntax Action, SourceSpan Span) : Statement(Span);

    /// <summary><c>bit N</c> (<see cref="High"/> null) or <c>bits L..H</c>, inclusive.</summary>
    public sealed record BitRangeSyntax(NumberLiteral Low, NumberLiteral? High, SourceSpan Span) : SyntaxNode(Span);

    /// <summary>The disposition keyword of an action.</summary>
    public enum ActionKind
    {
        /// <summary><c>passthrough rw|ro</c>.</summary>
        Passthrough,

        /// <summary><c>virtualize rw|ro|rw1c [write-hw] [init hw|VALUE]</c>.</summary>
        Virtualize,

        /// <summary><c>deny [VALUE] [silent]</c>.</summary>
        Deny,
    }

    /// <summary>
    /// An action: <c>passthrough MODE</c>, <c>virtualize MODE [init hw|VALUE]</c> or <c>deny [VALUE] [silent]</c>, each
    /// optionally followed by <c>hw-rw1c</c>. <see cref="Value"/> is the init literal or the deny value.
    /// </summary>
    public sealed record ActionSyntax(
        ActionKind Kind,
        Identifier? Mode,
        bool InitFromHardware,
        NumberLiteral? Value,
        bool Silent,
        bool HardwareRw1c,
        SourceSpan Span) : SyntaxNode(Span)
    {
        /// <summary><c>write-hw</c> after a virtualize mode: a consumer write reaches the hardware while reads stay on the shadow.</summary>
        public bool WriteHardware { get; init; }
    }
}
