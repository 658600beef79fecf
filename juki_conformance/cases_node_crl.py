"""Node-mode cases on the revocation list in service (spec/pdu.md section 1, R-PDU-41,
R-PDU-42): the runner, holding the network CA's key, writes new lists into the node's
CRL file while it runs and watches the TLS handshakes of the peers it plays.

A case first revokes a fresh certificate of the peer municipality (issued for the case)
in a new list, and sees the node refuse it within the reload interval the IXIT declares
(``limits.crlReloadSeconds``) and a margin, at the handshake and as an envelope's
signer; then it writes a list the node must ignore
(a lower CRL number, an earlier thisUpdate, a signature that is not the network CA's)
and sees the certificate stay refused and the other peers served, or a list that lapses
and sees every peer refused. Whatever happens, a case ends by writing a current list
equivalent to the one it found (the same revoked certificates, a higher CRL number)
and waits until the node serves the fresh certificate again, because the later cases
of the run share the node. The file is replaced atomically (a temporary file, then a
rename), so that the node never reads half a list.

The lists the node logs (an ignored list, a lapsed one) stay unobserved: a runner sees
only what the node does with its peers. As for a revoked certificate (R-PDU-10), a
refusal at the handshake is ``pass``; a completed handshake after which the PDU is
refused with an error report and nothing stored is ``acceptable``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from cryptography import x509

from juki_conformance.cases_node import NodeCase
from juki_conformance.cases_node_peers import send_presenting
from juki_conformance.model import Case, Outcome, Verdict
from juki_conformance.node_steps import (
    OTHER_MUNICIPALITY,
    birth_update,
    describe,
    error_text,
    expect_ack,
    is_error,
    last_sequence,
    node_sut,
)
from juki_conformance.node_sut import NodeSut
from juki_conformance.sut import AdapterSut, Inconclusive
from juki_protocol.envelope import pki
from juki_protocol.envelope.ca import (
    CertificateAuthority,
    RevokedCertificate,
    build_crl,
    issue_node_certificate,
)
from juki_protocol.errors import ErrorCode
from juki_protocol.messages.pdu import AckStatus, JukiPdu

#: Seconds beyond the declared reload interval within which a new list must be in use.
MARGIN = 4.0
#: Seconds beyond the declared reload interval that a list to be ignored is left in
#: the file before the runner looks whether the node took it up.
SETTLE = 2.0
#: Seconds between two looks while the runner waits for the node to take a list up.
STEP = 0.5

#: The answer of a probe: a PDU, None (refused at the handshake), or what went wrong.
Answer = JukiPdu | None | str


class Authority:
    """The network CA's side of one case: the lists it writes into the node's CRL file
    (``pki/crl.pem``), each newer than the file it found (a higher CRL number, a later
    thisUpdate), except those a case makes older on purpose."""

    def __init__(self, node: NodeSut) -> None:
        self.path = node.pki_dir / "crl.pem"
        self.ca = CertificateAuthority(
            pki.load_private_key((node.pki_dir / "ca.key").read_bytes()),
            pki.load_certificate((node.pki_dir / "ca.pem").read_bytes()))
        found = pki.load_crl(self.path.read_bytes())
        #: The certificates the list found revokes: every list written revokes them.
        self.revoked = tuple(RevokedCertificate(serial=r.serial_number,
                                                revoked_at=r.revocation_date_utc)
                             for r in found)
        self.next_update = found.next_update_utc or (
            dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        try:
            self.number = found.extensions.get_extension_for_class(
                x509.CRLNumber).value.crl_number
        except x509.ExtensionNotFound:
            self.number = 0
        self.stamp = found.last_update_utc

    def _newer(self) -> tuple[int, dt.datetime]:
        """A CRL number and a thisUpdate after every list written so far (the number
        from the time, so that the lists of a later run are newer still)."""
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        self.number = max(self.number + 1, int(time.time()))
        # Half a minute back: a thisUpdate in the future would make OpenSSL refuse.
        self.stamp = max(self.stamp + dt.timedelta(seconds=1), now - dt.timedelta(seconds=30))
        return self.number, self.stamp

    def write(self, extra: Iterable[int] = (), *, keep: bool = True, number: int | None = None,
              this_update: dt.datetime | None = None, next_update: dt.datetime | None = None,
              signer: CertificateAuthority | None = None) -> x509.CertificateRevocationList:
        """Write a list revoking the serial numbers ``extra`` (and, with ``keep``, those
        of the list found), newer than all before unless ``number`` or
        ``this_update`` say otherwise, signed by ``signer`` (default the network CA)."""
        n, t = self._newer()
        start = t - dt.timedelta(seconds=1)
        entries = [*(self.revoked if keep else ()),
                   *(RevokedCertificate(serial=s, revoked_at=start) for s in extra)]
        crl = build_crl(signer or self.ca, entries, this_update=this_update or t,
                        next_update=next_update or self.next_update,
                        number=n if number is None else number)
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_bytes(pki.crl_pem(crl))
        os.replace(tmp, self.path)
        return crl

    def forger(self) -> CertificateAuthority:
        """A CA that names itself as the network CA but signs with another key."""
        return CertificateAuthority(pki.generate_key(), self.ca.certificate)

    def fresh(self, node: NodeSut, peer: str, directory: Path) -> tuple[Path, Path, int]:
        """A new certificate of ``peer`` (valid as long as its own), its key, and its
        serial number, written in ``directory``."""
        own = pki.load_certificate((node.pki_dir / f"{peer}.pem").read_bytes())
        key = pki.generate_key()
        serial = x509.random_serial_number()
        cert = issue_node_certificate(self.ca, key.public_key(), pki.node_of_certificate(own),
                                      not_before=own.not_valid_before_utc,
                                      not_after=own.not_valid_after_utc, serial=serial)
        (directory / "fresh.pem").write_bytes(pki.cert_pem(cert))
        pki.write_private_file(directory / "fresh.key", pki.key_pem(key))
        return directory / "fresh.pem", directory / "fresh.key", serial


def _answer(node: NodeSut, peer: str, files: tuple[Path, Path] | None = None, *,
            signer: tuple[Path, Path] | None = None) -> Answer:
    """The node's answer to a fresh update from ``peer``, presented at the handshake
    with ``files`` and signed with ``signer`` (default its own certificate)."""
    mid, pdu = node.sealed(birth_update(last_sequence(node.status(), peer) + 1, peer),
                           sender=peer, signer_files=signer)
    return send_presenting(node, peer, pdu, mid, files)


def _accepted(answer: Answer) -> bool:
    return isinstance(answer, JukiPdu) and expect_ack(answer, AckStatus.ACCEPTED) is None


def _said(answer: Answer) -> str:
    return answer if isinstance(answer, str) else (
        "refused at the handshake" if answer is None else describe(answer))


def _refusal(answer: Answer) -> Verdict:
    """PASS for a refusal at the handshake, ACCEPTABLE for an error report, else FAIL."""
    if answer is None:
        return Verdict.PASS
    if isinstance(answer, JukiPdu) and answer.error_report is not None:
        return Verdict.ACCEPTABLE
    return Verdict.FAIL


def _until(probe: Callable[[], Answer], done: Callable[[Answer], bool],
           seconds: float) -> Answer:
    """``probe`` every :data:`STEP` seconds until ``done`` says yes or ``seconds``
    have passed; its last answer."""
    deadline = time.monotonic() + seconds
    while True:
        got = probe()
        if done(got) or time.monotonic() >= deadline:
            return got
        time.sleep(STEP)


class _Run:
    """What the steps of one case share: the node, its declared reload interval, the
    CA and the fresh certificate of the peer municipality."""

    def __init__(self, node: NodeSut, authority: Authority, fresh: tuple[Path, Path, int]):
        self.node, self.authority = node, authority
        self.peer = node.peer_municipality
        self.files, self.serial = fresh[:2], fresh[2]
        self.reload = float(node.limits.get("crlReloadSeconds") or 0)
        if self.reload <= 0:
            raise Inconclusive("the IXIT declares no limits.crlReloadSeconds")

    def fresh_answer(self) -> Answer:
        return _answer(self.node, self.peer, self.files)

    def take_up(self, next_update: dt.datetime | None = None
                ) -> tuple[x509.CertificateRevocationList, str | None]:
        """Write a new list revoking the fresh certificate (until ``next_update``); the
        list, and what keeps the node from having taken it up in time."""
        crl = self.authority.write([self.serial], next_update=next_update)
        got = _until(self.fresh_answer, lambda a: not _accepted(a), self.reload + MARGIN)
        if _accepted(got):
            return crl, (f"a new list revoking a fresh certificate was written; "
                         f"{self.reload + MARGIN:g} s later the certificate was still "
                         f"accepted: the node did not take the list up")
        return crl, None

    def served(self, *peers: str) -> str | None:
        """What went wrong when each of ``peers`` presents its own certificate."""
        for peer in peers:
            got = _answer(self.node, peer)
            if not _accepted(got):
                return f"peer {peer} with its own certificate got: {_said(got)}"
        return None

    def restore(self) -> str | None:
        """Write a current list like the one found; what went wrong if the node does
        not serve the fresh certificate again in time."""
        self.authority.write()
        got = _until(self.fresh_answer, _accepted, self.reload + MARGIN)
        if _accepted(got):
            return None
        return (f"a current list no longer revoking the fresh certificate was not taken "
                f"up within {self.reload + MARGIN:g} s: {_said(got)}")


Body = Callable[[_Run], Outcome]


def _case(body: Body, expected: str) -> Callable[[AdapterSut], Outcome]:
    def run(sut: AdapterSut) -> Outcome:
        node = node_sut(sut)
        missing = [n for n in ("ca.key", "ca.pem", "crl.pem") if not (node.pki_dir / n).exists()]
        if missing:
            return Outcome(Verdict.NOT_APPLICABLE, expected, "",
                           f"the PKI directory has no {', '.join(missing)}")
        authority = Authority(node)
        with tempfile.TemporaryDirectory(prefix="juki-crl-") as tmp:
            fresh = authority.fresh(node, node.peer_municipality, Path(tmp))
            steps = _Run(node, authority, fresh)
            # The fresh certificate, on no list, at the handshake and as the signer.
            before = _answer(node, steps.peer, steps.files, signer=steps.files)
            if not _accepted(before):
                raise Inconclusive(f"a fresh certificate of peer {steps.peer}, on no list, "
                                   f"got: {_said(before)}")
            try:
                outcome = body(steps)
            finally:
                wrong = steps.restore()
        if wrong and outcome.verdict in (Verdict.PASS, Verdict.ACCEPTABLE):
            return Outcome(Verdict.FAIL, outcome.expected, f"{outcome.actual}; then {wrong}")
        return outcome
    return run


def _taken_up(run: _Run) -> Outcome:
    expected = (f"a fresh certificate accepted; a new list revoking it refused within "
                f"{run.reload + MARGIN:g} s (the declared reload interval and a margin) "
                "at the handshake (pass) or with an error report (acceptable); the peer's "
                "own certificate and another peer still accepted; an envelope it signs "
                f"refused with {error_text(ErrorCode.ENVELOPE_INVALID)}")
    _, late = run.take_up()
    if late:
        return Outcome(Verdict.FAIL, expected, late)
    got = run.fresh_answer()
    verdict = _refusal(got)
    if verdict is Verdict.FAIL:
        return Outcome(Verdict.FAIL, expected, f"refused once, then {_said(got)}")
    wrong = run.served(run.peer, OTHER_MUNICIPALITY)
    if wrong:
        return Outcome(Verdict.FAIL, expected, f"the fresh certificate refused; {wrong}")
    # R-PDU-41: the new list also holds for envelopes (R-PDU-31), not only handshakes.
    signed = _answer(run.node, run.peer, signer=run.files)
    if not (isinstance(signed, JukiPdu) and is_error(signed, ErrorCode.ENVELOPE_INVALID)):
        return Outcome(Verdict.FAIL, expected, f"the fresh certificate refused at the "
                       f"handshake; an envelope it signed got: {_said(signed)}")
    return Outcome(verdict, expected, f"the fresh certificate {_said(got)}; the other "
                   f"certificates accepted; an envelope it signed got {_said(signed)}")


def _same_second(run: _Run) -> Outcome:
    """Two lists of one second (a revocation right after the scheduled list): the
    later, with the same thisUpdate and a higher number, is not older (R-PDU-41)."""
    expected = ("after a list revoking the fresh certificate, a list of the same "
                "thisUpdate with a higher CRL number that no longer revokes it taken up "
                f"within {run.reload + MARGIN:g} s: the certificate accepted again")
    in_use, late = run.take_up()
    if late:
        return Outcome(Verdict.FAIL, expected, late)
    run.authority.write(this_update=in_use.last_update_utc)
    got = _until(run.fresh_answer, _accepted, run.reload + MARGIN)
    if not _accepted(got):
        return Outcome(Verdict.FAIL, expected, f"{run.reload + MARGIN:g} s later the "
                       f"fresh certificate still got: {_said(got)}")
    return Outcome(Verdict.PASS, expected, "the fresh certificate accepted again")


def _ignored(kind: str) -> Body:
    """A list the node must ignore, of ``kind``: ``lower-number``, ``earlier`` or
    ``forged``; it revokes nothing, so that a node taking it up would accept the
    fresh certificate again."""
    def body(run: _Run) -> Outcome:
        expected = ("the fresh certificate, revoked by the list in use, still refused "
                    f"{run.reload + SETTLE:g} s after a {WHAT[kind]} revoking nothing was "
                    "written; the peer's own certificate still accepted")
        in_use, late = run.take_up()
        if late:
            return Outcome(Verdict.FAIL, expected, late)
        number = in_use.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
        if kind == "lower-number":
            run.authority.write(keep=False, number=number - 1)
        elif kind == "earlier":
            run.authority.write(keep=False, this_update=in_use.last_update_utc
                                - dt.timedelta(seconds=1))
        else:
            run.authority.write(keep=False, signer=run.authority.forger())
        time.sleep(run.reload + SETTLE)
        got = run.fresh_answer()
        verdict = _refusal(got)
        if verdict is Verdict.FAIL:
            return Outcome(Verdict.FAIL, expected, f"the fresh certificate got {_said(got)}: "
                           "the node took up the list it had to ignore")
        wrong = run.served(run.peer)
        if wrong:
            return Outcome(Verdict.FAIL, expected, f"the fresh certificate refused; {wrong}")
        return Outcome(verdict, expected, f"the fresh certificate {_said(got)}; the peer's "
                       "own certificate accepted")
    return body


WHAT = {"lower-number": "list with a lower CRL number (the same CA, a later thisUpdate)",
        "earlier": "list with an earlier thisUpdate (the same CA, a higher CRL number)",
        "forged": "list naming the network CA as issuer but signed with another key"}


def _lapsed(run: _Run) -> Outcome:
    lapse = run.reload + MARGIN + 2
    expected = (f"a list whose nextUpdate is {lapse:g} s ahead taken up; once it has "
                "passed, every peer's own certificate refused at the handshake (pass) or "
                "its PDU refused with an error report (acceptable); a current list "
                "written then restores service")
    until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=lapse)
    crl, late = run.take_up(next_update=until)
    if late:
        return Outcome(Verdict.FAIL, expected, late)
    nxt = crl.next_update_utc or until
    time.sleep(max(0.0, (nxt - dt.datetime.now(dt.UTC)).total_seconds()) + 2.0)
    verdicts: list[Verdict] = []
    said: list[str] = []
    for peer in (run.peer, OTHER_MUNICIPALITY):
        got = _answer(run.node, peer)
        verdicts.append(_refusal(got))
        said.append(f"peer {peer}: {_said(got)}")
    actual = "after the nextUpdate, " + "; ".join(said)
    if Verdict.FAIL in verdicts:
        return Outcome(Verdict.FAIL, expected, actual + " (the node fails open)")
    if Verdict.ACCEPTABLE in verdicts:
        return Outcome(Verdict.ACCEPTABLE, expected, actual,
                       "R-PDU-10 asks for the handshake to be aborted")
    return Outcome(Verdict.PASS, expected, actual)


REMEDIATION = ("Look at the CRL file every reload interval (declared in the IXIT) and use "
               "a new list at once for handshakes and envelopes, but only when it parses, "
               "is signed by the network CA and is not older than the one in use (a lower "
               "CRL number or an earlier thisUpdate); once the list in use is past its "
               "nextUpdate, refuse every peer until a current list arrives.")


def crl_cases() -> list[Case]:
    """The cases of this module (a prefecture; the runner's peer is municipality
    271004)."""
    def case(tail: str, title: str, reqs: tuple[str, ...], body: Body,
             expected: str) -> Case:
        return NodeCase(id=f"pdu/node/crl/{tail}", title=title, clause="pdu",
                        requirements=reqs, level="MUST", remediation=REMEDIATION,
                        mode="node", ops=(), run=_case(body, expected),
                        role="prefecture", needs="limits.crlReloadSeconds")
    return [
        case("new-list-taken-up", "a new revocation list is used within the reload "
             "interval, without a restart", ("R-PDU-41",), _taken_up,
             "a new list taken up within the reload interval"),
        case("same-second-list-taken-up", "a new list with the same thisUpdate as the "
             "one in use and a higher CRL number is taken up", ("R-PDU-41",),
             _same_second, "a list of the same second taken up"),
        *(case(f"{kind}-list-ignored", f"a {WHAT[kind]} is ignored", ("R-PDU-41",),
               _ignored(kind), f"the {kind} list ignored") for kind in WHAT),
        case("lapsed-list-refuses-every-peer", "once the revocation list is past its "
             "nextUpdate every peer is refused, until a current list comes",
             ("R-PDU-42", "R-PDU-41"), _lapsed, "every peer refused after the nextUpdate"),
    ]


__all__ = ["Authority", "crl_cases"]
