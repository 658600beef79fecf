"""One CLI (issue 15, item 6): every command of ``juki`` and ``juki-conformance`` fails
with one line ``error: [TAG] ...`` on stderr (juki_protocol/cli_errors.py), never a
traceback; ``juki decode`` feeds ``juki encode``; ``envelope seal`` checks the type;
``--inform PEM|DER``; a closed pipe is quiet; Ctrl-C writes a partial report and exits
130; prepare-node's start command runs as pasted; the example ICS files are valid."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import jsonschema
import pytest
from click.testing import CliRunner, Result

from juki_conformance.cli import main as conformance_main
from juki_protocol.cli_errors import ERROR_LINE
from juki_protocol.node.operators import DEFAULT_ROLES
from juki_protocol.resources import vectors_dir
from juki_protocol.tools.cli import main as juki_main

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(ERROR_LINE)
MAINS: dict[str, click.Group] = {"juki": juki_main, "juki-conformance": conformance_main}
JUKI = [sys.executable, "-m", "juki_protocol.tools.cli"]
CONFORMANCE = [sys.executable, "-m", "juki_conformance.cli"]


def _leaves(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*path, name))
        else:
            yield (*path, name)


COMMANDS = [(prog, path) for prog, group in MAINS.items() for path in _leaves(group)]


def _invoke(prog: str, args: list[str], **kwargs: object) -> Result:
    return CliRunner().invoke(MAINS[prog], args, prog_name=prog, **kwargs)  # type: ignore[arg-type]


def _one_error_line(result: Result, codes: tuple[int, ...] = (1, 2)) -> str:
    """The single error line of a failed command; fails unless the exit status is in
    ``codes``, stderr is that one line in the one format, and nothing is a traceback."""
    assert result.exit_code in codes, (result.exit_code, result.output)
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        result.exception
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and LINE.match(lines[0]), result.stderr
    return lines[0]


# Every command: an unknown option, then a bad input of its own ---------------------

@pytest.mark.parametrize(("prog", "path"), COMMANDS, ids=[" ".join((p, *c)) for p, c in COMMANDS])
def test_every_command_reports_a_usage_error_in_the_one_format(prog: str,
                                                               path: tuple[str, ...]) -> None:
    line = _one_error_line(_invoke(prog, [*path, "--no-such-option-anywhere"]), (2,))
    assert line.startswith("error: [usage] ") and "--no-such-option-anywhere" in line


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Bad inputs: a text file, an empty and a non-empty directory, a missing path, a
    directory holding a database, a non-empty directory."""
    d = tmp_path_factory.mktemp("bad")
    (d / "text.txt").write_text("hello, this is neither DER, JSON nor SQLite\n")
    (d / "empty").mkdir()
    (d / "full").mkdir()
    (d / "full" / "x.db").write_bytes(b"")
    return {"txt": str(d / "text.txt"), "empty": str(d / "empty"), "full": str(d / "full"),
            "missing": str(d / "missing.der"), "out": str(d / "out.bin"),
            "newdir": str(d / "new")}


_ROLE = sorted(DEFAULT_ROLES)[0]

#: For each command, a representative bad invocation, its exit statuses and the tag
#: its error line must carry ({txt} etc. are the ``files`` fixture's).
BAD: dict[tuple[str, tuple[str, ...]], tuple[list[str], tuple[int, ...], str]] = {
    ("juki", ("audit", "analyse")): (["{txt}"], (1,), "1024 INVALID_FIELD"),
    ("juki", ("audit", "verify")): (["{txt}"], (1,), "input"),
    ("juki", ("code", "check")): (["--kind", "planet", "1"], (2,), "usage"),
    ("juki", ("code", "new")): (["--kind", "resident", "--count", "0"], (2,), "usage"),
    ("juki", ("decode",)): (["{txt}"], (1,), "1010 DER_MALFORMED"),
    ("juki", ("encode",)): (["--type", "IdentityInfoUpdate", "--in", "{txt}"], (1,),
                            "1030 INVALID_JSON"),
    ("juki", ("envelope", "open")): (["--key", "{txt}", "--cert", "{txt}", "--trust",
                                      "{txt}", "--in", "{txt}", "--out", "{out}"], (1,),
                                     "2017 CERT_INVALID"),
    ("juki", ("envelope", "seal")): (["--key", "{txt}", "--cert", "{txt}", "--to", "{txt}",
                                      "--in", "{txt}", "--out", "{out}"], (1,),
                                     "2017 CERT_INVALID"),
    ("juki", ("fixtures", "capture")): (["--flow", "wide-area", "--out", "{empty}"], (2,),
                                        "usage"),
    ("juki", ("fixtures", "messages")): (["--out", "{txt}"], (2,), "usage"),
    ("juki", ("fixtures", "residents")): (["--count", "-1"], (2,), "usage"),
    ("juki", ("network", "up")): (["--dir", "{full}"], (1,), "input"),
    ("juki", ("node", "operators", "issue")): (["--file", "{out}", "--node", "270008",
                                                "--cert", "{txt}", "--key", "{txt}", "--id",
                                                "op-1", "--role", _ROLE, "--pin", "1234"],
                                               (1,), "2017 CERT_INVALID"),
    ("juki", ("node", "resume-feed")): (["--db", "{txt}", "--node", "271004", "--operator",
                                         "op-1"], (1,), "input"),
    ("juki", ("node", "resume-provision")): (["--db", "{txt}", "--node", "270008", "--body",
                                              "AG0001", "--operator", "op-1"], (1,), "input"),
    ("juki", ("node", "stop-feed")): (["--db", "{txt}", "--node", "271004", "--reason",
                                       "misuse", "--operator", "op-1"], (1,), "input"),
    ("juki", ("node", "suspend-provision")): (["--db", "{txt}", "--node", "270008", "--body",
                                               "AG0001", "--reason", "misuse", "--operator",
                                               "op-1"], (1,), "input"),
    ("juki", ("node", "suspensions")): (["--db", "{txt}", "--node", "270008"], (1,), "input"),
    ("juki", ("node", "serve")): (["--role", "prefecture", "--node", "270008", "--db",
                                   "{out}", "--cert", "{missing}", "--key", "{txt}",
                                   "--trust", "{txt}", "--no-crl"], (1, 2), ""),
    ("juki", ("pki", "crl")): (["--dir", "{empty}"], (1,), "input"),
    ("juki", ("pki", "init-ca")): (["--dir", "{txt}"], (2,), "usage"),
    ("juki", ("pki", "issue")): (["--dir", "{empty}", "--role", "prefecture", "--node",
                                  "270008"], (1,), "input"),
    ("juki", ("pki", "revoke")): (["--dir", "{empty}", "--node", "270008"], (1,), "input"),
    ("juki", ("simulate",)): ([], (2,), "usage"),
    ("juki", ("spec", "check")): (["--dir", "{txt}"], (2,), "usage"),
    ("juki", ("spec", "generate")): (["--dir", "{txt}"], (2,), "usage"),
    ("juki", ("types",)): (["extra"], (2,), "usage"),
    ("juki", ("vectors", "generate")): (["--out", "{txt}"], (2,), "usage"),
    ("juki", ("vectors", "verify")): (["{missing}"], (2,), "usage"),
    ("juki-conformance", ("evidence-signer",)): (["--out", "{full}"], (2,), "usage"),
    ("juki-conformance", ("list",)): (["--vectors", "{txt}"], (2,), "usage"),
    ("juki-conformance", ("mutation",)): (["--rescore", "{txt}"], (2,), "usage"),
    ("juki-conformance", ("prepare-node",)): (["--role", "prefecture", "--node", "12",
                                               "--out", "{newdir}"], (2,), ""),
    ("juki-conformance", ("run",)): (["--ics", "{txt}"], (2,), "usage"),
    ("juki-conformance", ("verify-evidence",)): (["{txt}", "--trust", "{txt}"], (2,), ""),
}


def test_every_command_has_a_bad_invocation() -> None:
    assert sorted(BAD) == sorted(COMMANDS)


@pytest.mark.parametrize(("prog", "path"), COMMANDS, ids=[" ".join((p, *c)) for p, c in COMMANDS])
def test_every_command_refuses_bad_input_in_the_one_format(
        prog: str, path: tuple[str, ...], files: dict[str, str]) -> None:
    args, codes, tag = BAD[(prog, path)]
    line = _one_error_line(_invoke(prog, [*path, *(a.format(**files) for a in args)]), codes)
    assert line.startswith(f"error: [{tag}") if tag else True, line


def test_an_internal_error_is_one_line_and_the_traceback_needs_debug(tmp_path: Path) -> None:
    # A missing input file fails inside Python's I/O: [io], one line, the path named.
    missing = tmp_path / "missing.json"
    line = _one_error_line(_invoke("juki", ["encode", "--type", "IdentityInfoUpdate", "--in",
                                            str(missing)]), (1,))
    assert line == f"error: [io] {missing}: No such file or directory"
    # A bug: the handler of both command lines, around a command that divides by zero.
    program = ("import click\n"
               "from juki_protocol.cli_errors import ErrorHandlingGroup\n"
               "@click.group(cls=ErrorHandlingGroup)\n"
               "def main() -> None: pass\n"
               "@main.command()\n"
               "def bug() -> None: print(1 / 0)\n"
               "main()\n")
    for args, env, traceback in (([], {}, False), ([], {"JUKI_DEBUG": "1"}, True),
                                 (["--debug"], {}, True)):
        proc = subprocess.run([sys.executable, "-c", program, *args, "bug"],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "JUKI_DEBUG": "", **env})
        assert proc.returncode == 1
        assert ("Traceback" in proc.stderr) is traceback, proc.stderr
        last = proc.stderr.splitlines()[-1]
        assert LINE.match(last) and last.startswith("error: [internal] ZeroDivisionError")
        assert "--debug" in last


def _ctrl_c_as_at_a_terminal() -> None:
    """SIGINT at its default in the child, as at a terminal: a shell without job control
    starts background jobs (a CI run under ``cmd &``) with SIGINT ignored, and a child
    inherits that, so Python would not install its Ctrl-C handler at all."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_in_any_command_is_one_line_and_130() -> None:
    program = ("import time, click\n"
               "from juki_protocol.cli_errors import ErrorHandlingGroup\n"
               "@click.group(cls=ErrorHandlingGroup)\n"
               "def main() -> None: pass\n"
               "@main.command()\n"
               "def wait() -> None:\n"
               "    print('waiting', flush=True)\n"
               "    time.sleep(60)\n"
               "main()\n")
    proc = subprocess.Popen([sys.executable, "-c", program, "wait"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_ctrl_c_as_at_a_terminal)
    assert proc.stdout is not None and proc.stdout.readline() == "waiting\n"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert [line for line in stderr.splitlines() if line] == \
        ["error: [interrupted] stopped by Ctrl-C (SIGINT)"]


# decode | encode ---------------------------------------------------------------------

def _valid_vectors() -> Iterator[tuple[str, str | None, bytes, list[str]]]:
    for path in sorted(vectors_dir().glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for group in doc["testGroups"]:
            for t in group["tests"]:
                if t["result"] == "valid":
                    yield (doc["messageType"], group["profile"], bytes.fromhex(t["der"]),
                           t["flags"])


def test_decode_output_feeds_encode_as_it_is_for_every_message_type(tmp_path: Path) -> None:
    seen, refused = set(), 0
    for type_name, profile, der, flags in _valid_vectors():
        src = tmp_path / "x.der"
        src.write_bytes(der)
        decoded = _invoke("juki", ["decode", str(src)])
        assert decoded.exit_code == 0, decoded.output
        prof = ["--profile", "2002"] if profile == "p2002" else []
        encoded = _invoke("juki", ["encode", *prof], input=decoded.stdout)
        if "UnknownExtension" in flags:
            # What encode cannot reproduce it refuses, rather than drop it silently.
            assert "1030 INVALID_JSON" in _one_error_line(encoded, (1,))
            refused += 1
            continue
        assert encoded.exit_code == 0, (type_name, flags, encoded.output)
        assert encoded.stdout_bytes == der, (type_name, flags)
        seen.add(type_name)
    from juki_protocol.messages import MESSAGE_TYPES
    assert seen == {json.loads(p.read_text("utf-8"))["messageType"]
                    for p in vectors_dir().glob("codec_*.json")}
    assert seen <= set(MESSAGE_TYPES) and refused > 0


def test_decode_pipes_into_encode_in_a_shell(tmp_path: Path) -> None:
    msgs = tmp_path / "msgs"
    assert _invoke("juki", ["fixtures", "messages", "--out", str(msgs)]).exit_code == 0
    der = msgs / "IdentityInfoUpdate.der"
    juki = " ".join(shlex.quote(a) for a in JUKI)
    proc = subprocess.run(f"{juki} decode {shlex.quote(str(der))} | {juki} encode",
                          shell=True, capture_output=True, check=False)
    assert proc.returncode == 0 and proc.stdout == der.read_bytes(), proc.stderr
    clash = _invoke("juki", ["encode", "--type", "Acknowledgement"],
                    input=_invoke("juki", ["decode", str(der)]).stdout)
    assert "1031 UNKNOWN_MESSAGE_TYPE" in _one_error_line(clash, (1,))


# envelope seal --type, --inform PEM|DER ----------------------------------------------

@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    for args in (["init-ca", "--dir", str(d)],
                 ["issue", "--dir", str(d), "--role", "municipality", "--node", "271004"],
                 ["issue", "--dir", str(d), "--role", "municipality", "--node", "131016"]):
        result = _invoke("juki", ["pki", *args])
        assert result.exit_code == 0, result.output
    result = _invoke("juki", ["fixtures", "messages", "--out", str(d / "msgs")])
    assert result.exit_code == 0, result.output
    return d


def _seal(d: Path, *extra: str, key: str = "271004.key", cert: str = "271004.pem",
          to: str = "131016.pem", message: str = "WideAreaIssuanceResponse.der",
          out: str = "r.env") -> Result:
    return _invoke("juki", ["envelope", "seal", "--key", str(d / key), "--cert", str(d / cert),
                            "--to", str(d / to), "--in", str(d / "msgs" / message),
                            "--out", str(d / out), *extra])


def test_seal_refuses_a_message_of_another_type_naming_both(pki_dir: Path) -> None:
    line = _one_error_line(_seal(pki_dir, "--type", "identityInfoUpdate"), (1,))
    assert "1013 DER_UNEXPECTED_TAG" in line
    assert "identityInfoUpdate" in line and "wideAreaIssuanceResponse" in line
    line = _one_error_line(_seal(pki_dir, "--type", "identityInfoUpdate",
                                 message="IdentityInfoUpdate.json"), (1,))
    assert "not a DER message" in line and "identityInfoUpdate" in line
    ok = _seal(pki_dir, "--type", "wideAreaIssuanceResponse")
    assert ok.exit_code == 0, ok.output


def _openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_inform_pem_and_der_with_openssl_files(pki_dir: Path, tmp_path: Path) -> None:
    d = pki_dir
    for node in ("271004", "131016"):
        _openssl("x509", "-in", str(d / f"{node}.pem"), "-outform", "DER",
                 "-out", str(tmp_path / f"{node}.crt.der"))
        _openssl("pkey", "-in", str(d / f"{node}.key"), "-outform", "DER",
                 "-out", str(tmp_path / f"{node}.key.der"))
    _openssl("x509", "-in", str(d / "ca.pem"), "-outform", "DER", "-out",
             str(tmp_path / "ca.der"))
    msg = d / "msgs" / "WideAreaIssuanceResponse.der"
    env = tmp_path / "r.env"
    sealed = _invoke("juki", ["envelope", "seal", "--inform", "DER",
                              "--key", str(tmp_path / "271004.key.der"),
                              "--cert", str(tmp_path / "271004.crt.der"),
                              "--to", str(tmp_path / "131016.crt.der"),
                              "--trust", str(tmp_path / "ca.der"),
                              "--in", str(msg), "--out", str(env)])
    assert sealed.exit_code == 0, sealed.output
    # openssl writes the envelope as PEM; open reads it with --inform PEM.
    _openssl("cms", "-cmsout", "-inform", "DER", "-in", str(env), "-outform", "PEM",
             "-out", str(tmp_path / "r.pem"))
    out = tmp_path / "m.der"
    opened = _invoke("juki", ["envelope", "open", "--inform", "PEM",
                              "--key", str(d / "131016.key"), "--cert", str(d / "131016.pem"),
                              "--trust", str(d / "ca.pem"), "--in", str(tmp_path / "r.pem"),
                              "--out", str(out)])
    assert opened.exit_code == 0, opened.output
    assert out.read_bytes() == msg.read_bytes()
    # And DER throughout, with the envelope as sealed.
    opened = _invoke("juki", ["envelope", "open", "--inform", "DER",
                              "--key", str(tmp_path / "131016.key.der"),
                              "--cert", str(tmp_path / "131016.crt.der"),
                              "--trust", str(tmp_path / "ca.der"), "--in", str(env),
                              "--out", str(out)])
    assert opened.exit_code == 0, opened.output
    # A file in the other encoding than --inform says is refused, naming the file.
    line = _one_error_line(_invoke("juki", [
        "envelope", "open", "--inform", "DER", "--key", str(d / "131016.key"),
        "--cert", str(d / "131016.pem"), "--trust", str(d / "ca.pem"), "--in", str(env),
        "--out", str(out)]), (1,))
    assert "2017 CERT_INVALID" in line and "--inform DER" in line
    # audit verify reads the node certificate either way too (its --cert).
    audit = juki_main.commands["audit"]
    assert isinstance(audit, click.Group)
    assert "--inform" in {o for p in audit.commands["verify"].params for o in p.opts}


def test_audit_verify_on_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a database\n" * 100)
    line = _one_error_line(_invoke("juki", ["audit", "verify", str(text)]), (1,))
    assert line == f"error: [input] {text} is not a node database (not an SQLite " \
                   f"database file)"


# Pipes and Ctrl-C ------------------------------------------------------------------

def test_a_closed_pipe_is_quiet() -> None:
    juki = " ".join(shlex.quote(a) for a in JUKI)
    proc = subprocess.run(f"{juki} code new --kind resident --count 200000 --seed 1 "
                          f"| head -c1", shell=True, capture_output=True, check=False,
                          timeout=120)
    assert proc.stdout and len(proc.stdout) == 1
    assert proc.stderr == b"", proc.stderr


def test_ctrl_c_writes_the_partial_report_and_exits_130(tmp_path: Path) -> None:
    out = tmp_path / "report"
    adapter = (f"{shlex.quote(sys.executable)} -m juki_conformance.selftest.faulty_adapter "
               f"--fault hang-on-deep-nesting")
    proc = subprocess.Popen([*CONFORMANCE, "run", "--adapter", adapter, "--out", str(out),
                             "--timeout", "60"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=_ctrl_c_as_at_a_terminal)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()          # the run has begun
        assert "cases" in first, first + (proc.stderr.read() if proc.stderr else "")
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert LINE.match(stderr.strip().splitlines()[-1]) and "[interrupted]" in stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["interrupted"] is True and report["summary"]["exitCode"] == 130
    assert 0 < report["summary"]["total"]
    schema = json.loads((ROOT / "juki_conformance" / "report.schema.json").read_text("utf-8"))
    jsonschema.validate(report, schema)


# prepare-node, example ICS files -----------------------------------------------------

def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_prepare_node_prints_a_start_command_that_runs_as_pasted(tmp_path: Path) -> None:
    address, upper, lower = _free_ports(3)
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run([*CONFORMANCE, "prepare-node", "--role", "municipality", "--out",
                           "vendor", "--address", f"127.0.0.1:{address}", "--upper-tester",
                           f"127.0.0.1:{upper}", "--lower-tester", f"127.0.0.1:{lower}"],
                          cwd=work, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "node serve" in line)
    end = next(i for i in range(start, len(lines)) if not lines[i].endswith("\\"))
    pasted = "\n".join(lines[start:end + 1])
    # Pasted into a shell in another directory: the line continuations join the words.
    argv = shlex.split(pasted.replace("\\\n", " "))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    node = subprocess.Popen(argv, cwd=elsewhere, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert node.stdout is not None
        line = node.stdout.readline()
        assert f"listening on 127.0.0.1:{address}" in line, \
            line + (node.stderr.read() if node.stderr and node.poll() is not None else "")
    finally:
        node.send_signal(signal.SIGINT)
        try:
            node.wait(timeout=20)
        except subprocess.TimeoutExpired:
            node.kill()
            node.wait()
    run_line = next(line for line in lines if line.startswith("3. "))
    ics = Path(shlex.split(run_line[3:])[3])
    assert ics.is_absolute() and ics.is_file()


ROLES = ("municipality", "prefecture", "national", "agency")


@pytest.mark.parametrize("role", ROLES)
def test_an_example_ics_for_each_role(role: str) -> None:
    from juki_conformance import ics as ics_mod

    path = ROOT / "juki_conformance" / "examples" / f"ics-{role}.json"
    obj = json.loads(path.read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "juki_conformance" / "ics.schema.json").read_text("utf-8"))
    jsonschema.validate(obj, schema)
    parsed = ics_mod.load(path)
    assert parsed.role == role and "node" in parsed.modes
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"examples/*.json"' in pyproject


def test_the_readme_pytest_plugin_example_passes(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("### In your own tests: the pytest plugin", 1)[1]
    source = block.split("```python", 1)[1].split("```", 1)[0]
    (tmp_path / "test_example.py").write_text(source, encoding="utf-8")
    # As the README says: the installed package's entry point loads the plugin.
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "test_example.py"],
                          cwd=tmp_path, capture_output=True, text=True, check=False,
                          timeout=300)
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr
