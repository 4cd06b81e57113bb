using System;
using VfioPolicy.Runtime.Kernel;
using VfioPolicy.VfioUser.Client;

namespace VfioPolicy.Cli.Serving
{
    /// <summary>
    /// The kernel seam a device name needs: <c>vfio-user:PATH</c> is the device a vfio-user server serves on PATH
    /// (<see cref="VfioUserKernel"/>, the device at its <see cref="VfioUserKernel.Address"/>); anything else is a PCI
    /// address or sysfs path for the host's own vfio-pci.
    /// </summary>
    public sealed class DeviceKernel : IDisposable
    {
        private readonly VfioUserKernel? _vfioUser;

        private DeviceKernel(IVfioKernel kernel, string address, VfioUserKernel? vfioUser)
        {
            Kernel = kernel;
            Address = address;
            _vfioUser = vfioUser;
        }

        /// <summary>The seam to open the device through.</summary>
        public IVfioKernel Kernel { get; }

        /// <summary>The name to open it by.</summary>
        public string Address { get; }

        /// <summary>How to show the device to a person.</summary>
        public string Display(string opened) => _vfioUser is null ? opened : VfioUserKernel.Prefix + _vfioUser.SocketPath;

        /// <summary>The seam for <paramref name="device"/>, over <paramref name="host"/>.</summary>
        public static DeviceKernel For(string device, LinuxVfioKernel host, Func<string, string> resolve)
        {
            if (VfioUserKernel.TryParse(device, out string socket))
            {
                var kernel = new VfioUserKernel(host, resolve(socket));
                return new DeviceKernel(kernel, VfioUserKernel.Address, kernel);
            }

            return new DeviceKernel(host, device, null);
        }

        /// <summary>Disconnects from a vfio-user server, if that is where the device is.</summary>
        public void Dispose() => _vfioUser?.Dispose();
    }
}
