"""juki-conformance: the conformance runner for Juki protocol implementations.

Vocabulary follows ISO/IEC 9646: each *test case* has a stable id tied to the clause it
checks, the requirement ids of ``spec/requirements.json`` it covers, and remediation
advice; the vendor's *implementation conformance statement* (ICS) decides which cases
apply; the implementation under test is the *SUT*.

Case ids are ``<clause>/<mode>/<subject>/<slug>``. They are never renumbered or reused:
a case that no longer applies is deprecated and keeps its id.
"""

from __future__ import annotations

from juki_protocol import __version__

#: The suite's version: the project's, defined once in juki_protocol/__init__.py.
SUITE_VERSION = __version__
