"""A plain (non-editable) wheel carries the schemas, tables and vectors it needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_package_data(tmp_path: Path) -> None:
    # Built from a copy without the checkout's build/ directory, whose leftovers
    # setuptools would otherwise put in the wheel.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", "build", "*.egg-info", ".venv", "__pycache__", ".*_cache", "out*"))
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(tmp_path), str(source)], capture_output=True, text=True,
                         timeout=600, check=False)
    assert res.returncode == 0, res.stderr
    wheel = next(tmp_path.glob("juki_protocol-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for asn in (ROOT / "spec" / "asn1").glob("*.asn"):
        assert f"juki_protocol/_spec/asn1/{asn.name}" in names
    for table in (ROOT / "spec" / "tables").glob("*.json"):
        assert f"juki_protocol/_spec/tables/{table.name}" in names
    for vec in (ROOT / "vectors").glob("*.json"):
        assert f"juki_protocol/_vectors/{vec.name}" in names
    assert "juki_protocol/_spec/requirements.json" in names
    assert "juki_conformance/templates/report.html.j2" in names
    assert "juki_conformance/report.schema.json" in names
    assert "juki_conformance/ics.schema.json" in names
    # Every module of both packages, whatever subpackage it is in (a subpackage left out
    # of pyproject's list would install without its modules).
    for package in ("juki_protocol", "juki_conformance"):
        for module in (ROOT / package).rglob("*.py"):
            assert module.relative_to(ROOT).as_posix() in names, module
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "juki = juki_protocol.tools.cli:main" in text


def _metadata(wheel: Path) -> str:
    zf = zipfile.ZipFile(wheel)
    return zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
                   ).decode()


def test_sdist_is_complete_and_its_wheel_passes_tests(tmp_path: Path) -> None:
    """The sdist carries the license, changelog, tox.ini, tests, tools, benchmarks and
    fuzz targets; a wheel built from the sdist alone (not from the checkout) has the SPDX
    license, the typing marker and the one version, and tests from the sdist pass
    against it."""
    import tarfile

    res = subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir",
                          str(tmp_path / "dist"), str(ROOT)], capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    sdist = next((tmp_path / "dist").glob("juki_protocol-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        tar.extractall(tmp_path / "src", filter="data")
    for needed in ("LICENSE", "CHANGELOG.md", "tox.ini", "README.md", "MANIFEST.in",
                   "tools/check_vectors.py", "benchmarks/run.py", "benchmarks/hostile.py",
                   "fuzz/fuzz_open_envelope.py", "tests/test_identifiers.py",
                   "spec/asn1/pdu.asn", "vectors/codec_juki_pdu.json", ".ci/run"):
        assert needed in names, f"the sdist lacks {needed}"
    assert not any("__pycache__" in n for n in names)
    src = next((tmp_path / "src").iterdir())
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(tmp_path / "wheel"), str(src)], capture_output=True,
                         text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    wheel = next((tmp_path / "wheel").glob("juki_protocol-*.whl"))
    meta = _metadata(wheel)
    from juki_protocol import __version__
    assert f"\nVersion: {__version__}\n" in meta
    assert "License-Expression: Apache-2.0" in meta and "License-File: LICENSE" in meta
    assert "Classifier: Typing :: Typed" in meta
    files = set(zipfile.ZipFile(wheel).namelist())
    assert {"juki_protocol/py.typed", "juki_conformance/py.typed"} <= files
    assert any(n.endswith("licenses/LICENSE") for n in files)
    # Tests from the sdist, against the wheel built from it.
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                          "--target", str(tmp_path / "site"), str(wheel)],
                         capture_output=True, text=True, timeout=600, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    env = {**__import__("os").environ, "PYTHONPATH": str(tmp_path / "site")}
    # -P: the unpacked source tree (the current directory) is not put on the path, so
    # the package imported is the installed wheel's.
    res = subprocess.run([sys.executable, "-P", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-p", "no:xdist", "tests/test_identifiers.py",
                          "tests/test_spec.py", "tests/test_vectors.py"],
                         cwd=src, env=env, capture_output=True, text=True, timeout=900,
                         check=False)
    assert res.returncode == 0, res.stdout[-3000:]
    assert " passed" in res.stdout
    probe = subprocess.run([sys.executable, "-P", "-c", "import juki_protocol; "
                            "print(juki_protocol.__file__)"], env=env, cwd=src,
                           capture_output=True, text=True, check=True)
    assert str(tmp_path / "site") in probe.stdout, "the tests did not use the sdist's wheel"
