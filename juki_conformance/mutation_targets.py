"""Which modules of the reference ``juki-conformance mutation`` mutates
(:mod:`juki_conformance.mutation`), with the spec files whose requirements each
implements: a kill *cites the right clause* when a failing case checks one of them.
A module moved or split keeps its entry (and its new modules get one), so that the
measured power stays comparable.

Rule code is what a node or the codec adapter runs. Code that only tools, ``juki
simulate``, benchmarks, tests or the network CA run lives in modules of its own outside
these entries, so that no suite could be asked to reach it: ``prefectures.py`` (names
for display), ``envelope/ca.py`` (issuing certificates and CRLs),
``machines/card_counter.py`` (the simulated counter's card check),
``machines/memory_store.py`` (identity info in memory),
``machines/designation_memory.py`` (the designation ledger and pool in memory; in
``machines/designation.py`` until seed 9),
``machines/determinism.py`` (counter ids and machine snapshots for tests and ``juki
simulate``; in ``machines/common.py`` until seed 9),
``machines/disclosure_report.py`` (the yearly counts of a disclosure log, for the
operator's publication: no requirement asks a node for them),
``node/operator_issue.py`` (issuing operator credentials: the node only reads them),
``tools/cli_config.py`` (the ``--config`` file of ``juki node serve``: command-line
plumbing like ``tools/cli_node.py``, no requirement of spec/; it was ``node/config.py``
until seed 7) and ``tools/audit_verify.py`` (the offline audit verifier); under a directory entry
they are listed in :data:`SKIPPED`.
"""

from __future__ import annotations

#: Modules mutated, relative to the ``juki_protocol`` package, with the spec files whose
#: requirements they implement (the "right clause" of a kill).
_FLOWS = ("spec/special_move.md", "spec/wide_area.md", "spec/identity.md",
          "spec/provision.md")
TARGETS: dict[str, tuple[str, ...]] = {
    "identifiers.py": ("spec/identifiers.md",),
    "codec/der.py": ("spec/README.md", "spec/pdu.md"),
    "codec/codec.py": ("spec/README.md", "spec/pdu.md", "spec/json.md"),
    "codec/schema.py": ("spec/README.md", "spec/pdu.md", *_FLOWS),
    "messages/": ("spec/README.md", "spec/pdu.md", "spec/json.md", *_FLOWS),
    "envelope/envelope.py": ("spec/pdu.md",),
    "envelope/envelope_parts.py": ("spec/pdu.md",),
    "envelope/cms.py": ("spec/pdu.md",),
    "envelope/cms_values.py": ("spec/pdu.md",),
    "envelope/pki.py": ("spec/pdu.md", "spec/node.md"),
    "envelope/keys.py": ("spec/pdu.md", "spec/node.md"),
    "envelope/routes.py": ("spec/pdu.md", "spec/node.md"),
    "envelope/revocation.py": ("spec/pdu.md", "spec/node.md"),
    "machines/schedule.py": ("spec/node.md", *_FLOWS),
    "machines/special_move.py": ("spec/special_move.md",),
    "machines/special_move_in.py": ("spec/special_move.md",),
    "machines/move_in.py": ("spec/special_move.md",),
    "machines/wide_area.py": ("spec/wide_area.md",),
    "machines/identity.py": ("spec/identity.md",),
    "machines/provision.py": ("spec/provision.md",),
    "machines/card.py": ("spec/node.md",),
    "machines/family_register.py": ("spec/family_register.md",),
    "machines/designation.py": ("spec/designation.md",),
    "machines/disclosure.py": ("spec/provision.md", "spec/node.md"),
    "machines/card_register.py": ("spec/card_register.md",),
    "machines/card_notices.py": ("spec/card_register.md",),
    "machines/common.py": ("spec/node.md", "spec/pdu.md", *_FLOWS),
    "machines/stores.py": ("spec/node.md", *_FLOWS),
    "endpoint/": ("spec/node.md", "spec/pdu.md", "spec/deadlines.md", *_FLOWS),
    "node/": ("spec/node.md", "spec/pdu.md", "spec/deadlines.md", *_FLOWS),
    # Node modules of one clause: their cases cite that clause's file.
    "node/card_store.py": ("spec/card_register.md", "spec/node.md"),
    "node/card_network.py": ("spec/card_register.md", "spec/node.md"),
    "node/upper_card_register.py": ("spec/card_register.md", "spec/node.md"),
    "node/designation_store.py": ("spec/designation.md", "spec/node.md"),
    "node/upper_designation.py": ("spec/designation.md", "spec/node.md"),
    "node/suspension.py": ("spec/suspension.md", "spec/provision.md", "spec/node.md"),
    "node/upper_suspension.py": ("spec/suspension.md", "spec/provision.md", "spec/node.md"),
    "node/upper_family_register.py": ("spec/family_register.md", "spec/node.md"),
}
#: Not rule code: command lines, diagrams, the network launcher; and envelope/cms_fast.py,
#: an optimisation of envelope/cms.py's parsing whose every result tests/test_cms_fast.py
#: checks against cms.py's (a mutant there either gives up to the slow path, which no run
#: can observe, or returns what cms.py would not, which that test catches). Also:
#: node/refusal_log.py shapes and rate-limits the log lines of TLS refusals (R-PDU-44)
#: and of floods (R-NODE-49, its RepeatFilter in node/admission.py until seed 12)
#: and words the revocation list's lapse warnings (R-PDU-43; all
#: subject ``operation``: no run observes a node's log, as for the logging calls);
#: node/logjson.py formats a node's log lines as JSON and masks them (the same subject);
#: node/metrics.py is the Prometheus metrics and /health of ``--metrics`` (no requirement
#: of spec/, and the suite runs the reference without it); node/bulk_load.py is the
#: initial bulk load of identity info (benchmarks/scale.py, a migration), which no node
#: runs. node/sql_postgres.py is the PostgreSQL engine of the storage: the measurement
#: runs the reference on its embedded SQLite engine, so that engine's code is no part
#: of the SUT measured (the suite judges a node on either engine alike; the PostgreSQL
#: engine is checked by the node tests run on it, JUKI_TEST_BACKEND=postgresql).
SKIPPED = ("envelope/cms_fast.py", "tools/cli_simulate.py", "machines/diagrams.py",
           "tools/cli_node.py", "node/network.py", "messages/__init__.py", "machines/__init__.py",
           "node/__init__.py", "endpoint/__init__.py", "node/refusal_log.py",
           "node/metrics.py", "node/bulk_load.py", "node/logjson.py", "node/sql_postgres.py",
           "machines/disclosure_report.py", "node/operator_issue.py")


__all__ = ["SKIPPED", "TARGETS"]
