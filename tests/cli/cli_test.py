#!/usr/bin/env python3
"""End-to-end tests of the faultline command (run, replay, hunt, list, --help).

Goal: the command behaves as a user relies on it. Bad input is refused with one line
on stderr ("faultline: error: ..."), exit code 2 and no file written; a sweep writes a
report that matches reports/schema/report.schema.json and says what the designs
promise (exit 0: the positive control loses events, and every design that claims
invariants keeps every one of them); the same sweep
writes the same results twice; a counterexample replays to the trace hash the report
lists.

Method: every case runs the real binary in a fresh temporary folder, and compares
that folder before and after, so a stray report or temporary file is caught. ctest
registers one test per case (tests/cli/CMakeLists.txt asks this script for the list):

    cli_test.py --list
    cli_test.py FAULTLINE SCHEMA CASE

A case whose name starts with DISABLED_ documents a known bug: ctest lists it as
disabled, and running it by hand shows the bug. Exit code 77 means skipped. A case
about permissions runs the command as `nobody` when the tests run as root, since root
may write anywhere.
"""
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
import tempfile

SKIPPED = 77
# Root may write into a read-only folder, so a case about permissions runs the command
# as an ordinary user when the tests run as root (as CI does, in a container):
# setpriv comes with util-linux (scripts/deps.sh).
UNPRIVILEGED_USER = "nobody"
UNPRIVILEGED_PREFIX = ["setpriv", f"--reuid={UNPRIVILEGED_USER}", "--regid=nogroup", "--clear-groups", "--"]
DESIGNS = ("dual-write-db-first", "outbox-polling")
PROFILES = ("default", "crashes", "network", "durability", "clocks", "none")
SWEEP_SEEDS = "50"
TRACE_HASH_LINE = re.compile(r"^trace-hash: ([0-9a-f]{16})$", re.MULTILINE)


class Failure(Exception):
    """A broken expectation; the message says what went wrong."""


class Skip(Exception):
    """A case that cannot be checked here; the message says why."""


def expect(condition, message):
    if not condition:
        raise Failure(message)


class Context:
    def __init__(self, faultline, schema):
        self.faultline = faultline
        self.schema = schema

    def run(self, args, cwd, timeout=60, unprivileged=False):
        """Runs the command; returns (exit code, stdout, stderr) as text. With
        `unprivileged` and the tests running as root, the command runs as `nobody`."""
        prefix = UNPRIVILEGED_PREFIX if unprivileged and os.geteuid() == 0 else []
        try:
            done = subprocess.run(prefix + [self.faultline] + args, cwd=cwd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"`{shown(args)}` did not finish within {timeout} s")
        except OSError as error:
            raise Failure(f"cannot start {self.faultline}: {error} (is it built?)")
        stdout = done.stdout.decode("utf-8", errors="replace")
        stderr = done.stderr.decode("utf-8", errors="replace")
        if done.returncode < 0:
            raise Failure(f"`{shown(args)}` died of signal {-done.returncode}\nstderr:\n{stderr}")
        return done.returncode, stdout, stderr


def shown(args):
    text = " ".join(args)
    return "faultline " + (text if len(text) < 300 else text[:300] + "...")


def snapshot(root):
    """Every path under root with its type and content hash, to spot anything written."""
    entries = {}
    for folder, subfolders, files in os.walk(root):
        for name in subfolders:
            entries[os.path.relpath(os.path.join(folder, name), root)] = "folder"
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                entries[os.path.relpath(path, root)] = hashlib.sha256(handle.read()).hexdigest()
    return entries


# ---------------------------------------------------------------------------------
# Bad input: one line on stderr that names the problem, exit code 2, nothing written.
# ---------------------------------------------------------------------------------

VALID_SCENARIO = b'{"design": "outbox-polling", "seed": 1}'


def scenario_with_fault(fault):
    return json.dumps({"design": "outbox-polling", "seed": 1, "faults": [fault]}).encode()


class BadInput:
    """args may use {root} (the case's temporary folder) and {scenario} (the file
    holding `scenario`); `names` are fragments the error line must contain; `absent`
    are paths that must not exist afterwards."""

    def __init__(self, args, names, scenario=None, folders=(), absent=(), read_only=()):
        self.args = args
        self.names = names
        self.scenario = scenario
        self.folders = folders
        self.absent = absent
        self.read_only = read_only


def deeply_nested_arrays(depth):
    return b"[" * depth + b"]" * depth


BAD_INPUT = {
    "NoSubcommand": BadInput([], ["subcommand"]),
    "UnknownSubcommand": BadInput(["frobnicate"], ["frobnicate"]),
    "UnknownFlag": BadInput(["run", "--bogus"], ["--bogus"]),
    "UnknownDesign": BadInput(["run", "--design", "nope"], ["design", "nope"]),
    "UnknownProfile": BadInput(["run", "--profile", "nope"], ["profile", "nope"]),
    "ReplaySeedNotANumber": BadInput(["replay", "--design", "outbox-polling", "--seed", "abc"], ["--seed", "abc"]),
    "SeedStartNotANumber": BadInput(["run", "--seed-start", "abc"], ["--seed-start", "abc"]),
    "SeedsNegative": BadInput(["run", "--seeds", "-5"], ["--seeds", "-5"]),
    "SeedsZero": BadInput(["run", "--seeds", "0"], ["--seeds", "0"]),
    "CommandsZero": BadInput(["run", "--commands", "0"], ["--commands", "0"]),
    "ReportInMissingFolder": BadInput(["run", "--seeds", "1", "--report", "/nonexistent/dir/r.json"],
                                      ["/nonexistent/dir/r.json"], absent=["/nonexistent/dir/r.json", "/nonexistent"]),
    "ReportPathIsAFolder": BadInput(["run", "--seeds", "1", "--report", "{root}/target"], ["{root}/target", "directory"],
                                    folders=["target"]),
    "ReportInReadOnlyFolder": BadInput(
        ["run", "--seeds", "1", "--report", "{root}/locked/r.json"], ["{root}/locked/r.json"], folders=["locked"],
        read_only=["locked"], absent=["{root}/locked/r.json"]),
    "ReplayWithoutSeed": BadInput(["replay", "--design", "outbox-polling"], ["--seed"]),
    "ReplayWithoutDesign": BadInput(["replay", "--seed", "3"], ["--design"]),
    "ReplayUnknownDesign": BadInput(["replay", "--design", "nope", "--seed", "1"], ["nope"]),
    "ReplayTraceInMissingFolder": BadInput(
        ["replay", "--design", "outbox-polling", "--seed", "1", "--trace", "/nonexistent/dir/t.jsonl"],
        ["/nonexistent/dir/t.jsonl"], absent=["/nonexistent/dir/t.jsonl", "/nonexistent"]),
    "ScenarioFileMissing": BadInput(["replay", "--scenario", "{root}/input/missing.json"], ["{root}/input/missing.json"],
                                    folders=["input"]),
    "ScenarioMalformedJson": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "JSON"],
                                      scenario=b'{"design": "outbox-polling", "se'),
    "ScenarioIsAnArray": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "object"],
                                  scenario=b'[{"design": "outbox-polling", "seed": 1}]'),
    "ScenarioUnknownKey": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "colour"],
                                   scenario=b'{"design": "outbox-polling", "seed": 1, "colour": "blue"}'),
    "ScenarioUnknownDesign": BadInput(["replay", "--scenario", "{scenario}"], ["nope"],
                                      scenario=b'{"design": "nope", "seed": 1}'),
    "ScenarioUnknownFaultKind": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "meteor"],
                                         scenario=scenario_with_fault({"kind": "meteor", "at_us": 5, "node": "db"})),
    "ScenarioNegativeTime": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "at_us"],
                                     scenario=scenario_with_fault({"kind": "crash", "at_us": -5, "node": "db"})),
    "ScenarioSeedIsAString": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "seed"],
                                      scenario=b'{"design": "outbox-polling", "seed": "1"}'),
    "ScenarioUnknownNode": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "mars"],
                                    scenario=scenario_with_fault({"kind": "crash", "at_us": 5, "node": "mars"})),
    "ScenarioStandbyUnknownMode": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "db_standby", "semi"],
                                           scenario=b'{"design": "outbox-cdc", "seed": 1, '
                                                    b'"settings": {"db_standby": "semi"}}'),
    "ScenarioStandbyNodeWithoutStandby": BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "db-standby"],
        scenario=scenario_with_fault({"kind": "crash", "at_us": 5, "node": "db-standby"})),
    "ScenarioHugeNumber": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}"],
                                            scenario=b'{"design": "outbox-polling", "seed": 1e400}'),
    "ScenarioHugeInteger": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "at_us"],
                                    scenario=b'{"design": "outbox-polling", "seed": 1, "faults": [{"kind": "crash", '
                                             b'"node": "db", "at_us": 99999999999999999999999}]}'),
    "ScenarioDeeplyNested": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}"],
                                     scenario=deeply_nested_arrays(100_000)),
    "ScenarioDeeplyNestedWorkload": BadInput(
        ["replay", "--scenario", "{scenario}"], ["{scenario}", "workload"],
        scenario=b'{"design": "outbox-polling", "seed": 1, "workload": ' + deeply_nested_arrays(100_000) + b"}"),
    "ScenarioEmptyFile": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}"], scenario=b""),
    "ScenarioTogetherWithSeed": BadInput(["replay", "--scenario", "{scenario}", "--seed", "3"],
                                         ["--scenario", "--seed"], scenario=VALID_SCENARIO),
    "ScenarioTogetherWithDesign": BadInput(["replay", "--scenario", "{scenario}", "--design", "outbox-polling"],
                                           ["--scenario", "--design"], scenario=VALID_SCENARIO),
    "SeedStartNegative": BadInput(["run", "--seeds", "1", "--seed-start", "-1", "--report", "{root}/r.json"],
                                           ["--seed-start"], absent=["{root}/r.json"]),
    "ReplaySeedNegative": BadInput(["replay", "--design", "outbox-polling", "--seed", "-1"], ["--seed"]),
    "ReplaySeedTooLarge": BadInput(
        ["replay", "--design", "outbox-polling", "--seed", "99999999999999999999999"], ["--seed"]),
    "SeedRangeOverflows": BadInput(
        ["run", "--seeds", "2", "--seed-start", "18446744073709551615", "--report", "{root}/r.json"], ["--seed"],
        absent=["{root}/r.json"]),
    "ScenarioDuplicateKey": BadInput(["replay", "--scenario", "{scenario}"], ["{scenario}", "seed"],
                                              scenario=b'{"design": "outbox-polling", "seed": 1, "seed": 2}'),
    "ExploreDepthThree": BadInput(["explore", "--design", "outbox-polling", "--depth", "3"], ["--depth", "3"]),
    "ExploreWithoutDesign": BadInput(["explore"], ["--design"]),
    "ExploreUnknownDesign": BadInput(["explore", "--design", "nope"], ["design", "nope"]),
    "ExploreCounterexamplesInMissingFolder": BadInput(
        ["explore", "--design", "dual-write-db-first", "--save-counterexamples", "/nonexistent/dir"],
        ["--save-counterexamples", "/nonexistent/dir"], absent=["/nonexistent/dir", "/nonexistent"]),
}


def hand_over_to_unprivileged_user(context, root):
    """Makes the case's folder the unprivileged user's, and checks that user can run the command."""
    import pwd
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    for folder, subfolders, files in os.walk(root):
        for name in [folder] + [os.path.join(folder, entry) for entry in subfolders + files]:
            os.chown(name, user.pw_uid, user.pw_gid)
    code, _, stderr = context.run(["--help"], cwd=root, unprivileged=True)
    expect(code == 0, f"{UNPRIVILEGED_USER} cannot run {context.faultline} (every folder above it must be "
           f"searchable by others): `{shown(UNPRIVILEGED_PREFIX + ['faultline', '--help'])}` exited {code}\n{stderr}")


def check_bad_input(context, case):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as root:
        root = os.path.realpath(root)
        work = os.path.join(root, "work")
        os.mkdir(work)
        for folder in case.folders:
            os.mkdir(os.path.join(root, folder))
        scenario = os.path.join(root, "input", "scenario.json")
        if case.scenario is not None:
            os.makedirs(os.path.dirname(scenario), exist_ok=True)
            with open(scenario, "wb") as handle:
                handle.write(case.scenario)

        def fill(text):
            return text.replace("{root}", root).replace("{scenario}", scenario)

        args = [fill(arg) for arg in case.args]
        absent = [fill(path) for path in case.absent]
        for path in absent:
            if os.path.lexists(path):
                raise Skip(f"{path} exists on this machine, so the case cannot check that nothing is written there")
        unprivileged = bool(case.read_only)
        if unprivileged and os.geteuid() == 0:
            hand_over_to_unprivileged_user(context, root)
        for folder in case.read_only:
            os.chmod(os.path.join(root, folder), stat.S_IRUSR | stat.S_IXUSR)
        try:
            before = snapshot(root)
            code, stdout, stderr = context.run(args, cwd=work, unprivileged=unprivileged)
            after = snapshot(root)
        finally:
            for folder in case.read_only:
                os.chmod(os.path.join(root, folder), stat.S_IRWXU)

        command = shown(args)
        lines = stderr.splitlines()
        expect(code == 2, f"`{command}` exited {code}, expected 2 (usage or input error)\nstderr:\n{stderr}")
        expect(len(lines) == 1, f"`{command}` printed {len(lines)} lines on stderr, expected exactly one:\n{stderr}")
        line = lines[0]
        expect(line.startswith("faultline: error: "),
               f"`{command}`: the error line does not start with 'faultline: error: ':\n{line}")
        for name in case.names:
            expect(fill(name) in line, f"`{command}`: the error line does not name {fill(name)!r}:\n{line}")
        expect(stdout == "", f"`{command}` printed on stdout although the input was refused:\n{stdout[:2000]}")
        written = sorted(set(after) - set(before))
        changed = sorted(path for path in before if path in after and before[path] != after[path])
        gone = sorted(set(before) - set(after))
        expect(not written and not changed and not gone,
               f"`{command}` touched files although it refused the input: written {written}, changed {changed}, "
               f"removed {gone}")
        for path in absent:
            expect(not os.path.lexists(path), f"`{command}` created {path} although it refused the input")


# ---------------------------------------------------------------------------------
# A sweep, its report and its replays.
# ---------------------------------------------------------------------------------


def sweep(context, folder, report="out.json"):
    """Runs `faultline run --design D... --seeds 50 --report REPORT` in folder; returns (stdout, report text)."""
    # 20 commands per run keep the sweep quick in sanitizer builds too.
    args = ["run", "--seeds", SWEEP_SEEDS, "--commands", "20", "--report", report]
    for design in DESIGNS:
        args += ["--design", design]
    code, stdout, stderr = context.run(args, cwd=folder)
    # Every claimed invariant holds and every positive control is caught: exit 0, nothing else.
    expect(code == 0, f"`{shown(args)}` exited {code}, expected 0 (every claim held, every positive control "
           f"caught)\nstdout:\n{stdout}\nstderr:\n{stderr}")
    expect(stderr == "", f"`{shown(args)}` printed on stderr:\n{stderr}")
    path = os.path.join(folder, report)
    expect(os.path.isfile(path), f"`{shown(args)}` did not write {report}\nstdout:\n{stdout}")
    with open(path, encoding="utf-8") as handle:
        return stdout, handle.read()


def parse_report(text):
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise Failure(f"the report is not valid JSON: {error}")


def result_of(report, design):
    found = [result for result in report["results"] if result["design"] == design]
    expect(len(found) == 1, f"the report has {len(found)} results for {design}, expected 1")
    return found[0]


def first_counterexample(context, folder):
    _, text = sweep(context, folder)
    report = parse_report(text)
    examples = result_of(report, "dual-write-db-first")["counterexamples"]
    expect(examples, f"a {SWEEP_SEEDS}-seed sweep found no counterexample for the positive control dual-write-db-first")
    return examples[0]


def trace_hashes(stdout, args):
    hashes = TRACE_HASH_LINE.findall(stdout)
    expect(len(hashes) == 1,
           f"`{shown(args)}` printed {len(hashes)} 'trace-hash: <16 hex digits>' lines, expected one\n{stdout[-2000:]}")
    return hashes[0]


def schema_error_line(error):
    # A oneOf or anyOf failure says little itself; its deepest sub-errors say which key is wrong.
    leaves = []
    pending = [error]
    while pending:
        current = pending.pop()
        if current.context:
            pending.extend(current.context)
        else:
            leaves.append(current)
    leaves.sort(key=lambda leaf: -len(leaf.absolute_path))
    return "\n".join(f"  at {'/'.join(str(part) for part in leaf.absolute_path) or '(top)'}: {leaf.message[:300]}"
                     for leaf in leaves[:3])


def case_report_matches_schema(context):
    try:
        import jsonschema
    except ImportError:
        raise Failure("python3-jsonschema is missing: run scripts/deps.sh")
    with open(context.schema, encoding="utf-8") as handle:
        schema = json.load(handle)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        stdout, text = sweep(context, folder)
        expect(sorted(os.listdir(folder)) == ["out.json"],
               f"the sweep left files besides out.json: {sorted(os.listdir(folder))}")
    expect("report: out.json" in stdout, f"the sweep did not say where it wrote the report:\n{stdout}")
    report = parse_report(text)
    errors = sorted(validator.iter_errors(report), key=lambda error: list(error.absolute_path))
    expect(not errors, "the report does not match reports/schema/report.schema.json:\n" + "\n".join(
        schema_error_line(error) for error in errors[:20]))

    designs = "".join(f" --design {design}" for design in DESIGNS)
    expect(report["command"] == f"faultline run --seeds {SWEEP_SEEDS} --commands 20 --report out.json{designs}",
           f"the report's command is {report['command']!r}")
    designs = [result["design"] for result in report["results"]]
    expect(sorted(designs) == sorted(DESIGNS), f"the report has results for {designs}, expected {list(DESIGNS)}")
    expect([entry["design"] for entry in report["engine"]] == designs,
           f"engine figures are for {[entry['design'] for entry in report['engine']]}, results for {designs}")
    for result in report["results"]:
        expect(result["runs"] == int(SWEEP_SEEDS), f"{result['design']}: {result['runs']} runs, expected {SWEEP_SEEDS}")
        expect(result["seeds"] == {"first": 1, "last": int(SWEEP_SEEDS)},
               f"{result['design']}: seeds {result['seeds']}, expected 1..{SWEEP_SEEDS}")
        expect(set(result["verdicts"]) == set(result["violations"]),
               f"{result['design']}: verdicts for {sorted(result['verdicts'])}, violations for "
               f"{sorted(result['violations'])}")
        for example in result["counterexamples"]:
            replay = example["replay"]
            expect(f"--design {result['design']}" in replay and f"--seed {example['seed']}" in replay,
                   f"{result['design']}: counterexample at seed {example['seed']} has replay command {replay!r}, "
                   f"which does not name its design and seed")

    claims = listed_claims(context)
    for result in report["results"]:
        expect_verdicts_as_promised(result, claims[result["design"]])
    positive_control = result_of(report, "dual-write-db-first")
    expect(positive_control["violations"]["L"] > 0,
           f"dual-write-db-first lost no event in {SWEEP_SEEDS} seeds: the positive control was not caught")
    expect(positive_control["verdicts"]["L"] == "violated", f"dual-write-db-first: L is {positive_control['verdicts']}")
    expect(positive_control["counterexamples"], "dual-write-db-first violated L but the report lists no counterexample")
    outbox = result_of(report, "outbox-polling")
    expect(outbox["violations"]["L"] == 0,
           f"outbox-polling lost events in {outbox['violations']['L']} runs; first counterexample replays with: "
           + (outbox["counterexamples"][0]["replay"] if outbox["counterexamples"] else "(none listed)"))
    expect(outbox["verdicts"]["L"] == "holds", f"outbox-polling claims L but its verdict is {outbox['verdicts']['L']}")


DESIGN_LINE = re.compile(r"^  (\S+)\s+claims (\S+)", re.MULTILINE)


def listed_claims(context):
    """The claims of every design, as `faultline list` prints them: {design: [invariant, ...]}."""
    code, listed, stderr = context.run(["list"], cwd=".")
    expect(code == 0, f"`faultline list` exited {code}\n{stderr}")
    return {name: ([] if claims == "-" else claims.split(",")) for name, claims in DESIGN_LINE.findall(listed)}


def expect_verdicts_as_promised(result, claims):
    """A positive control's expected violation is "violated"; every invariant a design
    claims (`claims`, from `faultline list`) is "holds", with no violating run."""
    design, verdicts = result["design"], result["verdicts"]
    expected = result.get("expected_violation", "")
    if expected:
        expect(verdicts.get(expected) == "violated",
               f"{design} is a positive control for {expected}, but its verdict is {verdicts.get(expected)!r}")
    expect(expected or claims, f"{design} is no positive control yet claims nothing")
    for invariant in claims:
        replay = next((example["replay"] for example in result["counterexamples"] if example["invariant"] == invariant),
                      "(none listed)")
        expect(verdicts.get(invariant) == "holds" and result["violations"].get(invariant) == 0,
               f"{design} claims {invariant}, but its verdict is {verdicts.get(invariant)!r} with "
               f"{result['violations'].get(invariant)} violating runs; replay: {replay}")


def case_every_correct_design_keeps_every_claim(context):
    claims = listed_claims(context)
    correct = [name for name, claimed in claims.items() if claimed]
    expect(len(correct) >= 8, f"`faultline list` names {len(correct)} designs that claim invariants: {correct}")
    args = ["run", "--seeds", SWEEP_SEEDS, "--commands", "20", "--report", "out.json", "--jobs", "2"]
    for design in correct:
        args += ["--design", design]
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        code, stdout, stderr = context.run(args, cwd=folder)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0: every claim of every correct design holds"
               f"\nstdout:\n{stdout}\nstderr:\n{stderr}")
        with open(os.path.join(folder, "out.json"), encoding="utf-8") as handle:
            report = parse_report(handle.read())
    expect(sorted(result["design"] for result in report["results"]) == sorted(correct),
           f"the report has results for {[result['design'] for result in report['results']]}, expected {correct}")
    for result in report["results"]:
        expect_verdicts_as_promised(result, claims[result["design"]])


def case_report_is_deterministic(context):
    # Both sweeps use the same relative report path, so even `command` must match.
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as first, \
            tempfile.TemporaryDirectory(prefix="faultline-cli-") as second:
        _, first_text = sweep(context, first)
        _, second_text = sweep(context, second)
    first_report = parse_report(first_text)
    second_report = parse_report(second_text)
    first_engine = first_report.pop("engine")
    second_engine = second_report.pop("engine")
    if first_report != second_report:
        for index, (one, other) in enumerate(zip(first_report["results"], second_report["results"])):
            for key in sorted(set(one) | set(other)):
                expect(one.get(key) == other.get(key),
                       f"two identical sweeps differ in results[{index}].{key}:\n  {str(one.get(key))[:500]}\n"
                       f"  {str(other.get(key))[:500]}")
        raise Failure("two identical sweeps wrote different reports (outside `engine`)")
    # Keys are written sorted, so `results` is the last key: its text must match byte for byte.
    first_results = first_text[first_text.index('"results"'):]
    second_results = second_text[second_text.index('"results"'):]
    expect(first_results == second_results, "two identical sweeps wrote `results` that differ in bytes but not in value")
    # Events and simulated time are figures of the simulated world, so they repeat too;
    # only the wall-clock figures may differ.
    for one, other in zip(first_engine, second_engine):
        for key in ("design", "events", "simulated_us"):
            expect(one[key] == other[key], f"engine figure {key} of {one['design']} differs: {one[key]} vs {other[key]}")


def case_replay_prints_the_same_hash_twice(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        example = first_counterexample(context, folder)
        args = ["replay", "--design", "dual-write-db-first", "--seed", str(example["seed"]), "--commands", "20"]
        hashes = []
        for attempt in range(2):
            code, stdout, stderr = context.run(args, cwd=folder)
            # The positive control claims nothing, so a violation is no failed expectation.
            expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstderr:\n{stderr}")
            hashes.append(trace_hashes(stdout, args))
            expect(example["explanation"] in stdout,
                   f"`{shown(args)}` does not explain the {example['invariant']} violation the report lists: "
                   f"{example['explanation']}")
    expect(hashes[0] == hashes[1], f"`{shown(args)}` printed trace hash {hashes[0]}, then {hashes[1]}")
    expect(hashes[0] == example["trace_hash"],
           f"`{shown(args)}` printed trace hash {hashes[0]}, but the report lists {example['trace_hash']}")


def case_replay_writes_trace_as_json_lines(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        example = first_counterexample(context, folder)
        args = ["replay", "--design", "dual-write-db-first", "--seed", str(example["seed"]), "--commands", "20",
                "--trace", "t.jsonl"]
        code, stdout, stderr = context.run(args, cwd=folder)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstderr:\n{stderr}")
        expect(sorted(os.listdir(folder)) == ["out.json", "t.jsonl"],
               f"`{shown(args)}` left {sorted(os.listdir(folder))}, expected out.json and t.jsonl only")
        with open(os.path.join(folder, "t.jsonl"), encoding="utf-8") as handle:
            text = handle.read()
    expect(trace_hashes(stdout, args) == example["trace_hash"],
           f"`{shown(args)}`: writing the trace changed the trace hash (the report lists {example['trace_hash']})")
    expect(text.endswith("\n"), "the trace file does not end with a newline")
    lines = text.splitlines()
    expect(lines, "the trace file is empty")
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise Failure(f"t.jsonl line {number} is not JSON ({error}): {line[:300]}")
        expect(isinstance(record, dict), f"t.jsonl line {number} is not a JSON object: {line[:300]}")
    announced = re.search(r"^trace: t\.jsonl \((\d+) records\)$", stdout, re.MULTILINE)
    expect(announced, f"`{shown(args)}` did not say where it wrote the trace")
    expect(int(announced.group(1)) == len(lines),
           f"`{shown(args)}` announced {announced.group(1)} records but t.jsonl has {len(lines)} lines")


def case_replay_of_report_scenario_reproduces_counterexample(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        example = first_counterexample(context, folder)
        expect(isinstance(example["scenario"], dict), f"the counterexample has no scenario: {example['scenario']!r}")
        path = os.path.join(folder, "scenario.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(example["scenario"], handle)
        args = ["replay", "--scenario", path]
        code, stdout, stderr = context.run(args, cwd=folder)
    expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstderr:\n{stderr}")
    expect(trace_hashes(stdout, args) == example["trace_hash"],
           f"replaying the report's scenario of seed {example['seed']} gave a different trace hash than "
           f"{example['trace_hash']}")


def case_list_names_designs_and_profiles(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        code, stdout, stderr = context.run(["list"], cwd=folder)
        expect(not os.listdir(folder), f"`faultline list` wrote {os.listdir(folder)}")
    expect(code == 0, f"`faultline list` exited {code}\nstderr:\n{stderr}")
    expect(stderr == "", f"`faultline list` printed on stderr:\n{stderr}")
    for name in DESIGNS + PROFILES:
        expect(re.search(rf"^\s+{re.escape(name)}\s", stdout, re.MULTILINE),
               f"`faultline list` does not name {name}:\n{stdout}")


def case_help_mentions_exit_codes(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        code, stdout, stderr = context.run(["--help"], cwd=folder)
    expect(code == 0, f"`faultline --help` exited {code}\nstderr:\n{stderr}")
    text = " ".join(stdout.split())
    position = text.lower().find("exit codes")
    expect(position >= 0, f"`faultline --help` does not mention the exit codes:\n{stdout}")
    for code_number in "0123":
        expect(re.search(rf"\b{code_number}\b", text[position:]), f"`faultline --help` does not explain exit code "
               f"{code_number}:\n{stdout}")
    for subcommand in ("run", "replay", "list", "explore"):
        expect(re.search(rf"^\s+{subcommand}\s", stdout, re.MULTILINE),
               f"`faultline --help` does not list the {subcommand} subcommand")


# ---------------------------------------------------------------------------------
# Parallel sweeps, shards and their merge, interrupts, the determinism check.
# ---------------------------------------------------------------------------------

# Small sweeps: two designs (a positive control and a correct design), 20 seeds of 20
# commands, so each case takes a second or two.
SMALL_SWEEP = ["--seeds", "20", "--commands", "20", "--design", "dual-write-db-first", "--design", "outbox-polling"]

BAD_INPUT.update({
    "JobsZero": BadInput(["run", "--seeds", "1", "--jobs", "0", "--report", "{root}/r.json"], ["--jobs"],
                         absent=["{root}/r.json"]),
    "ShardNotAFraction": BadInput(["run", "--seeds", "4", "--shard", "half", "--report", "{root}/r.json"],
                                  ["--shard", "half"], absent=["{root}/r.json"]),
    "ShardIndexPastCount": BadInput(["run", "--seeds", "4", "--shard", "4/3", "--report", "{root}/r.json"],
                                    ["--shard", "4/3"], absent=["{root}/r.json"]),
    "ShardIndexZero": BadInput(["run", "--seeds", "4", "--shard", "0/3", "--report", "{root}/r.json"],
                               ["--shard", "0/3"], absent=["{root}/r.json"]),
    "ShardsOutnumberSeeds": BadInput(["run", "--seeds", "2", "--shard", "1/3", "--report", "{root}/r.json"],
                                     ["--shard", "1/3"], absent=["{root}/r.json"]),
    "MergeWithoutShards": BadInput(["merge", "{root}/merged.json"], ["SHARD"], absent=["{root}/merged.json"]),
})


def schema_validator(context):
    try:
        import jsonschema
    except ImportError:
        raise Failure("python3-jsonschema is missing: run scripts/deps.sh")
    with open(context.schema, encoding="utf-8") as handle:
        schema = json.load(handle)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def expect_valid(validator, report, what):
    errors = sorted(validator.iter_errors(report), key=lambda error: list(error.absolute_path))
    expect(not errors, f"{what} does not match reports/schema/report.schema.json:\n" + "\n".join(
        schema_error_line(error) for error in errors[:20]))


def run_small_sweep(context, folder, extra, report="out.json"):
    """Runs `faultline run SMALL_SWEEP... --report REPORT EXTRA...`; returns (stdout, report text)."""
    args = ["run"] + SMALL_SWEEP + ["--report", report] + extra
    code, stdout, stderr = context.run(args, cwd=folder)
    expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout}\nstderr:\n{stderr}")
    expect(stderr == "", f"`{shown(args)}` printed on stderr (stderr is no terminal here):\n{stderr}")
    with open(os.path.join(folder, report), encoding="utf-8") as handle:
        return stdout, handle.read()


def results_text(text):
    # Keys are written sorted: `results` is followed by `schema_version` (and, in a shard, `shard`).
    return text[text.index('"results"'):text.index('"schema_version"')]


def expect_same_simulated_engine(one, other, what):
    """Events and simulated time repeat; only the wall-clock figures may differ."""
    expect(len(one) == len(other), f"{what}: {len(one)} and {len(other)} engine entries")
    for first, second in zip(one, other):
        for key in ("design", "events", "simulated_us"):
            expect(first[key] == second[key],
                   f"{what}: engine figure {key} of {first['design']} differs: {first[key]} vs {second[key]}")


def case_two_jobs_write_the_same_results_as_one(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as one, \
            tempfile.TemporaryDirectory(prefix="faultline-cli-") as two:
        _, one_text = run_small_sweep(context, one, ["--jobs", "1"])
        _, two_text = run_small_sweep(context, two, ["--jobs", "2"])
    expect(results_text(one_text) == results_text(two_text),
           "`--jobs 2` wrote other `results` than `--jobs 1`; the first difference is near: "
           + next((f"{a!r} vs {b!r}" for a, b in zip(results_text(one_text).splitlines(),
                                                      results_text(two_text).splitlines()) if a != b), "(the end)"))
    expect_same_simulated_engine(parse_report(one_text)["engine"], parse_report(two_text)["engine"],
                                 "--jobs 1 and --jobs 2")


def write_shards(context, folder, count, extra_per_shard=None):
    """Runs the small sweep as `count` shards in folder (shard I writes sI.json); returns the file names."""
    names = []
    for index in range(1, count + 1):
        name = f"s{index}.json"
        extra = (extra_per_shard or {}).get(index, [])
        args = ["run"] + SMALL_SWEEP + extra + ["--report", name, "--shard", f"{index}/{count}"]
        code, stdout, stderr = context.run(args, cwd=folder)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout}\nstderr:\n{stderr}")
        names.append(name)
    return names


def case_merged_shards_equal_one_machine(context):
    validator = schema_validator(context)
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as shards, \
            tempfile.TemporaryDirectory(prefix="faultline-cli-") as whole:
        names = write_shards(context, shards, 3)
        shard_reports = []
        for name in names:
            with open(os.path.join(shards, name), encoding="utf-8") as handle:
                shard_reports.append(parse_report(handle.read()))
            expect_valid(validator, shard_reports[-1], f"shard report {name}")
        expect([report["shard"]["index"] for report in shard_reports] == [1, 2, 3],
               f"the shard reports say they are shards {[report.get('shard') for report in shard_reports]}")
        ranges = [(report["results"][0]["seeds"]["first"], report["results"][0]["seeds"]["last"])
                  for report in shard_reports]
        expect(ranges == [(1, 7), (8, 14), (15, 20)], f"3 shards of seeds 1..20 cover {ranges}, expected "
               "1..7, 8..14, 15..20 (contiguous, the longer ones first)")

        # Shards given out of order merge all the same.
        args = ["merge", "merged.json", names[2], names[0], names[1]]
        code, stdout, stderr = context.run(args, cwd=shards)
        expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout}\nstderr:\n{stderr}")
        expect(stderr == "", f"`{shown(args)}` printed on stderr:\n{stderr}")
        expect("report: merged.json" in stdout, f"`{shown(args)}` did not say where it wrote the report:\n{stdout}")
        with open(os.path.join(shards, "merged.json"), encoding="utf-8") as handle:
            merged_text = handle.read()
        # One machine, told to write the same file name, writes the same report.
        _, whole_text = run_small_sweep(context, whole, [], report="merged.json")

    merged = parse_report(merged_text)
    expect_valid(validator, merged, "the merged report")
    expect("shard" not in merged, "the merged report still says it is a shard")
    expect(results_text(merged_text) == results_text(whole_text),
           "the merged shards' `results` differ from one machine's; the first difference is near: "
           + next((f"{a!r} vs {b!r}" for a, b in zip(results_text(merged_text).splitlines(),
                                                      results_text(whole_text).splitlines()) if a != b), "(the end)"))
    one_machine = parse_report(whole_text)
    expect_same_simulated_engine(merged.pop("engine"), one_machine.pop("engine"), "merged shards and one machine")
    expect(merged == one_machine, f"the merged report differs from one machine's outside `engine`: command "
           f"{merged['command']!r} vs {one_machine['command']!r}")


class BadMerge:
    """A merge that must be refused: `shards` are the arguments after OUT (file names in
    the folder, made by write_shards unless `prepare` writes them); `names` are fragments
    the error line must contain."""

    def __init__(self, shards, names, extra_per_shard=None, prepare=None):
        self.shards = shards
        self.names = names
        self.extra_per_shard = extra_per_shard
        self.prepare = prepare


def write_file(name, contents):
    def prepare(folder):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(contents)
    return prepare


BAD_MERGES = {
    "MissingFile": BadMerge(["s1.json", "s2.json", "gone.json"], ["gone.json"]),
    "MalformedJson": BadMerge(["s1.json", "s2.json", "broken.json"], ["broken.json", "JSON"],
                              prepare=write_file("broken.json", b'{"schema_version": 1, "results": [')),
    "NotAReport": BadMerge(["s1.json", "s2.json", "list.json"], ["list.json", "object"],
                           prepare=write_file("list.json", b"[1, 2, 3]")),
    "MismatchedDesignSets": BadMerge(["s1.json", "s2.json", "s3.json"], ["s1.json", "s2.json", "designs"],
                                     extra_per_shard={2: ["--design", "outbox-cdc"]}),
    "OverlappingShards": BadMerge(["s1.json", "s2.json", "s2.json", "s3.json"], ["s2.json", "2/3", "overlap"]),
    "MissingShard": BadMerge(["s1.json", "s3.json"], ["2/3", "missing"]),
    "WholeSweepReport": BadMerge(["s1.json", "whole.json"], ["whole.json", "shard"]),
}


def check_bad_merge(context, case):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        write_shards(context, folder, 3, case.extra_per_shard)
        if "whole.json" in case.shards:
            run_small_sweep(context, folder, [], report="whole.json")
        if case.prepare:
            case.prepare(folder)
        args = ["merge", "merged.json"] + case.shards
        before = snapshot(folder)
        code, stdout, stderr = context.run(args, cwd=folder)
        after = snapshot(folder)
    command = shown(args)
    lines = stderr.splitlines()
    expect(code == 2, f"`{command}` exited {code}, expected 2 (usage or input error)\nstdout:\n{stdout}\n"
           f"stderr:\n{stderr}")
    expect(len(lines) == 1, f"`{command}` printed {len(lines)} lines on stderr, expected exactly one:\n{stderr}")
    expect(lines[0].startswith("faultline: error: "),
           f"`{command}`: the error line does not start with 'faultline: error: ':\n{lines[0]}")
    for name in case.names:
        expect(name in lines[0], f"`{command}`: the error line does not name {name!r}:\n{lines[0]}")
    expect(stdout == "", f"`{command}` printed on stdout although it refused the input:\n{stdout[:2000]}")
    expect(before == after, f"`{command}` touched files although it refused the input: "
           f"{sorted(set(after) ^ set(before)) or 'changed contents'}")


def run_and_signal(context, args, folder, signal_number, seconds):
    """Starts the command, waits for its first line (printed once its signal handlers are
    in place, before the first run), lets it work `seconds` more, sends `signal_number`
    and waits up to 30 s for it to end; returns (process, stdout, stderr) as text."""
    import time
    process = subprocess.Popen([context.faultline] + args, cwd=folder, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    name = f"signal {signal_number}"
    try:
        first_line = process.stdout.readline().decode("utf-8", errors="replace")
        expect(first_line.startswith("faultline run:"), f"`{shown(args)}` began with {first_line!r}")
        time.sleep(seconds)
        expect(process.poll() is None, f"`{shown(args)}` ended within {seconds} s, before it could be signalled")
        process.send_signal(signal_number)
        rest, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise Failure(f"`{shown(args)}` did not stop within 30 s of {name}")
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process, first_line + rest.decode("utf-8", errors="replace"), stderr.decode("utf-8", errors="replace")


def case_sigint_writes_a_valid_interrupted_report(context):
    import signal
    validator = schema_validator(context)
    seeds = 100_000
    args = ["run", "--design", "outbox-polling", "--seeds", str(seeds), "--commands", "200", "--jobs", "2",
            "--report", "out.json"]
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        process, stdout, stderr = run_and_signal(context, args, folder, signal.SIGINT, 1.0)
        expect(process.returncode == 1, f"`{shown(args)}` exited {process.returncode} after SIGINT, expected 1\n"
               f"stdout:\n{stdout}\nstderr:\n{stderr}")
        expect(re.search(r"^interrupted by SIGINT: \d+ of 100000 runs finished", stdout, re.MULTILINE),
               f"`{shown(args)}` did not say it was interrupted:\n{stdout}")
        expect(sorted(os.listdir(folder)) == ["out.json"],
               f"the interrupted sweep left {sorted(os.listdir(folder))}, expected out.json only")
        with open(os.path.join(folder, "out.json"), encoding="utf-8") as handle:
            report = parse_report(handle.read())
    expect_valid(validator, report, "the interrupted sweep's report")
    expect(report["interrupted"] is True, f"the interrupted sweep's report says interrupted: {report['interrupted']}")
    expect(len(report["results"]) == 1, f"the interrupted sweep's report has {len(report['results'])} results")
    result = report["results"][0]
    expect(0 < result["runs"] < seeds, f"the interrupted sweep's report holds {result['runs']} runs, expected "
           f"some but fewer than {seeds}")
    expect(result["seeds"] == {"first": 1, "last": result["runs"]},
           f"{result['runs']} runs finished, but the report says seeds {result['seeds']}")


def case_check_determinism_passes_on_a_healthy_build(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        stdout, _ = run_small_sweep(context, folder, ["--check-determinism", "--jobs", "2"])
    # The first seed and every 20th after it are rerun: of seeds 1..20, seed 1 of each design.
    reran = re.search(r"^determinism: reran (\d+) seeds; each gave the trace hash of its first run$", stdout,
                      re.MULTILINE)
    expect(reran, f"`faultline run --check-determinism` did not report its reruns:\n{stdout}")
    expect(int(reran.group(1)) == 2, f"20 seeds of 2 designs: expected 2 reruns (seed 1 of each), got "
           f"{reran.group(1)}")


SWEEP_CASES = {f"Merge.Refuses{name}": (lambda context, case=case: check_bad_merge(context, case))
               for name, case in BAD_MERGES.items()}
SWEEP_CASES.update({
    "Jobs.TwoJobsWriteTheSameResultsAsOne": case_two_jobs_write_the_same_results_as_one,
    "Shard.MergedShardsEqualOneMachine": case_merged_shards_equal_one_machine,
    "Interrupt.SigintWritesAValidInterruptedReport": case_sigint_writes_a_valid_interrupted_report,
    "CheckDeterminism.PassesOnAHealthyBuild": case_check_determinism_passes_on_a_healthy_build,
})


# ---------------------------------------------------------------------------------
# The hunt: seeds to the first failure over independent searches, and the shrunk
# counterexample of the first failing search.
# ---------------------------------------------------------------------------------

BAD_INPUT.update({
    "HuntUnknownDesign": BadInput(["hunt", "--design", "nope", "--json", "{root}/h.json"], ["design", "nope"],
                                  absent=["{root}/h.json"]),
    "HuntUnknownProfile": BadInput(["hunt", "--profile", "nope", "--json", "{root}/h.json"], ["profile", "nope"],
                                   absent=["{root}/h.json"]),
    "HuntSearchesZero": BadInput(["hunt", "--searches", "0", "--json", "{root}/h.json"], ["--searches", "0"],
                                 absent=["{root}/h.json"]),
    "HuntSearchesNotANumber": BadInput(["hunt", "--searches", "many", "--json", "{root}/h.json"],
                                       ["--searches", "many"], absent=["{root}/h.json"]),
    "HuntSeedsMaxNotANumber": BadInput(["hunt", "--seeds-max", "lots", "--json", "{root}/h.json"],
                                       ["--seeds-max", "lots"], absent=["{root}/h.json"]),
    "HuntSeedsMaxPastTheSearchStride": BadInput(["hunt", "--seeds-max", "1000000001", "--json", "{root}/h.json"],
                                                ["--seeds-max", "1000000001"], absent=["{root}/h.json"]),
    "HuntJobsZero": BadInput(["hunt", "--jobs", "0", "--json", "{root}/h.json"], ["--jobs"], absent=["{root}/h.json"]),
    "HuntJsonInMissingFolder": BadInput(["hunt", "--design", "dual-write-db-first", "--json", "/nonexistent/dir/h.json"],
                                        ["/nonexistent/dir/h.json"], absent=["/nonexistent/dir/h.json", "/nonexistent"]),
    "HuntJsonPathIsAFolder": BadInput(["hunt", "--design", "dual-write-db-first", "--json", "{root}/target"],
                                      ["{root}/target", "directory"], folders=["target"]),
})

# A small hunt: a positive control and a correct design, 3 searches of at most 100 seeds
# of 20 commands each, so a case takes a few seconds.
SMALL_HUNT = ["--searches", "3", "--seeds-max", "100", "--commands", "20", "--design", "dual-write-db-first",
              "--design", "outbox-polling"]
HUNT_ROW = re.compile(r"^(\S+)\s+(expects \S+|claims \S+)\s+(holds|caught|NOT CAUGHT|VIOLATED)\s+(\d+)/(\d+)\s",
                      re.MULTILINE)


def run_hunt(context, folder, args, expected_code=0):
    """Runs `faultline hunt ARGS` in folder; returns (stdout, the rows by design, the JSON table or None)."""
    args = ["hunt"] + args
    code, stdout, stderr = context.run(args, cwd=folder)
    expect(code == expected_code,
           f"`{shown(args)}` exited {code}, expected {expected_code}\nstdout:\n{stdout[-3000:]}\nstderr:\n{stderr}")
    expect(stderr == "", f"`{shown(args)}` printed on stderr:\n{stderr}")
    rows = {match.group(1): match for match in HUNT_ROW.finditer(stdout)}
    table = None
    if "--json" in args:
        with open(os.path.join(folder, args[args.index("--json") + 1]), encoding="utf-8") as handle:
            table = json.load(handle)
    return stdout, rows, table


def case_hunt_catches_the_control_and_its_shrunk_counterexample_replays(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        stdout, rows, table = run_hunt(context, folder, SMALL_HUNT + ["--json", "hunt.json"])
        expect(sorted(os.listdir(folder)) == ["hunt.json"], f"the hunt left {os.listdir(folder)} behind")
        expect(set(rows) == {"dual-write-db-first", "outbox-polling"}, f"the hunt printed rows for {set(rows)}:\n{stdout}")
        control, correct = rows["dual-write-db-first"], rows["outbox-polling"]
        expect(control.group(2, 3, 4, 5) == ("expects L", "caught", "3", "3"),
               f"the positive control's row is not 'expects L  caught  3/3':\n{control.group(0)}")
        expect(correct.group(3, 4, 5) == ("holds", "0", "3"),
               f"outbox-polling's row is not 'holds  0/3':\n{correct.group(0)}")
        expect([row["design"] for row in table["designs"]] == ["dual-write-db-first", "outbox-polling"],
               f"the JSON table lists {[row['design'] for row in table['designs']]}")
        row = table["designs"][0]
        seeds = row["seeds_to_failure"]
        expect(len(seeds) == 3 and all(isinstance(taken, int) and 1 <= taken <= 100 for taken in seeds),
               f"seeds to failure of the control: {seeds}")
        expect(row["min_seeds"] == min(seeds) and row["max_seeds"] == max(seeds) and row["median_seeds"] == sorted(seeds)[1],
               f"min/median/max {row['min_seeds']}/{row['median_seeds']}/{row['max_seeds']} do not fit {seeds}")
        shrunk = row["shrunk"]
        expect(shrunk["commands"] <= shrunk["commands_before"] and shrunk["faults"] <= shrunk["faults_before"],
               f"the shrunk counterexample grew: {shrunk}")
        expect(f"L: {shrunk['commands']} cmd, {shrunk['faults']} fault" in control.group(0) + stdout,
               f"the row does not give the shrunk size {shrunk['commands']} cmd, {shrunk['faults']} faults:\n{stdout}")
        expect(table["designs"][1]["shrunk"] is None and table["designs"][1]["median_seeds"] is None,
               f"outbox-polling has a shrunk counterexample or a median: {table['designs'][1]}")
        path = os.path.join(folder, "shrunk.json")
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(shrunk["scenario"], handle)
        args = ["replay", "--scenario", path]
        code, replayed, stderr = context.run(args, cwd=folder)
    expect(code == 0, f"`{shown(args)}` exited {code}\nstderr:\n{stderr}")
    expect(re.search(r"^  => L[ :]", replayed, re.MULTILINE),
           f"the shrunk scenario, replayed on its own, lost no event:\n{replayed[-3000:]}")


def case_hunt_gives_the_same_table_for_one_job_and_two(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as one, \
            tempfile.TemporaryDirectory(prefix="faultline-cli-") as two:
        one_stdout, _, one_table = run_hunt(context, one, SMALL_HUNT + ["--jobs", "1", "--json", "t.json"])
        two_stdout, _, two_table = run_hunt(context, two, SMALL_HUNT + ["--jobs", "2", "--json", "t.json"])
    one_table.pop("command")
    two_table.pop("command")
    expect(one_table == two_table, "`hunt --jobs 2` wrote another table than `--jobs 1`")
    expect(one_stdout.splitlines()[1:] == two_stdout.splitlines()[1:],
           f"`hunt --jobs 2` printed another table than `--jobs 1`:\n{one_stdout}\n{two_stdout}")


def case_hunt_exits_one_when_a_control_is_not_caught_by_every_search(context):
    # One seed per search is too small a budget for this control in some search.
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        stdout, rows, _ = run_hunt(context, folder, ["--searches", "3", "--seeds-max", "1", "--commands", "20",
                                                     "--design", "bug-resubmit-without-ownership"], expected_code=1)
    row = rows.get("bug-resubmit-without-ownership")
    expect(row is not None and row.group(3) == "NOT CAUGHT", f"the hunt did not say NOT CAUGHT:\n{stdout}")
    expect("bug-resubmit-without-ownership: positive control not caught" in stdout, f"no note on the missed control:\n{stdout}")


HUNT_CASES = {
    "Hunt.CatchesTheControlAndItsShrunkCounterexampleReplays":
        case_hunt_catches_the_control_and_its_shrunk_counterexample_replays,
    "Hunt.GivesTheSameTableForOneJobAndTwo": case_hunt_gives_the_same_table_for_one_job_and_two,
    "Hunt.ExitsOneWhenAControlIsNotCaughtByEverySearch": case_hunt_exits_one_when_a_control_is_not_caught_by_every_search,
}


# ---------------------------------------------------------------------------------
# Systematic search: explore crashes every named point (depth 1) and pairs (depth 2).
# ---------------------------------------------------------------------------------

COVERAGE_LINE = re.compile(r"^points reached: (\d+); crash sites tried: (\d+) of (\d+)(?:; pairs tried: (\d+) of (\d+))?",
                           re.MULTILINE)


def explore(context, folder, args):
    """Runs `faultline explore ARGS` in folder; returns stdout, and the coverage line's numbers."""
    args = ["explore"] + args
    code, stdout, stderr = context.run(args, cwd=folder)
    expect(code == 0, f"`{shown(args)}` exited {code}, expected 0\nstdout:\n{stdout[-3000:]}\nstderr:\n{stderr}")
    expect(stderr == "", f"`{shown(args)}` printed on stderr:\n{stderr}")
    coverage = COVERAGE_LINE.search(stdout)
    expect(coverage, f"`{shown(args)}` printed no coverage line ('points reached: N; crash sites tried: ...'):\n"
           f"{stdout[:3000]}")
    return stdout, coverage


def case_explore_finds_the_lost_event_at_a_single_crash_site(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        os.mkdir(os.path.join(folder, "found"))
        args = ["--design", "dual-write-db-first", "--depth", "1", "--save-counterexamples", "found"]
        stdout, coverage = explore(context, folder, args)
        points, tried, total = (int(coverage.group(index)) for index in (1, 2, 3))
        expect(points > 0 and tried == total > 0, f"explore covered {points} points and {tried} of {total} crash sites")
        expect(re.search(r"^verdict: caught: L violated in \d+ of \d+ runs$", stdout, re.MULTILINE),
               f"explore did not catch dual-write-db-first losing an event:\n{stdout[-3000:]}")
        # The textbook counterexample: one crash right after the commit.
        textbook = re.search(r"^\s*(\d+)\. crash the node at service\.after_commit \(hit 1\)[^\n]*?(?:\n\s*)?=> L[ :]", stdout,
                             re.MULTILINE)
        expect(textbook, f"explore lists no single crash at service.after_commit losing an event:\n{stdout[-3000:]}")
        number = textbook.group(1)
        replay = re.search(rf"replay: faultline replay --scenario (found/explore-dual-write-db-first-{number}\.json)"
                           rf"  \(trace-hash ([0-9a-f]{{16}})\)", stdout)
        expect(replay, f"explore did not print the replay command of failure {number}:\n{stdout[-3000:]}")
        args = ["replay", "--scenario", replay.group(1)]
        code, replayed, stderr = context.run(args, cwd=folder)
    expect(code == 0, f"`{shown(args)}` exited {code}\nstderr:\n{stderr}")
    expect(trace_hashes(replayed, args) == replay.group(2),
           f"replaying failure {number} gave a different trace hash than explore printed ({replay.group(2)})")


def case_explore_finds_nothing_in_the_outbox_at_depth_two(context):
    with tempfile.TemporaryDirectory(prefix="faultline-cli-") as folder:
        stdout, coverage = explore(context, folder, ["--design", "outbox-polling", "--depth", "2"])
        expect(not os.listdir(folder), f"explore wrote {os.listdir(folder)} without --save-counterexamples")
    expect(coverage.group(4) is not None, f"explore --depth 2 printed no 'pairs tried' figure:\n{stdout[:3000]}")
    pairs, pairs_total = int(coverage.group(4)), int(coverage.group(5))
    expect(0 < pairs <= pairs_total, f"explore --depth 2 tried {pairs} of {pairs_total} pairs")
    expect("failures:" not in stdout, f"explore found failures in outbox-polling:\n{stdout[-3000:]}")
    expect(re.search(r"^verdict: L,P,A,O,EO,E,ND,W hold at every crash site and pair tried", stdout, re.MULTILINE),
           f"explore did not say the outbox kept its claims:\n{stdout[-3000:]}")


EXPLORE_CASES = {
    "Explore.FindsTheLostEventOfDualWriteAtASingleCrashSite": case_explore_finds_the_lost_event_at_a_single_crash_site,
    "Explore.FindsNothingInTheOutboxAtDepthTwo": case_explore_finds_nothing_in_the_outbox_at_depth_two,
}


CASES = {f"BadInput.{name}": (lambda context, case=case: check_bad_input(context, case))
         for name, case in BAD_INPUT.items()}
CASES.update({
    "Run.WritesAReportThatMatchesTheSchema": case_report_matches_schema,
    "Run.WritesTheSameResultsTwice": case_report_is_deterministic,
    "Run.EveryCorrectDesignKeepsEveryClaim": case_every_correct_design_keeps_every_claim,
    "Replay.PrintsTheSameTraceHashTwice": case_replay_prints_the_same_hash_twice,
    "Replay.WritesTheTraceAsJsonLines": case_replay_writes_trace_as_json_lines,
    "Replay.ScenarioFromTheReportReproducesTheCounterexample": case_replay_of_report_scenario_reproduces_counterexample,
    "List.NamesTheDesignsAndProfiles": case_list_names_designs_and_profiles,
    "Help.MentionsTheExitCodes": case_help_mentions_exit_codes,
})
CASES.update(SWEEP_CASES)
CASES.update(EXPLORE_CASES)
CASES.update(HUNT_CASES)


def main(argv, cases=None):
    """Runs one case of `cases` (this script's own by default) as argv says."""
    cases = CASES if cases is None else cases
    if argv[1:] == ["--list"]:
        print("\n".join(cases))
        return 0
    if len(argv) != 4 or argv[3] not in cases:
        print(f"usage: {argv[0]} --list | {argv[0]} FAULTLINE SCHEMA CASE", file=sys.stderr)
        return 2
    faultline, schema, name = argv[1:]
    try:
        cases[name](Context(os.path.abspath(faultline), os.path.abspath(schema)))
    except Skip as reason:
        print(f"SKIPPED {name}: {reason}")
        return SKIPPED
    except Failure as failure:
        print(f"FAILED {name}: {failure}")
        print(f"rerun: {sys.executable} {os.path.abspath(argv[0])} {faultline} {schema} {name}")
        return 1
    print(f"PASSED {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
