using System;
using System.Linq;
using VfioPolicy.Grammar.Formatting;
using VfioPolicy.Grammar.Parsing;
using VfioPolicy.Grammar.Syntax;
using VfioPolicy.Grammar.Text;
using Xunit;

namespace VfioPolicy.Grammar.Tests
{
    public class ParserTests
    {
        private const string Policy =
            "# About edu.\n" +                                          // 1
            "policy \"edu\"  # name\n" +                                // 2
            "\n" +                                                      // 3
            "header {\n" +                                              // 4
            "  register COMMAND behavior command {\n" +                 // 5
            "    override bits 3..9 RESERVED deny 0x0 silent\n" +       // 6
            "  }\n" +                                                   // 7
            "}\n";                                                      // 8

        [Fact]
        public void Statements_carry_exact_spans()
        {
            PolicyFile file = Parse(Policy);

            var policy = Assert.IsType<PolicyStatement>(file.Statements[0]);
            AssertSpan(policy.Span, 2, 1, 2, 13);
            AssertSpan(policy.Name.Span, 2, 8, 2, 13);
            Assert.Equal(13, policy.Span.Start.Offset);
            Assert.Equal(12, policy.Span.Length);

            var header = Assert.IsType<BlockStatement>(file.Statements[1]);
            AssertSpan(header.Span, 4, 1, 8, 2);

            RegisterStatement command = Assert.Single(header.Registers);
            AssertSpan(command.Span, 5, 3, 7, 4);
            AssertSpan(command.Register.Span, 5, 12, 5, 19);
            AssertSpan(command.Behavior!.Span, 5, 29, 5, 36);

            FieldStatement field = Assert.Single(command.Fields);
            AssertSpan(field.Span, 6, 5, 6, 48);
            AssertSpan(field.Bits!.Span, 6, 19, 6, 23);
            AssertSpan(field.Bits.Low.Span, 6, 19, 6, 20);
            AssertSpan(field.Bits.High!.Span, 6, 22, 6, 23);
            AssertSpan(field.Name!.Span, 6, 24, 6, 32);
            AssertSpan(field.Action.Span, 6, 33, 6, 48);
            AssertSpan(field.Action.Value!.Span, 6, 38, 6, 41);
        }

        [Fact]
        public void Block_defaults_are_kept_apart_from_the_registers_with_exact_spans()
        {
            PolicyFile file = Parse(
                "capability VNDR {\n" +                                   // 1
                "  register 0x02 u8 LENGTH passthrough rw\n" +             // 2
                "  # raw body\n" +                                         // 3
                "  override default passthrough rw  # kernel\n" +          // 4
                "  default deny 0xff silent\n" +                           // 5
                "}\n");                                                    // 6

            var block = Assert.IsType<BlockStatement>(Assert.Single(file.Statements));
            Assert.Single(block.Registers);
            Assert.Equal(2, block.Defaults.Count);

            BlockDefaultStatement first = block.Defaults[0];
            Assert.True(first.Override);
            Assert.Equal(ActionKind.Passthrough, first.Action.Kind);
            Assert.Equal("rw", first.Action.Mode!.Text);
            AssertSpan(first.Span, 4, 3, 4, 34);
            AssertSpan(first.Action.Span, 4, 20, 4, 34);
            Assert.Equal("# raw body", Assert.Single(first.LeadingComments).Text);
            Assert.Equal("# kernel", first.TrailingComment!.Text);

            BlockDefaultStatement second = block.Defaults[1];
            Assert.False(second.Override);
            Assert.Equal(ActionKind.Deny, second.Action.Kind);
            Assert.Equal(0xffUL, second.Action.Value!.Value);
            Assert.True(second.Action.Silent);
            AssertSpan(second.Span, 5, 3, 5, 27);
        }

        [Fact]
        public void File_span_covers_the_whole_text()
        {
            PolicyFile file = Parse(Policy);

            AssertSpan(file.Span, 1, 1, 9, 1);
            Assert.Equal(Policy.Length, file.Span.Length);
            Assert.Equal("policy.vfiopolicy", file.Span.Path);
        }

        [Fact]
        public void Comments_and_blank_lines_are_trivia_of_the_statements()
        {
            PolicyFile file = Parse(Policy);

            PolicyStatement policy = Assert.IsType<PolicyStatement>(file.Statements[0]);
            Comment leading = Assert.Single(policy.LeadingComments);
            Assert.Equal("# About edu.", leading.Text);
            AssertSpan(leading.Span, 1, 1, 1, 13);
            Assert.Equal("# name", policy.TrailingComment!.Text);
            AssertSpan(policy.TrailingComment.Span, 2, 15, 2, 21);
            Assert.False(policy.BlankLineBefore);
            Assert.True(file.Statements[1].BlankLineBefore);
        }

        [Fact]
        public void Closing_comments_belong_to_their_block()
        {
            PolicyFile file = Parse(
                "header {\n" +
                "  register COMMAND {\n" +
                "    field IO passthrough rw\n" +
                "\n" +
                "    # last in body\n" +
                "  } # after body\n" +
                "  # last in block\n" +
                "}\n" +
                "\n" +
                "# end of file\n");

            var header = Assert.IsType<BlockStatement>(Assert.Single(file.Statements));
            RegisterStatement command = Assert.Single(header.Registers);
            Comment lastInBody = Assert.Single(command.ClosingComments);
            Assert.Equal("# last in body", lastInBody.Text);
            Assert.True(lastInBody.BlankLineBefore);
            Assert.Equal("# after body", command.ClosingLineComment!.Text);
            Assert.Equal("# last in block", Assert.Single(header.ClosingComments).Text);
            Comment endOfFile = Assert.Single(file.TrailingComments);
            Assert.Equal("# end of file", endOfFile.Text);
            Assert.True(endOfFile.BlankLineBefore);
        }

        [Fact]
        public void A_blank_line_between_comments_and_statement_is_recorded()
        {
            PolicyFile file = Parse("\n# one\n\n# two\n\nmatch any\n");

            Statement match = Assert.Single(file.Statements);
            Assert.True(match.BlankLineBefore);
            Assert.True(match.BlankLineAfterLeadingComments);
            Assert.Equal(new[] { true, true }, match.LeadingComments.Select(c => c.BlankLineBefore).ToArray());
        }

        [Theory]
        [InlineData("42", 42UL)]
        [InlineData("0x1f", 0x1fUL)]
        [InlineData("0X1F", 0x1fUL)]
        [InlineData("0b1010", 10UL)]
        [InlineData("0xffff_0000", 0xffff0000UL)]
        [InlineData("1_000_000", 1000000UL)]
        [InlineData("0x_ff", 0xffUL)]
        [InlineData("0xffff_ffff_ffff_ffff", ulong.MaxValue)]
        [InlineData("18446744073709551615", ulong.MaxValue)]
        [InlineData("007", 7UL)]
        public void Numbers_keep_their_text_and_value(string written, ulong value)
        {
            var mirror = Assert.IsType<MirrorStatement>(Assert.Single(Parse("mirror bar 0 offset " + written + " size 4\n").Statements));

            Assert.Equal(value, mirror.Offset.Value);
            Assert.Equal(written, mirror.Offset.Text);
        }

        [Fact]
        public void String_escapes_are_resolved()
        {
            var include = Assert.IsType<IncludeStatement>(Assert.Single(Parse("include \"a\\\\b \\\"c\\\" # d\"\n").Statements));

            Assert.Equal("a\\b \"c\" # d", include.Path.Value);
            Assert.False(include.IsExtends);
            Assert.Null(include.TrailingComment);
        }

        [Theory]
        [InlineData("extends library \"strict\"\n", true, true)]
        [InlineData("include library \"standard/capabilities/pm\"\n", false, true)]
        [InlineData("extends \"library\"\n", true, false)]
        public void A_library_include_names_the_library_and_a_path_named_library_is_a_path(string line, bool extends, bool fromLibrary)
        {
            var include = Assert.IsType<IncludeStatement>(Assert.Single(Parse(line).Statements));

            Assert.Equal(extends, include.IsExtends);
            Assert.Equal(fromLibrary, include.FromLibrary);
        }

        [Fact]
        public void Actions_record_what_was_written()
        {
            PolicyFile file = Parse(
                "default header passthrough ro\n" +
                "default capability virtualize rw1c init hw hw-rw1c\n" +
                "default gap virtualize ro\n" +
                "default unknown-capability hide body deny 0xff silent\n");

            ActionSyntax[] actions = file.Statements.Cast<DefaultStatement>().Select(d => d.Action!).ToArray();
            Assert.Equal((ActionKind.Passthrough, "ro"), (actions[0].Kind, actions[0].Mode!.Text));
            Assert.True(actions[1].InitFromHardware);
            Assert.True(actions[1].HardwareRw1c);
            Assert.Equal("rw1c", actions[1].Mode!.Text);
            Assert.False(actions[2].InitFromHardware);
            Assert.Null(actions[2].Value);
            Assert.Equal((ActionKind.Deny, 0xffUL, true), (actions[3].Kind, actions[3].Value!.Value, actions[3].Silent));
            var hide = (DefaultStatement)file.Statements[3];
            Assert.True(hide.Hide);
            Assert.Equal("unknown-capability", hide.Target.Text);
        }

        [Fact]
        public void Write_hw_and_not_equal_conditions_are_recorded_and_formatted_back()
        {
            const string text =
                "capability EXP {\n" +
                "  register 0x00 u16 LINK virtualize ro write-hw init hw\n" +
                "  register 0x28 u16 DEVCTL2 when FLAGS.VERS != 1, FLAGS.TYPE = 10 passthrough rw\n" +
                "}\n";
            PolicyFile file = Parse(text);

            var block = (BlockStatement)file.Statements[0];
            RegisterStatement link = block.Registers[0];
            Assert.True(link.Action!.WriteHardware);
            Assert.True(link.Action.InitFromHardware);
            Assert.Equal("virtualize ro write-hw init hw", PolicyFormatter.FormatAction(link.Action));

            RegisterStatement devctl2 = block.Registers[1];
            Assert.Equal(new[] { (true, "!="), (false, "=") }, devctl2.Conditions.Select(c => (c.NotEqual, c.Operator)).ToArray());
            Assert.Equal(text, PolicyFormatter.Format(file));
        }

        [Fact]
        public void Mirror_lines_hold_a_fixed_window_or_an_address_data_pair_and_format_back()
        {
            const string text =
                "mirror bar 2 offset 0x4000 size 0x1000\n" +
                "mirror bar 4 address 0x0 data 0x4 base 0x4000 size 0x1000\n";
            PolicyFile file = Parse(text);

            var fixedWindow = (MirrorStatement)file.Statements[0];
            Assert.Null(fixedWindow.DataOffset);
            Assert.Equal((2UL, 0x4000UL, 0x1000UL), (fixedWindow.Bar.Value, fixedWindow.Offset.Value, fixedWindow.Size.Value));

            var pair = (MirrorStatement)file.Statements[1];
            Assert.Equal((4UL, 0x0UL, 0x4UL, 0x4000UL, 0x1000UL), (pair.Bar.Value, pair.Offset.Value, pair.DataOffset!.Value, pair.Base!.Value, pair.Size.Value));
            Assert.Equal(text, PolicyFormatter.Format(file));
        }

        [Fact]
        public void A_file_of_garbage_stops_after_the_error_cap_and_says_where()
        {
            string garbage = string.Concat(System.Linq.Enumerable.Range(0, 5000).Select(i => "%%garbage " + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n"));
            ParseResult result = PolicyParser.Parse(new SourceFile("g.vfiopolicy", garbage));

            Assert.Null(result.File);
            Assert.Equal(Diagnostics.SyntaxDiagnostics.MaxErrors + 1, result.Diagnostics.Count);
            Diagnostics.Diagnostic last = result.Diagnostics[result.Diagnostics.Count - 1];
            Assert.Equal("VP0007", last.Id);
            Assert.Equal(Diagnostics.SyntaxDiagnostics.MaxErrors + 1, last.Span.Start.Line);
        }

        [Fact]
        public void A_file_with_fewer_errors_than_the_cap_reports_every_one()
        {
            string text = string.Concat(System.Linq.Enumerable.Repeat("%%\n", Diagnostics.SyntaxDiagnostics.MaxErrors - 1));
            ParseResult result = PolicyParser.Parse(new SourceFile("g.vfiopolicy", text));
            Assert.Equal(Diagnostics.SyntaxDiagnostics.MaxErrors - 1, result.Diagnostics.Count);
            Assert.DoesNotContain(result.Diagnostics, d => d.Id == "VP0007");
        }

        [Fact]
        public void Match_lines_hold_their_criteria()
        {
            PolicyFile file = Parse("match any\nmatch vendor 0x8086 mask 0xff00 class 0x020000\n");

            var any = (MatchStatement)file.Statements[0];
            Assert.True(any.Any);
            Assert.Empty(any.Criteria);
            var criteria = ((MatchStatement)file.Statements[1]).Criteria;
            Assert.Equal(new[] { "vendor", "class" }, criteria.Select(c => c.Field.Text).ToArray());
            Assert.Equal(0xff00UL, criteria[0].Mask!.Value);
            Assert.Null(criteria[1].Mask);
            AssertSpan(criteria[0].Span, 2, 7, 2, 32);
        }

        [Fact]
        public void Registers_by_offset_and_conditions_are_parsed()
        {
            PolicyFile file = Parse(
                "capability 0x05 {\n" +
                "  override register 0x0c u16 DATA_64 when FLAGS.64BIT = 1, FLAGS.MASKBIT = 0 virtualize rw init 0\n" +
                "}\n" +
                "hide extended-capability DSN\n");

            var block = (BlockStatement)file.Statements[0];
            Assert.Equal(BlockKind.Capability, block.Kind);
            Assert.Equal(5UL, block.Capability!.Id!.Value);
            Assert.Null(block.Capability.Name);
            RegisterStatement register = Assert.Single(block.Registers);
            Assert.True(register.Override);
            Assert.False(register.HasBody);
            Assert.Equal((0x0cUL, "u16", "DATA_64"), (register.Register.Offset!.Value, register.Register.Width!.Text, register.Register.Name!.Text));
            Assert.Equal(new[] { "FLAGS.64BIT=1", "FLAGS.MASKBIT=0" }, register.Conditions.Select(c => c.Register.Text + "." + c.Field.Text + "=" + c.Value.Text).ToArray());
            AssertSpan(register.Span, 2, 3, 2, 98);
            var hide = (HideStatement)file.Statements[1];
            Assert.True(hide.Extended);
            Assert.Equal("DSN", hide.Capability.Name!.Text);
            Assert.Null(hide.Body);
        }

        [Fact]
        public void Crlf_text_parses_like_lf_text_with_positions_of_its_own()
        {
            PolicyFile file = Parse("policy \"edu\" # name\r\nheader {\r\n  register COMMAND passthrough ro\r\n}\r\n");

            Assert.Equal("# name", file.Statements[0].TrailingComment!.Text);
            var header = (BlockStatement)file.Statements[1];
            AssertSpan(header.Span, 2, 1, 4, 2);
            Assert.Equal(21, header.Span.Start.Offset);
        }

        [Fact]
        public void A_valid_policy_gives_no_diagnostics()
        {
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", Policy));

            Assert.True(result.Succeeded);
            Assert.Empty(result.Diagnostics);
        }

        [Fact]
        public void A_syntax_error_spans_the_offending_token()
        {
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", "match any\ndefault gap passthrough rx # typo\n"));

            var error = Assert.Single(result.Diagnostics);
            Assert.Equal(VfioPolicy.Grammar.Diagnostics.SyntaxDiagnostics.UnexpectedTokenId, error.Id);
            AssertSpan(error.Span, 2, 25, 2, 27);
            Assert.Equal(34, error.Span.Start.Offset);
            Assert.Equal(2, error.Span.Length);
        }

        [Fact]
        public void An_empty_file_is_an_empty_policy()
        {
            PolicyFile file = Parse(string.Empty);

            Assert.Empty(file.Statements);
            Assert.Empty(file.TrailingComments);
            AssertSpan(file.Span, 1, 1, 1, 1);
        }

        [Fact]
        public void Parse_rejects_a_null_file()
        {
            Assert.Throws<ArgumentNullException>(() => PolicyParser.Parse(null!));
        }

        private static PolicyFile Parse(string text)
        {
            ParseResult result = PolicyParser.Parse(new SourceFile("policy.vfiopolicy", text));
            Assert.True(result.File != null, string.Join("\n", result.Diagnostics));
            return result.File!;
        }

        private static void AssertSpan(SourceSpan span, int startLine, int startColumn, int endLine, int endColumn)
            => Assert.Equal((startLine, startColumn, endLine, endColumn), (span.Start.Line, span.Start.Column, span.End.Line, span.End.Column));
    }
}
