#!/usr/bin/env python3
"""Decodes the QR code of an SVG the hub's console draws, with zxing-cpp (an independent reader).

Usage: read_qr.py FILE.svg   prints the text the code holds, or exits 1 saying why.
The SVG is the console's own shape: a white square `viewBox="0 0 N N"` and one path of unit
squares `M{x} {y}h1v1h-1z`, one per dark module.
"""
import re
import sys

import numpy
import zxingcpp


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', text)
    path = re.search(r'<path d="([^"]*)"', text)
    if not size or not path:
        sys.exit("not a QR code SVG of the console")
    n = int(size.group(1))
    scale = 8
    image = numpy.full((n * scale, n * scale), 255, dtype=numpy.uint8)
    for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", path.group(1)):
        x, y = int(x), int(y)
        image[y * scale:(y + 1) * scale, x * scale:(x + 1) * scale] = 0
    found = zxingcpp.read_barcodes(image)
    if not found:
        sys.exit("no QR code found")
    print(found[0].text, end="")


if __name__ == "__main__":
    main()
