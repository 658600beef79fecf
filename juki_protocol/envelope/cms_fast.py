"""Fast parsing of the envelope's common case, for :mod:`juki_protocol.envelope.cms`.

asn1crypto's pure-Python parsing was most of the time of opening an envelope. The
parsers below read strict DER directly (juki_protocol.codec.der) for exactly the layout the
profile uses -- what seal() and ``openssl cms`` produce -- and give up (Slow) at the
first thing outside it: BER, an optional field we do not use, another alternative, an
attribute type asn1crypto would parse with its own specification. Giving up means the
asn1crypto parser of :mod:`juki_protocol.envelope.cms` decides, with its results and errors.
Where the fast parser returns, it returns what the asn1crypto parser returns
(tests/test_cms_fast.py).

Each parser takes the whole input and its root :class:`Node` and returns the same
dataclass as the asn1crypto parser of :mod:`juki_protocol.envelope.cms`, or raises :class:`Slow`
(run it through :func:`attempt`, which turns that and any decoding error into None).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from asn1crypto import cms

from juki_protocol.codec import der
from juki_protocol.envelope.cms_values import (
    DH_STD_SHA1KDF,
    DH_STD_SHA256KDF,
    ID_AES256_GCM,
    ID_AUTH_ENVELOPED_DATA,
    ID_CONTENT_TYPE,
    ID_DATA,
    ID_EC_PUBLIC_KEY,
    ID_MESSAGE_DIGEST,
    ID_SIGNED_DATA,
    ID_SIGNING_TIME,
    Attribute,
    AuthEnveloped,
    CertId,
    KeyAgreeRecipient,
    SignedData,
    SignerInfo,
    retag,
)
from juki_protocol.errors import DecodeError


class Slow(Exception):
    """The fast parser does not handle this input."""


class _Node:
    """A TLV of strict DER whose children are read when first asked for, so that the
    parsers never walk the parts they only slice (certificates, names). Headers are read
    by :func:`juki_protocol.codec.der.read_header`, with all its DER checks."""

    __slots__ = ("_data", "_kids", "constructed", "content_start", "end", "start")

    def __init__(self, data: bytes, pos: int, limit: int) -> None:
        first = data[pos] if pos + 1 < limit else 0x1F
        if first & 0x1F != 0x1F and data[pos + 1] < 0x80 \
                and pos + 2 + data[pos + 1] <= limit:
            # A low tag number and a short-form length, read inline (as der._parse).
            self.constructed = bool(first & 0x20)
            self.content_start = pos + 2
            self.end = pos + 2 + data[pos + 1]
        else:
            _, self.constructed, _, self.content_start, length = der.read_header(
                data, pos, limit)
            self.end = self.content_start + length
        self._data = data
        self._kids: list[_Node] | None = None
        self.start = pos

    @property
    def children(self) -> list[_Node]:
        kids = self._kids
        if kids is None:
            kids = self._kids = []
            if self.constructed:
                pos = self.content_start
                while pos < self.end:
                    kid = _Node(self._data, pos, self.end)
                    kids.append(kid)
                    pos = kid.end
        return kids


def attempt(parser: Callable[[bytes, Any], Any], data: bytes) -> Any:
    if not isinstance(data, bytes):
        return None
    try:
        root = _Node(data, 0, len(data))
        _need(root.end == len(data))
        return parser(data, root)
    except (Slow, DecodeError, IndexError, ValueError):
        return None


def _need(condition: bool) -> None:
    if not condition:
        raise Slow


def _tag(data: bytes, node: _Node) -> int:
    """The identifier octet (der.parse guarantees the one-octet form below 31)."""
    return data[node.start]


def _content(data: bytes, node: _Node) -> bytes:
    return data[node.content_start:node.end]


def _kids(data: bytes, node: _Node, *tags: int) -> list[_Node]:
    """The children of ``node``, which must have exactly these identifier octets."""
    kids = node.children
    _need(len(kids) == len(tags))
    for kid, tag in zip(kids, tags, strict=True):
        _need(data[kid.start] == tag)
    return kids


@lru_cache(maxsize=512)
def oid_text(content: bytes) -> str:
    """Dotted text of OBJECT IDENTIFIER contents (X.690 8.19), minimal form only."""
    _need(bool(content) and content[-1] < 0x80)
    arcs: list[int] = []
    value, start = 0, True
    for b in content:
        _need(not (start and b == 0x80))
        value = (value << 7) | (b & 0x7F)
        start = not b & 0x80
        if start:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return ".".join(str(a) for a in (*head, *arcs[1:]))


def _oid(data: bytes, node: _Node) -> str:
    _need(data[node.start] == 0x06)
    return oid_text(_content(data, node))


def _int(data: bytes, node: _Node) -> int:
    _need(data[node.start] == 0x02 and node.end > node.content_start)
    return int.from_bytes(_content(data, node), "big", signed=True)


def _octets(data: bytes, node: _Node, tag: int = 0x04) -> bytes:
    _need(data[node.start] == tag)      # primitive: BER's constructed form is left over
    return _content(data, node)


def _alg_oid(data: bytes, node: _Node) -> str:
    """The OID of an AlgorithmIdentifier with absent parameters."""
    _need(data[node.start] == 0x30)
    (oid,) = _kids(data, node, 0x06)
    return _oid(data, oid)


def _content_info(data: bytes, root: _Node, kind: str) -> _Node:
    oid, wrapper = _kids(data, root, 0x06, 0xA0)
    _need(_oid(data, oid) == kind)
    (inner,) = _kids(data, wrapper, 0x30)
    return inner


def _fast_cert_id(data: bytes, node: _Node) -> CertId:
    if _tag(data, node) == 0x80:                  # subjectKeyIdentifier [0] IMPLICIT
        return CertId(ski=_content(data, node))
    issuer, serial = _kids(data, node, 0x30, 0x02)   # issuerAndSerialNumber
    return CertId(issuer_der=data[issuer.start:issuer.end], serial=_int(data, serial))


def _fast_key_agree(data: bytes, kari: _Node) -> KeyAgreeRecipient:
    kids = kari.children
    _need(_tag(data, kari) == 0xA1 and len(kids) in (4, 5))
    version, originator, *rest = kids
    _need(_tag(data, originator) == 0xA0)
    (key,) = _kids(data, originator, 0xA1)               # [0] { originatorKey [1] }
    alg, public = _kids(data, key, 0x30, 0x03)
    alg_oid = _alg_oid(data, alg)
    _need(alg_oid == ID_EC_PUBLIC_KEY)
    bits = _content(data, public)
    _need(bits[:1] == b"\x00")
    ukm = None
    if len(rest) == 3:
        (ukm_node,) = _kids(data, rest[0], 0x04)       # ukm [1] EXPLICIT
        _need(_tag(data, rest[0]) == 0xA1)
        ukm = _octets(data, ukm_node)
    kea, keys = rest[-2], rest[-1]
    _need(_tag(data, kea) == 0x30 and _tag(data, keys) == 0x30)
    kea_kids = kea.children
    _need(len(kea_kids) == 2)
    kdf_oid = _oid(data, kea_kids[0])
    _need(kdf_oid in (DH_STD_SHA256KDF, DH_STD_SHA1KDF))
    wrap = kea_kids[1]
    _need(_tag(data, wrap) == 0x30 and len(wrap.children) == 1)   # absent parameters
    wrap_oid = _oid(data, wrap.children[0])
    entries = []
    for rek in keys.children:
        rid, encrypted = rek.children if _tag(data, rek) == 0x30 and len(rek.children) == 2 \
            else (None, None)
        _need(rid is not None and encrypted is not None and _tag(data, rid) == 0x30)
        assert rid is not None and encrypted is not None
        entries.append((_fast_cert_id(data, rid), _octets(data, encrypted)))
    return KeyAgreeRecipient(version=_int(data, version), originator_kind="originator_key",
                             originator_alg=alg_oid, originator_point=bits[1:], ukm=ukm,
                             kdf_oid=kdf_oid, wrap_alg_der=data[wrap.start:wrap.end],
                             wrap_oid=wrap_oid, keys=tuple(entries))


def gcm_parameters(data: bytes, root: _Node) -> tuple[bytes, int]:
    _need(_tag(data, root) == 0x30 and len(root.children) in (1, 2))
    nonce = _octets(data, root.children[0])
    icv = _int(data, root.children[1]) if len(root.children) == 2 else 12
    return nonce, icv


def auth_enveloped(data: bytes, root: _Node) -> AuthEnveloped:
    _need(_tag(data, root) == 0x30)
    aed = _content_info(data, root, ID_AUTH_ENVELOPED_DATA)
    version, infos, eci, mac = _kids(data, aed, 0x02, 0x31, 0x30, 0x04)
    key_agree = tuple(_fast_key_agree(data, ri) for ri in infos.children)
    _need(bool(key_agree))
    eci_kids = eci.children
    _need(len(eci_kids) in (2, 3))
    content_type = _oid(data, eci_kids[0])
    cea = eci_kids[1]
    _need(_tag(data, cea) == 0x30 and len(cea.children) == 2)
    cipher_oid = _oid(data, cea.children[0])
    _need(cipher_oid == ID_AES256_GCM)
    params = cea.children[1]
    _need(_tag(data, params) == 0x30)           # GCMParameters (asn1crypto: Any)
    ciphertext = _octets(data, eci_kids[2], 0x80) if len(eci_kids) == 3 else None
    return AuthEnveloped(version=_int(data, version), key_agree=key_agree,
                         other_recipient_kinds=(), content_type=content_type,
                         cipher_oid=cipher_oid,
                         cipher_params_der=data[params.start:params.end],
                         ciphertext=ciphertext, aad=b"", mac=_octets(data, mac))


#: Signed attribute types asn1crypto parses with a specification, and the identifier
#: octets that specification accepts for a value; any other type it knows is left to it.
_ATTRIBUTE_VALUE_TAGS = {ID_CONTENT_TYPE: (0x06,), ID_MESSAGE_DIGEST: (0x04,),
                         ID_SIGNING_TIME: (0x17, 0x18)}
_ASN1CRYPTO_ATTRIBUTES = frozenset(cms.CMSAttributeType._map)
#: Values of other attribute types (ours) are parsed by asn1crypto as Any: universal
#: types it knows, in their primitive or constructed form as DER has them.
_ANY_VALUE_TAGS = (0x02, 0x04, 0x06, 0x0A, 0x0C, 0x17, 0x18, 0x30, 0x31)


def _fast_attributes(data: bytes, attrs: _Node) -> tuple[Attribute, ...]:
    """The SET OF Attribute, read in one loop, for the short-form lengths signed
    attributes have (anything else: Slow). Values of the types asn1crypto parses with
    a specification must have a tag it accepts; other types' values one of
    _ANY_VALUE_TAGS."""
    out = []
    pos, end = attrs.content_start, attrs.end
    while pos < end:
        _need(data[pos] == 0x30 and data[pos + 1] < 0x80)
        attr_end = pos + 2 + data[pos + 1]
        p = pos + 2
        _need(attr_end <= end and data[p] == 0x06 and data[p + 1] < 0x80)
        oid = oid_text(data[p + 2:p + 2 + data[p + 1]])
        p += 2 + data[p + 1]
        _need(data[p] == 0x31 and data[p + 1] < 0x80 and p + 2 + data[p + 1] == attr_end)
        tags = _ATTRIBUTE_VALUE_TAGS.get(oid)
        _need(tags is not None or oid not in _ASN1CRYPTO_ATTRIBUTES)
        allowed = tags or _ANY_VALUE_TAGS
        values = []
        p += 2
        while p < attr_end:
            _need(data[p] in allowed and data[p + 1] < 0x80)
            value_end = p + 2 + data[p + 1]
            _need(value_end <= attr_end)
            values.append(data[p:value_end])
            p = value_end
        out.append(Attribute(oid, tuple(values)))
        pos = attr_end
    return tuple(out)


def _fast_signer(data: bytes, si: _Node) -> SignerInfo:
    kids = si.children
    _need(_tag(data, si) == 0x30 and len(kids) in (5, 6))
    version, sid, digest, *rest = kids
    attrs = rest[0] if len(rest) == 3 else None
    signature_alg, signature = rest[-2], rest[-1]
    _need(_tag(data, sid) in (0x30, 0x80) and _tag(data, digest) == 0x30)
    _need(attrs is None or _tag(data, attrs) == 0xA0)
    return SignerInfo(
        version=_int(data, version), sid=_fast_cert_id(data, sid),
        digest_oid=_alg_oid(data, digest),
        signed_attrs_der=(None if attrs is None
                          else retag(0x31, data[attrs.start:attrs.end])),
        attributes=() if attrs is None else _fast_attributes(data, attrs),
        signature_oid=_alg_oid(data, signature_alg), signature=_octets(data, signature))


def signed_data(data: bytes, root: _Node) -> SignedData:
    _need(_tag(data, root) == 0x30)
    sd = _content_info(data, root, ID_SIGNED_DATA)
    kids = sd.children
    _need(len(kids) in (4, 5))
    version, digests, encap, *rest = kids
    certs = rest[0] if len(rest) == 2 else None
    signers = rest[-1]
    _need(_tag(data, digests) == 0x31 and _tag(data, encap) == 0x30
          and _tag(data, signers) == 0x31 and (certs is None or _tag(data, certs) == 0xA0))
    encap_kids = encap.children
    _need(len(encap_kids) in (1, 2))
    content_type = _oid(data, encap_kids[0])
    _need(content_type == ID_DATA)
    content = None
    if len(encap_kids) == 2:
        (octets,) = _kids(data, encap_kids[1], 0x04)
        _need(_tag(data, encap_kids[1]) == 0xA0)
        content = _content(data, octets)
    certificates: tuple[bytes, ...] = ()
    if certs is not None:
        _need(all(_tag(data, c) == 0x30 for c in certs.children))
        certificates = tuple(data[c.start:c.end] for c in certs.children)
    return SignedData(
        version=_int(data, version),
        digest_oids=tuple(_alg_oid(data, a) for a in digests.children),
        content_type=content_type, content=content, certificates=certificates,
        signers=tuple(_fast_signer(data, si) for si in signers.children))


# Attribute values -----------------------------------------------------------------------

def primitive(value: bytes, tag: int) -> bytes | None:
    """The contents of a strict-DER primitive value with identifier ``tag``, or None
    (then the asn1crypto reader decides)."""
    try:
        node = _Node(value, 0, len(value))
    except (DecodeError, IndexError):
        return None
    if node.end != len(value) or value[0] != tag:
        return None
    return value[node.content_start:]


_UTC_DIGITS = re.compile(rb"[0-9]{12}Z\Z")
_GENERALIZED_DIGITS = re.compile(rb"[0-9]{14}Z\Z")


def time_value(value: bytes) -> dt.datetime | None:
    """UTCTime ``YYMMDDHHMMSSZ`` or GeneralizedTime ``YYYYMMDDHHMMSSZ`` (the DER forms);
    anything else, or no such time, is left to asn1crypto."""
    if value[:1] == b"\x17":
        text = primitive(value, 0x17)
        if text is None or not _UTC_DIGITS.match(text):
            return None
        yy = int(text[:2])
        year, rest = (2000 + yy if yy < 50 else 1900 + yy), text[2:]  # RFC 5280 4.1.2.5.1
    else:
        text = primitive(value, 0x18)
        if text is None or not _GENERALIZED_DIGITS.match(text):
            return None
        year, rest = int(text[:4]), text[4:]
    try:
        return dt.datetime(year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]),
                           int(rest[6:8]), int(rest[8:10]), tzinfo=dt.UTC)
    except ValueError:
        return None
