using System;
using System.Linq;
using VfioPolicy.AccessModel.Devices;
using VfioPolicy.Runtime;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.Runtime.Simulation;

// edu-demo ADDRESS            QEMU's edu device bound to vfio-pci (as root, IOMMU on)
// edu-demo --simulate DUMP    a simulated edu, built from an `lspci -xxx` dump of one
IVfioKernel kernel;
string address;
if (args.Length == 2 && args[0] == "--simulate")
{
    var edu = new SimulatedPciDevice("0000:01:00.0", ConfigDumpReader.Load(args[1], null).Bytes);
    edu.Bars[0] = new SimulatedBar(0x100000, model: new SimulatedEduModel());
    kernel = new SimulatedVfioKernel(edu);
    address = edu.Address;
}
else if (args.Length == 1)
{
    kernel = new LinuxVfioKernel();
    address = args[0];
}
else
{
    Console.Error.WriteLine("usage: edu-demo ADDRESS | edu-demo --simulate DUMP");
    return 2;
}

try
{
    // One IOMMU address space, as a VM has. The device opens with the policy the build compiled for it
    // (edu.vfiopolicy): every config access of the consumer goes through that policy's firewall.
    using VfioContainer container = VfioContainer.Create(kernel);
    using VfioDevice device = container.OpenDevice(address);
    Console.WriteLine($"{device.Address}: policy {device.Firewall.PolicyName}, opened through {device.OpenPath}");

    // Memory decoding and bus mastering, as a driver turns them on.
    device.WriteConfig(0x04, 2, 0x0006);
    VfioBar bar0 = device.Bar(0);
    Console.WriteLine($"identification 0x{bar0.Read(0x00, 4):x8}");

    // DMA: the device reads one buffer and writes another, each at an IOVA this address space maps.
    using VfioDmaBuffer source = container.AllocateDmaBuffer(4096);
    using VfioDmaBuffer target = container.AllocateDmaBuffer(4096);
    byte[] message = "hello through the IOMMU"u8.ToArray();
    source.Write(0, message);
    using VfioDmaMapping readable = container.MapDma(0x100000, source, VfioDmaAccess.Read);
    using VfioDmaMapping writable = container.MapDma(0x200000, target, VfioDmaAccess.Write);
    EduDma(bar0, from: 0x100000, to: 0x40000, message.Length, toHost: false); // host memory -> edu's buffer
    EduDma(bar0, from: 0x40000, to: 0x200000, message.Length, toHost: true);  // edu's buffer -> host memory
    Console.WriteLine($"DMA round trip: {System.Text.Encoding.ASCII.GetString(target.ToArray(0, message.Length))}");

    // Interrupts: the consumer enables MSI in its view of config space; the runtime programs VFIO and delivers each
    // interrupt to the vector's eventfd.
    int msi = device.Binding.Capabilities.Single(c => !c.Info.Extended && c.Info.Id == 0x05).Info.Offset;
    device.WriteConfig(msi + 4, 4, 0xfee00000);
    device.WriteConfig(msi + 2, 2, 0x0001);
    bar0.Write(0x60, 4, 1);                                     // edu: raise an interrupt
    bool arrived = device.MsiVectors[0].Wait(1000);
    bar0.Write(0x64, 4, 1);                                     // edu: acknowledge it
    Console.WriteLine($"MSI {(arrived ? "arrived" : "did not arrive")} ({device.InterruptMode}, {device.ActiveVectorCount} vector)");
    return arrived ? 0 : 1;
}
catch (VfioException error)
{
    Console.Error.WriteLine($"{error.Kind}: {error.Message}");
    return 1;
}

// One transfer of edu's DMA engine (QEMU docs/specs/edu.rst): source, destination, count, then the command.
static void EduDma(VfioBar bar0, ulong from, ulong to, int count, bool toHost)
{
    bar0.Write(0x80, 8, from);
    bar0.Write(0x88, 8, to);
    bar0.Write(0x90, 8, (ulong)count);
    bar0.Write(0x98, 8, toHost ? 0x3UL : 0x1UL);
    for (int waited = 0; (bar0.Read(0x98, 8) & 1) != 0; waited++)
    {
        if (waited == 1000)
        {
            throw new TimeoutException("edu's DMA did not finish within 1 s");
        }

        System.Threading.Thread.Sleep(1);
    }
}
