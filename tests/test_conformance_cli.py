"""juki-conformance's command line at its edges (issue 15 item 6)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from juki_conformance.cli import main


@pytest.mark.parametrize("adapter", ["", "   "])
def test_an_empty_adapter_is_a_usage_error_not_the_reference(adapter: str) -> None:
    res = CliRunner().invoke(main, ["run", "--adapter", adapter, "--quiet"])
    assert res.exit_code == 2, res.output
    assert "--adapter is empty" in res.output and "cases:" not in res.output
