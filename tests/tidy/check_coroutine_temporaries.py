#!/usr/bin/env python3
"""Bans braced temporaries inside co_await expressions (a tidy test).

Why: g++ 12 relocates an aggregate temporary created inside a co_await expression
bit by bit, so a std::string or std::vector member ends up pointing into the old
storage (AddressSanitizer: "attempting free on address which was not malloc()-ed").
Build the request in a named local first, then co_await with std::move(local).
Types made only of integers are safe and allowed below.
"""
import pathlib
import re
import sys

ALLOWED = {"Duration", "sim::Duration", "Instant", "sim::Instant", "DbBegin", "DbCommit", "DbAbort",
           "PlaceOrderReply", "DbBeginReply"}
root = pathlib.Path(sys.argv[1])
problems = []
for path in sorted(list(root.glob("sim/**/*.[ch]*")) + list(root.glob("models/**/*.[ch]*")) +
                   list(root.glob("properties/**/*.[ch]*")) + list(root.glob("examples/**/*.cpp"))):
    text = path.read_text()
    for match in re.finditer(r"co_await\b[^;]*;", text):
        statement = match.group(0)
        for temporary in re.finditer(r"([A-Za-z_][A-Za-z0-9_:]*)\s*\{", statement):
            if temporary.group(1) not in ALLOWED:
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(root)}:{line}: braced temporary {temporary.group(1)}{{...}} "
                                "inside co_await; build it in a named local first")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
