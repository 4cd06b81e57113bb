using System.IO;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>Reads the user's input files with one-line messages for the usual failures.</summary>
    public static class InputFiles
    {
        /// <summary>The absolute path of an existing file, or a <see cref="CommandFailedException"/> naming <paramref name="what"/>.</summary>
        public static string RequireFile(CliContext context, string path, string what)
        {
            string full = context.Resolve(path);
            if (Directory.Exists(full))
            {
                throw new CommandFailedException(what + " " + context.Display(full) + " is a folder, not a file");
            }

            if (!File.Exists(full))
            {
                throw new CommandFailedException(what + " not found: " + context.Display(full));
            }

            return full;
        }

        /// <summary>The text of an existing file (see <see cref="RequireFile"/>).</summary>
        public static string ReadText(CliContext context, string path, string what)
            => File.ReadAllText(RequireFile(context, path, what));
    }
}
