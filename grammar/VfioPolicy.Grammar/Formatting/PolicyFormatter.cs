using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Grammar.Formatting
{
    /// <summary>
    /// Prints a syntax tree in the canonical layout: two-space indentation, single spaces between tokens, one
    /// statement per line, every comment kept, at most one blank line where the source had one or more (none right
    /// after <c>{</c> or at the start of the file), numbers and names as written, <c>\n</c> line endings and a final
    /// newline. Trailing comments start at column 44, or two spaces after a statement that reaches past it: a fixed
    /// column keeps a one-line change a one-line diff. Formatting
    /// is idempotent: formatting the parse of the output gives the output again.
    /// </summary>
    public static class PolicyFormatter
    {
        private const string Indentation = "  ";

        /// <summary>The 0-based column trailing comments start at, when the statement leaves room for it.</summary>
        private const int TrailingCommentColumn = 43;

        /// <summary>Spaces between a statement and its trailing comment when the statement reaches past the column.</summary>
        private const int MinimumCommentGap = 2;

        /// <summary>The canonical text of <paramref name="file"/> (empty for a file with no statements and no comments).</summary>
        public static string Format(PolicyFile file)
        {
            if (file == null)
            {
                throw new ArgumentNullException(nameof(file));
            }

            var writer = new Writer();
            WriteStatements(writer, file.Statements, 0);
            WriteComments(writer, file.TrailingComments, 0);
            return writer.ToString();
        }

        /// <summary>An action as written in the canonical layout, e.g. <c>virtualize rw init 0x10 hw-rw1c</c>.</summary>
        public static string FormatAction(ActionSyntax action)
        {
            if (action == null)
            {
                throw new ArgumentNullException(nameof(action));
            }

            var text = new StringBuilder();
            switch (action.Kind)
            {
                case ActionKind.Passthrough:
                    text.Append("passthrough");
                    AppendWord(text, action.Mode?.Text);
                    break;
                case ActionKind.Virtualize:
                    text.Append("virtualize");
                    AppendWord(text, action.Mode?.Text);
                    if (action.WriteHardware)
                    {
                        text.Append(" write-hw");
                    }

                    if (action.InitFromHardware)
                    {
                        text.Append(" init hw");
                    }
                    else if (action.Value != null)
                    {
                        text.Append(" init ").Append(action.Value.Text);
                    }

                    break;
                default:
                    text.Append("deny");
                    AppendWord(text, action.Value?.Text);
                    if (action.Silent)
                    {
                        text.Append(" silent");
                    }

                    break;
            }

            if (action.HardwareRw1c)
            {
                text.Append(" hw-rw1c");
            }

            return text.ToString();
        }

        /// <summary>A string literal with <c>"</c> and <c>\</c> escaped.</summary>
        public static string Quote(string value)
            => "\"" + (value ?? string.Empty).Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

        private static void WriteStatements(Writer writer, IEnumerable<Statement> statements, int depth)
        {
            foreach (Statement statement in statements)
            {
                WriteStatement(writer, statement, depth);
            }
        }

        private static void WriteStatement(Writer writer, Statement statement, int depth)
        {
            IReadOnlyList<Comment> leading = statement.LeadingComments;
            for (int i = 0; i < leading.Count; i++)
            {
                writer.Line(depth, leading[i].Text, null, leading[i].BlankLineBefore || (i == 0 && statement.BlankLineBefore));
            }

            bool blankBefore = leading.Count > 0 ? statement.BlankLineAfterLeadingComments : statement.BlankLineBefore;
            writer.Line(depth, Head(statement), statement.TrailingComment, blankBefore);

            switch (statement)
            {
                case BlockStatement block:
                    writer.OpenContainer();
                    // Registers and block defaults print in source order, which their spans give.
                    WriteStatements(writer, block.Registers.Cast<Statement>().Concat(block.Defaults).OrderBy(s => s.Span.Start.Offset), depth + 1);
                    WriteComments(writer, block.ClosingComments, depth + 1);
                    writer.Line(depth, "}", block.ClosingLineComment, false);
                    break;
                case RegisterStatement { HasBody: true } register:
                    writer.OpenContainer();
                    WriteStatements(writer, register.Fields, depth + 1);
                    WriteComments(writer, register.ClosingComments, depth + 1);
                    writer.Line(depth, "}", register.ClosingLineComment, false);
                    break;
            }
        }

        private static void WriteComments(Writer writer, IEnumerable<Comment> comments, int depth)
        {
            foreach (Comment comment in comments)
            {
                writer.Line(depth, comment.Text, null, comment.BlankLineBefore);
            }
        }

        /// <summary>The statement's own line, without comments.</summary>
        private static string Head(Statement statement)
        {
            var text = new StringBuilder();
            switch (statement)
            {
                case PolicyStatement policy:
                    text.Append("policy ").Append(Quote(policy.Name.Value));
                    break;
                case MatchStatement match:
                    text.Append("match");
                    if (match.Any)
                    {
                        text.Append(" any");
                    }

                    foreach (MatchCriterionSyntax criterion in match.Criteria)
                    {
                        text.Append(' ').Append(criterion.Field.Text).Append(' ').Append(criterion.Value.Text);
                        if (criterion.Mask != null)
                        {
                            text.Append(" mask ").Append(criterion.Mask.Text);
                        }
                    }

                    break;
                case IncludeStatement include:
                    text.Append(include.IsExtends ? "extends " : "include ").Append(include.FromLibrary ? "library " : string.Empty).Append(Quote(include.Path.Value));
                    break;
                case DefaultStatement defaults:
                    AppendOverride(text, defaults.Override);
                    text.Append("default ").Append(defaults.Target.Text);
                    if (defaults.Hide)
                    {
                        text.Append(" hide");
                        AppendBody(text, defaults.Action);
                    }
                    else if (defaults.Action != null)
                    {
                        text.Append(' ').Append(FormatAction(defaults.Action));
                    }

                    break;
                case HideStatement hide:
                    AppendOverride(text, hide.Override);
                    text.Append(hide.Extended ? "hide extended-capability " : "hide capability ").Append(Capability(hide.Capability));
                    AppendBody(text, hide.Body);
                    break;
                case MirrorStatement mirror:
                    text.Append("mirror bar ").Append(mirror.Bar.Text);
                    if (mirror.DataOffset is null)
                    {
                        text.Append(" offset ").Append(mirror.Offset.Text);
                    }
                    else
                    {
                        text.Append(" address ").Append(mirror.Offset.Text).Append(" data ").Append(mirror.DataOffset.Text).Append(" base ").Append(mirror.Base?.Text);
                    }

                    text.Append(" size ").Append(mirror.Size.Text);
                    break;
                case BlockStatement block:
                    text.Append(block.Kind switch
                    {
                        BlockKind.Header => "header",
                        BlockKind.DeviceSpecific => "device-specific",
                        BlockKind.Capability => "capability " + Capability(block.Capability),
                        _ => "extended-capability " + Capability(block.Capability),
                    });
                    text.Append(" {");
                    break;
                case RegisterStatement register:
                    AppendRegister(text, register);
                    break;
                case BlockDefaultStatement blockDefault:
                    AppendOverride(text, blockDefault.Override);
                    text.Append("default ").Append(FormatAction(blockDefault.Action));
                    break;
                case FieldStatement field:
                    AppendField(text, field);
                    break;
            }

            return text.ToString();
        }

        private static void AppendRegister(StringBuilder text, RegisterStatement register)
        {
            AppendOverride(text, register.Override);
            text.Append("register");
            RegisterRef reference = register.Register;
            if (reference.Offset != null)
            {
                text.Append(' ').Append(reference.Offset.Text);
                AppendWord(text, reference.Width?.Text);
            }

            AppendWord(text, reference.Name?.Text);
            if (register.Behavior != null)
            {
                text.Append(" behavior ").Append(register.Behavior.Text);
            }

            if (register.Conditions.Count > 0)
            {
                text.Append(" when ").Append(string.Join(", ", register.Conditions.Select(c => c.Register.Text + "." + c.Field.Text + " " + c.Operator + " " + c.Value.Text)));
            }

            if (register.Action != null)
            {
                text.Append(' ').Append(FormatAction(register.Action));
            }

            if (register.HasBody)
            {
                text.Append(" {");
            }
        }

        private static void AppendField(StringBuilder text, FieldStatement field)
        {
            AppendOverride(text, field.Override);
            if (field.Bits == null)
            {
                text.Append("field");
            }
            else if (field.Bits.High == null)
            {
                text.Append("bit ").Append(field.Bits.Low.Text);
            }
            else
            {
                text.Append("bits ").Append(field.Bits.Low.Text).Append("..").Append(field.Bits.High.Text);
            }

            AppendWord(text, field.Name?.Text);
            text.Append(' ').Append(FormatAction(field.Action));
        }

        private static string Capability(CapabilityRef? capability) => capability?.Name?.Text ?? capability?.Id?.Text ?? string.Empty;

        private static void AppendOverride(StringBuilder text, bool isOverride)
        {
            if (isOverride)
            {
                text.Append("override ");
            }
        }

        private static void AppendBody(StringBuilder text, ActionSyntax? body)
        {
            if (body != null)
            {
                text.Append(" body ").Append(FormatAction(body));
            }
        }

        private static void AppendWord(StringBuilder text, string? word)
        {
            if (!string.IsNullOrEmpty(word))
            {
                text.Append(' ').Append(word);
            }
        }

        /// <summary>Collects lines; a blank line is written only between two lines of the same container.</summary>
        private sealed class Writer
        {
            private readonly List<OutputLine> lines = new List<OutputLine>();
            private bool containerHasLines;

            /// <summary>A <c>{</c> line was written: the next line is the first of its container.</summary>
            public void OpenContainer() => containerHasLines = false;

            public void Line(int depth, string text, Comment? trailingComment, bool blankBefore)
            {
                lines.Add(new OutputLine(depth, text, trailingComment?.Text, blankBefore && containerHasLines));
                containerHasLines = true;
            }

            public override string ToString()
            {
                var output = new StringBuilder();
                foreach (OutputLine line in lines)
                {
                    if (line.BlankBefore)
                    {
                        output.Append('\n');
                    }

                    int lineStart = output.Length;
                    for (int level = 0; level < line.Depth; level++)
                    {
                        output.Append(Indentation);
                    }

                    output.Append(line.Text);
                    if (line.Comment != null)
                    {
                        // A fixed column, not one per run of lines: adding a long rule must not re-align (and so
                        // show as changed in review) the comments of its neighbours.
                        int width = output.Length - lineStart;
                        output.Append(' ', width + MinimumCommentGap <= TrailingCommentColumn ? TrailingCommentColumn - width : MinimumCommentGap);
                        output.Append(line.Comment);
                    }

                    output.Append('\n');
                }

                return output.ToString();
            }

            /// <summary>One output line: indentation depth, text, trailing comment, and whether a blank line precedes it.</summary>
            private sealed record OutputLine(int Depth, string Text, string? Comment, bool BlankBefore);
        }
    }
}
