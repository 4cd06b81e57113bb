using System;
using System.Collections.Generic;
using System.Linq;

namespace VfioPolicy.GuestTests
{
    /// <summary>Entry point: runs inside the guest of tests/vfio-qemu/run.sh, which sets VFIOPOLICY_GUEST=1.</summary>
    internal static class Program
    {
        private static int Main()
        {
            if (Environment.GetEnvironmentVariable("VFIOPOLICY_GUEST") != "1")
            {
                Console.Error.WriteLine("These tests drive real devices through vfio-pci and write their config space; they run only inside the guest that tests/vfio-qemu/run.sh boots (VFIOPOLICY_GUEST=1).");
                return 2;
            }

            GuestMachine machine;
            try
            {
                machine = GuestMachine.Discover();
            }
            catch (Exception exception)
            {
                return TestRunner.Run(new[] { new GuestTest("machine: discover the PCI functions", () => throw exception) });
            }

            foreach (PciFunction function in machine.Functions)
            {
                Console.WriteLine($"device {function.Address} {function.Vendor:x4}:{function.Device:x4} driver={function.Driver ?? "none"} group={function.IommuGroup?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} bridges={function.BridgeDepth}");
            }

            IEnumerable<GuestTest> tests = ConfigSpaceTests.All(machine).Concat(KernelModelTests.All(machine)).Concat(RuntimeTests.All(machine)).Concat(VmmTests.All(machine)).Concat(VirtualFunctionTests.All(machine)).Concat(ServeTests.All(machine));
            return TestRunner.Run(tests);
        }
    }
}
