"""The README's envelope walkthrough runs as written (issue 3's acceptance path)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _block(heading: str) -> list[str]:
    """The command lines of the first sh block after ``heading`` in the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split(heading, 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in section.replace("\\\n", " ").splitlines()
            if line.strip()]


def _shell_env(tmp_path: Path, commands: dict[str, str]) -> dict[str, str]:
    """An environment whose PATH runs ``commands`` (name -> arguments to this Python)
    from this checkout, as an installed package would."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, args in commands.items():
        shim = bindir / name
        shim.write_text(f"#!/bin/sh\nexec {sys.executable} {args} \"$@\"\n")
        shim.chmod(0o755)
    return {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}


@pytest.mark.openssl
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI missing")
def test_envelope_walkthrough(tmp_path: Path) -> None:
    env = _shell_env(tmp_path, {"juki": "-m juki_protocol.tools.cli"})
    work = tmp_path / "w"
    work.mkdir()
    outcomes = []
    for line in _block("## Sealed end to end"):
        if line.startswith("cd "):
            continue
        command = re.sub(r"\s+#.*$", "", line)
        res = subprocess.run(command, shell=True, cwd=work, env=env, capture_output=True,
                             text=True, timeout=120, check=False)
        outcomes.append((line, res.returncode, res.stdout + res.stderr))
    by_comment = {line: (rc, out) for line, rc, out in outcomes}
    for line, rc, out in outcomes:
        if "refused" in line or "# revoked" in line:
            assert rc != 0, f"should fail: {line}\n{out}"
        else:
            assert rc == 0, f"failed: {line}\n{out}"
    refused = next(v for k, v in by_comment.items() if "not for the prefecture" in k)
    assert "NO_MATCHING_RECIPIENT" in refused[1] or "2006" in refused[1]
    revoked = next(v for k, v in by_comment.items() if "# revoked" in k)
    assert "revoked" in revoked[1].lower()
    assert (work / "resp.der").read_bytes() == (work / "resp3.der").read_bytes()


def test_failure_and_evidence_walkthrough(tmp_path: Path) -> None:
    env = _shell_env(tmp_path, {"juki-conformance": "-m juki_conformance.cli", "python": ""})
    lines = _block("### Seeing it fail, then evidence")
    assert len(lines) == 4
    results = [subprocess.run(re.sub(r"\s+#.*$", "", line), shell=True, cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=1200,
                              check=False) for line in lines]
    faulty, signer, signed, verified = results
    assert faulty.returncode == 1, faulty.stderr
    assert "FAIL: 12-2/node/wide-area/copy-without-family-register" in faulty.stdout
    assert "fix:" in faulty.stdout
    assert list((tmp_path / "faulty-report" / "captures").glob("*.pcapng"))
    for res in (signer, signed, verified):
        assert res.returncode == 0, res.stdout + res.stderr
    assert "valid evidence bundle" in verified.stdout
    # One clause ran: every output names the run as partial.
    for res in (faulty, signed, verified):
        assert "partial run: " in res.stdout and "(--cases 12-2/*)" in res.stdout, res.stdout
