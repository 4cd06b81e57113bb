using System;
using System.Collections.Generic;
using System.Linq;
using Sprache;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;
using static VfioPolicy.Grammar.Parsing.Lexical;

namespace VfioPolicy.Grammar.Parsing
{
    /// <summary>What one line holds, before <see cref="PolicyParser"/> nests lines into blocks and attaches comments.</summary>
    internal abstract record LineContent;

    /// <summary>A complete statement on one line (a register with <c>{</c> also opens a body).</summary>
    internal sealed record StatementLine(Statement Statement) : LineContent;

    /// <summary><c>header {</c>, <c>capability MSI {</c>…: the first line of a block.</summary>
    internal sealed record BlockOpeningLine(BlockKind Kind, CapabilityRef? Capability, SourceSpan Span) : LineContent;

    /// <summary>A line holding only <c>}</c>.</summary>
    internal sealed record CloseBraceLine(SourceSpan Span) : LineContent;

    /// <summary>One parsed line: content (null for a blank or comment-only line) and its comment.</summary>
    internal sealed record LineSyntax(LineContent? Content, Comment? Comment);

    /// <summary>
    /// The grammar of one line, bottom-up: tokens (<see cref="Lexical"/>), actions, references, statements, and one
    /// line parser per nesting level. The language is line oriented, so the grammar parses a single line and
    /// <see cref="PolicyParser"/> does the nesting; that also lets it report an error and go on at the next line.
    /// <see cref="Parse.XOr{T}"/> and <see cref="Parse.XOptional{T}"/> throughout: the first token decides, and a part
    /// that fails after consuming input reports its own position.
    /// </summary>
    internal static class PolicyGrammar
    {
        private static readonly Parser<Identifier> Override = Keyword("override");

        // ---- actions -------------------------------------------------------------------------------------------

        // The parser knows the modes (not the compiler) so that a typo gets "expected 'rw' or 'ro'" at the typo.
        private static readonly Parser<Identifier> PassthroughMode = Keyword("rw").XOr(Keyword("ro"));

        private static readonly Parser<Identifier> VirtualizeMode = Keyword("rw").XOr(Keyword("ro")).XOr(Keyword("rw1c"));

        private static readonly Parser<ActionSyntax> Passthrough =
            from keyword in Keyword("passthrough")
            from mode in PassthroughMode
            select new ActionSyntax(ActionKind.Passthrough, mode, false, null, false, false, Join(keyword.Span, mode.Span));

        private static readonly Parser<InitClause> Init =
            from keyword in Keyword("init")
            from init in Keyword("hw").Select(hw => new InitClause(true, null, hw.Span))
                .XOr(Number("an init value").Select(value => new InitClause(false, value, value.Span)))
            select init;

        private static readonly Parser<ActionSyntax> Virtualize =
            from keyword in Keyword("virtualize")
            from mode in VirtualizeMode
            from writeHardware in Keyword("write-hw").XOptional()
            from init in Init.XOptional()
            select new ActionSyntax(
                ActionKind.Virtualize,
                mode,
                init.IsDefined && init.Get().FromHardware,
                init.IsDefined ? init.Get().Value : null,
                false,
                false,
                Join(keyword.Span, init.IsDefined ? init.Get().Span : writeHardware.IsDefined ? writeHardware.Get().Span : mode.Span))
            {
                WriteHardware = writeHardware.IsDefined,
            };

        private static readonly Parser<ActionSyntax> Deny =
            from keyword in Keyword("deny")
            from value in Number("a value").XOptional()
            from silent in Keyword("silent").XOptional()
            select new ActionSyntax(
                ActionKind.Deny,
                null,
                false,
                value.IsDefined ? value.Get() : null,
                silent.IsDefined,
                false,
                Join(keyword.Span, silent.IsDefined ? silent.Get().Span : value.IsDefined ? value.Get().Span : keyword.Span));

        private static readonly Parser<ActionSyntax> Action =
            from action in Passthrough.XOr(Virtualize).XOr(Deny)
            from hardwareRw1c in Keyword("hw-rw1c").XOptional()
            select hardwareRw1c.IsDefined ? action with { HardwareRw1c = true, Span = Join(action.Span, hardwareRw1c.Get().Span) } : action;

        private static readonly Parser<ActionSyntax> Body =
            from keyword in Keyword("body")
            from action in Action
            select action;

        // ---- references ----------------------------------------------------------------------------------------

        private static readonly Parser<CapabilityRef> Capability = Expect(
            NameToken.Select(name => new CapabilityRef(name, null, name.Span))
                .XOr(NumberToken.Select(id => new CapabilityRef(null, id, id.Span))),
            "a capability name or ID");

        private static readonly Parser<Identifier> Width = Keyword("u8").XOr(Keyword("u16")).XOr(Keyword("u32"));

        private static readonly Parser<RegisterRef> RegisterByOffset =
            from offset in NumberToken
            from width in Width
            from name in Name("a register name").XOptional()
            select new RegisterRef(offset, width, name.IsDefined ? name.Get() : null, Join(offset.Span, name.IsDefined ? name.Get().Span : width.Span));

        private static readonly Parser<RegisterRef> Register = Expect(
            NameToken.Select(name => new RegisterRef(null, null, name, name.Span)).XOr(RegisterByOffset),
            "a register name or offset");

        private static readonly Parser<ConditionSyntax> Condition =
            from register in Name("a register name")
            from dot in Punctuation(".")
            from field in Expect(FieldNameToken, "a field name")
            from notEqual in Punctuation("=").Return(false).XOr(Punctuation("!=").Return(true))
            from value in Number("a value")
            select new ConditionSyntax(register, field, value, Join(register.Span, value.Span)) { NotEqual = notEqual };

        private static readonly Parser<IReadOnlyList<ConditionSyntax>> When =
            from keyword in Keyword("when")
            from first in Condition
            from rest in (from comma in Punctuation(",") from condition in Condition select condition).XMany()
            select (IReadOnlyList<ConditionSyntax>)new[] { first }.Concat(rest).ToArray();

        // ---- statements inside register bodies -----------------------------------------------------------------

        private static readonly Parser<FieldTarget> BitTarget =
            from keyword in Keyword("bit")
            from bit in Number("a bit number")
            from name in Name("a bit name").XOptional()
            select new FieldTarget(new BitRangeSyntax(bit, null, bit.Span), name.IsDefined ? name.Get() : null, keyword.Span);

        private static readonly Parser<FieldTarget> BitsTarget =
            from keyword in Keyword("bits")
            from low in Number("the lowest bit number")
            from range in Punctuation("..")
            from high in Number("the highest bit number")
            from name in Name("a name for the bits").XOptional()
            select new FieldTarget(new BitRangeSyntax(low, high, Join(low.Span, high.Span)), name.IsDefined ? name.Get() : null, keyword.Span);

        private static readonly Parser<FieldTarget> NamedFieldTarget =
            from keyword in Keyword("field")
            from name in Name("a field name")
            select new FieldTarget(null, name, keyword.Span);

        private static readonly Parser<FieldStatement> Field =
            from overrides in Override.XOptional()
            from target in BitTarget.XOr(BitsTarget).XOr(NamedFieldTarget)
            from action in Action
            select new FieldStatement(overrides.IsDefined, target.Bits, target.Name, action, Join(overrides.IsDefined ? overrides.Get().Span : target.Start, action.Span));

        // ---- statements inside blocks --------------------------------------------------------------------------

        private static Parser<RegisterStatement> RegisterAfter(IOption<Identifier> overrides) =>
            from keyword in Keyword("register")
            from register in Register
            from behavior in (from behaviorKeyword in Keyword("behavior") from name in Name("a behavior name") select name).XOptional()
            from conditions in When.XOptional()
            from action in Action.XOptional()
            from brace in Punctuation("{").XOptional()
            select new RegisterStatement(
                overrides.IsDefined,
                register,
                behavior.IsDefined ? behavior.Get() : null,
                conditions.IsDefined ? conditions.Get() : Array.Empty<ConditionSyntax>(),
                action.IsDefined ? action.Get() : null,
                brace.IsDefined,
                Array.Empty<FieldStatement>(),
                Array.Empty<Comment>(),
                Join(
                    overrides.IsDefined ? overrides.Get().Span : keyword.Span,
                    brace.IsDefined ? brace.Get()
                    : action.IsDefined ? action.Get().Span
                    : conditions.IsDefined ? conditions.Get()[conditions.Get().Count - 1].Span
                    : behavior.IsDefined ? behavior.Get().Span
                    : register.Span));

        private static Parser<BlockDefaultStatement> BlockDefaultAfter(IOption<Identifier> overrides) =>
            from keyword in Keyword("default")
            from action in Action
            select new BlockDefaultStatement(overrides.IsDefined, action, Join(overrides.IsDefined ? overrides.Get().Span : keyword.Span, action.Span));

        // `override` may start either statement of a block, so it is read once and the next keyword decides.
        private static readonly Parser<Statement> BlockStatementLine =
            from overrides in Override.XOptional()
            from statement in RegisterAfter(overrides).Select(register => (Statement)register).XOr(BlockDefaultAfter(overrides).Select(blockDefault => (Statement)blockDefault))
            select statement;

        // ---- statements at file level --------------------------------------------------------------------------

        private static readonly Parser<Statement> Policy =
            from keyword in Keyword("policy")
            from name in Expect(StringToken, "a policy name in quotes")
            select (Statement)new PolicyStatement(name, Join(keyword.Span, name.Span));

        private static readonly Parser<Identifier> CriterionField =
            Keyword("vendor").XOr(Keyword("device")).XOr(Keyword("subsystem-vendor")).XOr(Keyword("subsystem")).XOr(Keyword("class")).XOr(Keyword("revision"));

        private static readonly Parser<MatchCriterionSyntax> Criterion =
            from field in CriterionField
            from value in Number("a value")
            from mask in (from keyword in Keyword("mask") from mask in Number("a mask") select mask).XOptional()
            select new MatchCriterionSyntax(field, value, mask.IsDefined ? mask.Get() : null, Join(field.Span, mask.IsDefined ? mask.Get().Span : value.Span));

        private static readonly Parser<Statement> Match =
            from keyword in Keyword("match")
            from statement in Keyword("any").Select(any => new MatchStatement(true, Array.Empty<MatchCriterionSyntax>(), Join(keyword.Span, any.Span)))
                .XOr(Criterion.XAtLeastOnce().Select(criteria => criteria.ToArray()).Select(criteria => new MatchStatement(false, criteria, Join(keyword.Span, criteria[criteria.Length - 1].Span))))
            select (Statement)statement;

        private static readonly Parser<Statement> Include =
            from keyword in Keyword("include").XOr(Keyword("extends"))
            from library in Keyword("library").Optional()
            from path in Expect(StringToken, library.IsDefined ? "a library policy name in quotes (\"strict\", \"standard/capabilities/pm\")" : "a path in quotes")
            select (Statement)new IncludeStatement(path, keyword.Text == "extends", Join(keyword.Span, path.Span)) { FromLibrary = library.IsDefined };

        private static readonly Parser<Statement> Default =
            from keyword in Keyword("default")
            from target in Expect(WordToken, "a default target (header, capability, gap or unknown-capability)")
            from statement in
                (from hide in Keyword("hide")
                 from body in Body.XOptional()
                 select new DefaultStatement(false, target, true, body.IsDefined ? body.Get() : null, Join(keyword.Span, body.IsDefined ? body.Get().Span : hide.Span)))
                .XOr(Action.Select(action => new DefaultStatement(false, target, false, action, Join(keyword.Span, action.Span))))
            select (Statement)statement;

        private static readonly Parser<Statement> Hide =
            from keyword in Keyword("hide")
            from extended in Keyword("capability").Select(_ => false).XOr(Keyword("extended-capability").Select(_ => true))
            from capability in Capability
            from body in Body.XOptional()
            select (Statement)new HideStatement(false, extended, capability, body.IsDefined ? body.Get() : null, Join(keyword.Span, body.IsDefined ? body.Get().Span : capability.Span));

        private static readonly Parser<Statement> Overridable =
            from overrides in Override.XOptional()
            from statement in Default.XOr(Hide)
            select overrides.IsDefined ? WithOverride(statement, overrides.Get().Span) : statement;

        private static readonly Parser<(NumberLiteral Offset, NumberLiteral? Data, NumberLiteral? Base)> FixedWindow =
            from offsetKeyword in Keyword("offset")
            from offset in Number("an offset")
            select (offset, (NumberLiteral?)null, (NumberLiteral?)null);

        private static readonly Parser<(NumberLiteral Offset, NumberLiteral? Data, NumberLiteral? Base)> WindowPair =
            from addressKeyword in Keyword("address")
            from address in Number("the address register's offset")
            from dataKeyword in Keyword("data")
            from data in Number("the data register's offset")
            from baseKeyword in Keyword("base")
            from baseAddress in Number("the address of config offset 0")
            select (address, (NumberLiteral?)data, (NumberLiteral?)baseAddress);

        private static readonly Parser<Statement> Mirror =
            from keyword in Keyword("mirror")
            from barKeyword in Keyword("bar")
            from bar in Number("a BAR number")
            from window in FixedWindow.XOr(WindowPair)
            from sizeKeyword in Keyword("size")
            from size in Number("a size")
            select (Statement)new MirrorStatement(bar, window.Offset, size, Join(keyword.Span, size.Span)) { DataOffset = window.Data, Base = window.Base };

        private static readonly Parser<LineContent> BlockOpening =
            (from keyword in Keyword("header") from brace in Punctuation("{") select new BlockOpeningLine(BlockKind.Header, null, Join(keyword.Span, brace)))
            .XOr(from keyword in Keyword("device-specific") from brace in Punctuation("{") select new BlockOpeningLine(BlockKind.DeviceSpecific, null, Join(keyword.Span, brace)))
            .XOr(from keyword in Keyword("capability") from capability in Capability from brace in Punctuation("{") select new BlockOpeningLine(BlockKind.Capability, capability, Join(keyword.Span, brace)))
            .XOr(from keyword in Keyword("extended-capability") from capability in Capability from brace in Punctuation("{") select new BlockOpeningLine(BlockKind.ExtendedCapability, capability, Join(keyword.Span, brace)))
            .Select(opening => (LineContent)opening);

        // ---- lines ---------------------------------------------------------------------------------------------

        private static readonly Parser<LineSyntax> BlankOrCommentLine =
            (from comment in CommentToken from end in RawEndOfLine select new LineSyntax(null, comment))
            .XOr(RawEndOfLine.Select(_ => new LineSyntax(null, null)));

        private static readonly Parser<LineContent> CloseBrace = Punctuation("}").Select(span => (LineContent)new CloseBraceLine(span));

        /// <summary>A line at file level. A stray <c>}</c> parses (the parser reports it) but is not listed as expected.</summary>
        public static readonly Parser<LineSyntax> FileLine = LineOf(
            Policy.XOr(Match).XOr(Include).XOr(Overridable).XOr(Mirror).Select(statement => (LineContent)new StatementLine(statement))
                .XOr(BlockOpening)
                .XOr(UnexpectedCloseBrace.Select(span => (LineContent)new CloseBraceLine(span))));

        /// <summary>A line inside <c>header {</c>, <c>capability X {</c>…: a register, a block default or the closing brace.</summary>
        public static readonly Parser<LineSyntax> BlockLine = LineOf(BlockStatementLine.Select(statement => (LineContent)new StatementLine(statement)).XOr(CloseBrace));

        /// <summary>A line inside a register body: a field line or the closing brace.</summary>
        public static readonly Parser<LineSyntax> RegisterBodyLine = LineOf(Field.Select(field => (LineContent)new StatementLine(field)).XOr(CloseBrace));

        /// <summary>A span from the start of <paramref name="first"/> to the end of <paramref name="last"/>.</summary>
        public static SourceSpan Join(SourceSpan first, SourceSpan last) => new SourceSpan(first.Path, first.Start, last.End);

        private static Parser<LineSyntax> LineOf(Parser<LineContent> content) =>
            from indentation in InlineSpace
            from line in BlankOrCommentLine.XOr(
                from statement in content
                from comment in LineEnd
                select new LineSyntax(statement, comment))
            select line;

        private static Statement WithOverride(Statement statement, SourceSpan overrideSpan) => statement switch
        {
            DefaultStatement defaults => defaults with { Override = true, Span = Join(overrideSpan, defaults.Span) },
            HideStatement hide => hide with { Override = true, Span = Join(overrideSpan, hide.Span) },
            _ => throw new InvalidOperationException("Only defaults and hide statements take 'override' at file level."),
        };

        /// <summary>What <c>init</c> says: <c>init hw</c> or <c>init VALUE</c>.</summary>
        private sealed record InitClause(bool FromHardware, NumberLiteral? Value, SourceSpan Span);

        /// <summary>The bits a field line names (<c>bit N</c>, <c>bits L..H</c> or <c>field NAME</c>) and where its keyword starts.</summary>
        private sealed record FieldTarget(BitRangeSyntax? Bits, Identifier? Name, SourceSpan Start);
    }
}
