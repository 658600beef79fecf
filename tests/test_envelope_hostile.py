"""Crafted and fuzzed envelopes: every failure of opening is a SecurityError, which the
peer sees as the opaque 2001 ENVELOPE_INVALID (issue 16 item 1; R-PDU-31, R-PDU-32).

The crafted envelopes (``fuzz/inputs.py``) sit behind a valid encryption layer for the
recipient, so they reach the checks after decryption: certificate loading, the signer's
key, names, versions. Before the fix several of them raised UnsupportedAlgorithm,
InvalidVersion, ValueError or KeyError out of :func:`open_envelope`.
"""

from __future__ import annotations

import collections
import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz import inputs
from juki_protocol.envelope import envelope as env
from juki_protocol.envelope import pki
from juki_protocol.errors import REGISTRY, ErrorCode, SecurityError
from juki_protocol.messages.common import Profile
from juki_protocol.messages.pdu import MessageType, PduHeader

#: The precise (local) code of each crafted envelope: an included certificate the
#: libraries cannot read is a malformed envelope, like any other broken structure.
EXPECTED = {kind: ErrorCode.ENVELOPE_MALFORMED for kind in inputs.CRAFTED}


def _header(bound: env.BoundHeader) -> PduHeader:
    return PduHeader(version=1, message_id=bound.message_id,
                     message_type=bound.message_type, sender=bound.sender,
                     recipient=bound.recipient, time=bound.time, sequence_number=1,
                     profile=Profile.CURRENT)


def _bound() -> env.BoundHeader:
    return env.BoundHeader(message_id=bytes(range(16)),
                           message_type=MessageType.IDENTITY_INFO_UPDATE,
                           sender=pki.node_id("municipality", "271004"),
                           recipient=pki.node_id("prefecture", "270008"), time=inputs.NOW)


@pytest.mark.parametrize("kind", inputs.CRAFTED)
def test_a_crafted_envelope_is_refused_with_a_security_error(kind: str) -> None:
    w = inputs.world()
    envelope = inputs.crafted_envelope(kind, w.signer, w.recipient.certificate)
    # The encryption layer is valid: the crafted part is reached.
    assert env.decrypt_content(envelope, w.recipient.credentials) \
        == inputs.crafted_signed_data(kind, w.signer)
    with pytest.raises(SecurityError) as caught:
        env.open_envelope(envelope, w.recipient.credentials, w.recipient.trust, inputs.NOW)
    assert caught.value.error_code is EXPECTED[kind], caught.value
    assert env.peer_error_code(caught.value) is ErrorCode.ENVELOPE_INVALID


@pytest.mark.parametrize("kind", inputs.CRAFTED)
def test_a_crafted_envelope_with_a_header_leaves_the_replay_cache_alone(kind: str) -> None:
    w = inputs.world()
    bound = _bound()
    envelope = inputs.crafted_envelope(kind, w.signer, w.recipient.certificate,
                                       bound=bound)
    cache = env.ReplayCache()
    with pytest.raises(SecurityError) as caught:
        env.open_envelope(envelope, w.recipient.credentials, w.recipient.trust, inputs.NOW,
                          header=_header(bound), replay_cache=cache)
    assert caught.value.error_code is EXPECTED[kind]
    assert len(cache) == 0


def test_the_same_signer_and_layout_open_when_nothing_is_crafted() -> None:
    """The crafted envelopes differ from a valid one only in the crafted part."""
    w = inputs.world()
    bound = _bound()
    inner = inputs.signed_data(inputs.der_of(w.signer.certificate), w.signer.key,
                               inputs.MESSAGE,
                               attributes=inputs.signed_attributes(inputs.MESSAGE, bound))
    opened = env.open_envelope(env.encrypt_content(inner, w.recipient.certificate),
                               w.recipient.credentials, w.recipient.trust, inputs.NOW,
                               header=_header(bound), replay_cache=env.ReplayCache())
    assert opened.message_der == inputs.MESSAGE and opened.bound == bound


@pytest.mark.parametrize("kind", ["inner-truncated", "inner-garbage", "inner-data",
                                  "version-4", "unknown-key-algorithm"])
def test_crafted_inner_content_for_a_vector_recipient(kind: str) -> None:
    """The same, encrypted to the recipient of the envelope vectors (its keys from
    vectors/envelope.json)."""
    seeds = inputs.vector_seeds()[0]
    assert seeds.inner, "no vector envelope decrypts with the group's credentials"
    envelope = env.encrypt_content(inputs.crafted_signed_data(kind, inputs.world().signer),
                                   seeds.recipient.certificate)
    assert inputs.open_or_refuse(envelope, seeds.recipient) == ErrorCode.ENVELOPE_MALFORMED


def test_the_vector_seeds_still_open_as_the_vectors_say() -> None:
    """The seeds are the vectors' envelopes, and the first (valid) one opens."""
    seeds = inputs.vector_seeds()[0]
    first = seeds.envelopes[0]
    assert inputs.open_or_refuse(first, seeds.recipient) is None


# Bounded fuzzing in CI (the long run is fuzz/fuzz_open_envelope.py) ----------------------

def _refused_or_opened(seed: int) -> tuple[str, int | None]:
    envelope, recipient, kind = inputs.fuzz_case(random.Random(seed))
    code = inputs.open_or_refuse(envelope, recipient)    # anything else propagates
    assert code is None or ErrorCode(code) in REGISTRY
    return kind, code


@settings(max_examples=1500, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**64 - 1))
def test_fuzzed_envelopes_are_refused_with_registered_codes(seed: int) -> None:
    _refused_or_opened(seed)


def test_a_seeded_fuzz_run_reaches_past_decryption() -> None:
    """2,500 seeded inputs: none raises anything but a JukiError, and the mutations reach
    the checks behind decryption (certificate path, key usage, profile) and sometimes
    still open, so the run tests the opener's depth, not only its first parser."""
    outcomes = collections.Counter(_refused_or_opened(seed) for seed in range(2500))
    kinds = {kind for kind, _ in outcomes}
    codes = {code for _, code in outcomes}
    assert kinds == {"envelope", "inner", "resigned"}
    assert None in codes, "no fuzzed envelope opened"
    deep = {ErrorCode.CERT_UNTRUSTED, ErrorCode.CERT_KEY_USAGE, ErrorCode.CERT_INVALID,
            ErrorCode.SIGNATURE_INVALID}
    assert len(deep & {c for c in codes if c is not None}) >= 3, outcomes


def test_an_exception_no_check_foresaw_is_refused_as_malformed_and_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    """The second line of defence (envelope._guarded): a trust store holding something
    that is not a certificate makes path building raise AttributeError, which no check
    foresees; it still leaves the opener as SecurityError, logged as an error."""
    w = inputs.world()
    inner = inputs.signed_data(inputs.der_of(w.signer.certificate), w.signer.key,
                               inputs.MESSAGE)
    envelope = env.encrypt_content(inner, w.recipient.certificate)
    broken = pki.TrustStore(anchors=("not a certificate",))  # type: ignore[arg-type]
    with caplog.at_level("ERROR", logger="juki_protocol.envelope.envelope"), \
            pytest.raises(SecurityError) as caught:
        env.open_envelope(envelope, w.recipient.credentials, broken, inputs.NOW)
    assert caught.value.error_code is ErrorCode.ENVELOPE_MALFORMED
    assert "AttributeError" in caplog.text
    assert env.peer_error_code(caught.value) is ErrorCode.ENVELOPE_INVALID


def test_now_must_still_be_aware() -> None:
    """A caller's mistake is not turned into an envelope failure."""
    w = inputs.world()
    with pytest.raises(TypeError):
        env.open_envelope(b"\x30\x00", w.recipient.credentials, w.recipient.trust,
                          dt.datetime(2025, 4, 1))
