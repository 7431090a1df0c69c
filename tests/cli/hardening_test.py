#!/usr/bin/env python3
"""End-to-end tests of the faultline command in hostile or unusual surroundings.

Goal: the command runs as root in CI containers, under `timeout` and in pipelines, and
there it never destroys a file it was not asked to write, stops when told to, keeps its
report when stdout goes away, and reads any input in time proportional to its size.

Method: as in cli_test.py (whose helpers this script reuses), every case runs the real
binary in a fresh temporary folder. Cases about special files make their own device
node or FIFO in that folder where they can; a case about permissions runs the command
as `nobody` when the tests run as root. No case measures time: the speed figures come
from scripts/bench_hostile_inputs.py.

    hardening_test.py --list
    hardening_test.py FAULTLINE SCHEMA CASE
"""
import json
import signal
import os
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_test  # noqa: E402  (the shared helpers)
from cli_test import Failure, Skip, expect, shown  # noqa: E402

# A sweep small enough to be quick in sanitizer builds, whose one design keeps every claim.
QUICK_SWEEP = ["run", "--design", "outbox-polling", "--seeds", "3", "--commands", "10"]


def expect_one_error_line(code, stdout, stderr, args, names, stdout_may_hold=None):
    """The refusal every bad input gets: exit 2, one line on stderr naming the problem."""
    command = shown(args)
    lines = stderr.splitlines()
    expect(code == 2, f"`{command}` exited {code}, expected 2\nstdout:\n{stdout[-2000:]}\nstderr:\n{stderr}")
    expect(len(lines) == 1, f"`{command}` printed {len(lines)} lines on stderr, expected exactly one:\n{stderr}")
    expect(lines[0].startswith("faultline: error: "), f"`{command}`: the error line is {lines[0]!r}")
    for name in names:
        expect(name in lines[0], f"`{command}`: the error line does not name {name!r}:\n{lines[0]}")
    if stdout_may_hold is None:
        expect(stdout == "", f"`{command}` printed on stdout although it refused:\n{stdout[:2000]}")


# ---------------------------------------------------------------------------------
# Outputs that cannot destroy: special files are written in place, never replaced.
# ---------------------------------------------------------------------------------


def private_null_device(folder):
    """A character device that behaves as /dev/null, made in `folder` when this user may
    make one (root), else /dev/null itself; the caller checks it survives."""
    path = os.path.join(folder, "null")
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with open(path, "wb") as handle:
            handle.write(b"probe")
        return path
    except OSError:
        if os.path.lexists(path):
            os.remove(path)
        return "/dev/null"


def case_report_to_a_device_is_written_in_place(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        device = private_null_device(folder)
        before = os.stat(device)
        args = QUICK_SWEEP + ["--report", device]
        code, stdout, stderr = context.run(args, cwd=folder)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout}\nstderr:\n{stderr}")
        after = os.stat(device)
        expect(stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino,
               f"`{shown(args)}` replaced the device {device} (now mode {oct(after.st_mode)})")
        left = sorted(set(os.listdir(folder)) - {"null"})
        expect(not left, f"`{shown(args)}` left {left} behind")


def case_report_to_dev_null_works_for_an_ordinary_user(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        os.chmod(folder, 0o777)
        args = QUICK_SWEEP + ["--report", "/dev/null"]
        code, stdout, stderr = context.run(args, cwd=folder, unprivileged=True)
        expect(code == 0, f"`{shown(args)}` as an ordinary user exited {code}, expected 0 (a report may be "
               f"discarded)\nstdout:\n{stdout}\nstderr:\n{stderr}")
        expect(stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is no longer a character device")


def case_report_to_a_fifo_is_written_in_place(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        fifo = os.path.join(folder, "pipe")
        os.mkfifo(fifo)
        # The read end is open before the command starts (a FIFO nobody reads is refused);
        # the report (6 KB) fits the pipe's buffer, so it is read once the command is done.
        reading = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            args = QUICK_SWEEP + ["--report", fifo]
            code, stdout, stderr = context.run(args, cwd=folder)
            received = b""
            while True:
                try:
                    chunk = os.read(reading, 1 << 16)
                except BlockingIOError:
                    break
                if not chunk:
                    break
                received += chunk
        finally:
            os.close(reading)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout}\nstderr:\n{stderr}")
        expect(stat.S_ISFIFO(os.stat(fifo).st_mode), f"`{shown(args)}` replaced the FIFO with a regular file")
        report = cli_test.parse_report(received.decode("utf-8"))
        expect(report["results"][0]["design"] == "outbox-polling", "the FIFO did not carry the report")
        expect(sorted(os.listdir(folder)) == ["pipe"], f"`{shown(args)}` left {sorted(os.listdir(folder))}")

def report_between(stdout):
    """The report a command wrote into its own stdout, between its first line and its summary."""
    start = stdout.find("\n{\n")
    end = stdout.find("\n}\n", start)
    expect(start >= 0 and end > start, f"no report found in stdout:\n{stdout[:2000]}")
    return cli_test.parse_report(stdout[start + 1:end + 2])


def case_report_to_dev_stdout_goes_where_the_command_prints(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        args = QUICK_SWEEP + ["--report", "/dev/stdout"]
        # Redirected to a file: the file keeps the first line, then the report, then the summary.
        printed = os.path.join(folder, "printed.txt")
        with open(printed, "wb") as handle:
            done = subprocess.run([context.faultline] + args, cwd=folder, stdout=handle, stderr=subprocess.PIPE,
                                  timeout=60)
        expect(done.returncode == 0, f"`{shown(args)}` > file exited {done.returncode}\n{done.stderr.decode()}")
        with open(printed, encoding="utf-8") as handle:
            text = handle.read()
        expect(text.startswith("faultline run:") and "report: /dev/stdout" in text,
               f"`{shown(args)}` > file lost what it printed:\n{text[:2000]}")
        expect(report_between(text)["results"][0]["runs"] == 3, "the report in the file does not hold the 3 runs")
        expect(os.listdir(folder) == ["printed.txt"], f"`{shown(args)}` left {os.listdir(folder)}")
        # Into a pipe: the same.
        code, stdout, stderr = context.run(args, cwd=folder)
        expect(code == 0, f"`{shown(args)}` | ... exited {code}\n{stderr}")
        expect(report_between(stdout)["results"][0]["runs"] == 3, "the report in the pipe does not hold the 3 runs")
    expect(os.path.islink("/dev/stdout"), "/dev/stdout is no longer a symbolic link")


def case_report_to_a_full_device_names_the_reason(context):
    if not os.path.exists("/dev/full"):
        raise Skip("this machine has no /dev/full")
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        args = QUICK_SWEEP + ["--report", "/dev/full"]
        code, stdout, stderr = context.run(args, cwd=folder)
        expect_one_error_line(code, stdout, stderr, args, ["/dev/full", os.strerror(28)], stdout_may_hold=True)
        expect(stat.S_ISCHR(os.stat("/dev/full").st_mode), "/dev/full is no longer a character device")


def case_report_with_the_longest_name_the_folder_allows(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        name = "r" * (os.pathconf(folder, "PC_NAME_MAX") - 5) + ".json"
        args = QUICK_SWEEP + ["--report", name]
        code, stdout, stderr = context.run(args, cwd=folder)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout}\nstderr:\n{stderr}")
        expect(os.listdir(folder) == [name], f"`{shown(args)}` left {[entry[:20] for entry in os.listdir(folder)]}")


def case_report_name_too_long_is_refused_before_the_sweep(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        name = "r" * (os.pathconf(folder, "PC_NAME_MAX") + 1)
        args = QUICK_SWEEP + ["--report", name]
        code, stdout, stderr = context.run(args, cwd=folder)
        expect_one_error_line(code, stdout, stderr, args, [os.strerror(36)])
        expect(os.listdir(folder) == [], f"`{shown(args)}` left {os.listdir(folder)}")


# ---------------------------------------------------------------------------------
# A closed or full stdout: the report is written first, the failure to print is named.
# ---------------------------------------------------------------------------------


def run_with_stdout(context, args, cwd, stdout):
    """Runs the command with `stdout` (a file descriptor) as its standard output;
    returns (exit code, stderr text)."""
    done = subprocess.run([context.faultline] + args, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, timeout=60)
    expect(done.returncode >= 0, f"`{shown(args)}` died of signal {-done.returncode}")
    return done.returncode, done.stderr.decode("utf-8", errors="replace")


def expect_report_kept_and_print_failure_named(context, stdout_of, reason):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        args = QUICK_SWEEP + ["--report", "r.json"]
        code, stderr = stdout_of(lambda stdout: run_with_stdout(context, args, folder, stdout))
        expect_one_error_line(code, "", stderr, args, ["standard output", reason])
        expect(os.listdir(folder) == ["r.json"], f"`{shown(args)}` left {os.listdir(folder)}, expected r.json")
        with open(os.path.join(folder, "r.json"), encoding="utf-8") as handle:
            report = cli_test.parse_report(handle.read())
        expect(report["results"][0]["runs"] == 3, "the report does not hold the 3 runs")


def case_closed_stdout_keeps_the_report(context):
    def closed_pipe(run):
        reading, writing = os.pipe()
        os.close(reading)
        try:
            return run(writing)
        finally:
            os.close(writing)
    expect_report_kept_and_print_failure_named(context, closed_pipe, os.strerror(32))


def case_full_stdout_keeps_the_report(context):
    if not os.path.exists("/dev/full"):
        raise Skip("this machine has no /dev/full")

    def full_device(run):
        with open("/dev/full", "wb") as full:
            return run(full.fileno())
    expect_report_kept_and_print_failure_named(context, full_device, os.strerror(28))


# ---------------------------------------------------------------------------------
# Integers are decimal, everywhere, with one message.
# ---------------------------------------------------------------------------------

NUMBER_INPUT = {
    "SeedsHexadecimal": cli_test.BadInput(["run", "--seeds", "0x10"], ["--seeds", "0x10", "decimal"]),
    "SeedsExponent": cli_test.BadInput(["run", "--seeds", "1e3"], ["--seeds", "1e3", "decimal"]),
    "SeedsWithPlusSign": cli_test.BadInput(["run", "--seeds", "+5"], ["--seeds", "+5", "decimal"]),
    "CommandsBinary": cli_test.BadInput(["run", "--commands", "0b11"], ["--commands", "0b11", "decimal"]),
    "ReplaySeedHexadecimal": cli_test.BadInput(["replay", "--design", "outbox-polling", "--seed", "0x8"],
                                               ["--seed", "0x8", "decimal"]),
    "ExploreDepthOctalLooking": cli_test.BadInput(["explore", "--design", "outbox-polling", "--depth", "03"],
                                                  ["--depth", "03", "decimal"]),
    "HuntSearchesHexadecimal": cli_test.BadInput(["hunt", "--searches", "0x2"], ["--searches", "0x2", "decimal"]),
    "TimelineSeedHexadecimal": cli_test.BadInput(
        ["timeline", "--design", "outbox-polling", "--seed", "0x1", "--out", "{root}/t.html"], ["--seed", "0x1"],
        absent=["{root}/t.html"]),
    "ShardHexadecimal": cli_test.BadInput(["run", "--seeds", "4", "--shard", "0x1/2", "--report", "{root}/r.json"],
                                          ["--shard", "0x1/2"], absent=["{root}/r.json"]),
    "ArgumentWithANewlineStaysOneLine": cli_test.BadInput(["run", "--seeds", "1\n2"], ["--seeds"]),
}


def case_leading_zeros_mean_nothing(context):
    """`--seed 010` is seed 10 (not 8, as C would read it) and `--seed 09` is seed 9."""
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        for text, seed in (("010", 10), ("09", 9)):
            args = ["replay", "--design", "outbox-polling", "--seed", text, "--commands", "5"]
            code, stdout, stderr = context.run(args, cwd=folder)
            expect(code == 0, f"`{shown(args)}` exited {code}\nstdout:\n{stdout}\nstderr:\n{stderr}")
            expect(f"seed {seed}," in stdout.splitlines()[0], f"`{shown(args)}` did not replay seed {seed}:\n"
                   f"{stdout.splitlines()[0]}")


# ---------------------------------------------------------------------------------
# Inputs read in linear time: arrays of many objects are refused whole, at the limit.
# (How long they take: scripts/bench_hostile_inputs.py.)
# ---------------------------------------------------------------------------------


def array_of(count, item):
    return b"[" + b",".join([item] * count) + b"]"


def scenario_with_faults(faults):
    return b'{"design": "outbox-polling", "seed": 1, "faults": ' + faults + b"}"


LARGE_INPUT = {
    "ScenarioWithTwoHundredThousandEmptyFaults": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "scenario.faults has more than 10000 entries"],
        scenario=scenario_with_faults(array_of(200_000, b"{}"))),
    "ScenarioThatIsAnArrayOfTwoHundredThousandObjects": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "more than 10000 entries"],
        scenario=array_of(200_000, b"{}")),
    "ScenarioWithADuplicateKeyInItsLastFault": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", '"kind" appears twice'],
        scenario=scenario_with_faults(array_of(9_999, b'{"kind": "crash", "node": "db", "at_us": 1}')[:-1]
                                      + b', {"kind": "crash", "kind": "pause"}]')),
    "ScenarioOfTenMegabytesInOneString": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "scenario.profile is a string longer than"],
        scenario=b'{"design": "outbox-polling", "seed": 1, "profile": "' + b"x" * 10_000_000 + b'"}'),
    "TimelineScenarioWithTwoHundredThousandEmptyFaults": cli_test.BadInput(
        ["timeline", "--scenario", "{scenario}", "--out", "{root}/t.html"], ["{scenario}", "more than 10000 entries"],
        scenario=scenario_with_faults(array_of(200_000, b"{}")), absent=["{root}/t.html"]),
}

LARGE_MERGES = {
    "ShardThatIsAnArrayOfTwoHundredThousandObjects": cli_test.BadMerge(
        ["s1.json", "s2.json", "big.json"], ["big.json", "object"],
        prepare=cli_test.write_file("big.json", array_of(200_000, b"{}"))),
    "ShardWithTwoHundredThousandEmptyResults": cli_test.BadMerge(
        ["s1.json", "s2.json", "big.json"], ["big.json"],
        prepare=cli_test.write_file("big.json", b'{"schema_version": 3, "results": ' + array_of(200_000, b"{}")
                                    + b"}")),
}


# ---------------------------------------------------------------------------------
# An output that is also an input is refused before anything runs.
# ---------------------------------------------------------------------------------

SAME_FILE_INPUT = {
    "ReplayTraceIsTheScenario": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}", "--trace", "{scenario}"], ["--trace", "{scenario}", "same file"],
        scenario=cli_test.VALID_SCENARIO),
    "ReplayTraceIsTheScenarioByAnotherName": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}", "--trace", "{root}/input/../input/scenario.json"], ["--trace", "same file"],
        scenario=cli_test.VALID_SCENARIO),
    "TimelineOutIsTheScenario": cli_test.BadInput(
        ["timeline", "--scenario", "{scenario}", "--out", "{scenario}"], ["--out", "{scenario}", "same file"],
        scenario=cli_test.VALID_SCENARIO),
}


def case_merge_into_one_of_its_shards_is_refused(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        cli_test.write_shards(context, folder, 2)
        for out in ("s1.json", "./s2.json"):
            args = ["merge", out, "s1.json", "s2.json"]
            before = cli_test.snapshot(folder)
            code, stdout, stderr = context.run(args, cwd=folder)
            expect_one_error_line(code, stdout, stderr, args, [out, "same file"])
            expect(cli_test.snapshot(folder) == before, f"`{shown(args)}` changed a shard although it refused")


# ---------------------------------------------------------------------------------
# Smaller ones: empty file names, misleading messages, unchecked scenario fields.
# ---------------------------------------------------------------------------------

MESSAGE_INPUT = {
    "TraceNamedByAnEmptyString": cli_test.BadInput(["replay", "--design", "outbox-polling", "--seed", "1", "--trace", ""],
                                                   ["--trace", "file name"]),
    "ReportNamedByAnEmptyString": cli_test.BadInput(["run", "--seeds", "1", "--report", ""], ["--report", "file name"]),
    "HuntJsonNamedByAnEmptyString": cli_test.BadInput(["hunt", "--json", ""], ["--json", "file name"]),
    "MergeOutNamedByAnEmptyString": cli_test.BadInput(["merge", "", "s1.json"], ["OUT", "file name"]),
    "ScenarioIsAFolder": cli_test.BadInput(["replay", "--scenario", "{root}/input"], ["{root}/input", "directory"],
                                           folders=["input"]),
    "CounterexampleFolderIsAFile": cli_test.BadInput(
        ["explore", "--design", "dual-write-db-first", "--save-counterexamples", "{scenario}"],
        ["--save-counterexamples", "{scenario}", "not a folder"], scenario=cli_test.VALID_SCENARIO),
    "ScenarioProfileIsNoProfile": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "scenario.profile", "not a fault profile"],
        scenario=b'{"design": "outbox-polling", "seed": 1, "profile": "\\u001b[2J\\u001b[31mred"}'),
    "ScenarioOneWayCutFromANodeToItself": cli_test.BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "one-way", "itself"],
        scenario=cli_test.scenario_with_fault({"kind": "one-way", "at_us": 5, "node": "db", "peer": "db"})),
}


def case_symbolic_link_loop_names_the_reason(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        os.symlink("loop-b", os.path.join(folder, "loop-a"))
        os.symlink("loop-a", os.path.join(folder, "loop-b"))
        reason = os.strerror(40)
        for args in (["replay", "--scenario", "loop-a"],
                     ["replay", "--design", "outbox-polling", "--seed", "1", "--commands", "3", "--trace", "loop-a"]):
            code, stdout, stderr = context.run(args, cwd=folder)
            expect_one_error_line(code, stdout, stderr, args, ["loop-a", reason])


# ---------------------------------------------------------------------------------
# A signal stops even a single long run: it is abandoned, the report says interrupted.
# (How long the stop takes: scripts/bench-hostile-inputs --signals.)
# ---------------------------------------------------------------------------------


def case_sigterm_abandons_a_single_long_run(context):
    validator = cli_test.schema_validator(context)
    # One run far longer than the test's patience: it can only end by being abandoned.
    args = ["run", "--design", "outbox-polling", "--seeds", "1", "--commands", "1000000", "--report", "out.json"]
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        process, stdout, stderr = cli_test.run_and_signal(context, args, folder, signal.SIGTERM, 0.0)
        expect(process.returncode == 1, f"`{shown(args)}` exited {process.returncode} after SIGTERM, expected 1\n"
               f"stdout:\n{stdout}\nstderr:\n{stderr}")
        expect("interrupted by SIGTERM: 0 of 1 runs finished" in stdout,
               f"`{shown(args)}` did not say the run was abandoned:\n{stdout}")
        expect(sorted(os.listdir(folder)) == ["out.json"], f"the stopped sweep left {sorted(os.listdir(folder))}")
        with open(os.path.join(folder, "out.json"), encoding="utf-8") as handle:
            report = cli_test.parse_report(handle.read())
    cli_test.expect_valid(validator, report, "the stopped sweep's report")
    expect(report["interrupted"] is True, f"the stopped sweep's report says interrupted: {report['interrupted']}")
    expect(report["results"] == [], f"the abandoned run was reported: {report['results']}")


CASES = {
    "Output.ReportToADeviceIsWrittenInPlace": case_report_to_a_device_is_written_in_place,
    "Output.ReportToDevNullWorksForAnOrdinaryUser": case_report_to_dev_null_works_for_an_ordinary_user,
    "Output.ReportToAFifoIsWrittenInPlace": case_report_to_a_fifo_is_written_in_place,
    "Output.ReportToDevStdoutGoesWhereTheCommandPrints": case_report_to_dev_stdout_goes_where_the_command_prints,
    "Output.ReportToAFullDeviceNamesTheReason": case_report_to_a_full_device_names_the_reason,
    "Output.ReportWithTheLongestNameTheFolderAllows": case_report_with_the_longest_name_the_folder_allows,
    "Output.ReportNameTooLongIsRefusedBeforeTheSweep": case_report_name_too_long_is_refused_before_the_sweep,
    "Stdout.ClosedStdoutKeepsTheReport": case_closed_stdout_keeps_the_report,
    "Stdout.FullStdoutKeepsTheReport": case_full_stdout_keeps_the_report,
    "Numbers.LeadingZerosMeanNothing": case_leading_zeros_mean_nothing,
    "Interrupt.SigtermAbandonsASingleLongRun": case_sigterm_abandons_a_single_long_run,
}
CASES.update({f"LargeInput.Refuses{name}": (lambda context, case=case: cli_test.check_bad_input(context, case))
              for name, case in LARGE_INPUT.items()})
CASES.update({f"LargeInput.MergeRefuses{name}": (lambda context, case=case: cli_test.check_bad_merge(context, case))
              for name, case in LARGE_MERGES.items()})
CASES.update({f"SameFile.Refuses{name}": (lambda context, case=case: cli_test.check_bad_input(context, case))
              for name, case in SAME_FILE_INPUT.items()})
CASES.update({f"Messages.Refuses{name}": (lambda context, case=case: cli_test.check_bad_input(context, case))
              for name, case in MESSAGE_INPUT.items()})
CASES.update({"SameFile.MergeIntoOneOfItsShardsIsRefused": case_merge_into_one_of_its_shards_is_refused,
              "Messages.SymbolicLinkLoopNamesTheReason": case_symbolic_link_loop_names_the_reason})
CASES.update({f"Numbers.Refuses{name}": (lambda context, case=case: cli_test.check_bad_input(context, case))
              for name, case in NUMBER_INPUT.items()})


if __name__ == "__main__":
    sys.exit(cli_test.main(sys.argv, CASES))
