using System.CommandLine;

namespace VfioPolicy.Cli.Infrastructure
{
    /// <summary>Output formats of the reporting verbs.</summary>
    public enum OutputFormat
    {
        /// <summary>A table for people.</summary>
        Text,

        /// <summary>Stable JSON for tools.</summary>
        Json,
    }

    /// <summary>Options several verbs share, built fresh per command (System.CommandLine symbols have one parent each).</summary>
    public static class CommonOptions
    {
        /// <summary><c>--device DUMP</c>: an <c>lspci -x</c>-style text dump or a raw binary config-space image.</summary>
        public static Option<string> Device() => new Option<string>("--device", "-d")
        {
            Description = "Device config-space dump (lspci -xxx/-xxxx text, or a raw binary image)",
            Required = true,
            HelpName = "DUMP",
        };

        /// <summary><c>--pf DUMP</c>: the physical function of an SR-IOV virtual function whose dump does not hold it.</summary>
        public static Option<string?> PhysicalFunction() => new Option<string?>("--pf")
        {
            Description = "Dump of the SR-IOV physical function, when --device is a virtual function (vendor and device 0xffff) dumped alone",
            HelpName = "DUMP",
        };

        /// <summary><c>--slot S</c>: which device of a multi-device dump.</summary>
        public static Option<string?> Slot() => new Option<string?>("--slot", "-s")
        {
            Description = "Slot ([DDDD:]BB:DD.F) of the device when the dump holds several",
            HelpName = "SLOT",
        };

        /// <summary><c>--policy P</c>: a complete policy file.</summary>
        public static Option<string> Policy() => new Option<string>("--policy", "-p")
        {
            Description = "Policy file (.vfiopolicy) with a 'policy' line",
            Required = true,
            HelpName = "POLICY",
        };

        /// <summary><c>--format text|json</c>.</summary>
        public static Option<OutputFormat> Format()
        {
            var option = new Option<OutputFormat>("--format", "-f")
            {
                Description = "Output format",
                DefaultValueFactory = _ => OutputFormat.Text,
                HelpName = "text|json",
            };

            // Validates the word before the enum conversion, so a bad value is reported in the option's own terms.
            option.AcceptOnlyFromAmong("text", "json");
            return option;
        }

        /// <summary><c>--force</c>: skip the policy's device match.</summary>
        public static Option<bool> Force() => new Option<bool>("--force")
        {
            Description = "Apply the policy even if none of its match lines holds for the device",
        };
    }
}
