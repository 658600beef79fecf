"""`juki node serve --config FILE` (issue 15 item 7): every option of `serve` can be set
from a TOML file, the command line overrides it, and a bad file is refused with one line
naming the key (exit 2). Also :func:`serve_process`, the real `juki node serve` that the
log and metrics tests run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from node_helpers import shared_pki

from juki_protocol.tools import cli_config as node_config_file
from juki_protocol.tools.cli_node import main, serve

ROOT = Path(__file__).resolve().parents[2]
PREF = "270008"


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_pki(tmp_path_factory)


def toml(settings: dict[str, Any]) -> str:
    """``settings`` as TOML (strings, numbers, booleans and arrays of them)."""
    return "".join(f"{key} = {json.dumps(value)}\n" for key, value in settings.items())


def node_settings(tmp: Path, pki_dir: Path, **extra: Any) -> dict[str, Any]:
    """The settings of prefecture 270008 on the shared PKI, database in ``tmp``."""
    return {"role": "prefecture", "node": PREF, "db": str(tmp / "n.db"),
            "cert": str(pki_dir / f"{PREF}.pem"), "key": str(pki_dir / f"{PREF}.key"),
            "trust": str(pki_dir / "ca.pem"), "crl": str(pki_dir / "crl.pem"),
            "listen": "127.0.0.1:0", **extra}


@contextmanager
def serve_process(tmp: Path, settings: dict[str, Any], *args: str
                  ) -> Iterator[tuple[subprocess.Popen[str], dict[str, str], Path]]:
    """A real ``juki node serve --config FILE [args]`` (FILE made of ``settings``): the
    process, what it printed it listens on (``node``, ``metrics``), and its stderr file.
    Stopped with SIGTERM at the end."""
    cfg = tmp / "node.toml"
    cfg.write_text(toml(settings), encoding="utf-8")
    stderr = tmp / "stderr.log"
    with stderr.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "juki_protocol.tools.cli_node", "node", "serve",
             "--config", str(cfg), *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=err,
            text=True)
    where: dict[str, str] = {}
    watchdog = threading.Timer(60, proc.kill)      # a node that never says it listens
    watchdog.start()
    try:
        assert proc.stdout is not None
        wanted = {"node", "metrics"} if "metrics" in settings else {"node"}
        while not wanted <= where.keys():
            line = proc.stdout.readline()
            assert line, f"the node stopped: {stderr.read_text(encoding='utf-8')}"
            if line.startswith("metrics listening on "):
                where["metrics"] = line.split()[-1]
            elif line.startswith(f"prefecture:{PREF} listening on "):
                where["node"] = line.split()[-1]
        watchdog.cancel()
        yield proc, where, stderr
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _value_for(param: click.Option, tmp: Path) -> tuple[Any, Any]:
    """A value of ``param`` unlike its default, as TOML and as the command gets it."""
    kind = param.type
    if param.is_flag:
        return True, True
    if isinstance(kind, click.Choice):
        choice = next(c for c in reversed(kind.choices) if c != param.default)
        return choice, choice
    if isinstance(kind, click.types.IntParamType):
        low = getattr(kind, "min", None) or 0
        value = low + 3 if low + 3 != param.default else low + 4
        return value, value
    if isinstance(kind, click.types.FloatParamType):
        return 7.5, 7.5
    if isinstance(kind, click.Path):
        path = tmp / f"{param.name}.file"
        path.write_text("unused")
        if param.multiple:
            return [str(path)], (path,)
        return str(path), path
    if param.multiple:
        return ["a=b", "c=d"], ("a=b", "c=d")
    return f"value-{param.name}", f"value-{param.name}"


def test_every_option_of_serve_can_be_set_from_the_file(tmp_path: Path) -> None:
    known = node_config_file.keys(serve)
    options = [p for p in serve.params if isinstance(p, click.Option)
               and p.name not in ("config", "help")]
    assert len(known) == len(options) > 30          # none is left out of the file
    required = {"role": "prefecture", "node": PREF}
    for name in ("db", "cert", "key", "trust"):
        (tmp_path / name).write_text("unused")
        required[name] = str(tmp_path / name)
    for key, param in known.items():
        as_toml, expected = _value_for(param, tmp_path)
        cfg = tmp_path / f"{key}.toml"
        cfg.write_text(toml({**required, key: as_toml}), encoding="utf-8")
        with serve.make_context("serve", ["--config", str(cfg)]) as ctx:
            assert ctx.params[param.name] == expected, key
            assert ctx.get_parameter_source(param.name) is \
                click.core.ParameterSource.DEFAULT_MAP, key


def test_the_command_line_overrides_the_file(tmp_path: Path) -> None:
    required = {"role": "prefecture", "node": PREF, "db": "n.db", "cert": "c.pem",
                "key": "k.pem", "trust": "ca.pem"}
    for name in ("c.pem", "k.pem", "ca.pem"):
        (tmp_path / name).write_text("unused")
    cfg = tmp_path / "node.toml"
    cfg.write_text(toml({**required, "max-connections": 5, "operator": ["A=1", "B=2"],
                         "verbose": True}), encoding="utf-8")
    with serve.make_context("serve", ["--config", str(cfg)]) as ctx:
        assert ctx.params["max_connections"] == 5
        assert ctx.params["operators"] == ("A=1", "B=2")
        assert ctx.params["max_peer_connections"] == 8          # the built-in default
        # Relative paths are taken from the file's directory, not the working one.
        assert ctx.params["cert"] == tmp_path / "c.pem"
    with serve.make_context("serve", ["--config", str(cfg), "--max-connections", "7",
                                      "--operator", "C=3", "--node", "130001"]) as ctx:
        assert ctx.params["max_connections"] == 7
        assert ctx.params["operators"] == ("C=3",)       # replaced, not added to
        assert ctx.params["code"] == "130001"
        assert ctx.params["verbose"] is True


@pytest.mark.parametrize(("text", "says"), [
    ("max_connections = 5\n", "unknown key 'max_connections' (did you mean "
                              "'max-connections'?)"),
    ("colour = \"red\"\n", "unknown key 'colour'"),
    ("max-connections = \"many\"\n", "key 'max-connections' must be an integer, not a "
                                     "string"),
    ("max-connections = true\n", "key 'max-connections' must be an integer, not a boolean"),
    ("max-connections = 0\n", "key 'max-connections': 0 is not in the range x>=1"),
    ("handshake-rate = \"fast\"\n", "key 'handshake-rate' must be a number"),
    ("no-crl = \"yes\"\n", "key 'no-crl' must be a boolean, not a string"),
    ("role = \"village\"\n", "key 'role': 'village' is not one of"),
    ("operator = \"AG0001=OP\"\n", "key 'operator' must be an array of strings"),
    ("operator = [1]\n", "each item of key 'operator' must be a string, not an integer"),
    ("trust = \"absent.pem\"\n", "key 'trust': File"),
    ("max-connections = \n", "not TOML"),
])
def test_a_bad_file_is_one_line_naming_the_key(tmp_path: Path, text: str, says: str) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(main, ["node", "serve", "--config", str(cfg)])
    assert res.exit_code == 2, res.output
    assert res.stdout == ""
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert says in lines[0] and str(cfg) in lines[0], lines[0]
    assert not (tmp_path / "n.db").exists()


def test_a_bad_file_in_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text("max-connections = \"many\"\n", encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "juki_protocol.tools.cli_node", "node",
                          "serve", "--config", str(cfg)], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "max-connections" in res.stderr
    missing = subprocess.run([sys.executable, "-m", "juki_protocol.tools.cli_node", "node",
                              "serve", "--config", str(tmp_path / "absent.toml")],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
    assert "absent.toml" in missing.stderr


def test_a_node_runs_from_its_file_alone(tmp_path: Path, pki_dir: Path) -> None:
    with serve_process(tmp_path, node_settings(tmp_path, pki_dir)) as (proc, where, _):
        assert proc.poll() is None
        assert where["node"].startswith("127.0.0.1:")
    assert (tmp_path / "n.db").exists()


# deploy/: the example settings, the systemd unit and the container file ----------------

DEPLOY = ROOT / "deploy"
CONFIG_PATH = "/etc/juki/node.toml"


def _unit() -> dict[str, list[tuple[str, str]]]:
    """deploy/juki-node.service: section -> its (key, value) lines, in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for raw in (DEPLOY / "juki-node.service").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=VALUE: {line!r}"
        sections[current].append((key.strip(), value.strip()))
    return sections


def _service() -> dict[str, str]:
    return dict(_unit()["Service"])


def test_the_example_settings_load(tmp_path: Path) -> None:
    example = DEPLOY / "node.example.toml"
    settings = node_config_file.load(example, serve)
    ctx = click.Context(serve)
    by_name = {p.name: p for p in serve.params}
    for name, value in settings.items():
        param = by_name[name]
        if not isinstance(param.type, click.Path):    # the files are the operator's
            param.type_cast_value(ctx, value)
    for name in ("role", "code", "db", "cert", "key", "trust", "crl"):
        assert name in settings, name
    assert settings["log_format"] == "json"
    assert str(settings["metrics_at"]).startswith("127.0.0.1:")   # loopback


def test_the_unit_runs_serve_on_the_example_settings_hardened() -> None:
    service = _service()
    assert service["ExecStart"].split()[1:] == ["node", "serve", "--config", CONFIG_PATH]
    assert service["ExecStart"].split()[0].endswith("/juki")
    for key, value in {"DynamicUser": "yes", "NoNewPrivileges": "yes",
                       "ProtectSystem": "strict", "ProtectHome": "yes",
                       "PrivateTmp": "yes", "UMask": "0077",
                       "CapabilityBoundingSet": "", "KillSignal": "SIGTERM"}.items():
        assert service.get(key) == value, key
    # What the example writes is in the unit's state directories (the rest of the
    # system is read-only under ProtectSystem=strict), and its key is a credential.
    settings = node_config_file.load(DEPLOY / "node.example.toml", serve)
    states = {f"/var/lib/{d}" for d in service["StateDirectory"].split()}
    for name in ("db", "disclosure_key"):
        assert str(Path(str(settings[name])).parent) in states, name
    assert Path(str(settings["db"])).parent != Path(str(settings["disclosure_key"])).parent
    credential = service["LoadCredential"].split(":", 1)[0]
    assert settings["key"] == f"/run/credentials/juki-node.service/{credential}"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    juki = shutil.which("juki")
    assert juki is not None, "the package's juki command is not installed"
    unit = tmp_path / "juki-node.service"         # the same unit, with this juki
    unit.write_text((DEPLOY / "juki-node.service").read_text(encoding="utf-8").replace(
        "/usr/local/bin/juki", juki), encoding="utf-8")
    res = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                         text=True, timeout=60)
    ours = [line for line in (res.stdout + res.stderr).splitlines() if str(unit) in line
            or unit.name in line]
    assert res.returncode == 0 and not ours, res.stdout + res.stderr
    # Exposure 2.0 or less, on systemd's scale of 0 (locked down) to 10 (unprotected).
    res = subprocess.run(["systemd-analyze", "security", "--offline=true",
                          "--threshold=20", str(unit)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout[-400:] + res.stderr


def test_the_container_runs_serve_on_the_same_settings_as_a_user() -> None:
    lines = [line.strip() for line in
             (DEPLOY / "Containerfile").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    image = next(line.split()[1] for line in lines if line.startswith("FROM "))
    assert "python" in image and "bookworm" in image         # Debian-based
    entry = json.loads(next(line[len("ENTRYPOINT "):] for line in lines
                            if line.startswith("ENTRYPOINT ")))
    cmd = json.loads(next(line[len("CMD "):] for line in lines if line.startswith("CMD ")))
    assert [*entry, *cmd] == ["juki", "node", "serve", "--config", CONFIG_PATH]
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user not in ("root", "0")
    assert "UNTESTED" in (DEPLOY / "Containerfile").read_text(encoding="utf-8")
