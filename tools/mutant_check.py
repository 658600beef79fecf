#!/usr/bin/env python3
"""Run one mutant of the reference (a line of benchmarks/mutation/missing-cases.txt)
against only the named conformance cases and say whether they kill it.

Usage: python tools/mutant_check.py 'MODULE:LINE:COLUMN:OPERATOR DIGEST' [...] --cases GLOB
       python tools/mutant_check.py @benchmarks/mutation/missing-cases.txt --cases '*'
One line per mutant (killed, survived, unconfirmed, timeout, error, stale); exit 0 when
every mutant was killed. The work is done by juki_conformance.mutant_check.
"""

from __future__ import annotations

import sys

from juki_conformance.mutant_check import main

if __name__ == "__main__":
    sys.exit(main())
