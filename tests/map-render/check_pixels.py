#!/usr/bin/env python3
"""Checks pixel colours of a PNG screenshot at given points.

Usage: check_pixels.py SCREENSHOT.png X,Y=#rrggbb[,TOLERANCE] ...

Decodes the PNG with the standard library only (zlib; 8-bit RGB/RGBA, non-interlaced, filter types 0-4), so the
test needs no imaging package. Exits 1 and names every point whose colour differs by more than the tolerance
(default 8 per channel: anti-aliasing never reaches the sampled interiors, but colour management may shift a unit).
"""
import struct
import sys
import zlib


def decode(path):
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(path + ": not a PNG file")
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace != 0:
        raise SystemExit(path + ": only 8-bit RGB/RGBA non-interlaced PNGs are supported (got depth %d, colour type %d, interlace %d)" % (depth, colour, interlace))
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        filter_type = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            upper_left = previous[i - channels] if i >= channels else 0
            if filter_type == 1:
                line[i] = (line[i] + left) & 0xFF
            elif filter_type == 2:
                line[i] = (line[i] + up) & 0xFF
            elif filter_type == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif filter_type == 4:
                estimate = left + up - upper_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                line[i] = (line[i] + predictor) & 0xFF
            elif filter_type != 0:
                raise SystemExit(path + ": unknown PNG filter type %d" % filter_type)
        rows.append(line)
        previous = line
    return width, height, channels, rows


def main(arguments):
    if len(arguments) < 2:
        raise SystemExit(__doc__)
    width, height, channels, rows = decode(arguments[0])
    failures = []
    for spec in arguments[1:]:
        point, expected = spec.split("=")
        x, y = (int(v) for v in point.split(","))
        colour, _, tolerance = expected.partition(",")
        tolerance = int(tolerance) if tolerance else 8
        want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
        if not (0 <= x < width and 0 <= y < height):
            failures.append("%s: outside the %dx%d screenshot" % (point, width, height))
            continue
        got = tuple(rows[y][x * channels:x * channels + 3])
        if any(abs(a - b) > tolerance for a, b in zip(got, want)):
            failures.append("%s: expected %s, got #%02x%02x%02x" % (point, colour, got[0], got[1], got[2]))
    for failure in failures:
        print("pixel " + failure)
    print("%d of %d pixel checks passed" % (len(arguments) - 1 - len(failures), len(arguments) - 1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
