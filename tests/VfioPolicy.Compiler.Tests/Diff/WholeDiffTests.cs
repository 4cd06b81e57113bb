using System.Text;
using VfioPolicy.Compiler.Diff;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Compiler.Tests.Diff
{
    /// <summary>
    /// One pair of policies that changes something in every part a diff compares (name, match, defaults, mirrors,
    /// header and device-specific registers, behaviors, conditioned registers, a block default, hides of known and
    /// unnamed capabilities, an extended capability), diffed both ways; then a pair that hides, unhides and adds
    /// capabilities under a hiding and a non-hiding unknown-capability default. The approved text
    /// (Snapshots/whole-diff.verified.txt) was read line by line against docs/reviewing-policies.md before it was
    /// approved; it pins the order, the grouping, every before/after and every reason together.
    /// </summary>
    public sealed class WholeDiffTests
    {
        private const string Old = @"policy ""old""
match vendor 0x8086 device 0x10d3
default header passthrough ro
default capability deny 0
default gap deny 0
default unknown-capability hide
mirror bar 0 offset 0x88000 size 0x1000
mirror bar 2 address 0x0 data 0x4 base 0x4000 size 0x1000
header {
  register COMMAND behavior command virtualize rw {
    bits 0..1 passthrough rw
  }
  register BASE_ADDRESS_0 behavior bar virtualize rw init 0
  register 0x3c u8 LINE virtualize rw init 0x0b
}
device-specific {
  register 0x40 u32 MAILBOX passthrough rw
}
capability MSI {
  register FLAGS behavior msi virtualize rw init hw
  register 0x08 u16 when FLAGS.ADDR_64 = 0 virtualize rw
}
capability PM {
  default passthrough ro
  register CTRL passthrough rw
}
hide capability VPD
extended-capability ERR {
  register 0x04 u32 UNCOR passthrough rw hw-rw1c
}
";

        private const string New = @"policy ""new""
match vendor 0x8086
default header passthrough ro
default capability deny 0xff
default gap deny 0
default unknown-capability deny 0
mirror bar 0 offset 0x88000 size 0x1000
mirror bar 4 offset 0x0 size 0x100
header {
  register COMMAND behavior command virtualize rw {
    bits 0..2 passthrough rw
  }
  register BASE_ADDRESS_0 virtualize rw init 0
  register 0x3c u8 LINE virtualize rw init 0x0c
  register ROM_ADDRESS behavior rom virtualize rw init 0
}
device-specific {
  register 0x40 u32 MAILBOX passthrough ro {
    bits 0..7 passthrough rw
  }
}
capability MSI {
  register FLAGS behavior msi virtualize rw init hw
  register 0x08 u16 when FLAGS.ADDR_64 = 0 virtualize ro
  register 0x0c u16 when FLAGS.ADDR_64 = 1, FLAGS.QSIZE = 5 deny 0x1234
}
capability PM {
  register CTRL passthrough rw
}
hide capability VPD body deny 0xff
hide capability 0x09
extended-capability ERR {
  register 0x04 u32 UNCOR passthrough rw
}
";

        private const string OldHides = @"policy ""hides""
match any
default header passthrough ro
default capability deny 0
default gap deny 0
default unknown-capability hide body deny 0xff
hide capability MSI
capability EXP {
  register DEVCTL passthrough ro
}
hide capability VPD
";

        private const string NewHides = @"policy ""hides""
match any
default header passthrough ro
default capability deny 0
default gap deny 0
default unknown-capability passthrough ro
capability MSI {
  register FLAGS passthrough ro
}
hide capability EXP body passthrough ro
capability PM {
  default deny 0x5a
}
extended-capability 0x99 {
  register 0x10 u32 X passthrough rw
}
";

        [Fact]
        public void Every_part_of_a_policy_changed_at_once_diffs_as_approved_both_ways()
        {
            var oldModel = TestPolicies.CompileModel(Old);
            var newModel = TestPolicies.CompileModel(New);
            var text = new StringBuilder();
            text.Append(DiffTextRenderer.Render(new[] { PolicyDiffer.Compare(oldModel, newModel, "old.vfiopolicy", "new.vfiopolicy") }, color: false));
            text.Append('\n');
            text.Append(DiffTextRenderer.Render(new[] { PolicyDiffer.Compare(newModel, oldModel, "new.vfiopolicy", "old.vfiopolicy") }, color: false));
            text.Append('\n');
            text.Append(DiffTextRenderer.Render(new[] { PolicyDiffer.Compare(TestPolicies.CompileModel(OldHides), TestPolicies.CompileModel(NewHides), "old-hides.vfiopolicy", "new-hides.vfiopolicy") }, color: false));
            text.Append('\n');
            text.Append(DiffTextRenderer.Render(new[] { PolicyDiffer.Compare(TestPolicies.CompileModel(NewHides), TestPolicies.CompileModel(OldHides), "new-hides.vfiopolicy", "old-hides.vfiopolicy") }, color: false));
            Snapshot.Match(text.ToString(), "whole-diff", "Snapshots");
        }
    }
}
