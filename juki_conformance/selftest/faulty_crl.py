"""A reference prefecture with one deliberate fault in how it keeps its revocation
list current, chosen by ``--fault NAME``.

Each fault mimics a real mistake around R-PDU-41 and R-PDU-42.
``tests/test_conformance_crl.py`` runs the CRL cases against every fault and checks
that they fail exactly on the cases named in :data:`EXPECTED`. The remaining arguments
are those of ``juki node serve``:

    python -m juki_conformance.selftest.faulty_crl --fault never-reloads-crl ...
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from typing import Any

from cryptography import x509

from juki_protocol.envelope import revocation
from juki_protocol.node.node import Node, NodeConfig
from juki_protocol.node.transport import TrustSource
from juki_protocol.tools import cli_node


class NeverReloadsCrl(Node):
    """Reads its CRL file at start only (an interval of an hour, while the IXIT
    declares the reference's second): a certificate revoked since is accepted
    (R-PDU-41)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        config.crl_reload_interval = 3600.0
        super().__init__(config, **kw)


def _any_order(new: x509.CertificateRevocationList,
               old: x509.CertificateRevocationList) -> None:
    """Takes any list for newer: no comparison of CRL numbers or thisUpdate."""


class TakesOlderCrl(Node):
    """Takes up a new list without comparing it with the one in use: an older list
    (a lower CRL number, an earlier thisUpdate) un-revokes certificates (R-PDU-41)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        setattr(revocation, "check_crl_replaces", _any_order)  # noqa: B010
        super().__init__(config, **kw)


def _first_ca(crl: x509.CertificateRevocationList,
              cas: Sequence[x509.Certificate]) -> x509.Certificate:
    """Believes the issuer a list names: no signature check."""
    return cas[0]


class TakesForgedCrl(Node):
    """Takes up a new list without checking that the network CA signed it (R-PDU-41):
    OpenSSL then finds no valid list for the peers' certificates and every peer is
    refused."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        setattr(revocation, "crl_signer", _first_ca)  # noqa: B010
        super().__init__(config, **kw)


class _DropsLapsedList(TrustSource):
    """Forgets a list once it is past its nextUpdate, as if revocation were off."""

    def poll(self) -> bool:
        changed = super().poll()
        crl = self.crl
        if crl is None or crl.next_update_utc is None \
                or crl.next_update_utc >= dt.datetime.now(dt.UTC):
            return changed
        bare = TrustSource(self.cert, self.key, self.trust_path, None, no_crl=True,
                           local=self.local)
        self.store, self.server, self.client, self.crl = (bare.store, bare.server,
                                                          bare.client, None)
        return True


class FailsOpenOnLapse(Node):
    """Once its list has lapsed, checks no revocation at all and accepts every peer
    (R-PDU-42)."""

    def __init__(self, config: NodeConfig, **kw: Any) -> None:
        super().__init__(config, **kw)
        self.tls = _DropsLapsedList(config.cert, config.key, config.trust, config.crl,
                                    no_crl=config.no_crl, local=self.node,
                                    passphrase=config.key_passphrase)
        self._use_trust()


class ReloadsTlsOnly(Node):
    """Takes a new list up for its handshakes only: envelopes are still checked
    against the list it started with, so that a revoked signer is believed (R-PDU-41)."""

    def _use_trust(self) -> None:
        kept = getattr(self, "trust", None)
        super()._use_trust()
        if kept is not None:
            self.trust = self.endpoint.trust = kept


FAULTS: dict[str, type[Node]] = {
    "never-reloads-crl": NeverReloadsCrl, "takes-older-crl": TakesOlderCrl,
    "takes-forged-crl": TakesForgedCrl, "fails-open-on-lapse": FailsOpenOnLapse,
    "reloads-tls-only": ReloadsTlsOnly,
}

#: The CRL cases each fault must fail; every other one must pass.
EXPECTED: dict[str, list[str]] = {
    "never-reloads-crl": ["pdu/node/crl/new-list-taken-up",
                          "pdu/node/crl/same-second-list-taken-up",
                          "pdu/node/crl/lower-number-list-ignored",
                          "pdu/node/crl/earlier-list-ignored",
                          "pdu/node/crl/forged-list-ignored",
                          "pdu/node/crl/lapsed-list-refuses-every-peer"],
    "takes-older-crl": ["pdu/node/crl/lower-number-list-ignored",
                        "pdu/node/crl/earlier-list-ignored"],
    "takes-forged-crl": ["pdu/node/crl/forged-list-ignored"],
    "fails-open-on-lapse": ["pdu/node/crl/lapsed-list-refuses-every-peer"],
    "reloads-tls-only": ["pdu/node/crl/new-list-taken-up"],
}


def command(fault: str) -> list[str]:
    """The serve command of the node with ``fault`` (for ``NodeSut``)."""
    return [sys.executable, "-m", "juki_conformance.selftest.faulty_crl", "--fault", fault]


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2 or args[0] != "--fault" or args[1] not in FAULTS:
        sys.exit(f"usage: faulty_crl --fault {{{','.join(FAULTS)}}} SERVE-OPTIONS...")
    setattr(cli_node, "Node", FAULTS[args[1]])  # noqa: B010 (the serve command's class)
    cli_node.serve.main(args=args[2:], prog_name="faulty_crl")


if __name__ == "__main__":
    main()
