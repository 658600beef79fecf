"""The self-contained HTML report: its counts equal report.json's, every failure is shown
with its remediation, text from the SUT cannot inject markup, and a real headless browser
renders it (the browser test runs only where ``chromium`` is installed; CI installs it)."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from juki_conformance.cli import main
from juki_conformance.html import render_html

ROOT = Path(__file__).resolve().parent.parent
VERDICTS = ("pass", "fail", "acceptable", "not_applicable", "error")
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_DETAIL = '"><img src=x onerror=alert(2)> & </dd></dl><b>bold</b>'
HOSTILE_HELLO = "</td></tr></table><iframe src=https://example.invalid/></iframe>"


# -- a tiny DOM over html.parser ------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter()
                if (tag is None or n.tag == tag)
                and (cls is None or cls in n.attrs.get("class", "").split())]

    def by_id(self, ident: str) -> Node:
        found = [n for n in self.iter() if n.attrs.get("id") == ident]
        assert len(found) == 1, f"{len(found)} elements with id {ident!r}"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def counts_shown(doc: Node) -> dict[str, int]:
    return {v: int(doc.by_id(f"count-{v}").text().strip()) for v in (*VERDICTS, "total")}


# -- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bad_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A real run with failures (the lenient-DER faulty adapter), written by write_all."""
    out = tmp_path_factory.mktemp("bad")
    adapter = f"{sys.executable} -m juki_conformance.selftest.faulty_adapter --fault lenient-der"
    res = CliRunner().invoke(main, ["run", "--quiet", "--vectors", str(ROOT / "vectors"),
                                    "--adapter", adapter, "--out", str(out)])
    assert res.exit_code == 1, res.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["summary"]["fail"] > 0
    return report, out


@pytest.fixture(scope="module")
def hostile(bad_run: tuple[dict[str, Any], Path]) -> dict[str, Any]:
    """The same report with markup where the SUT or a case could put arbitrary text."""
    report = copy.deepcopy(bad_run[0])
    failing = [c for c in report["cases"] if c["verdict"] == "fail"]
    failing[0]["title"] = HOSTILE_TITLE
    failing[0]["detail"] = HOSTILE_DETAIL
    failing[1]["actual"] = HOSTILE_DETAIL
    report["sut"]["implementation"] = HOSTILE_HELLO
    return report


# -- unit tests -------------------------------------------------------------------------------

def test_write_all_writes_the_html_report(bad_run: tuple[dict[str, Any], Path]) -> None:
    report, out = bad_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html == render_html(report)


def test_summary_counts_equal_the_json(bad_run: tuple[dict[str, Any], Path]) -> None:
    report, out = bad_run
    doc = parse((out / "report.html").read_text(encoding="utf-8"))
    assert counts_shown(doc) == {v: report["summary"][v] for v in (*VERDICTS, "total")}
    assert doc.by_id("vector-set-hash").text().strip() == report["vectorSetSha256"]
    assert doc.by_id("started").text().strip() == report["started"]
    assert report["suite"]["version"] in doc.find_all("title")[0].text()


def test_every_failure_is_listed_with_its_remediation(
        bad_run: tuple[dict[str, Any], Path]) -> None:
    report, out = bad_run
    doc = parse((out / "report.html").read_text(encoding="utf-8"))
    section = doc.by_id("failures")
    shown = {a.attrs["data-case-id"]: a for a in section.find_all("article", "failure")}
    failing = {c["id"]: c for c in report["cases"] if c["verdict"] == "fail"}
    assert set(shown) == set(failing)
    for cid, case in failing.items():
        article = shown[cid]
        assert case["remediation"]
        assert article.find_all(cls="remediation")[0].text() == case["remediation"]
        assert article.find_all(cls="expected")[0].text() == case["expected"]
        assert article.find_all(cls="actual")[0].text() == case["actual"]
        reqs = article.find_all(cls="reqs")[0].text()
        assert all(r in reqs for r in case["requirements"])
    # the per-clause tables hold every case, each once, with its verdict badge
    rows = doc.by_id("results").find_all("tr")
    by_case = {r.attrs["data-case-id"]: r for r in rows if "data-case-id" in r.attrs}
    assert len(by_case) == len(report["cases"])
    for case in report["cases"]:
        assert by_case[case["id"]].find_all("span", case["verdict"])


def test_coverage_matrix_highlights_uncovered_musts(
        bad_run: tuple[dict[str, Any], Path]) -> None:
    report, out = bad_run
    doc = parse((out / "report.html").read_text(encoding="utf-8"))
    rows = {r.attrs["data-req"]: r for r in doc.by_id("coverage").find_all("tr")
            if "data-req" in r.attrs}
    cov = report["coverage"]
    assert list(rows) == [r["id"] for r in cov["requirements"]]
    uncovered = {rid for rid, r in rows.items() if "uncovered" in r.attrs["class"].split()}
    assert uncovered == set(cov["uncoveredMust"])
    for r in cov["requirements"]:
        assert str(len(r["cases"])) in [n.text().strip() for n in rows[r["id"]].find_all("td")]


def test_sut_text_cannot_inject_markup(hostile: dict[str, Any]) -> None:
    html = render_html(hostile)
    doc = parse(html)
    assert not doc.find_all("script") and not doc.find_all("img")
    assert not doc.find_all("iframe") and not doc.find_all("b")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    article = next(a for a in doc.by_id("failures").find_all("article")
                   if HOSTILE_TITLE in a.text())
    assert article.find_all(cls="detail")[0].text() == HOSTILE_DETAIL
    assert HOSTILE_HELLO in doc.by_id("sut").text()


def test_self_contained_and_japanese_ready(bad_run: tuple[dict[str, Any], Path]) -> None:
    report, out = bad_run
    html = (out / "report.html").read_text(encoding="utf-8")
    doc = parse(html)
    assert any(m.attrs.get("charset", "").lower() == "utf-8" for m in doc.find_all("meta"))
    assert '"Noto Sans CJK JP"' in html and "sans-serif" in html
    assert not doc.find_all("link") and not doc.find_all("script")
    for node in doc.iter():
        assert not node.attrs.get("href", "#").strip() or node.attrs.get("href", "#")[0] == "#"
        assert "src" not in node.attrs
    assert "url(" not in html and "@import" not in html
    kanji = next(c["title"] for c in report["cases"] if "髙" in c["title"])
    assert kanji in doc.by_id("results").text()


def test_renders_a_run_that_never_started(bad_run: tuple[dict[str, Any], Path]) -> None:
    report = copy.deepcopy(bad_run[0])
    report.update(sut={}, harnessError="could not start the adapter: <boom>", cases=[])
    report["summary"].update({v: 0 for v in (*VERDICTS, "total")}, exitCode=2)
    doc = parse(render_html(report))
    assert "could not start the adapter: <boom>" in doc.by_id("harness-error").text()
    assert counts_shown(doc) == dict.fromkeys((*VERDICTS, "total"), 0)
    assert "No case failed" in doc.by_id("failures").text()


# -- the real browser ---------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _ours(marker: str) -> list[int]:
    """Pids of live processes whose command line names our private profile directory."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _run_chromium(exe: str, tmp: Path, *args: str, timeout: float = 30) -> str:
    """Run headless chromium in its own session with a private profile; leave nothing."""
    profile = tmp / f"profile-{time.monotonic_ns()}"
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
           "XDG_CACHE_HOME": str(home / ".cache")}
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of the group is still alive
        except ProcessLookupError:
            pass
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 5
        while (left := _ours(str(profile))) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
    assert not _ours(str(profile)), "chromium processes survived"
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8")


def _png_size_and_ratio(png: bytes) -> tuple[int, int, float]:
    """Width, height, and how much the pixel data compresses (a blank page compresses
    about 650:1, a page of text about 30:1)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos:pos + 4])
        kind = png[pos + 4:pos + 8]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", png[pos + 8:pos + 16])
        elif kind == b"IDAT":
            idat += png[pos + 8:pos + 8 + n]
        pos += 12 + n
    return width, height, len(zlib.decompress(idat)) / len(idat)


@pytest.mark.browser
def test_headless_chromium_renders_the_report(
        bad_run: tuple[dict[str, Any], Path], hostile: dict[str, Any],
        tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("chromium not installed")
    report, out = bad_run
    page = (out / "report.html").resolve().as_uri()

    dom = parse(_run_chromium(exe, tmp_path, "--dump-dom", page))
    assert counts_shown(dom) == {v: report["summary"][v] for v in (*VERDICTS, "total")}
    shown = {a.attrs["data-case-id"] for a in dom.by_id("failures").find_all("article")}
    assert shown == {c["id"] for c in report["cases"] if c["verdict"] == "fail"}

    shot = tmp_path / "shot.png"
    _run_chromium(exe, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", page)
    assert shot.is_file() and shot.stat().st_size > 10_000
    width, height, ratio = _png_size_and_ratio(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    assert ratio < 200, f"the screenshot looks blank (compresses {ratio:.0f}:1)"

    # in a real browser, hostile SUT text stays text
    evil = tmp_path / "hostile.html"
    evil.write_text(render_html(hostile), encoding="utf-8")
    dom = parse(_run_chromium(exe, tmp_path, "--dump-dom", evil.as_uri()))
    assert not dom.find_all("script") and not dom.find_all("img")
    assert not dom.find_all("iframe")
    assert HOSTILE_TITLE in dom.by_id("failures").text()
