"""The demonstration and conformance PKI (juki_protocol.node.network.create_pki) issues
node certificates with serial numbers like a real CA's: long, half of them needing a
leading zero octet in DER, none longer than RFC 5280 allows; checked with cryptography's
parser and the envelope's own INTEGER encoder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from juki_protocol.envelope import cms, pki
from juki_protocol.node.network import create_pki, node_serial


def test_serials_are_unique_long_and_at_most_20_octets_in_der() -> None:
    serials = [node_serial(i) for i in range(1 << 16)]
    assert len(set(serials)) == len(serials)
    sizes = {len(cms.der_int(s)) - 2 for s in serials[:200]}     # tag and length octets
    assert min(sizes) == 3 and max(sizes) == 20
    assert any(cms.der_int(s)[2] == 0 for s in serials[:4])       # a leading zero octet
    assert any(cms.der_int(s)[2] != 0 for s in serials[:4])
    assert all(s > 0 for s in serials)
    with pytest.raises(ValueError, match="out of range"):
        node_serial(1 << 16)


def test_create_pki_issues_them(tmp_path: Path) -> None:
    nodes = [("prefecture", "270008"), ("municipality", "271004"), ("national", "DC01")]
    create_pki(tmp_path, nodes, dt.datetime.now(dt.UTC))
    got = [pki.load_certificate((tmp_path / f"{code}.pem").read_bytes()).serial_number
           for _, code in nodes]
    assert got == [node_serial(i) for i in range(3)]
    assert got[1].bit_length() % 8 == 0            # top bit set: DER adds a zero octet
