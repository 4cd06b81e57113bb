using System;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace VfioPolicy.Cli.Rendering
{
    /// <summary>
    /// Compact JSON objects for line-per-item output: arrays print one object per line, so large maps diff well and
    /// the layout never depends on a serializer's indentation settings.
    /// </summary>
    public static class JsonLines
    {
        private static readonly JsonWriterOptions Options = new JsonWriterOptions
        {
            Indented = false,
            // Paths and names stay readable ("<chain>", not "\u003Cchain\u003E"); output is never embedded in HTML.
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };

        /// <summary>
        /// The <c>"schema"</c> and <c>"device"</c> properties every JSON output starts with: the document's schema id
        /// (<c>vfiopolicy.caps/1</c>) and the device's identity in hex, its slot and the dump it came from.
        /// </summary>
        public static string Header(string schema, Infrastructure.LoadedDevice device)
        {
            var identity = AccessModel.Devices.DeviceIdentityReader.Read(device.Image.Bytes);
            string Hex(int value, int digits) => "0x" + value.ToString("x" + digits.ToString(System.Globalization.CultureInfo.InvariantCulture), System.Globalization.CultureInfo.InvariantCulture);
            return "\"schema\":" + Quote(schema) + ",\"device\":" + Object(writer =>
            {
                writer.WriteString("vendor", Hex(identity.Vendor, 4));
                writer.WriteString("device", Hex(identity.Device, 4));
                writer.WriteString("subsystemVendor", Hex(identity.SubsystemVendor, 4));
                writer.WriteString("subsystem", Hex(identity.Subsystem, 4));
                writer.WriteString("class", Hex(identity.ClassCode, 6));
                writer.WriteString("revision", Hex(identity.Revision, 2));
                if (device.Image.Slot is null)
                {
                    writer.WriteNull("slot");
                }
                else
                {
                    writer.WriteString("slot", device.Image.Slot);
                }

                writer.WriteString("source", device.DisplayPath);
                writer.WriteNumber("size", device.Image.Size);
            });
        }

        /// <summary>A JSON string literal.</summary>
        public static string Quote(string value) => "\"" + JsonEncodedText.Encode(value ?? string.Empty, Options.Encoder).ToString() + "\"";

        /// <summary>One compact JSON object whose properties <paramref name="writeProperties"/> writes in order.</summary>
        public static string Object(Action<Utf8JsonWriter> writeProperties)
        {
            using var stream = new MemoryStream();
            using (var writer = new Utf8JsonWriter(stream, Options))
            {
                writer.WriteStartObject();
                writeProperties(writer);
                writer.WriteEndObject();
            }

            return Encoding.UTF8.GetString(stream.ToArray());
        }
    }
}
