"""Where the shipped data lives: the ASN.1 modules, tables and requirement list.

In a source checkout they are read from ``spec/`` at the repository root; in an
installed wheel they are package data under ``juki_protocol/_spec`` (see
``pyproject.toml``). Nothing else in the library knows these paths.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def spec_dir() -> Path:
    """The directory holding ``asn1/``, ``tables/`` and ``requirements.json``."""
    for candidate in (_PKG / "_spec", _PKG.parent / "spec"):
        if (candidate / "asn1").is_dir():
            return candidate
    raise FileNotFoundError("the juki spec data (asn1 modules) is not installed")


def asn1_files() -> list[Path]:
    """The ASN.1 modules, in a stable order."""
    return sorted((spec_dir() / "asn1").glob("*.asn"))


def table_path(name: str) -> Path:
    """Path of a machine-readable table in ``spec/tables``."""
    return spec_dir() / "tables" / name


def vectors_dir() -> Path:
    """The golden vectors shipped with the package (or the checkout's ``vectors/``)."""
    for candidate in (_PKG / "_vectors", _PKG.parent / "vectors"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("the juki vectors are not installed")
