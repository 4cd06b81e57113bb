using System;
using System.IO;
using System.Linq;
using VfioPolicy.Testing;
using Xunit;

namespace VfioPolicy.Hardening.Tests.Oracle
{
    /// <summary>
    /// The oracle against answers worked out by hand from docs/access-model.md and docs/language.md. The isolation
    /// suite only shows that the oracle and the engines agree; these show the oracle says what the documents say, so
    /// the two cannot drift into agreeing on a wrong reading.
    /// </summary>
    public sealed class OracleTests
    {
        /// <summary>
        /// A 256-byte type-0 device: Status with the Capabilities List bit and PARITY (a write-1-to-clear bit) set, and
        /// the chain PM (0x40) → MSI, 64-bit (0x50) → VPD (0x68) → vendor-specific, 8 bytes (0x70).
        /// </summary>
        private static byte[] Device()
        {
            var c = new byte[256];
            c[0x00] = 0x34;
            c[0x01] = 0x12;
            c[0x02] = 0xe8;
            c[0x03] = 0x11;
            c[0x06] = 0x10;
            c[0x07] = 0x01;
            c[0x34] = 0x40;
            c[0x40] = 0x01;
            c[0x41] = 0x50;
            c[0x50] = 0x05;
            c[0x51] = 0x68;
            c[0x52] = 0x80;
            c[0x68] = 0x03;
            c[0x69] = 0x70;
            c[0x6a] = 0x77;
            c[0x70] = 0x09;
            c[0x71] = 0x00;
            c[0x72] = 0x08;
            return c;
        }

        private static OracleDevice Strict() => new OracleDevice(OracleLayout.Build(OraclePolicies.For("strict"), Device()), Device());

        private static int LineOf(string file, string text)
            => Array.FindIndex(File.ReadAllLines(Path.Combine(RepositoryPaths.Policies, file)), l => l.Contains(text, StringComparison.Ordinal)) + 1;

        [Fact]
        public void A_hidden_capability_is_unlinked_and_its_body_denied_and_audited_by_the_hide_line()
        {
            OracleDevice device = Strict();
            Assert.Equal(0x40u, device.Read(0x34, 1));
            Assert.Equal(0x70u, device.Read(0x51, 1));              // MSI's next pointer skips the hidden VPD
            Assert.Equal(0u, device.Read(0x68, 4));                 // VPD's bytes read the hide body's deny 0
            OracleWriteResult write = device.Write(0x6a, 2, 0x1234);
            OracleAudit audit = Assert.Single(write.Audit);
            Assert.Equal(new OracleAudit(0x6a, 2, 0x1234, new OracleOrigin("strict.vfiopolicy", LineOf("strict.vfiopolicy", "hide capability VPD")), "strict"), audit);
            Assert.Empty(write.HardwareWrites);
            Assert.Equal(0x77, device.Hardware[0x6a]);
        }

        [Fact]
        public void A_command_write_stores_virtualized_bits_passes_master_through_and_audits_the_lowest_denied_bit_once()
        {
            OracleDevice device = Strict();
            OracleWriteResult write = device.Write(0x04, 2, 0xffff);

            // SPECIAL (bit 3) is the lowest denied bit the write tried to change; INVALIDATE (bit 4) is silent.
            OracleAudit audit = Assert.Single(write.Audit);
            Assert.Equal(new OracleOrigin("standard/header-type0.vfiopolicy", LineOf("standard/header-type0.vfiopolicy", "field SPECIAL deny 0")), audit.Rule);
            Assert.Equal((0x04, 2), Assert.Single(write.HardwareWrites));
            Assert.Equal(0x04, device.Hardware[0x04]);              // MASTER only
            Assert.Equal(0x0547u, device.Read(0x04, 2));            // IO, MEMORY, MASTER, PARITY, SERR, INTX_DISABLE
        }

        [Fact]
        public void A_silent_denial_raises_no_event()
        {
            OracleDevice device = Strict();
            Assert.Empty(device.Write(0x04, 1, 0x10).Audit);       // INVALIDATE only: deny 0 silent
        }

        [Fact]
        public void A_merge_keeps_a_set_status_bit_unless_the_consumer_writes_a_1_to_it()
        {
            OracleDevice device = Strict();
            device.Write(0x04, 4, 0x0000_0004);                     // MASTER makes it a read-modify-write of the dword
            Assert.Equal(0x01, device.Hardware[0x07]);              // PARITY (hw-rw1c) stays set
            device.Write(0x04, 4, 0x0100_0004);
            Assert.Equal(0x00, device.Hardware[0x07]);              // a written 1 clears it
        }

        [Fact]
        public void A_bit_range_takes_exactly_its_bits_and_its_value_is_right_aligned_to_them()
        {
            string path = Path.Combine(Path.GetTempPath(), "oracle-range-" + Guid.NewGuid().ToString("N") + ".vfiopolicy");
            File.WriteAllText(path, string.Join("\n",
                "policy \"range\"",
                "match any",
                "default header passthrough ro",
                "default capability passthrough ro",
                "default gap passthrough ro",
                "default unknown-capability passthrough ro",
                "header {",
                "  register 0x3c u8 LINE passthrough rw {",
                "    bits 4..6 deny 0x5",
                "  }",
                "}",
                string.Empty));
            try
            {
                byte[] image = Device();
                image[0x3c] = 0x0f;
                var device = new OracleDevice(OracleLayout.Build(OraclePolicy.Load(path), image), image);
                Assert.Equal(0x5fu, device.Read(0x3c, 1));          // 0x5 at bits 4..6, hardware bits 0..3 and 7
                OracleWriteResult write = device.Write(0x3c, 1, 0xff);
                Assert.Equal(9, Assert.Single(write.Audit).Rule.Line);
                Assert.Equal(0x8f, device.Hardware[0x3c]);          // bits 4..6 keep the hardware's 0
                Assert.Equal(0xdfu, device.Read(0x3c, 1));
                Assert.Empty(device.Write(0x3c, 1, 0x50).Audit);    // writing the constant changes nothing denied
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void Every_library_policy_is_read_and_laid_out_on_every_corpus_device_with_nothing_undecided()
        {
            foreach (string name in HardeningInputs.Policies.Select(p => p.Name))
            {
                foreach (CorpusDevice corpus in HardeningInputs.CorpusDevices)
                {
                    Assert.Equal(0, OracleLayout.Build(OraclePolicies.For(name), corpus.Image.Bytes).UndecidedOriginBits);
                }
            }
        }
    }
}
