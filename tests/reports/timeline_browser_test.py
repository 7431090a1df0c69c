#!/usr/bin/env python3
"""End-to-end tests of `faultline timeline`.

Goal: the page a user opens is a real, self-contained space-time diagram of the
counterexample, and the command treats bad input like every other subcommand.

Method, case `browser`: render the textbook dual-write loss (a hand-made scenario:
one command, the service crashes at service.after_commit) with the faultline
command, open the page in headless Chromium, and check
  - the DOM Chromium built (--dump-dom): a lane for each node, message arrows, a
    crash mark, the violation's text, the highlighted records;
  - the screenshot (--screenshot): not blank, with many colours and the alarm
    colour of the highlighted violation visible;
  - the page itself: no external resource, and the same run gives the same bytes.
Chromium missing is a failure, not a skip: scripts/deps.sh installs it.

Case `command`: bad input is one line `faultline: error: ...`, exit code 2, and no
file written.

Usage: timeline_browser_test.py FAULTLINE_BINARY (browser|command)
"""
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

NODES = ["client", "service", "db", "broker", "consumer", "consumer-db"]
SCENARIO = {
    "design": "dual-write-db-first",
    "seed": 1,
    "workload": {"commands": 1},
    "faults": [{"kind": "crash", "point": "service.after_commit", "hit": 1}],
}


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def find_chromium():
    """FAULTLINE_CHROMIUM names the browser when set; otherwise Debian's chromium."""
    chosen = os.environ.get("FAULTLINE_CHROMIUM")
    candidates = [chosen] if chosen else ["/usr/bin/chromium", shutil.which("chromium") or "",
                                          shutil.which("chromium-browser") or ""]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    fail(f"Chromium is not installed (looked for {', '.join(c for c in candidates if c) or 'chromium'}); the "
         "timeline's browser test needs it: run scripts/deps.sh as root, or apt-get install chromium")


def render(faultline, folder, name):
    scenario = folder / "scenario.json"
    scenario.write_text(json.dumps(SCENARIO))
    out = folder / name
    result = subprocess.run([faultline, "timeline", "--scenario", str(scenario), "--out", str(out)],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail(f"faultline timeline exited with {result.returncode}: {result.stderr.strip()}")
    if not out.exists():
        fail(f"faultline timeline wrote no page at {out}")
    return out


def chromium(binary, folder, page, *mode):
    profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=folder)
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1400,900", *mode,
               page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        fail(f"chromium exited with {result.returncode}: {result.stderr.strip()[-2000:]}")
    return result.stdout


def png_pixels(path):
    """Decodes an 8-bit RGB or RGBA PNG (what Chromium writes) into rows of pixel tuples."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail(f"{path} is not a PNG")
    offset, idat, header = 8, b"", None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        offset += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace != 0:
        fail(f"unexpected PNG format: depth {depth}, colour type {colour_type}, interlace {interlace}")
    channels = 3 if colour_type == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + previous[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + predictor) & 0xFF
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, channels)])
        previous = line
    return width, height, rows


def check_self_contained(html):
    without_namespace = html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    for pattern in [r"https?://", r"<script\b[^>]*\bsrc=", r"<link\b", r"@import", r"<img\b", r"<iframe\b"]:
        if re.search(pattern, without_namespace):
            fail(f"the page loads something from outside (matched {pattern!r}); it must be self-contained")


def case_browser(faultline):
    binary = find_chromium()
    with tempfile.TemporaryDirectory(prefix="faultline-timeline-") as name:
        folder = pathlib.Path(name)
        page = render(faultline, folder, "timeline.html")
        html = page.read_text()
        check_self_contained(html)
        again = render(faultline, folder, "again.html")
        if again.read_bytes() != page.read_bytes():
            fail("the same run gave two different pages (the page must be deterministic)")

        dom = chromium(binary, folder, page, "--dump-dom")
        if "<svg" not in dom:
            fail("Chromium's DOM has no SVG diagram")
        for node in NODES:
            if f"<span>{node}</span>" not in dom:
                fail(f"no lane for node {node} in the rendered page")
        arrows = len(re.findall(r'<g class="msg[^"]*"', dom))
        if arrows < 5:
            fail(f"expected message arrows in the diagram, found {arrows}")
        if '<g class="crash"' not in dom:
            fail("no crash mark: the service crashes at service.after_commit in this scenario")
        if not re.search(r"is durably committed but event e1(\.\d+)? was never applied", dom):
            fail("the violation's explanation is not on the page")
        if 'class="invariant">L<' not in dom:
            fail("the violated invariant L is not named at the top")
        if "url(#head-alarm)" not in dom:
            fail("no highlighted arrow: command 1's request should be drawn in the alarm colour")

        screenshot = folder / "timeline.png"
        chromium(binary, folder, page, f"--screenshot={screenshot}", "--hide-scrollbars")
        if not screenshot.exists():
            fail("Chromium wrote no screenshot")
        width, height, rows = png_pixels(screenshot)
        colours = set()
        alarm = 0
        dark = 0
        for row in rows:
            for pixel in row:
                colours.add(pixel)
                red, green, blue = pixel
                if red > 190 and green < 90 and blue < 120:
                    alarm += 1
                if red + green + blue < 200:
                    dark += 1
        print(f"screenshot {width}x{height}: {len(colours)} distinct colours, {alarm} alarm-coloured pixels, "
              f"{dark} dark pixels")
        if len(colours) < 200:
            fail(f"the screenshot looks blank: only {len(colours)} distinct colours")
        if dark < 2000:
            fail(f"the screenshot has almost no text or lines: {dark} dark pixels")
        if alarm < 200:
            fail(f"the highlighted violation is not visible in the screenshot: {alarm} alarm-coloured pixels")
    print("ok")


def case_command(faultline):
    with tempfile.TemporaryDirectory(prefix="faultline-timeline-") as name:
        folder = pathlib.Path(name)
        out = folder / "t.html"
        bad = [
            (["timeline", "--design", "nope", "--seed", "1", "--out", str(out)], "nope"),
            (["timeline", "--design", "dual-write-db-first", "--out", str(out)], "--seed"),
            (["timeline", "--design", "dual-write-db-first", "--seed", "-1", "--out", str(out)], "-1"),
            (["timeline", "--design", "dual-write-db-first", "--seed", "1", "--profile", "nope", "--out", str(out)],
             "nope"),
            (["timeline", "--design", "dual-write-db-first", "--seed", "1"], "--out"),
            (["timeline", "--scenario", str(folder / "missing.json"), "--out", str(out)], "missing.json"),
            (["timeline", "--design", "dual-write-db-first", "--seed", "1", "--out",
              str(folder / "no-such-folder" / "t.html")], "no-such-folder"),
        ]
        for args, named in bad:
            result = subprocess.run([faultline, *args], capture_output=True, text=True, timeout=60)
            lines = result.stderr.strip().splitlines()
            if result.returncode != 2:
                fail(f"{' '.join(args)}: exit code {result.returncode}, expected 2 ({result.stderr.strip()})")
            if len(lines) != 1 or not lines[0].startswith("faultline: error: ") or named not in lines[0]:
                fail(f"{' '.join(args)}: expected one line 'faultline: error: ...' naming {named!r}, got {lines}")
            if out.exists() or list(folder.iterdir()):
                fail(f"{' '.join(args)}: a file was written despite the error: {list(folder.iterdir())}")
        result = subprocess.run([faultline, "timeline", "--design", "dual-write-db-first", "--seed", "4", "--commands",
                                 "3", "--out", str(out)], capture_output=True, text=True, timeout=120)
        if result.returncode != 0 or not out.exists():
            fail(f"a good timeline command failed ({result.returncode}): {result.stderr.strip()}")
        if [path.name for path in folder.iterdir()] != ["t.html"]:
            fail(f"stray files next to the page: {list(folder.iterdir())}")
    print("ok")


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("browser", "command"):
        print(__doc__)
        sys.exit(2)
    faultline = sys.argv[1]
    if sys.argv[2] == "browser":
        case_browser(faultline)
    else:
        case_command(faultline)


if __name__ == "__main__":
    main()
