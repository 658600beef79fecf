"""The whole vector set: generate every family's files, index them, verify them.

``index.json`` records each file's SHA-256, its number of tests and which generator
made it; :func:`set_hash` (the hash of the index) identifies a vector set in
conformance reports.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from juki_protocol.tools.vectors import codec_vectors

INDEX = "index.json"


@dataclass
class VerifyReport:
    """Outcome of checking an implementation against a vector directory."""

    files: int = 0
    passed: int = 0
    failures: list[str] = field(default_factory=list)


def _envelope_module() -> Any:
    try:
        from juki_protocol.tools.vectors import envelope_vectors
    except ImportError:  # pragma: no cover - the envelope family is optional here
        return None
    return envelope_vectors


def generate_all(out: Path, seed: str | None = None) -> list[Path]:
    """Write every vector file (codec, and envelope when available) and the index."""
    paths = codec_vectors.generate(out, seed or codec_vectors.DEFAULT_SEED)
    env = _envelope_module()
    if env is not None:
        path = out / "envelope.json"
        doc = env.generate_envelope_vectors()
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n",
                        encoding="utf-8")
        schema_path = out / "envelope.schema.json"
        schema_path.write_text(json.dumps(env.ENVELOPE_VECTORS_SCHEMA, indent=1) + "\n",
                               encoding="utf-8")
        paths += [path, schema_path]
    index_path = out / INDEX
    index_path.write_text(json.dumps(codec_vectors.index(out), indent=1, sort_keys=True)
                          + "\n", encoding="utf-8")
    return [*paths, index_path]


def set_hash(directory: Path) -> str:
    """SHA-256 of the directory's index: names the vector set in reports."""
    return hashlib.sha256((directory / INDEX).read_bytes()).hexdigest()


def verify_all(directory: Path) -> VerifyReport:
    """Check integrity (index hashes, JSON Schema) and this implementation's results."""
    report = VerifyReport()
    index_path = directory / INDEX
    if not index_path.is_file():
        report.failures.append(f"{index_path}: missing")
        return report
    idx = json.loads(index_path.read_text(encoding="utf-8"))
    for name, entry in sorted(idx["files"].items()):
        path = directory / name
        if not path.is_file():
            report.failures.append(f"{name}: listed in index.json but missing")
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != entry["sha256"]:
            report.failures.append(f"{name}: SHA-256 differs from index.json")
    for path in sorted(directory.glob("*.json")):
        if path.name not in idx["files"] and path.name != INDEX:
            report.failures.append(f"{path.name}: not listed in index.json")
    schema = json.loads((directory / codec_vectors.SCHEMA_FILE).read_text(encoding="utf-8"))
    for path in sorted(directory.glob("codec_*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        report.files += 1
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as exc:
            report.failures.append(f"{path.name}: does not follow the schema: {exc.message}")
            continue
        failed = codec_vectors.verify_doc(doc)
        report.failures += [f"{path.name}: {f}" for f in failed]
        report.passed += doc["numberOfTests"] - len(failed)
        tc_ids = [t["tcId"] for g in doc["testGroups"] for t in g["tests"]]
        if len(tc_ids) != len(set(tc_ids)) or len(tc_ids) != doc["numberOfTests"]:
            report.failures.append(f"{path.name}: tcIds not unique or count wrong")
    env = _envelope_module()
    env_path = directory / "envelope.json"
    if env is not None and env_path.is_file():
        doc = json.loads(env_path.read_text(encoding="utf-8"))
        report.files += 1
        try:
            jsonschema.validate(doc, env.ENVELOPE_VECTORS_SCHEMA)
        except jsonschema.ValidationError as exc:
            report.failures.append(f"envelope.json: does not follow the schema: {exc.message}")
        else:
            failed = env.verify_envelope_vectors(doc)
            report.failures += [f"envelope.json: {f}" for f in failed]
            report.passed += doc["numberOfTests"] - len(failed)
    return report
