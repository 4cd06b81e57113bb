using VfioPolicy.AccessModel.Model;

namespace VfioPolicy.Compiler.Binding
{
    /// <summary>The seven behavior names of the language and their model values.</summary>
    internal static class BehaviorNames
    {
        public const string Expected = "bar, rom, command, msi, msix, flr or pm";

        public static bool TryParse(string name, out Behavior behavior)
        {
            switch (name)
            {
                case "bar": behavior = Behavior.Bar; return true;
                case "rom": behavior = Behavior.Rom; return true;
                case "command": behavior = Behavior.Command; return true;
                case "msi": behavior = Behavior.Msi; return true;
                case "msix": behavior = Behavior.Msix; return true;
                case "flr": behavior = Behavior.Flr; return true;
                case "pm": behavior = Behavior.Pm; return true;
                default: behavior = Behavior.None; return false;
            }
        }

        public static string Name(Behavior behavior) => behavior.ToString().ToLowerInvariant();
    }
}
