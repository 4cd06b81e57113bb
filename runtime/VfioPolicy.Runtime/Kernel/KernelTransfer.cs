using System;
using System.Globalization;

namespace VfioPolicy.Runtime.Kernel
{
    /// <summary>
    /// pread/pwrite with POSIX's two non-errors handled: EINTR (retried, a bounded number of times) and a short
    /// transfer (the rest transferred from where the kernel stopped). Everything else is a typed error.
    /// </summary>
    /// <remarks>
    /// vfio-pci moves config space in aligned chunks and returns the count done so far when a later chunk fails, so a
    /// short count means "these bytes happened": giving up would leave a partial write on the device; continuing
    /// completes it. A call that transfers nothing, or a signal storm, is reported as an error instead of a loop.
    /// </remarks>
    internal static class KernelTransfer
    {
        /// <summary>How many EINTRs in a row one transfer tolerates before reporting the last one.</summary>
        internal const int MaxInterruptedRetries = 16;

        /// <summary>Reads all of <paramref name="buffer"/> at <paramref name="offset"/> of <paramref name="fd"/>.</summary>
        /// <exception cref="VfioException">The kernel failed the read (its errno), or transferred nothing (EIO).</exception>
        public static void ReadFully(IVfioKernel kernel, int fd, Span<byte> buffer, long offset, string operation)
        {
            int done = 0;
            int interrupted = 0;
            while (done < buffer.Length)
            {
                int count;
                try
                {
                    count = kernel.PRead(fd, buffer.Slice(done), offset + done);
                }
                catch (VfioException error) when (error.Errno == VfioConstants.EINTR && ++interrupted <= MaxInterruptedRetries)
                {
                    continue;
                }

                done += Progress(count, buffer.Length - done, done, operation, "read");
                interrupted = 0;
            }
        }

        /// <summary>Writes all of <paramref name="buffer"/> at <paramref name="offset"/> of <paramref name="fd"/>.</summary>
        /// <exception cref="VfioException">The kernel failed the write (its errno), or transferred nothing (EIO).</exception>
        public static void WriteFully(IVfioKernel kernel, int fd, ReadOnlySpan<byte> buffer, long offset, string operation)
        {
            int done = 0;
            int interrupted = 0;
            while (done < buffer.Length)
            {
                int count;
                try
                {
                    count = kernel.PWrite(fd, buffer.Slice(done), offset + done);
                }
                catch (VfioException error) when (error.Errno == VfioConstants.EINTR && ++interrupted <= MaxInterruptedRetries)
                {
                    continue;
                }

                done += Progress(count, buffer.Length - done, done, operation, "write");
                interrupted = 0;
            }
        }

        private static int Progress(int count, int remaining, int done, string operation, string verb)
        {
            if (count <= 0 || count > remaining)
            {
                string detail = string.Format(CultureInfo.InvariantCulture, "short {0}: the kernel transferred {1} of the remaining {2} bytes after {3}", verb, count, remaining, done);
                throw new VfioException(VfioErrorKind.Kernel, operation, VfioConstants.EIO, detail);
            }

            return count;
        }
    }
}
