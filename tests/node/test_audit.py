"""The audit log is hash-chained; ``juki audit verify`` finds edited and deleted rows."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from juki_protocol.node import audit
from juki_protocol.node.storage import SqliteStorage
from juki_protocol.tools.cli_node import audit_group

NOW = dt.datetime(2026, 4, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "node.db"
    store = SqliteStorage(path, "prefecture")
    for i in range(5):
        with store.transaction() as c:
            audit.append(c, at=NOW + dt.timedelta(seconds=i), direction="received",
                         peer="271004", message_type="identityInfoUpdate",
                         message_id=bytes([i]) * 16, result="accepted",
                         subjects=audit.masked_subjects(None) or "12*********")
    store.close()
    return path


def _verify(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(audit_group, ["verify", str(path)])
    return result.exit_code, result.output


def test_intact_log_verifies(db: Path) -> None:
    code, out = _verify(db)
    assert code == 0, out
    assert "5 rows" in out


def test_edited_row_is_found(db: Path) -> None:
    with sqlite3.connect(db) as c:
        c.execute("UPDATE audit SET result = 'refused' WHERE seq = 3")
    code, out = _verify(db)
    assert code == 1
    assert "row 3" in out and "edited" in out


def test_edited_row_with_recomputed_hash_breaks_the_next_link(db: Path) -> None:
    with sqlite3.connect(db) as c:
        c.execute("UPDATE audit SET result = 'refused', hash = ? WHERE seq = 2", ("f" * 64,))
    code, out = _verify(db)
    assert code == 1
    assert "row 2" in out


@pytest.mark.parametrize(("row", "named"), [(2, "row 2"), (1, "row 1"), (5, "row 5")])
def test_deleted_row_is_found(db: Path, row: int, named: str) -> None:
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM audit WHERE seq = ?", (row,))
    code, out = _verify(db)
    assert code == 1
    assert named in out


def test_audit_subjects_are_masked() -> None:
    from node_helpers import residents, update_of
    person = residents("271004", 1)[0]
    subjects = audit.masked_subjects(update_of(person, 1))
    assert subjects == person.resident_code[:2] + "*" * 9


def test_audit_subjects_name_every_code_of_a_query_of_100() -> None:
    # R-NODE-06: no cap on the persons an entry names (a query asks for up to 100).
    import random

    from juki_protocol.identifiers import new_resident_code
    from juki_protocol.messages.provision import (
        BodyKind,
        LegalBasis,
        ProvisionRequest,
        RequestingBody,
    )
    rng = random.Random(6)
    codes = list(dict.fromkeys(new_resident_code(rng) for _ in range(100)))
    request = ProvisionRequest(
        requester=RequestingBody(kind=BodyKind.AGENCY, code="AG0001"),
        legal_basis=LegalBasis.PREF_TO_AGENCY, purpose_code="S1-KENCHIKUSHI",
        operator_id="op-1", by_resident_code=tuple(codes))
    subjects = audit.masked_subjects(request).split(",")
    assert subjects == [c[:2] + "*" * 9 for c in codes]
