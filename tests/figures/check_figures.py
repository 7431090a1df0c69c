#!/usr/bin/env python3
"""Keeps the README's quoted figures in step with the files scripts/figures writes.

Goal: every output block the README quotes is what faultline printed, so a behaviour
change that alters a figure fails here until `scripts/figures` is rerun and the new
files are committed. This test never runs faultline: it only compares text.

Markers. An HTML comment on its own line names the figure file of the fenced block
that follows it (blank lines may sit between):

    <!-- figure: docs/figures/replay-example.txt -->
    <!-- figure: docs/figures/sweep.txt excerpt -->

Figure files. Leading lines that start with '#' are the header (`# command: ...`
records what produced the figure); the rest is the body, the output itself.

Matching. The block is the body, line for line, except that a line holding only
"..." (indentation allowed) stands for one or more body lines left out. Without
`excerpt` the block starts at the body's first line and ends at its last (unless it
starts or ends with "..."); with `excerpt` it may start and end anywhere. A block
whose first line is `$ COMMAND` shows the command: it must equal the header's
`# command:` and is not part of the body.

    check_figures.py ROOT [MARKDOWN...]   (default: README.md; exit 1 on a mismatch)
    check_figures.py --self-test
"""
import pathlib
import re
import sys
import tempfile

MARKER = re.compile(r"^<!-- figure: (\S+)((?: \S+)*) -->$")
OPTIONS = {"excerpt"}
ELISION = "..."


class Mismatch(Exception):
    """A quoted figure that is not its file; the message names both places."""


def read_figure(path):
    """Returns (header, body lines, header line count) of a figure file; header maps keys
    to values."""
    lines = path.read_text().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header = {}
    count = 0
    while count < len(lines) and lines[count].startswith("#"):
        key, _, value = lines[count].lstrip("# ").partition(":")
        header[key.strip()] = value.strip()
        count += 1
    return header, lines[count:], count


def quoted_blocks(markdown_path):
    """Yields (marker line number, figure path, options, first block line number, block lines)."""
    lines = markdown_path.read_text().split("\n")
    index = 0
    while index < len(lines):
        match = MARKER.match(lines[index].strip())
        if not match:
            if lines[index].lstrip().startswith("<!-- figure"):
                raise Mismatch(f"{markdown_path.name}:{index + 1}: malformed figure marker: {lines[index].strip()}")
            index += 1
            continue
        marker_line = index + 1
        options = set(match.group(2).split())
        if not options <= OPTIONS:
            raise Mismatch(f"{markdown_path.name}:{marker_line}: unknown marker option(s) {sorted(options - OPTIONS)}")
        index += 1
        while index < len(lines) and lines[index].strip() == "":
            index += 1
        if index >= len(lines) or not lines[index].startswith("```"):
            raise Mismatch(f"{markdown_path.name}:{marker_line}: figure marker not followed by a fenced block")
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end >= len(lines):
            raise Mismatch(f"{markdown_path.name}:{marker_line}: fenced block never closed")
        yield marker_line, match.group(1), options, start + 1, lines[start:end]
        index = end + 1


def chunks(block):
    """Splits a block at its elision lines: [(offset in block, lines)], and whether it
    starts and ends with an elision."""
    parts, current, offset = [], [], 0
    for position, line in enumerate(block):
        if line.strip() == ELISION:
            if current:
                parts.append((offset, current))
            current = []
        else:
            if not current:
                offset = position
            current.append(line)
    if current:
        parts.append((offset, current))
    opens = bool(block) and block[0].strip() == ELISION
    closes = bool(block) and block[-1].strip() == ELISION
    return parts, opens, closes


def compare_at(chunk, body, position):
    """Index in chunk of the first line that differs from body at position, or None."""
    for index, line in enumerate(chunk):
        if position + index >= len(body) or body[position + index] != line:
            return index
    return None


def match_block(block, body, anchored, where, skipped=0):
    """Raises Mismatch naming the first block line that the body does not have.
    where(i) describes block line i for the message; skipped is the number of file
    lines before the body (its header), so messages give the file's line numbers."""
    parts, opens, closes = chunks(block)
    if not parts:
        raise Mismatch(f"{where(0)}: the block quotes nothing")
    position = 0
    for number, (offset, chunk) in enumerate(parts):
        pinned = number == 0 and anchored and not opens
        candidates = [position] if pinned else range(position, len(body))
        found = None
        best = (-1, position)  # (lines matched, body position) of the closest miss
        for candidate in candidates:
            differs = compare_at(chunk, body, candidate)
            if differs is None:
                found = candidate
                break
            if differs > best[0]:
                best = (differs, candidate)
        if found is None:
            matched, at = best
            if matched <= 0 and not pinned:
                raise Mismatch(f"{where(offset)}: not in the figure file (after its line {position + skipped}): "
                               f"{chunk[0]!r}")
            matched = max(matched, 0)
            actual = body[at + matched] if at + matched < len(body) else "(end of file)"
            raise Mismatch(f"{where(offset + matched)} differs from the figure file's line "
                           f"{at + matched + 1 + skipped}:\n"
                           f"  README: {chunk[matched]!r}\n  file:   {actual!r}")
        position = found + len(chunk) + 1  # an elision stands for at least one line
    last_end = position - 1
    if anchored and not closes and last_end != len(body):
        extra = body[last_end] if last_end < len(body) else ""
        raise Mismatch(f"{where(len(block) - 1)}: the block ends but the figure file goes on at its line "
                       f"{last_end + 1 + skipped}: {extra!r}")


def check_block(root, markdown_path, marker_line, figure, options, first_line, block):
    figure_path = root / figure
    if not figure_path.is_file():
        raise Mismatch(f"{markdown_path.name}:{marker_line}: figure file {figure} does not exist "
                       "(scripts/figures --list names the figures)")
    header, body, skipped = read_figure(figure_path)

    def where(index):
        return f"{markdown_path.name}:{first_line + index} (quoting {figure})"

    if block and block[0].startswith("$ "):
        command = header.get("command")
        if block[0][2:] != command:
            raise Mismatch(f"{where(0)}: the command differs from the file's header:\n"
                           f"  README: {block[0][2:]!r}\n  file:   {command!r}")
        shown = block[1:]
        match_block(shown, body, "excerpt" not in options, lambda index: where(index + 1), skipped)
    else:
        match_block(block, body, "excerpt" not in options, where, skipped)


def check(root, markdown_files):
    """Returns the list of problems (empty when every quoted figure matches)."""
    problems = []
    quoted = 0
    for name in markdown_files:
        markdown_path = root / name
        try:
            for marker_line, figure, options, first_line, block in quoted_blocks(markdown_path):
                quoted += 1
                try:
                    check_block(root, markdown_path, marker_line, figure, options, first_line, block)
                except Mismatch as problem:
                    problems.append(str(problem))
        except Mismatch as problem:
            problems.append(str(problem))
    if quoted == 0 and not problems:
        problems.append(f"no figure markers found in {', '.join(markdown_files)}")
    return problems


def self_test():
    """The checker's own cases: each broken quote must be caught, each good one pass."""
    figure = "# command: faultline demo\nalpha\nbeta\ngamma\ndelta\n"
    cases = [
        ("```\nalpha\nbeta\ngamma\ndelta\n```", True),
        ("```\n$ faultline demo\nalpha\n...\ndelta\n```", True),
        ("```\n$ faultline other\nalpha\n...\ndelta\n```", False),
        ("```\nalpha\n...\ngamma\n...\n```", True),
        ("```\nalpha\nbeta\n```", False),  # stops early without an elision
        ("```\nalpha\nBETA\ngamma\ndelta\n```", False),
        ("```\nalpha\n...\nbeta\ngamma\ndelta\n```", False),  # an elision hides at least one line
        ("```\nbeta\ngamma\n```", False),
    ]
    failures = []
    with tempfile.TemporaryDirectory() as directory:
        root = pathlib.Path(directory)
        (root / "figure.txt").write_text(figure)
        for block, expected in cases:
            (root / "README.md").write_text("<!-- figure: figure.txt -->\n" + block + "\n")
            if (not check(root, ["README.md"])) != expected:
                failures.append(f"expected {'a match' if expected else 'a mismatch'}: {block!r}")
        (root / "README.md").write_text("<!-- figure: figure.txt excerpt -->\n```\nbeta\ngamma\n```\n")
        if check(root, ["README.md"]):
            failures.append("an excerpt from the middle of the file did not match")
        (root / "README.md").write_text("<!-- figure: missing.txt -->\n```\nalpha\n```\n")
        if not any("does not exist" in problem for problem in check(root, ["README.md"])):
            failures.append("a marker naming a missing file was not reported")
    for failure in failures:
        print(f"self-test: {failure}")
    return 1 if failures else 0


def main(arguments):
    if arguments == ["--self-test"]:
        return self_test()
    if not arguments:
        print(__doc__.strip().split("\n\n")[-1], file=sys.stderr)
        return 2
    root = pathlib.Path(arguments[0])
    problems = check(root, arguments[1:] or ["README.md"])
    for problem in problems:
        print(problem)
    if problems:
        print("The README and docs/figures/ differ: rerun `scripts/figures` (or `scripts/figures NAME`), "
              "or fix the quote.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
