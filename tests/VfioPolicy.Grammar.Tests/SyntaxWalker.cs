using System.Collections.Generic;
using System.Linq;
using VfioPolicy.Grammar.Syntax;

namespace VfioPolicy.Grammar.Tests
{
    /// <summary>Walks a syntax tree in source order.</summary>
    public static class SyntaxWalker
    {
        /// <summary>Every statement, nested ones after their parent.</summary>
        public static IEnumerable<Statement> Statements(PolicyFile file) => file.Statements.SelectMany(Flatten);

        /// <summary>Every comment in source order.</summary>
        public static IEnumerable<Comment> Comments(PolicyFile file)
        {
            foreach (Statement statement in file.Statements)
            {
                foreach (Comment comment in Comments(statement))
                {
                    yield return comment;
                }
            }

            foreach (Comment comment in file.TrailingComments)
            {
                yield return comment;
            }
        }

        private static IEnumerable<Statement> Flatten(Statement statement)
        {
            yield return statement;
            IEnumerable<Statement> children = statement switch
            {
                BlockStatement block => InSourceOrder(block),
                RegisterStatement register => register.Fields,
                _ => Enumerable.Empty<Statement>(),
            };
            foreach (Statement child in children.SelectMany(Flatten))
            {
                yield return child;
            }
        }

        /// <summary>A block's registers and block defaults, in the order they were written.</summary>
        private static IEnumerable<Statement> InSourceOrder(BlockStatement block)
            => block.Registers.Cast<Statement>().Concat(block.Defaults).OrderBy(s => s.Span.Start.Offset);

        private static IEnumerable<Comment> Comments(Statement statement)
        {
            foreach (Comment comment in statement.LeadingComments)
            {
                yield return comment;
            }

            if (statement.TrailingComment != null)
            {
                yield return statement.TrailingComment;
            }

            (IEnumerable<Statement> children, IReadOnlyList<Comment> closing, Comment? closingLine) = statement switch
            {
                BlockStatement block => (InSourceOrder(block), block.ClosingComments, block.ClosingLineComment),
                RegisterStatement register => ((IEnumerable<Statement>)register.Fields, register.ClosingComments, register.ClosingLineComment),
                _ => (Enumerable.Empty<Statement>(), (IReadOnlyList<Comment>)System.Array.Empty<Comment>(), (Comment?)null),
            };
            foreach (Comment comment in children.SelectMany(Comments).Concat(closing))
            {
                yield return comment;
            }

            if (closingLine != null)
            {
                yield return closingLine;
            }
        }
    }
}
