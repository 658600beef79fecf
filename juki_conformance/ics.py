"""The implementation conformance statement (ICS): what the vendor declares.

An ICS is a JSON file (schema: ``juki_conformance/ics.schema.json``)::

    {"implementation": {"name": "Acme Juki server", "version": "4.2"},
     "role": "municipality",
     "profiles": ["current"],
     "modes": ["codec"],
     "ops": ["hello", "encode", "decode", "check_code"],
     "messageTypes": "all"}

Cases outside what it declares are ``not_applicable``, never failures.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from juki_protocol.messages import MESSAGE_TYPES

SCHEMA_PATH = Path(__file__).with_name("ics.schema.json")


@dataclass(frozen=True, slots=True)
class Ics:
    """A parsed, validated ICS."""

    name: str
    version: str
    role: str
    profiles: frozenset[str]
    modes: frozenset[str]
    ops: frozenset[str]
    message_types: frozenset[str]
    raw: dict[str, Any]
    #: The IXIT (spec/conformance.md section 6): what the runner needs to attach to a
    #: node (endpoint, limits, restart, clock, fault injection...).
    ixit: dict[str, Any] = dataclasses.field(default_factory=dict)

    def declared(self, path: str) -> Any:
        """The value at ``section.key`` (``ixit.restart``, ``limits.frameTimeoutSeconds``,
        ``localPurposes.municipality``), looked up in the IXIT, then in the ICS; None
        when absent."""
        section, _, key = path.partition(".")
        if section == "ixit":
            section, _, key = key.partition(".")
            value = self.ixit.get(section)
        else:
            value = self.ixit.get(section, self.raw.get(section))
        if key:
            value = value.get(key) if isinstance(value, dict) else None
        return None if value in (None, "", {}, False) else value

    def supports_type(self, type_name: str) -> bool:
        return type_name in self.message_types


IXIT_SCHEMA_PATH = Path(__file__).with_name("ixit.schema.json")
#: What an ICS of the first version held that belongs to the IXIT; still read there.
_IXIT_IN_ICS = ("endpoint", "limits")


def parse_ixit(obj: Any, source: str = "IXIT") -> dict[str, Any]:
    """Validate an IXIT object; a bad one raises ValueError naming the field."""
    schema = json.loads(IXIT_SCHEMA_PATH.read_text(encoding="utf-8"))
    try:
        jsonschema.validate(obj, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ValueError(f"{source}: field {where}: {exc.message}") from None
    return dict(obj)


def parse(obj: Any, source: str = "ICS", *, ixit: dict[str, Any] | None = None) -> Ics:
    """Validate an ICS object (and its IXIT: ``ixit``, else an object inline in the
    ICS); a bad one raises ValueError naming the field."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    try:
        jsonschema.validate(obj, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "(top level)"
        raise ValueError(f"{source}: field {where}: {exc.message}") from None
    types = obj.get("messageTypes", "all")
    if types == "all":
        types = list(MESSAGE_TYPES)
    unknown = sorted(set(types) - set(MESSAGE_TYPES))
    if unknown:
        raise ValueError(f"{source}: field messageTypes: unknown type {unknown[0]!r}")
    profiles = {"p2002" if p == "2002" else p for p in obj["profiles"]}
    if ixit is None:
        inline = obj.get("ixit")
        ixit = parse_ixit(inline, f"{source} ixit") if isinstance(inline, dict) else {}
    ixit = {**{k: obj[k] for k in _IXIT_IN_ICS if k in obj}, **ixit}
    from juki_conformance.proforma import check_answers  # the proforma reads Ics
    check_answers(obj.get("capabilities") or {}, obj["role"], source)
    return Ics(name=obj["implementation"]["name"], version=obj["implementation"]["version"],
               role=obj["role"], profiles=frozenset(profiles), modes=frozenset(obj["modes"]),
               ops=frozenset(obj.get("ops", ["hello", "encode", "decode", "check_code"])),
               message_types=frozenset(types), raw=obj, ixit=ixit)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as exc:     # also bad UTF-8, deep nesting
        raise ValueError(f"{path}: not valid JSON: {exc}") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror}") from None


def load(path: Path, ixit_path: Path | None = None) -> Ics:
    """Read and validate an ICS file and its IXIT: ``ixit_path``, else the file the
    ICS names in ``ixit`` (relative to the ICS), else an object inline in the ICS."""
    obj = _read_json(path)
    named = obj.get("ixit") if isinstance(obj, dict) else None
    if ixit_path is None and isinstance(named, str):
        ixit_path = path.parent / named
    ixit = parse_ixit(_read_json(ixit_path), str(ixit_path)) if ixit_path else None
    return parse(obj, str(path), ixit=ixit)


def from_hello(hello: dict[str, Any]) -> Ics:
    """The ICS an adapter declares in its hello, used when no ICS file is given: every
    message type, the adapter's profiles and ops, codec mode."""
    profiles = [p for p in hello.get("profiles", ["current"]) if p in ("current", "p2002")]
    ops = [o for o in hello.get("ops", []) if o in ("hello", "encode", "decode",
                                                    "check_code", "seal", "open")]
    return parse({"implementation": {"name": str(hello.get("implementation") or "unnamed"),
                                     "version": str(hello.get("version") or "unknown")},
                  "role": "municipality", "profiles": profiles or ["current"],
                  "modes": ["codec"], "ops": ops or ["hello"], "messageTypes": "all",
                  "notes": "derived from the adapter's hello: no ICS file was given"},
                 "ICS from hello")


def reference_ics() -> Ics:
    """The ICS of our own reference implementation (everything, both profiles)."""
    return parse({"implementation": {"name": "juki-protocol reference", "version": "0.1.0"},
                  "role": "municipality", "profiles": ["current", "p2002"],
                  "modes": ["codec"], "ops": ["hello", "encode", "decode", "check_code"],
                  "messageTypes": "all"}, "reference ICS")


#: The limits (spec/node.md section 6) the runner starts the reference node with, and
#: declares for it: small, so that the limit cases take about a second each (and the
#: node looks for a new revocation list every second, for the CRL cases). The bounds on
#: pending handshakes leave the admission cases room: three addresses at their bound
#: (3 x 8) stay within maxHandshakes, and the handshake time limit, 2 s, lets a case
#: open them all and look before any times out on a busy machine; 16 slots are few
#: enough to fill with the peers the runner plays (the fair-share case). A send
#: window of 3 numbered messages, so that every case that makes a node number several
#: updates or relays sees more than one on the wire (R-30-5-0-13).
REFERENCE_LIMITS: dict[str, float] = {"handshakeTimeoutSeconds": 2, "frameTimeoutSeconds": 1,
                                      "maxConnections": 16, "maxPeerConnections": 4,
                                      "maxInflight": 2,
                                      "maxHandshakes": 32, "maxAddressHandshakes": 8,
                                      "knownReserve": 4, "maxRefusals": 32,
                                      "handshakeRate": 4, "crlReloadSeconds": 1,
                                      "sendWindow": 3}


#: The purposes the runner starts the reference prefecture with, per local body kind.
REFERENCE_LOCAL_PURPOSES: dict[str, str] = {"municipality": "L-JUMIN-KAKUNIN",
                                            "prefecture": "L-KENMIN-KAKUNIN"}


#: The retention period a launched prefecture or national node runs with, in seconds
#: (``juki node serve --retention-seconds``): short, so that the retention cases can
#: move the test clock past it; long beside a role's run, so no other case sees it.
TEST_RETENTION_SECONDS = 600

#: What the runner knows of a node it launches itself (spec/conformance.md section 6):
#: it restarts the process itself (kill -9, then the same command on the same database
#: and keys), controls the clock and injects faults through the upper tester, and
#: started a prefecture or the centre with the test retention period.
REFERENCE_IXIT: dict[str, Any] = {"restart": {"method": "process"},
                                  "clock": {"method": "upperTester"},
                                  "faultInjection": {"method": "upperTester"},
                                  "retentionSeconds": TEST_RETENTION_SECONDS,
                                  # A launched centre acts on the delegation of 270008
                                  # (juki node serve --delegated-by, spec/provision.md 6).
                                  "delegatingPrefectures": ["270008"],
                                  # The reference's defaults (machines/provision.py Limits).
                                  "provisionLimits": {"windowSeconds": 3600,
                                                      "operatorRequests": 100,
                                                      "operatorPersons": 1000},
                                  "operator": {"id": "op-conformance", "pin": "246813",
                                               "restricted": {"id": "op-restricted",
                                                              "pin": "135790"}}}


def with_reference_node(ics: Ics) -> Ics:
    """``ics`` plus node mode, role prefecture: the default run, which also checks our
    reference prefecture node (started by the runner) in node mode."""
    from juki_conformance.proforma import PROFORMA
    return parse({**ics.raw, "role": "prefecture",
                  "modes": sorted({*ics.raw["modes"], "node"}), "limits": REFERENCE_LIMITS,
                  "localPurposes": REFERENCE_LOCAL_PURPOSES,
                  "capabilities": {c.id: True for c in PROFORMA},
                  "ixit": REFERENCE_IXIT,
                  "notes": "the reference implementation: the adapter in codec mode and, "
                           "in node mode, a prefecture node and a municipality node "
                           "started by the runner (each runs the cases of its role)"},
                 "reference ICS")
