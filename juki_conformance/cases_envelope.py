"""Envelope cases in codec mode: the SUT opens the envelope vectors, and seals messages
that this runner opens twice, with the reference opener and with ``openssl cms``.

The adapter ops ``open`` and ``seal`` are specified in ``spec/conformance.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from juki_conformance.cases_codec import expect_error
from juki_conformance.codec_checks import code_name, error_of, id_slug
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.sut import AdapterSut
from juki_protocol.codec import codec
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import create_root_ca, issue_node_certificate
from juki_protocol.fixtures.samples import example, header
from juki_protocol.messages import MessageType, NodeId, NodeRole, Profile

FLAG_REQUIREMENTS: dict[str, tuple[str, ...]] = {
    "StaleTime": ("R-PDU-16",), "Replay": ("R-PDU-24",), "Duplicate": ("R-PDU-24",),
    "WrongAlgorithm": ("R-PDU-29",), "Sha1Kdf": ("R-PDU-29",),
    "SenderMismatch": ("R-PDU-11", "R-PDU-31"), "RoleNotAllowed": ("R-PDU-20", "R-PDU-31"),
    "NoBinding": ("R-PDU-30",),
}
REMEDIATION = (
    "Open envelopes as spec/pdu.md section 7 says: AuthEnvelopedData with AES-256-GCM and "
    "ECDH key agreement, then SignedData; verify the GCM tag, the signature, the signer's "
    "chain, validity, revocation, key usage, node and role, and every header-binding "
    "attribute against the clear header; report the precise code locally.")


def _open_run(group: dict[str, Any], t: dict[str, Any]) -> Any:
    request = {"envelope": t["envelope"], "header": t["header"], "preceding": t["preceding"],
               "credentials": group["recipientCredentials"],
               "trustAnchors": group["trustAnchors"], "crls": group["crls"],
               "now": t["now"], "timeWindowSeconds": group["timeWindowSeconds"]}

    def run(sut: AdapterSut) -> Outcome:
        answer = sut.request("open", **request)
        if t["result"] == "invalid":
            return expect_error(answer, t["errorCode"])
        if t["result"] == "acceptable":
            expected = f"opened, or rejected with {code_name(t['errorCode'])}"
            if answer.get("ok"):
                return Outcome(Verdict.ACCEPTABLE, expected, "opened")
            got, text = error_of(answer)
            return Outcome(Verdict.ACCEPTABLE if got == t["errorCode"] else Verdict.FAIL,
                           expected, f"rejected with {text}")
        expected = "opened, giving the vector's message"
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"rejected with {error_of(answer)[1]}")
        if answer.get("message") != t["message"]:
            return Outcome(Verdict.FAIL, expected, "opened to a different message")
        return Outcome(Verdict.PASS, expected, "opened to the vector's message")

    return run


def open_cases(directory: Path) -> list[Case]:
    path = directory / "envelope.json"
    if not path.is_file():
        return []
    doc = json.loads(path.read_text(encoding="utf-8"))
    cases = []
    for group in doc["testGroups"]:
        for t in group["tests"]:
            reqs: list[str] = ["R-PDU-31"]
            for f in t["flags"]:
                reqs += FLAG_REQUIREMENTS.get(f, ())
            if t["result"] == "invalid":      # the precise code, not the peer's 2001
                reqs.append("R-CONF-11")
            if t["preceding"]:                # replay checks within the one request
                reqs.append("R-CONF-12")
            cases.append(Case(
                id=f"pdu/envelope/open/tc{t['tcId']}-{id_slug(t['comment'])}",
                title=f"open: {t['comment']}", clause="pdu",
                requirements=tuple(dict.fromkeys(reqs)), level="MUST",
                remediation=REMEDIATION, mode="codec", ops=("open",),
                run=_open_run(group, t), data={"vector": path.name, "tcId": t["tcId"]}))
    return cases


# Sealing -----------------------------------------------------------------------------

NOW = dt.datetime(2026, 4, 1, 9, 0, 0, tzinfo=dt.UTC)


@cache
def _world() -> dict[str, Any]:
    """A throw-away network CA and node credentials for the seal cases."""
    ca_key = pki.generate_key()
    ca = create_root_ca(ca_key, common_name="juki-conformance test CA",
                        not_before=NOW - dt.timedelta(days=1),
                        not_after=NOW + dt.timedelta(days=3650), serial=1)
    nodes: dict[str, Any] = {}
    for serial, (role, code) in enumerate((("municipality", "271004"),
                                           ("municipality", "131016"),
                                           ("prefecture", "270008"),
                                           ("agency", "AG0001")), start=2):
        key = pki.generate_key()
        node = NodeId(role=NodeRole(role), code=code)
        cert = issue_node_certificate(ca, key.public_key(), node,
                                      not_before=NOW - dt.timedelta(days=1),
                                      not_after=NOW + dt.timedelta(days=365),
                                      serial=serial)
        nodes[code] = (node, key, cert)
    return {"ca": ca, "nodes": nodes}


SEALS = [  # (message type, sender, recipient)
    ("WideAreaIssuanceResponse", "271004", "131016"),
    ("IdentityInfoUpdate", "271004", "270008"),
    ("ProvisionResponse", "270008", "AG0001"),
]


def _openssl_opens(envelope: bytes, recipient: tuple[Any, Any, Any], ca_pem: bytes,
                   message: bytes) -> str | None:
    """None if openssl decrypts and verifies ``envelope`` to ``message``, else why not."""
    if shutil.which("openssl") is None:
        return None
    _, key, cert = recipient
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "env.der").write_bytes(envelope)
        (d / "r.pem").write_bytes(pki.cert_pem(cert))
        (d / "r.key").write_bytes(pki.key_pem(key))
        (d / "ca.pem").write_bytes(ca_pem)
        steps = [["openssl", "cms", "-decrypt", "-inform", "DER", "-in", "env.der", "-recip",
                  "r.pem", "-inkey", "r.key", "-binary", "-out", "inner.der"],
                 ["openssl", "cms", "-verify", "-inform", "DER", "-in", "inner.der",
                  "-CAfile", "ca.pem", "-attime", str(int(NOW.timestamp()) + 60), "-binary",
                  "-out", "msg.der"]]
        for step in steps:
            res = subprocess.run(step, cwd=d, capture_output=True, timeout=60, check=False)
            if res.returncode != 0:
                return f"openssl {step[2]} failed: {res.stderr.decode(errors='replace')[:200]}"
        if (d / "msg.der").read_bytes() != message:
            return "openssl opened it to a different message"
    return None


def _seal_run(type_name: str, sender: str, recipient: str) -> Any:
    def run(sut: AdapterSut) -> Outcome:
        world = _world()
        s_node, s_key, s_cert = world["nodes"][sender]
        r = world["nodes"][recipient]
        msg = example(type_name, "conformance", Profile.CURRENT)
        data = codec.encode(msg)
        mtype = MessageType(type_name[:1].lower() + type_name[1:])
        hdr = header(None, mtype, s_node, r[0], profile=Profile.CURRENT)  # time: NOW
        answer = sut.request("seal", header=codec.to_json(hdr), message=data.hex(),
                             senderKey=pki.key_pem(s_key).decode(),
                             senderCert=pki.cert_pem(s_cert).decode(),
                             recipientCert=pki.cert_pem(r[2]).decode(),
                             now=NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
        expected = "an envelope the recipient opens (reference opener and openssl cms)"
        if not answer.get("ok"):
            return Outcome(Verdict.FAIL, expected, f"seal refused: {error_of(answer)[1]}")
        try:
            envelope = bytes.fromhex(str(answer.get("envelope")))
        except ValueError:
            return Outcome(Verdict.FAIL, expected, "the envelope is not hex")
        trust = pki.TrustStore(anchors=(world["ca"].certificate,), crls=())
        try:
            opened = env.open_envelope(envelope, [pki.Credential(r[1], r[2])], trust,
                                       NOW + dt.timedelta(seconds=1), header=hdr)
        except Exception as exc:  # any refusal by the reference opener fails the SUT
            return Outcome(Verdict.FAIL, expected, f"the reference opener refused it: {exc}")
        if opened.message_der != data:
            return Outcome(Verdict.FAIL, expected, "it opened to a different message")
        problem = _openssl_opens(envelope, r, pki.cert_pem(world["ca"].certificate), data)
        if problem:
            return Outcome(Verdict.FAIL, expected, problem)
        return Outcome(Verdict.PASS, expected, "opened by both, header binding checked")

    return run


def seal_cases() -> list[Case]:
    return [Case(id=f"pdu/envelope/seal/{id_slug(f'{t}-{s}-to-{r}')}", title=f"seal {t} {s} -> {r}",
                 clause="pdu", requirements=("R-PDU-29", "R-PDU-31"), level="MUST",
                 remediation="Seal as spec/pdu.md section 7 says and bind the header fields "
                             "in signed attributes; check with openssl cms -decrypt/-verify.",
                 mode="codec", ops=("seal",), message_type=t, run=_seal_run(t, s, r))
            for t, s, r in SEALS]
