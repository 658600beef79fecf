"""A plain (non-editable) wheel carries the schemas, tables and vectors it needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_package_data(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                          str(tmp_path), str(ROOT)], capture_output=True, text=True,
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
    assert "conformance/templates/report.html.j2" in names
    assert "conformance/report.schema.json" in names and "conformance/ics.schema.json" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "juki = juki_protocol.cli:main" in text
